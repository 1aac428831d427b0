//! What every listable entity is to the service layer, and the generic functions over it.
//!
//! A [`Resource`] names an entity's table, its filter, its sort keys and, above all, its
//! visibility rule from [`crate::auth::policy`]: the trait has no default for `visible`, so an
//! entity cannot be listed, loaded by id or reached through a relationship without one. Every
//! read path of both APIs goes through the functions here (root lists, counts, lookups) or
//! through [`crate::service::relations`] (to-one and to-many relationships, relationship
//! filters), and each of them applies `R::visible` in SQL, before paging or counting.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use sea_orm::sea_query::{Condition, Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QuerySelect, QueryTrait, Select, Value,
};

use crate::auth::Viewer;
use crate::auth::policy::Visible;
use crate::error::{AppError, AppResult};
use crate::service::joins::{self, Joined, Targets};
use crate::service::pagination::{
    self, Direction, Extras, Ordering, Page, PageLimits, PageRequest, SortField,
};

/// `R::Entity::find()`: a `SELECT` of every column of `R`'s table, in the model's field
/// order (positional decoding relies on it), copied from one built the first time.
///
/// Why a copy: sea-orm builds that list by asking each column for its select expression and
/// comparing the result with the plain column, about 20,000 instructions for the 38 columns
/// of a step: a twentieth of a whole lookup by id (docs/PERFORMANCE.md). The copy clones
/// borrowed names.
pub fn find<R: Resource>() -> Select<R::Entity> {
    prototypes::<R>().0.clone()
}

/// [`find`] reading only the columns `mask` names (bit `i`: the model's field `i`), or every
/// column when it names them all.
pub fn find_columns<R: Resource>(mask: u64) -> Select<R::Entity> {
    let all = joins::all_columns::<R>();
    if mask & all == all {
        return find::<R>();
    }
    prototypes::<R>()
        .1
        .clone()
        .columns(joins::masked_columns::<R>(mask))
}

/// `R`'s statement with every column, and with none (only its table), built once per
/// resource and kept for the life of the process (one pair per resource type).
fn prototypes<R: Resource>() -> &'static (Select<R::Entity>, Select<R::Entity>) {
    use std::any::{Any, TypeId};
    use std::sync::{OnceLock, RwLock};
    type Map = HashMap<TypeId, &'static (dyn Any + Send + Sync)>;
    static PROTOTYPES: OnceLock<RwLock<Map>> = OnceLock::new();
    let map = PROTOTYPES.get_or_init(Default::default);
    let key = TypeId::of::<R>();
    let found = map
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
        .copied();
    let any = found.unwrap_or_else(|| {
        *map.write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(key)
            .or_insert_with(|| {
                let full = R::Entity::find();
                let bare = full.clone().select_only();
                Box::leak(Box::new((full, bare)))
            })
    });
    any.downcast_ref()
        .expect("BUG: the prototypes are keyed by their resource type")
}

/// One entity as the APIs see it.
pub trait Resource: Send + Sync + 'static {
    type Entity: EntityTrait<Model = Self::Model>;
    /// Decoded by position (`entity::FromRow`) on the read paths that return pages and
    /// lookups; the derived by-name `FromQueryResult` elsewhere.
    type Model: FromQueryResult + entity::FromRow + Clone + Send + Sync + 'static;
    /// The list filter (transport-agnostic; adapters convert their wire input into it).
    type Filter: Clone + Default + Debug + Hash + Eq + Send + Sync + 'static;
    /// The sortable attributes (declared with `sort_keys!` in [`crate::service::lists`]).
    type Sort: SortField<Model = Self::Model>;

    /// The resource's name in error messages, as both APIs spell it (`sequenceStep`).
    const NAME: &'static str;

    /// The primary key of a row.
    fn id(row: &Self::Model) -> i64;
    /// Which rows the viewer may see: always a function of [`crate::auth::policy`].
    fn visible(viewer: &Viewer) -> Visible;
    /// The filter as a condition on the entity's table. It takes the viewer because a filter
    /// over a relationship must consider only rows the viewer can see.
    fn condition(viewer: &Viewer, filter: &Self::Filter) -> Condition;

    /// The primary-key column (every table has a single-column integer key).
    fn id_column() -> <Self::Entity as EntityTrait>::Column {
        use sea_orm::{Iterable, PrimaryKeyToColumn};
        <Self::Entity as EntityTrait>::PrimaryKey::iter()
            .next()
            .expect("BUG: every entity has a primary key")
            .into_column()
    }
}

/// A list request: filter, ordering and page.
#[derive(Debug, Clone)]
pub struct ListRequest<R: Resource> {
    pub filter: R::Filter,
    pub order_by: Vec<(R::Sort, Direction)>,
    pub page: PageRequest,
    pub limits: PageLimits,
    pub extras: Extras,
}

/// The ordering for a request: the requested keys, then the id.
pub fn ordering<R: Resource>(order_by: &[(R::Sort, Direction)]) -> Ordering<R::Model> {
    Ordering::new(
        order_by.iter().map(|(s, d)| (s.key(), *d)),
        R::Sort::ID.key(),
    )
}

/// Adds the viewer's visibility of `R` to a condition.
pub fn and_visible<R: Resource>(viewer: &Viewer, cond: Condition) -> Condition {
    match R::visible(viewer) {
        Some(visible) => cond.add(visible),
        None => cond,
    }
}

/// The rows of `R` the viewer can see that match the filter.
pub fn select<R: Resource>(viewer: &Viewer, filter: &R::Filter) -> Select<R::Entity> {
    select_within::<R>(viewer, filter, Condition::all())
}

/// [`select`] narrowed by `scope`, a condition the adapter adds on top of the client's
/// filter (the JSON:API related-resource links list one parent's children this way).
pub fn select_within<R: Resource>(
    viewer: &Viewer,
    filter: &R::Filter,
    scope: Condition,
) -> Select<R::Entity> {
    narrowed::<R>(find::<R>(), viewer, filter, scope)
}

/// `start` (a select over `R`) with the filter, `scope` and the viewer's visibility.
fn narrowed<R: Resource>(
    start: Select<R::Entity>,
    viewer: &Viewer,
    filter: &R::Filter,
    scope: Condition,
) -> Select<R::Entity> {
    let cond = scope.add(R::condition(viewer, filter));
    start.filter(and_visible::<R>(viewer, cond))
}

/// One page of what the viewer can see of the list.
pub async fn list<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    req: &ListRequest<R>,
) -> AppResult<Page<R::Model>> {
    list_within::<R>(db, viewer, req, Condition::all()).await
}

/// [`list`] narrowed by `scope` (see [`select_within`]).
pub async fn list_within<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    req: &ListRequest<R>,
    scope: Condition,
) -> AppResult<Page<R::Model>> {
    pagination::fetch(
        db,
        select_within::<R>(viewer, &req.filter, scope),
        &ordering::<R>(&req.order_by),
        &req.page,
        req.limits,
        req.extras,
    )
    .await
}

/// [`list`] reading only the columns `columns` names (and those the page's cursors are made
/// of), with to-one targets joined into the page's statement ([`crate::service::joins`]): the
/// page, and the targets of each join (of every row read, the one past the page too).
pub async fn list_joined<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    req: &ListRequest<R>,
    columns: u64,
    joins: &[Joined<'_, R>],
) -> AppResult<(Page<R::Model>, Vec<Targets>)> {
    // Only the id at first: the page's select and the count behind it are copies of this
    // one, and `joins::all` chooses the page's columns (copying a step's 38 column
    // expressions twice, then dropping them, was 8% of a short list's instructions).
    let base = narrowed::<R>(find_columns::<R>(1), viewer, &req.filter, Condition::all());
    let ordering = ordering::<R>(&req.order_by);
    let (window, page) = pagination::page_select(&base, &ordering, &req.page, req.limits)?;
    let columns = columns | sort_columns::<R>(&req.order_by);
    let (rows, targets) = joins::all::<R>(db, viewer, page.into_query(), 1, columns, joins).await?;
    let page = pagination::finish(db, base, &ordering, &window, rows, req.extras).await?;
    Ok((page, targets))
}

/// The columns an ordering's cursors are made of: each sort key's column (`UPDATED_AT`,
/// `updated_at`), every column for a key that is not one column, and the id.
pub fn sort_columns<R: Resource>(order_by: &[(R::Sort, Direction)]) -> u64 {
    order_by.iter().fold(1, |mask, (sort, _)| {
        let name = sort.key().name.to_ascii_lowercase();
        mask | joins::column_bit::<R>(&name).unwrap_or_else(joins::all_columns::<R>)
    })
}

/// How many rows the viewer can see match the filter (ignoring pages).
pub async fn count<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    filter: &R::Filter,
) -> AppResult<u64> {
    count_within::<R>(db, viewer, filter, Condition::all()).await
}

/// [`count`] narrowed by `scope` (see [`select_within`]).
pub async fn count_within<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    filter: &R::Filter,
    scope: Condition,
) -> AppResult<u64> {
    Ok(select_within::<R>(viewer, filter, scope).count(db).await?)
}

/// The visible rows among `ids`, keyed by id; missing and invisible ids are simply absent.
pub async fn by_ids<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    ids: &[i64],
) -> AppResult<HashMap<i64, R::Model>> {
    let (rows, _) = joins::by_ids::<R>(db, viewer, ids, u64::MAX, &[]).await?;
    Ok(rows.into_iter().map(|row| (R::id(&row), row)).collect())
}

/// Which of `ids` name rows the viewer can see that also meet `filter`: one id-only
/// statement, run even for no ids (a caller that must not let statement counts depend on
/// its data relies on that; see `Resource::visible`'s callers in the JSON:API).
pub async fn matching_ids<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    filter: &R::Filter,
    ids: &[i64],
) -> AppResult<std::collections::HashSet<i64>> {
    let scope = Condition::all().add(any_id(db.get_database_backend(), R::id_column(), ids));
    let found: Vec<i64> = select_within::<R>(viewer, filter, scope)
        .select_only()
        .column(R::id_column())
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}

/// `col IN (ids)` with SQL text that does not depend on how many ids there are, where the
/// backend allows it, so the database parses and plans it once and reuses the prepared
/// statement: PostgreSQL takes one array parameter (`= ANY(...)`), SQLite one JSON array
/// (`IN (SELECT value FROM json_each(?))`). One id is `col = ?` on both: a lookup by id (a
/// single row, a loader batch of one) is the commonest statement, and PostgreSQL spends less
/// on it without the text-to-array conversion, SQLite without the `json_each` sub-select
/// (docs/PERFORMANCE.md, the ninth session). MySQL keeps a plain `IN (?, ?, ...)` list:
/// MariaDB plans `JSON_TABLE` sub-selects poorly.
pub fn any_id(backend: DbBackend, col: impl ColumnTrait, ids: &[i64]) -> SimpleExpr {
    match IdParam::of(backend, ids) {
        Some(param) => any_id_value(backend, col, param.is_one(), param.into_value()),
        None => col.is_in(ids.iter().copied()),
    }
}

/// The one parameter [`any_id`] passes an id list as, where the backend takes it as one.
pub(crate) enum IdParam {
    /// A single id: `col = ?`.
    One(i64),
    /// The whole list as text (see [`any_id`]).
    List(String),
}

impl IdParam {
    pub(crate) fn of(backend: DbBackend, ids: &[i64]) -> Option<Self> {
        match (backend, ids) {
            (DbBackend::Postgres | DbBackend::Sqlite, [id]) => Some(Self::One(*id)),
            (DbBackend::Postgres, _) => Some(Self::List(comma_separated(ids))),
            (DbBackend::Sqlite, _) => Some(Self::List(format!("[{}]", comma_separated(ids)))),
            _ => None,
        }
    }

    pub(crate) fn is_one(&self) -> bool {
        matches!(self, Self::One(_))
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::One(id) => Value::from(id),
            Self::List(list) => Value::from(list),
        }
    }
}

/// [`any_id`] with its one parameter's value given (PostgreSQL and SQLite): `col = value`
/// when `one`, else `value` is the list's text.
pub(crate) fn any_id_value(
    backend: DbBackend,
    col: impl ColumnTrait,
    one: bool,
    value: Value,
) -> SimpleExpr {
    let column = Expr::col((col.entity_name(), col));
    if one {
        return column.eq(value);
    }
    let template = match backend {
        // sea-query numbers a custom expression's operands `$1`, `$2` on PostgreSQL.
        DbBackend::Postgres => "$1 = ANY(string_to_array($2, ',')::bigint[])",
        _ => "? IN (SELECT value FROM json_each(?))",
    };
    Expr::cust_with_exprs(template, [column, Expr::val(value)])
}

/// `1,2,3`: an id list as one text parameter, for PostgreSQL's `string_to_array`.
pub(crate) fn comma_separated(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// One visible row; an invisible row is reported exactly like a missing one (NOT_FOUND).
pub async fn get<R: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    id: i64,
) -> AppResult<R::Model> {
    by_ids::<R>(db, viewer, &[id])
        .await?
        .remove(&id)
        .ok_or_else(|| AppError::not_found(R::NAME, id))
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, QueryFilter, QueryTrait};

    /// The id list is one parameter, whatever its length, where the backend allows it; one
    /// id is a plain comparison.
    #[test]
    fn id_lists_are_one_parameter() {
        use sea_orm::DatabaseBackend::{Postgres, Sqlite};
        for (backend, ids, expected) in [
            (
                Postgres,
                &[1, 2, 3][..],
                r#""users"."id" = ANY(string_to_array('1,2,3', ',')::bigint[])"#,
            ),
            (
                Sqlite,
                &[1, 2, 3],
                r#""users"."id" IN (SELECT value FROM json_each('[1,2,3]'))"#,
            ),
            (
                Postgres,
                &[],
                r#""users"."id" = ANY(string_to_array('', ',')::bigint[])"#,
            ),
            (
                Sqlite,
                &[],
                r#""users"."id" IN (SELECT value FROM json_each('[]'))"#,
            ),
            (Postgres, &[7], r#""users"."id" = 7"#),
            (Sqlite, &[7], r#""users"."id" = 7"#),
        ] {
            let q = entity::user::Entity::find()
                .filter(super::any_id(backend, entity::user::Column::Id, ids))
                .build(backend);
            assert_eq!(q.values.as_ref().map(|v| v.0.len()), Some(1), "{q}");
            assert!(q.to_string().ends_with(expected), "{q}");
        }
    }
}
