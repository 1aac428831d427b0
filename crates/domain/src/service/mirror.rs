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

/// Whether this process serves a mirror (see [`serve_as_mirror`]).
static SERVING_A_MIRROR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks this process as serving a mirror of Outreach (`stepgraph serve` on a mirrored
/// database, or with `--mirror-outreach`): until writes are passed through to Outreach, the
/// APIs' writes of mirrored data (steps, mailings, mailing events) are refused, since a row
/// made here would take an id upstream may give another row, and the next reconciliation
/// would delete it.
pub fn serve_as_mirror(on: bool) {
    SERVING_A_MIRROR.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// `Err(Conflict)` when this process serves a mirror ([`serve_as_mirror`]).
pub fn local_writes_allowed() -> AppResult<()> {
    if SERVING_A_MIRROR.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(AppError::Conflict(
            "this server mirrors an Outreach account: make the change in Outreach, and it \
             arrives with the next sync"
                .into(),
        ));
    }
    Ok(())
}

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

    /// The JSON:API `type` of one resource object, as Outreach spells it (`sequenceStep`).
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Users => "user",
            Kind::CallPurposes => "callPurpose",
            Kind::TaskPriorities => "taskPriority",
            Kind::Sequences => "sequence",
            Kind::Templates => "template",
            Kind::SequenceSteps => "sequenceStep",
            Kind::SequenceTemplates => "sequenceTemplate",
            Kind::Tasks => "task",
            Kind::Calls => "call",
            Kind::Mailings => "mailing",
        }
    }

    /// The resource a JSON:API `type` names.
    pub fn from_type(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.type_name() == name)
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

impl UpstreamRow {
    /// A JSON:API resource object: its id (a number, or a string of digits), attributes
    /// and to-one linkage (a to-many's array, or a relationship with links only, is not a key
    /// of this row and is left out).
    pub fn from_resource(obj: &Json) -> Result<UpstreamRow, String> {
        let id = id_of(obj.get("id")).ok_or("a resource object without an integer id")?;
        let attributes = obj
            .get("attributes")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let mut to_one = HashMap::new();
        if let Some(rels) = obj.get("relationships").and_then(Json::as_object) {
            for (name, rel) in rels {
                match rel.get("data") {
                    Some(Json::Null) => {
                        to_one.insert(name.clone(), None);
                    }
                    Some(target @ Json::Object(_)) => {
                        let id = id_of(target.get("id"))
                            .ok_or_else(|| format!("{name}: linkage without an integer id"))?;
                        to_one.insert(name.clone(), Some(id));
                    }
                    _ => {}
                }
            }
        }
        Ok(UpstreamRow {
            id,
            attributes,
            to_one,
        })
    }
}

fn id_of(v: Option<&Json>) -> Option<i64> {
    match v? {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// What applying a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Webhook payloads older than the stored row (the pull's copy wins).
    pub stale: usize,
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
        self.stale += other.stale;
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
pub async fn checkpoint(
    db: &(impl ConnectionTrait + 'static),
    kind: Kind,
) -> AppResult<Checkpoint> {
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
pub async fn is_mirror(db: &(impl ConnectionTrait + 'static)) -> AppResult<bool> {
    Ok(mirror_checkpoint::Entity::find().count(db).await? > 0)
}

/// Whether this database holds rows of the model that were not mirrored: a sync into it is
/// refused, since upstream ids would collide with local ones.
pub async fn has_local_rows(db: &(impl ConnectionTrait + 'static)) -> AppResult<bool> {
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
    apply(db, kind, rows, cursor, false).await
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Inserted,
    Updated,
    Unchanged,
    /// Older than the stored row, or without `updatedAt`: not applied.
    Stale,
    Deleted,
    /// Not written (a required link to a row not mirrored, a missing attribute): the next
    /// pull brings it.
    Skipped,
}

/// Applies one resource an Outreach webhook delivered: `destroyed` deletes the row, any other
/// event writes it when it is at least as new as the stored row (a delivery that arrives
/// late, or twice, changes nothing). The checkpoint does not move: the pull stays the
/// authority and overwrites whatever a payload said.
pub async fn apply_delivery(
    db: &DatabaseConnection,
    kind: Kind,
    row: &UpstreamRow,
    destroyed: bool,
) -> AppResult<Delivered> {
    if destroyed {
        return Ok(if remove(db, kind, row.id).await? {
            Delivered::Deleted
        } else {
            Delivered::Unchanged
        });
    }
    let applied = apply(db, kind, std::slice::from_ref(row), None, true).await?;
    Ok(if applied.inserted > 0 {
        Delivered::Inserted
    } else if applied.updated > 0 {
        Delivered::Updated
    } else if applied.stale > 0 {
        Delivered::Stale
    } else if applied.unchanged > 0 {
        Delivered::Unchanged
    } else {
        Delivered::Skipped
    })
}

async fn apply(
    db: &DatabaseConnection,
    kind: Kind,
    rows: &[UpstreamRow],
    cursor: Option<&str>,
    newer_only: bool,
) -> AppResult<Applied> {
    let txn = crate::db::begin_write(db).await?;
    let n = newer_only;
    let applied = match kind {
        Kind::Users => apply_rows::<Users>(&txn, rows, n, |_| None).await?,
        Kind::CallPurposes => apply_rows::<CallPurposes>(&txn, rows, n, |_| None).await?,
        Kind::TaskPriorities => apply_rows::<TaskPriorities>(&txn, rows, n, |_| None).await?,
        Kind::Sequences => {
            apply_rows::<Sequences>(&txn, rows, n, |(m, _)| Some(Change::sequence(m.id))).await?
        }
        Kind::Templates => apply_rows::<Templates>(&txn, rows, n, |_| None).await?,
        Kind::SequenceSteps => {
            park_displaced_steps(&txn, rows).await?;
            apply_rows::<Steps>(&txn, rows, n, |(m, kind)| {
                Some(Change::step(kind, m.id, m.sequence_id))
            })
            .await?
        }
        Kind::SequenceTemplates => apply_rows::<SequenceTemplates>(&txn, rows, n, |_| None).await?,
        Kind::Tasks => apply_rows::<Tasks>(&txn, rows, n, |_| None).await?,
        Kind::Calls => apply_rows::<Calls>(&txn, rows, n, |_| None).await?,
        Kind::Mailings => apply_rows::<Mailings>(&txn, rows, n, |_| None).await?,
    };
    if let Some(cursor) = cursor {
        save_checkpoint(&txn, kind, Some(cursor), None).await?;
    }
    changes::commit(txn).await?;
    Ok(applied)
}

/// Deletes one row of `kind` (Outreach deleted it); `false` when it was not here.
pub async fn remove(db: &DatabaseConnection, kind: Kind, id: i64) -> AppResult<bool> {
    let txn = crate::db::begin_write(db).await?;
    let n = delete_rows(&txn, kind, Which::Id(id)).await?;
    changes::commit(txn).await?;
    Ok(n > 0)
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
    let deleted = delete_rows(&txn, kind, Which::NotIn(upstream)).await?;
    save_checkpoint(&txn, kind, None, Some(now())).await?;
    changes::commit(txn).await?;
    Ok(deleted)
}

/// The rows a deletion picks.
#[derive(Clone, Copy)]
enum Which<'a> {
    /// Every row whose id upstream no longer has.
    NotIn(&'a HashSet<i64>),
    /// One row.
    Id(i64),
}

/// Deletes the rows of `kind` that `gone` picks, recording deleted steps in the feed.
async fn delete_rows(
    txn: &(impl ConnectionTrait + 'static),
    kind: Kind,
    gone: Which<'_>,
) -> AppResult<usize> {
    Ok(match kind {
        Kind::Users => delete_where::<Users>(txn, gone).await?,
        Kind::CallPurposes => delete_where::<CallPurposes>(txn, gone).await?,
        Kind::TaskPriorities => delete_where::<TaskPriorities>(txn, gone).await?,
        Kind::Sequences => delete_where::<Sequences>(txn, gone).await?,
        Kind::Templates => delete_where::<Templates>(txn, gone).await?,
        Kind::SequenceSteps => {
            let steps = steps_where(txn, gone).await?;
            let n = delete_where::<Steps>(txn, gone).await?;
            let feed: Vec<Change> = steps
                .into_iter()
                .map(|(id, seq)| Change::step(ChangeKind::Deleted, id, seq))
                .collect();
            changes::record(txn, &feed).await?;
            n
        }
        Kind::SequenceTemplates => delete_where::<SequenceTemplates>(txn, gone).await?,
        Kind::Tasks => delete_where::<Tasks>(txn, gone).await?,
        Kind::Calls => delete_where::<Calls>(txn, gone).await?,
        Kind::Mailings => delete_where::<Mailings>(txn, gone).await?,
    })
}

/// The stored `updated_at` of a row (every mirrored table has one).
fn updated_at<R: Resource>(model: &R::Model) -> Option<DateTime<Utc>>
where
    R::Model: IntoActiveModel<<R::Entity as EntityTrait>::ActiveModel>,
    <R::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = R::Entity>,
{
    use std::str::FromStr;
    let col = <R::Entity as EntityTrait>::Column::from_str("updated_at").ok()?;
    match model.clone().into_active_model().get(col).into_value()? {
        Value::ChronoDateTimeUtc(Some(t)) => Some(t),
        _ => None,
    }
}

async fn save_checkpoint(
    db: &(impl ConnectionTrait + 'static),
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
    db: &(impl ConnectionTrait + 'static),
    rows: &[UpstreamRow],
    newer_only: bool,
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
    let mut new = Vec::new();
    let mut seen = HashSet::new();
    for row in rows {
        if !seen.insert(row.id) {
            continue;
        }
        let old = stored.get(&row.id);
        if newer_only && let Some(old) = old {
            let stored_at = updated_at::<R>(old);
            let sent_at = row
                .attributes
                .get("updatedAt")
                .and_then(Json::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            if sent_at.is_none() || stored_at.is_some_and(|s| Some(s) > sent_at) {
                applied.stale += 1;
                continue;
            }
        }
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
                feed.extend(change((&model, ChangeKind::Created)));
                new.push(active);
                applied.inserted += 1;
            }
        }
    }
    // Several rows per INSERT, well under every backend's bound-parameter limit.
    let per_insert = (30_000 / <R::Entity as EntityTrait>::Column::iter().count().max(1)).max(1);
    let mut new = new.into_iter().peekable();
    while new.peek().is_some() {
        let chunk: Vec<_> = new.by_ref().take(per_insert).collect();
        R::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
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
    db: &(impl ConnectionTrait + 'static),
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
            None if old.is_none() => match local_default(name, ty) {
                Some(value) => active
                    .try_set(col, value)
                    .map_err(|_| format!("attribute {}: no default", camel(name)))?,
                None => return Err(format!("attribute {} is missing", camel(name))),
            },
            None => {}
        }
    }
    active
        .try_into_model()
        .map_err(|e| format!("incomplete: {e}"))
}

/// The value of a column Outreach does not send, for a new row: a mirrored user's `role` is
/// stepgraph's own notion (Outreach has none), so a new user starts as a member (an admin
/// changes it here); a counter Outreach leaves out starts at 0, a flag at false.
fn local_default(column: &str, ty: &ColumnType) -> Option<Value> {
    match (column, ty) {
        ("role", _) => Some(Value::String(Some("member".into()))),
        (c, ColumnType::Integer) if c.ends_with("_count") => Some(Value::Int(Some(0))),
        (_, ColumnType::Boolean) => Some(Value::Bool(Some(false))),
        _ => None,
    }
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

/// `bounce_count` -> `bounceCount`: a column's name on both APIs.
pub fn camel(snake: &str) -> String {
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
async fn park_displaced_steps(
    db: &(impl ConnectionTrait + 'static),
    rows: &[UpstreamRow],
) -> AppResult<()> {
    use entity::sequence_step::{Column as S, Entity as StepsTable};
    let in_page: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let sequence_of = |row: &UpstreamRow| row.to_one.get("sequence").copied().flatten();
    let order_of = |row: &UpstreamRow| row.attributes.get("order").and_then(Json::as_i64);
    // The stored steps of every sequence the page touches, and of the page's own steps (one
    // of which may be moving to another sequence): one statement.
    let sequences: HashSet<i64> = rows.iter().filter_map(sequence_of).collect();
    let stored: Vec<(i64, i64, i32)> = StepsTable::find()
        .select_only()
        .column(S::Id)
        .column(S::SequenceId)
        .column(S::Order)
        .filter(
            sea_orm::Condition::any()
                .add(S::SequenceId.is_in(sequences))
                .add(S::Id.is_in(in_page.iter().copied())),
        )
        .into_tuple()
        .all(db)
        .await?;
    let by_id: HashMap<i64, (i64, i64)> = stored
        .iter()
        .map(|&(id, seq, order)| (id, (seq, i64::from(order))))
        .collect();
    let holder: HashMap<(i64, i64), i64> = stored
        .iter()
        .map(|&(id, seq, order)| ((seq, i64::from(order)), id))
        .collect();
    // Parked steps go past every order stored or about to be written.
    let mut max_order: HashMap<i64, i64> = HashMap::new();
    let page_orders = rows
        .iter()
        .filter_map(|r| Some((sequence_of(r)?, order_of(r)?)));
    for (seq, order) in stored
        .iter()
        .map(|&(_, seq, order)| (seq, i64::from(order)))
        .chain(page_orders)
    {
        let m = max_order.entry(seq).or_insert(0);
        *m = std::cmp::max(*m, order);
    }
    let mut moving = Vec::new();
    let mut parked = Vec::new();
    for row in rows {
        let old = by_id.get(&row.id).copied();
        let Some(seq) = sequence_of(row).or(old.map(|o| o.0)) else {
            continue;
        };
        let Some(order) = order_of(row).or(old.map(|o| o.1)) else {
            continue;
        };
        if old == Some((seq, order)) {
            continue;
        }
        if old.is_some() {
            moving.push(row.id);
        }
        if let Some(&other) = holder.get(&(seq, order))
            && !in_page.contains(&other)
        {
            let end = max_order.entry(seq).or_insert(0);
            *end += 1;
            parked.push((other, *end));
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
    for (id, order) in parked {
        StepsTable::update_many()
            .col_expr(
                S::Order,
                Expr::value(i32::try_from(order).unwrap_or(i32::MAX)),
            )
            .filter(S::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The (id, sequence) of the steps about to be deleted.
async fn steps_where(
    db: &(impl ConnectionTrait + 'static),
    gone: Which<'_>,
) -> AppResult<Vec<(i64, i64)>> {
    use entity::sequence_step::{Column as S, Entity as StepsTable};
    let mut select = StepsTable::find()
        .select_only()
        .column(S::Id)
        .column(S::SequenceId);
    if let Which::Id(id) = gone {
        select = select.filter(S::Id.eq(id));
    }
    let all: Vec<(i64, i64)> = select.into_tuple().all(db).await?;
    Ok(all.into_iter().filter(|(id, _)| gone.picks(*id)).collect())
}

impl Which<'_> {
    fn picks(self, id: i64) -> bool {
        match self {
            Which::NotIn(upstream) => !upstream.contains(&id),
            Which::Id(one) => id == one,
        }
    }
}

async fn delete_where<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    gone: Which<'_>,
) -> AppResult<usize> {
    let mut select = R::Entity::find().select_only().column(R::id_column());
    if let Which::Id(id) = gone {
        select = select.filter(R::id_column().eq(id));
    }
    let local: Vec<i64> = select.into_tuple().all(db).await?;
    let gone: Vec<i64> = local.into_iter().filter(|id| gone.picks(*id)).collect();
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
    fn a_resource_object_becomes_a_row() {
        let row = UpstreamRow::from_resource(&serde_json::json!({
            "type": "sequenceStep",
            "id": 7,
            "attributes": { "order": 2, "updatedAt": "2026-10-01T09:00:00.000Z" },
            "relationships": {
                "sequence": { "data": { "type": "sequence", "id": 3 } },
                "callPurpose": { "data": null },
                "tasks": { "links": { "related": "/api/v2/tasks?filter[sequenceStep][id]=7" } },
                "mailings": { "data": [ { "type": "mailing", "id": 1 } ] }
            }
        }))
        .unwrap();
        assert_eq!(row.id, 7);
        assert_eq!(row.to_one.get("sequence"), Some(&Some(3)));
        assert_eq!(row.to_one.get("callPurpose"), Some(&None));
        assert!(!row.to_one.contains_key("tasks"));
        assert!(!row.to_one.contains_key("mailings"));
        assert!(UpstreamRow::from_resource(&serde_json::json!({ "id": "x" })).is_err());
    }

    #[test]
    fn an_outreach_user_without_a_role_becomes_a_member() {
        let row = UpstreamRow::from_resource(&serde_json::json!({
            "type": "user", "id": 42,
            "attributes": {
                "email": "sam@example.com", "firstName": "Sam", "lastName": null,
                "username": "sam", "title": null,
                "createdAt": "2026-10-01T09:00:00.000Z", "updatedAt": "2026-10-02T09:00:00.000Z",
                "someAttributeWeDoNotStore": 7
            }
        }))
        .unwrap();
        let user = decode::<Users>(&row, None, &foreign_keys::<Users>(), &HashMap::new()).unwrap();
        assert_eq!(user.id, 42);
        assert_eq!(user.role, entity::enums::Role::Member);
        assert!(!user.locked);
        assert_eq!(user.first_name.as_deref(), Some("Sam"));
        // An enum spelling we do not know is a reason, never a panic or a bad row.
        let mut bad = row.clone();
        bad.attributes
            .insert("role".into(), serde_json::json!("superuser"));
        let err = decode::<Users>(&bad, None, &[], &HashMap::new()).unwrap_err();
        assert!(err.contains("role"), "{err}");
        // A required attribute missing from a new row skips it.
        let mut bad = row;
        bad.attributes.remove("email");
        let err = decode::<Users>(&bad, None, &[], &HashMap::new()).unwrap_err();
        assert!(err.contains("email"), "{err}");
    }

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
