//! To-one targets read in their parent's statement: "50 steps, each with its sequence and
//! its creator" as one `SELECT` with two outer joins, instead of a statement for the steps
//! and one more per target type.
//!
//! Why: every statement costs the database a round trip, a snapshot and an executor start,
//! and the server a pool checkout, a loader batch and a hand-off between tasks; on PostgreSQL
//! those, not the rows, were most of the CPU of a lookup with its to-ones (issue 26). A
//! joined target costs the database an index probe into a table it has just read from.
//!
//! A target is joined as `LEFT JOIN (SELECT <target's columns> FROM target WHERE <target's
//! visibility>) AS sg_jN ON sg_jN.id = parent.fk`: the visibility rule is the target's own
//! condition ([`Resource::visible`]), unchanged, inside the sub-select (where it names the
//! target's table as it always does), so a hidden target reads as no target, exactly as the
//! by-id loader would answer. PostgreSQL, SQLite and MariaDB all merge such a sub-select
//! into the join (checked with `EXPLAIN` in `tests/it/joins.rs`).
//!
//! What a join returns is typed by its target but travels type-erased ([`Targets`]): the
//! adapter that asked for the join knows the target type and takes the rows back out.

use std::any::Any;
use std::collections::HashSet;

use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Iterable, QueryFilter, QueryTrait,
    Statement,
};

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::service::relations::ToOne;
use crate::service::resource::{IdParam, Resource, and_visible, any_id, any_id_value};

/// The targets one join found, one entry per parent row whose key is set: the key, and the
/// target (`None` when it does not exist or the viewer cannot see it). Holds a
/// `Vec<(i64, Option<T::Model>)>` for the join's target `T`.
pub type Targets = Box<dyn Any + Send>;

/// A to-one relationship of `P` that can be joined into a statement over `P`.
///
/// `mask` chooses the target's columns (bit `i`: the model's field `i`; bit 0, the key, is
/// always read): the fields a selection reads, so the database sends and the server decodes
/// only those (a sequence has 38 columns; a list that shows its name needs two).
pub trait Join<P: Resource>: Sync {
    /// The relationship's field name (`creator`).
    fn field(&self) -> &'static str;
    /// Adds the target's columns in `mask` to `query`, an entity select over `P`, as join
    /// `index`.
    fn add_to(&self, query: &mut SelectStatement, viewer: &Viewer, index: usize, mask: u64);
    /// How many columns [`Join::add_to`] adds for `mask`.
    fn width(&self, mask: u64) -> usize;
    /// The targets of `parents`, decoded from `rows` (the same rows, in order) from column
    /// `start`, their fields outside `mask` placeholders (`entity::Placeholder`).
    fn decode(
        &self,
        parents: &[P::Model],
        rows: &[sea_orm::QueryResult],
        start: usize,
        mask: u64,
    ) -> AppResult<Targets>;
}

/// Bit `i` for each of the model's fields: every column of `R`.
pub fn all_columns<R: Resource>() -> u64 {
    let width = <R::Model as entity::FromRow>::WIDTH;
    debug_assert!(
        width <= 64,
        "{} has more columns than a mask holds",
        R::NAME
    );
    if width >= 64 {
        u64::MAX
    } else {
        (1 << width) - 1
    }
}

/// The bit of `R`'s column `name` (`open_count`), if it has one.
pub fn column_bit<R: Resource>(name: &str) -> Option<u64> {
    <R::Entity as EntityTrait>::Column::iter()
        .position(|c| sea_orm::IdenStatic::as_str(&c) == name)
        .map(|i| 1 << i)
}

/// The columns of `R` whose bits `mask` sets, in the model's field order.
pub fn masked_columns<R: Resource>(
    mask: u64,
) -> impl Iterator<Item = <R::Entity as EntityTrait>::Column> {
    <R::Entity as EntityTrait>::Column::iter()
        .enumerate()
        .filter(move |(i, _)| mask & (1 << i) != 0)
        .map(|(_, column)| column)
}

/// The names of `R`'s columns, in the model's field order.
pub fn column_names<R: Resource>() -> Vec<&'static str> {
    <R::Entity as EntityTrait>::Column::iter()
        .map(|c| sea_orm::IdenStatic::as_str(&c))
        .collect()
}

impl<P: Resource, T: Resource> Join<P> for ToOne<P, T> {
    fn field(&self) -> &'static str {
        crate::service::relations::Declared::field(self)
    }

    fn add_to(&self, query: &mut SelectStatement, viewer: &Viewer, index: usize, mask: u64) {
        let alias = Alias::new(format!("sg_j{index}"));
        let mask = mask | 1;
        let mut targets = Query::select();
        targets.from(T::Entity::default());
        for column in masked_columns::<T>(mask) {
            targets.column((T::Entity::default(), column));
        }
        if let Some(visible) = T::visible(viewer) {
            targets.cond_where(visible);
        }
        let on =
            Expr::col((alias.clone(), T::id_column())).equals((self.fk.entity_name(), self.fk));
        query.join_subquery(JoinType::LeftJoin, targets, alias.clone(), on);
        for column in masked_columns::<T>(mask) {
            query.column((alias.clone(), column));
        }
    }

    fn width(&self, mask: u64) -> usize {
        ((mask | 1) & all_columns::<T>()).count_ones() as usize
    }

    fn decode(
        &self,
        parents: &[P::Model],
        rows: &[sea_orm::QueryResult],
        start: usize,
        mask: u64,
    ) -> AppResult<Targets> {
        // A target is decoded once, from the first row that joined it: every row with the same
        // key joined the same row with the same visibility (a page of 50 steps names a few
        // users as creator, and decoding each again was most of what its joins cost).
        let mut out: Vec<(i64, Option<T::Model>)> = Vec::new();
        let mut seen: HashSet<i64, foldhash::fast::RandomState> = HashSet::default();
        for (parent, row) in parents.iter().zip(rows) {
            if let Some(key) = (self.key)(parent)
                && seen.insert(key)
            {
                let target = <T::Model as entity::FromRow>::from_joined(row, start, mask | 1)?;
                out.push((key, target));
            }
        }
        Ok(Box::new(out))
    }
}

/// One join of a statement: the relationship and the target columns it reads.
pub type Joined<'a, P> = (&'a dyn Join<P>, u64);

/// The rows of `query` (an entity select over `P` selecting the columns `selected` names, in
/// the model's order: [`resource::find_columns`](crate::service::resource::find_columns))
/// reading the columns `columns` names instead, with `joins` added: each parent, its fields
/// outside `columns` placeholders (`entity::Placeholder`; every column when `columns` has
/// every bit), and for each join the targets it found ([`Targets`], in the order of `joins`).
pub async fn all<P: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    query: SelectStatement,
    selected: u64,
    columns: u64,
    joins: &[Joined<'_, P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    let columns = (columns | 1) & all_columns::<P>();
    let statement = db
        .get_database_backend()
        .build(&select::<P>(query, viewer, selected, columns, joins));
    run::<P>(db, statement, columns, joins).await
}

/// `query` (selecting the columns `selected` names) reading `columns` of `P` (already
/// limited to `P`'s) and the columns of `joins`.
fn select<P: Resource>(
    mut query: SelectStatement,
    viewer: &Viewer,
    selected: u64,
    columns: u64,
    joins: &[Joined<'_, P>],
) -> SelectStatement {
    if columns != selected & all_columns::<P>() {
        query.clear_selects();
        for column in masked_columns::<P>(columns) {
            query.column((P::Entity::default(), column));
        }
    }
    for (index, (join, mask)) in joins.iter().enumerate() {
        join.add_to(&mut query, viewer, index, *mask);
    }
    query
}

/// Runs `statement` (made by [`select`]) and decodes its rows (see [`all`]).
async fn run<P: Resource>(
    db: &(impl ConnectionTrait + 'static),
    statement: Statement,
    columns: u64,
    joins: &[Joined<'_, P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    let rows = entity::query_all(db, statement).await?;
    let parents = rows
        .iter()
        .map(|row| <P::Model as entity::FromRow>::from_row_masked(row, 0, columns))
        .collect::<Result<Vec<_>, _>>()?;
    let mut start = columns.count_ones() as usize;
    let mut targets = Vec::with_capacity(joins.len());
    for (join, mask) in joins {
        targets.push(join.decode(&parents, &rows, start, *mask)?);
        start += join.width(*mask);
    }
    Ok((parents, targets))
}

/// The visible rows of `P` among `ids` with `joins` (see [`all`]); missing and invisible ids
/// are absent.
pub async fn by_ids<P: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    ids: &[i64],
    columns: u64,
    joins: &[Joined<'_, P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    let backend = db.get_database_backend();
    let columns = (columns | 1) & all_columns::<P>();
    let statement = by_ids_statement::<P>(backend, viewer, ids, columns, joins);
    run::<P>(db, statement, columns, joins).await
}

/// The statement of [`by_ids`]: from [`shapes`] where the ids are one parameter.
fn by_ids_statement<P: Resource>(
    backend: DbBackend,
    viewer: &Viewer,
    ids: &[i64],
    columns: u64,
    joins: &[Joined<'_, P>],
) -> Statement {
    let build = |ids: SimpleExpr| {
        let query = crate::service::resource::find::<P>()
            .filter(and_visible::<P>(viewer, Condition::all().add(ids)))
            .into_query();
        backend.build(&select::<P>(query, viewer, u64::MAX, columns, joins))
    };
    match IdParam::of(backend, ids) {
        Some(param) => {
            let one = param.is_one();
            shapes::statement::<P>(backend, viewer, columns, joins, param, |value| {
                build(any_id_value(backend, P::id_column(), one, value))
            })
        }
        None => build(any_id(backend, P::id_column(), ids)),
    }
}

/// The statements of [`by_ids`], built once per shape.
///
/// Why: building the SQL text with sea-query (a select with its visibility conditions and
/// joined sub-selects, every identifier quoted) was a tenth of a lookup by id's instructions,
/// and every loader batch builds one. Its text and its parameters other than the id list
/// depend only on the shape: the resource, the columns read, the joins and the columns they
/// read, the backend and the viewer (whose id and role the visibility conditions hold). So
/// the statement is built once per shape with a marker in place of the id list, and a later
/// one with the same shape is the copy with the marker's parameter replaced. Only where the
/// ids are one parameter whatever their number (PostgreSQL, SQLite; see `any_id`).
mod shapes {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};

    use sea_orm::{DbBackend, Statement, Value, Values};

    use super::Joined;
    use crate::auth::Viewer;
    use crate::service::resource::{IdParam, Resource};

    /// Shapes kept before the cache starts again (a shape is per viewer: a few KB each).
    const CAPACITY: usize = 1024;
    /// Stands for the id list while a shape is built; no id list looks like it.
    const MARKER: &str = "\u{0}stepgraph:ids\u{0}";

    #[derive(PartialEq, Eq, Hash)]
    struct Shape {
        resource: TypeId,
        postgres: bool,
        /// One id (`id = ?`) or a list (see `any_id`).
        one: bool,
        viewer: Viewer,
        columns: u64,
        joins: Vec<(&'static str, u64)>,
    }

    struct Built {
        sql: String,
        values: Values,
        /// Where the id list goes in `values`.
        slot: usize,
    }

    type Cache = HashMap<Shape, Arc<Built>, std::hash::RandomState>;
    static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

    /// The statement for `ids` (the id list's one parameter), `build` making it for a given
    /// parameter value the first time a shape is seen.
    pub(super) fn statement<P: Resource>(
        backend: DbBackend,
        viewer: &Viewer,
        columns: u64,
        joins: &[Joined<'_, P>],
        ids: IdParam,
        build: impl Fn(Value) -> Statement,
    ) -> Statement {
        let shape = Shape {
            resource: TypeId::of::<P>(),
            postgres: backend == DbBackend::Postgres,
            one: ids.is_one(),
            viewer: *viewer,
            columns,
            joins: joins.iter().map(|(j, mask)| (j.field(), *mask)).collect(),
        };
        let found = lock().get(&shape).cloned();
        let built = match found {
            Some(built) => built,
            None => {
                // The marker is text even where the parameter is a number: only the
                // statement's text is kept, and it does not depend on the value's type.
                let marked = build(Value::from(MARKER.to_owned()));
                let marker = Value::from(MARKER.to_owned());
                let values = marked.values.unwrap_or(Values(Vec::new()));
                let mut slots = values.0.iter().enumerate().filter(|(_, v)| **v == marker);
                let (Some((slot, _)), None) = (slots.next(), slots.next()) else {
                    // Not one parameter after all: nothing to keep.
                    return build(ids.into_value());
                };
                let built = Arc::new(Built {
                    sql: marked.sql,
                    values,
                    slot,
                });
                let mut cache = lock();
                if cache.len() >= CAPACITY {
                    cache.clear();
                }
                cache.insert(shape, built.clone());
                built
            }
        };
        let mut values = built.values.clone();
        values.0[built.slot] = ids.into_value();
        Statement {
            sql: built.sql.clone(),
            values: Some(values),
            db_backend: backend,
        }
    }

    fn lock() -> std::sync::MutexGuard<'static, Cache> {
        CACHE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::lists::Steps;
    use crate::service::relations::{STEP_CREATOR, STEP_SEQUENCE};
    use entity::enums::Role;

    /// A statement from the shape cache is the statement built afresh, for every viewer,
    /// backend, id list and set of joins, whatever was cached before it.
    #[test]
    fn cached_statements_are_the_statements_built_afresh() {
        let viewers = [
            Viewer {
                user_id: 1,
                role: Role::Admin,
            },
            Viewer {
                user_id: 2,
                role: Role::Member,
            },
            Viewer {
                user_id: 3,
                role: Role::Member,
            },
            Viewer {
                user_id: 4,
                role: Role::Viewer,
            },
        ];
        let joins: [Vec<Joined<'_, Steps>>; 3] = [
            vec![],
            vec![(&STEP_SEQUENCE, 0b11)],
            vec![(&STEP_SEQUENCE, 0b101), (&STEP_CREATOR, u64::MAX)],
        ];
        let id_lists: [&[i64]; 3] = [&[1], &[5, 7, 9], &[42]];
        for round in 0..2 {
            for backend in [DbBackend::Postgres, DbBackend::Sqlite, DbBackend::MySql] {
                for viewer in &viewers {
                    for joins in &joins {
                        for columns in [all_columns::<Steps>(), 0b1011] {
                            for ids in id_lists {
                                let cached =
                                    by_ids_statement::<Steps>(backend, viewer, ids, columns, joins);
                                let query = crate::service::resource::find::<Steps>()
                                    .filter(and_visible::<Steps>(
                                        viewer,
                                        Condition::all().add(any_id(
                                            backend,
                                            Steps::id_column(),
                                            ids,
                                        )),
                                    ))
                                    .into_query();
                                let fresh = backend.build(&select::<Steps>(
                                    query,
                                    viewer,
                                    u64::MAX,
                                    columns,
                                    joins,
                                ));
                                assert_eq!(
                                    (&cached.sql, &cached.values),
                                    (&fresh.sql, &fresh.values),
                                    "round {round}, {backend:?}, {viewer:?}, ids {ids:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
