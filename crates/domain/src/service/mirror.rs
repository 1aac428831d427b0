//! Mirroring an Outreach account into this database: what `stepgraph sync outreach` writes.
//!
//! The HTTP side (paging through Outreach's API v2, pacing, retries, OAuth) is
//! `stepgraph-outreach`'s; this module owns the rows. A page of upstream resources arrives as
//! [`UpstreamRow`]s (the JSON:API `attributes` and to-one linkage, as Outreach sends them) and
//! [`apply_page`] writes it in one transaction together with the resource's checkpoint, so a
//! sync killed at any moment resumes after the last committed page and never skips a row.
//!
//! Decoding is generic: every column of the entity is read from the attribute of the same
//! name in camelCase (`bounce_count` from `bounceCount`), the primary key from the resource
//! id, and each foreign key from the linkage of the to-one relationship declared on it in
//! [`crate::service::relations`]. Values go through the entity's own typed setters
//! (`ActiveModelTrait::try_set`), so an unknown enum spelling or a number out of range
//! skips that row with a reason instead of reaching the database. Attributes Outreach sends
//! that we do not store are ignored.
//!
//! Writes are minimal: a row equal to the stored one is not written, so a second sync with
//! nothing changed upstream writes nothing (and the change feed hears nothing). Written steps
//! and sequences go to the change feed like local writes, so subscriptions fire for them.
//! Outreach sends no tombstones: [`reconcile`] compares the full id list of a resource with
//! ours and deletes what upstream no longer has, children before parents.
//!
//! Counters (`openCount`, ...) of mirrored rows are Outreach's own values, copied as they
//! are; the local rule that a step's counters equal its mailings' aggregates holds for rows
//! written here only as far as it holds upstream. A database knows it is a mirror by its
//! `mirror_checkpoints` rows ([`is_mirror`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::ChangeKind;
use entity::mirror_checkpoint;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ColumnType, ConnectionTrait,
    DatabaseConnection, EntityTrait, IdenStatic, IntoActiveModel, Iterable, ModelTrait,
    PaginatorTrait, QueryFilter, QuerySelect, TryIntoModel, Value,
};
use serde_json::{Map, Value as Json};

use crate::error::{AppError, AppResult};
use crate::service::changes::{self, Change};
use crate::service::lists::{
    CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities, Tasks,
    Templates, Users,
};
use crate::service::relations::ALL;
use crate::service::resource::Resource;
use crate::time::now;

/// The mirrored resources, in dependency order: a row's to-one targets are written before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Users,
    CallPurposes,
    TaskPriorities,
    Sequences,
    Templates,
    SequenceSteps,
    SequenceTemplates,
    Tasks,
    Calls,
    Mailings,
}

impl Kind {
    /// Every resource, parents before children.
    pub const ALL: [Kind; 10] = [
        Kind::Users,
        Kind::CallPurposes,
        Kind::TaskPriorities,
        Kind::Sequences,
        Kind::Templates,
        Kind::SequenceSteps,
        Kind::SequenceTemplates,
        Kind::Tasks,
        Kind::Calls,
        Kind::Mailings,
    ];

    /// The JSON:API type and collection path (`sequenceSteps`).
    pub fn wire(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::CallPurposes => "callPurposes",
            Kind::TaskPriorities => "taskPriorities",
            Kind::Sequences => "sequences",
            Kind::Templates => "templates",
            Kind::SequenceSteps => "sequenceSteps",
            Kind::SequenceTemplates => "sequenceTemplates",
            Kind::Tasks => "tasks",
            Kind::Calls => "calls",
            Kind::Mailings => "mailings",
        }
    }

    /// The resource a JSON:API type names.
    pub fn from_wire(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.wire() == name)
    }
}

/// One resource object as Outreach sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpstreamRow {
    pub id: i64,
    pub attributes: Map<String, Json>,
    /// The to-one linkage by relationship name: `Some(id)`, or `None` for `"data": null`.
    /// A relationship not sent leaves the stored key alone.
    pub to_one: HashMap<String, Option<i64>>,
}

/// What applying a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows not written, each with its reason (logged by the caller).
    pub skipped: Vec<(i64, String)>,
}

impl Applied {
    pub fn written(&self) -> usize {
        self.inserted + self.updated
    }

    pub fn add(&mut self, other: Applied) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped.extend(other.skipped);
    }
}

/// Where the sync of one resource stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The greatest `updatedAt` applied, as upstream spelled it: the next pull asks for
    /// `filter[updatedAt]=<cursor>..inf` (inclusive, so rows sharing it are read again and
    /// found unchanged). `None` before the first full pull.
    pub cursor: Option<String>,
    /// When the ids were last reconciled with upstream.
    pub reconciled_at: Option<DateTime<Utc>>,
}

/// The checkpoint of `kind` (the default when it was never synced).
pub async fn checkpoint(db: &impl ConnectionTrait, kind: Kind) -> AppResult<Checkpoint> {
    let row = mirror_checkpoint::Entity::find()
        .filter(mirror_checkpoint::Column::Resource.eq(kind.wire()))
        .one(db)
        .await?;
    Ok(row
        .map(|r| Checkpoint {
            cursor: r.cursor,
            reconciled_at: r.reconciled_at,
        })
        .unwrap_or_default())
}

/// Whether this database mirrors an Outreach account (some resource has been synced).
pub async fn is_mirror(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(mirror_checkpoint::Entity::find().count(db).await? > 0)
}

/// Whether this database holds rows of the model that were not mirrored: a sync into it is
/// refused, since upstream ids would collide with local ones.
pub async fn has_local_rows(db: &impl ConnectionTrait) -> AppResult<bool> {
    if is_mirror(db).await? {
        return Ok(false);
    }
    Ok(entity::user::Entity::find().count(db).await? > 0
        || entity::sequence::Entity::find().count(db).await? > 0)
}

/// Writes one page of `kind` and moves its checkpoint to `cursor`, in one transaction.
pub async fn apply_page(
    db: &DatabaseConnection,
    kind: Kind,
    rows: &[UpstreamRow],
    cursor: Option<&str>,
) -> AppResult<Applied> {
    let txn = crate::db::begin_write(db).await?;
    let applied = match kind {
        Kind::Users => apply_rows::<Users>(&txn, rows, |_| None).await?,
        Kind::CallPurposes => apply_rows::<CallPurposes>(&txn, rows, |_| None).await?,
        Kind::TaskPriorities => apply_rows::<TaskPriorities>(&txn, rows, |_| None).await?,
        Kind::Sequences => {
            apply_rows::<Sequences>(&txn, rows, |(m, _)| Some(Change::sequence(m.id))).await?
        }
        Kind::Templates => apply_rows::<Templates>(&txn, rows, |_| None).await?,
        Kind::SequenceSteps => {
            park_displaced_steps(&txn, rows).await?;
            apply_rows::<Steps>(&txn, rows, |(m, kind)| {
                Some(Change::step(kind, m.id, m.sequence_id))
            })
            .await?
        }
        Kind::SequenceTemplates => apply_rows::<SequenceTemplates>(&txn, rows, |_| None).await?,
        Kind::Tasks => apply_rows::<Tasks>(&txn, rows, |_| None).await?,
        Kind::Calls => apply_rows::<Calls>(&txn, rows, |_| None).await?,
        Kind::Mailings => apply_rows::<Mailings>(&txn, rows, |_| None).await?,
    };
    if let Some(cursor) = cursor {
        save_checkpoint(&txn, kind, Some(cursor), None).await?;
    }
    changes::commit(txn).await?;
    Ok(applied)
}

/// Deletes the rows of `kind` that upstream no longer has (`upstream` is its complete id
/// list) and records the reconciliation. Call it for children before parents
/// ([`Kind::ALL`] reversed), so a parent's deletion never cascades over a child unrecorded.
pub async fn reconcile(
    db: &DatabaseConnection,
    kind: Kind,
    upstream: &HashSet<i64>,
) -> AppResult<usize> {
    let txn = crate::db::begin_write(db).await?;
    let deleted = match kind {
        Kind::Users => delete_missing::<Users>(&txn, upstream).await?,
        Kind::CallPurposes => delete_missing::<CallPurposes>(&txn, upstream).await?,
        Kind::TaskPriorities => delete_missing::<TaskPriorities>(&txn, upstream).await?,
        Kind::Sequences => delete_missing::<Sequences>(&txn, upstream).await?,
        Kind::Templates => delete_missing::<Templates>(&txn, upstream).await?,
        Kind::SequenceSteps => {
            let steps = steps_of_missing(&txn, upstream).await?;
            let n = delete_missing::<Steps>(&txn, upstream).await?;
            let feed: Vec<Change> = steps
                .into_iter()
                .map(|(id, seq)| Change::step(ChangeKind::Deleted, id, seq))
                .collect();
            changes::record(&txn, &feed).await?;
            n
        }
        Kind::SequenceTemplates => delete_missing::<SequenceTemplates>(&txn, upstream).await?,
        Kind::Tasks => delete_missing::<Tasks>(&txn, upstream).await?,
        Kind::Calls => delete_missing::<Calls>(&txn, upstream).await?,
        Kind::Mailings => delete_missing::<Mailings>(&txn, upstream).await?,
    };
    save_checkpoint(&txn, kind, None, Some(now())).await?;
    changes::commit(txn).await?;
    Ok(deleted)
}

async fn save_checkpoint(
    db: &impl ConnectionTrait,
    kind: Kind,
    cursor: Option<&str>,
    reconciled_at: Option<DateTime<Utc>>,
) -> AppResult<()> {
    use mirror_checkpoint::Column as C;
    let row = mirror_checkpoint::ActiveModel {
        resource: sea_orm::Set(kind.wire().to_owned()),
        cursor: sea_orm::Set(cursor.map(str::to_owned)),
        reconciled_at: sea_orm::Set(reconciled_at),
        ..Default::default()
    };
    let mut update = Vec::new();
    if cursor.is_some() {
        update.push(C::Cursor);
    }
    if reconciled_at.is_some() {
        update.push(C::ReconciledAt);
    }
    let mut on_conflict = OnConflict::column(C::Resource);
    if update.is_empty() {
        on_conflict.do_nothing();
    } else {
        on_conflict.update_columns(update);
    }
    mirror_checkpoint::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The to-one relationships declared on `R`: (relationship name on the wire, foreign-key
/// column, table of the target).
fn foreign_keys<R: Resource>() -> Vec<(&'static str, &'static str, &'static str)> {
    ALL.iter()
        .filter(|rel| rel.parent() == R::NAME)
        .filter_map(|rel| Some((rel.field(), rel.fk_column()?, rel.target_table())))
        .collect()
}

/// Decodes and writes `rows` of `R`; `change` names the feed entry of a written row.
async fn apply_rows<R>(
    db: &impl ConnectionTrait,
    rows: &[UpstreamRow],
    change: impl Fn((&R::Model, ChangeKind)) -> Option<Change>,
) -> AppResult<Applied>
where
    R: Resource,
    <R::Entity as EntityTrait>::ActiveModel:
        ActiveModelTrait<Entity = R::Entity> + ActiveModelBehavior + TryIntoModel<R::Model> + Send,
    R::Model: IntoActiveModel<<R::Entity as EntityTrait>::ActiveModel> + ModelTrait + PartialEq,
{
    let mut applied = Applied::default();
    if rows.is_empty() {
        return Ok(applied);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let stored: HashMap<i64, R::Model> = R::Entity::find()
        .filter(R::id_column().is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (R::id(&m), m))
        .collect();
    let fks = foreign_keys::<R>();
    let existing = existing_targets(db, rows, &fks).await?;
    let mut feed = Vec::new();
    let mut seen = HashSet::new();
    for row in rows {
        if !seen.insert(row.id) {
            continue;
        }
        let old = stored.get(&row.id);
        let decoded = decode::<R>(row, old, &fks, &existing);
        let model = match decoded {
            Ok(model) => model,
            Err(reason) => {
                applied.skipped.push((row.id, reason));
                continue;
            }
        };
        match old {
            Some(old) if *old == model => applied.unchanged += 1,
            Some(_) => {
                let mut active = model.clone().into_active_model();
                mark_all_set::<R>(&mut active);
                R::Entity::update(active).exec(db).await?;
                feed.extend(change((&model, ChangeKind::Updated)));
                applied.updated += 1;
            }
            None => {
                let mut active = model.clone().into_active_model();
                mark_all_set::<R>(&mut active);
                R::Entity::insert(active).exec_without_returning(db).await?;
                feed.extend(change((&model, ChangeKind::Created)));
                applied.inserted += 1;
            }
        }
    }
    changes::record(db, &feed).await?;
    Ok(applied)
}

/// `into_active_model` leaves every value `Unchanged`; an insert or an update must write them.
fn mark_all_set<R: Resource>(active: &mut <R::Entity as EntityTrait>::ActiveModel)
where
    <R::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = R::Entity>,
{
    for col in <R::Entity as EntityTrait>::Column::iter() {
        if let Some(v) = active.get(col).into_value() {
            active.set(col, v);
        }
    }
}

/// The ids, per foreign-key column, of the referenced rows that exist here (a linkage to a
/// row upstream did not send us is cleared, or skips the row when the key is required).
async fn existing_targets(
    db: &impl ConnectionTrait,
    rows: &[UpstreamRow],
    fks: &[(&'static str, &'static str, &'static str)],
) -> AppResult<HashMap<&'static str, HashSet<i64>>> {
    let mut out = HashMap::new();
    for &(field, column, table) in fks {
        let wanted: HashSet<i64> = rows
            .iter()
            .filter_map(|r| r.to_one.get(field).copied().flatten())
            .collect();
        let mut found = HashSet::new();
        if !wanted.is_empty() {
            let query = Query::select()
                .column(Alias::new("id"))
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new("id")).is_in(wanted))
                .to_owned();
            for row in db.query_all(&query).await? {
                found.insert(row.try_get_by_index::<i64>(0)?);
            }
        }
        out.insert(column, found);
    }
    Ok(out)
}

/// The row as it will be stored: the stored row (if any) with every value upstream sent.
fn decode<R>(
    row: &UpstreamRow,
    old: Option<&R::Model>,
    fks: &[(&'static str, &'static str, &'static str)],
    existing: &HashMap<&'static str, HashSet<i64>>,
) -> Result<R::Model, String>
where
    R: Resource,
    <R::Entity as EntityTrait>::ActiveModel:
        ActiveModelTrait<Entity = R::Entity> + ActiveModelBehavior + TryIntoModel<R::Model>,
    R::Model: IntoActiveModel<<R::Entity as EntityTrait>::ActiveModel> + ModelTrait,
{
    let mut active = match old {
        Some(old) => old.clone().into_active_model(),
        None => <R::Entity as EntityTrait>::ActiveModel::default(),
    };
    for col in <R::Entity as EntityTrait>::Column::iter() {
        let name = col.as_str();
        let def = col.def();
        let nullable = def.is_null();
        let ty = def.get_column_type();
        let value = if name == "id" {
            Some(Value::BigInt(Some(row.id)))
        } else if let Some(&(field, _, _)) = fks.iter().find(|(_, c, _)| *c == name) {
            match row.to_one.get(field) {
                None => None,
                Some(Some(id)) if existing.get(name).is_some_and(|ids| ids.contains(id)) => {
                    Some(Value::BigInt(Some(*id)))
                }
                Some(Some(id)) if !nullable => {
                    return Err(format!("its {field} {id} is not mirrored here"));
                }
                Some(Some(_)) | Some(None) if nullable => Some(Value::BigInt(None)),
                Some(_) => return Err(format!("its {field} is required")),
            }
        } else {
            let wire = camel(name);
            match row.attributes.get(&wire) {
                None => None,
                Some(json) => Some(
                    value_of(ty, json, nullable).map_err(|e| format!("attribute {wire}: {e}"))?,
                ),
            }
        };
        match value {
            Some(value) => active
                .try_set(col, value)
                .map_err(|_| format!("attribute {}: not a valid value", camel(name)))?,
            None if old.is_none() && nullable => active
                .try_set(col, null_of(ty))
                .map_err(|_| format!("attribute {}: cannot be empty", camel(name)))?,
            None if old.is_none() => return Err(format!("attribute {} is missing", camel(name))),
            None => {}
        }
    }
    active
        .try_into_model()
        .map_err(|e| format!("incomplete: {e}"))
}

/// A JSON value as the SQL value a column of type `ty` takes.
fn value_of(ty: &ColumnType, json: &Json, nullable: bool) -> Result<Value, &'static str> {
    if json.is_null() {
        return if nullable {
            Ok(null_of(ty))
        } else {
            Err("cannot be null")
        };
    }
    let int = || json.as_i64().ok_or("not an integer");
    let text = || json.as_str().ok_or("not a string");
    Ok(match ty {
        ColumnType::BigInteger => Value::BigInt(Some(int()?)),
        ColumnType::Integer => Value::Int(Some(i32::try_from(int()?).map_err(|_| "out of range")?)),
        ColumnType::SmallInteger => {
            Value::SmallInt(Some(i16::try_from(int()?).map_err(|_| "out of range")?))
        }
        ColumnType::Boolean => Value::Bool(Some(json.as_bool().ok_or("not a boolean")?)),
        ColumnType::Date => {
            Value::from(NaiveDate::parse_from_str(text()?, "%Y-%m-%d").map_err(|_| "not a date")?)
        }
        ColumnType::Timestamp | ColumnType::TimestampWithTimeZone | ColumnType::DateTime => {
            Value::from(
                DateTime::parse_from_rfc3339(text()?)
                    .map_err(|_| "not a date-time")?
                    .with_timezone(&Utc),
            )
        }
        ColumnType::Json | ColumnType::JsonBinary => Value::Json(Some(Box::new(json.clone()))),
        _ => Value::String(Some(text()?.to_owned())),
    })
}

/// The NULL a column of type `ty` takes.
fn null_of(ty: &ColumnType) -> Value {
    match ty {
        ColumnType::BigInteger => Value::BigInt(None),
        ColumnType::Integer => Value::Int(None),
        ColumnType::SmallInteger => Value::SmallInt(None),
        ColumnType::Boolean => Value::Bool(None),
        ColumnType::Date => Value::ChronoDate(None),
        ColumnType::Timestamp | ColumnType::TimestampWithTimeZone | ColumnType::DateTime => {
            Value::ChronoDateTimeUtc(None)
        }
        ColumnType::Json | ColumnType::JsonBinary => Value::Json(None),
        _ => Value::String(None),
    }
}

/// `bounce_count` -> `bounceCount`.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Steps keep `(sequence, order)` unique, and upstream may have reordered steps of which only
/// some are in this page. Before the page is written, each step of the page that moves
/// steps aside: its stored order turns negative (as the service's own reorders do, so the
/// moving steps never collide with each other), and a stored step outside the page that holds
/// an order a moving step takes goes past the end of its sequence until its own update
/// arrives. Steps that do not move are not touched, so an unchanged page writes nothing.
async fn park_displaced_steps(db: &impl ConnectionTrait, rows: &[UpstreamRow]) -> AppResult<()> {
    use entity::sequence_step::{Column as S, Entity as StepsTable};
    let in_page: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let stored: HashMap<i64, (i64, i32)> = StepsTable::find()
        .select_only()
        .column(S::Id)
        .column(S::SequenceId)
        .column(S::Order)
        .filter(S::Id.is_in(in_page.iter().copied()))
        .into_tuple::<(i64, i64, i32)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, seq, order)| (id, (seq, order)))
        .collect();
    let mut moving = Vec::new();
    let mut targets = Vec::new();
    for row in rows {
        let Some(old) = stored.get(&row.id) else {
            // A new step: it takes an order some stored step may hold.
            if let (Some(Some(seq)), Some(order)) = (
                row.to_one.get("sequence"),
                row.attributes.get("order").and_then(Json::as_i64),
            ) {
                targets.push((*seq, order));
            }
            continue;
        };
        let seq = row
            .to_one
            .get("sequence")
            .copied()
            .flatten()
            .unwrap_or(old.0);
        let order = row
            .attributes
            .get("order")
            .and_then(Json::as_i64)
            .unwrap_or(i64::from(old.1));
        if (seq, order) != (old.0, i64::from(old.1)) {
            moving.push(row.id);
            targets.push((seq, order));
        }
    }
    if !moving.is_empty() {
        StepsTable::update_many()
            .col_expr(S::Order, Expr::col(S::Order).mul(-1))
            .filter(S::Id.is_in(moving))
            .filter(S::Order.gt(0))
            .exec(db)
            .await?;
    }
    for (seq, order) in targets {
        let holder = StepsTable::find()
            .filter(S::SequenceId.eq(seq))
            .filter(S::Order.eq(order))
            .one(db)
            .await?;
        let Some(holder) = holder.filter(|h| !in_page.contains(&h.id)) else {
            continue;
        };
        let max: Option<i32> = StepsTable::find()
            .select_only()
            .column_as(S::Order.max(), "max")
            .filter(S::SequenceId.eq(seq))
            .into_tuple()
            .one(db)
            .await?
            .flatten();
        StepsTable::update_many()
            .col_expr(S::Order, Expr::value(max.unwrap_or(0) + 1))
            .filter(S::Id.eq(holder.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The (id, sequence) of the steps [`reconcile`] is about to delete.
async fn steps_of_missing(
    db: &impl ConnectionTrait,
    upstream: &HashSet<i64>,
) -> AppResult<Vec<(i64, i64)>> {
    use entity::sequence_step::{Column as S, Entity as StepsTable};
    let all: Vec<(i64, i64)> = StepsTable::find()
        .select_only()
        .column(S::Id)
        .column(S::SequenceId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .filter(|(id, _)| !upstream.contains(id))
        .collect())
}

async fn delete_missing<R: Resource>(
    db: &impl ConnectionTrait,
    upstream: &HashSet<i64>,
) -> AppResult<usize> {
    let local: Vec<i64> = R::Entity::find()
        .select_only()
        .column(R::id_column())
        .into_tuple()
        .all(db)
        .await?;
    let gone: Vec<i64> = local
        .into_iter()
        .filter(|id| !upstream.contains(id))
        .collect();
    for chunk in gone.chunks(1000) {
        R::Entity::delete_many()
            .filter(R::id_column().is_in(chunk.iter().copied()))
            .exec(db)
            .await
            .map_err(|e| {
                AppError::Internal(anyhow::anyhow!(
                    "deleting {} rows gone upstream: {e}",
                    R::NAME
                ))
            })?;
    }
    Ok(gone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_become_outreach_attribute_names() {
        assert_eq!(camel("bounce_count"), "bounceCount");
        assert_eq!(camel("id"), "id");
        assert_eq!(camel("voicemail_recording_url"), "voicemailRecordingUrl");
    }

    #[test]
    fn values_are_typed_by_column() {
        assert_eq!(
            value_of(&ColumnType::Integer, &serde_json::json!(5), false),
            Ok(Value::Int(Some(5)))
        );
        assert_eq!(
            value_of(&ColumnType::Integer, &serde_json::json!(1i64 << 40), false),
            Err("out of range")
        );
        assert_eq!(
            value_of(&ColumnType::Integer, &Json::Null, false),
            Err("cannot be null")
        );
        assert_eq!(
            value_of(&ColumnType::Boolean, &serde_json::json!("yes"), true),
            Err("not a boolean")
        );
        let t = value_of(
            &ColumnType::TimestampWithTimeZone,
            &serde_json::json!("2026-10-01T09:00:00.123Z"),
            false,
        )
        .unwrap();
        assert_eq!(
            t,
            Value::from(
                DateTime::parse_from_rfc3339("2026-10-01T09:00:00.123Z")
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
    }
}
