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

use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter, QueryTrait};

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::service::relations::ToOne;
use crate::service::resource::{Resource, and_visible};

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
        let mut out: Vec<(i64, Option<T::Model>)> = Vec::with_capacity(parents.len());
        for (parent, row) in parents.iter().zip(rows) {
            if let Some(key) = (self.key)(parent) {
                let target = <T::Model as entity::FromRow>::from_joined(row, start, mask | 1)?;
                out.push((key, target));
            }
        }
        Ok(Box::new(out))
    }
}

/// One join of a statement: the relationship and the target columns it reads.
pub type Joined<'a, P> = (&'a dyn Join<P>, u64);

/// The rows of `query` (an entity select over `P`, as SeaORM builds it) with `joins` added:
/// each parent, its fields outside `columns` placeholders (`entity::Placeholder`; every
/// column when `columns` has every bit), and for each join the targets it found
/// ([`Targets`], in the order of `joins`).
pub async fn all<P: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    mut query: SelectStatement,
    columns: u64,
    joins: &[Joined<'_, P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    let columns = (columns | 1) & all_columns::<P>();
    if columns != all_columns::<P>() {
        query.clear_selects();
        for column in masked_columns::<P>(columns) {
            query.column((P::Entity::default(), column));
        }
    }
    for (index, (join, mask)) in joins.iter().enumerate() {
        join.add_to(&mut query, viewer, index, *mask);
    }
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
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
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: &[i64],
    columns: u64,
    joins: &[Joined<'_, P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    let cond = Condition::all().add(crate::service::resource::any_id(
        db.get_database_backend(),
        P::id_column(),
        ids,
    ));
    let query = crate::service::resource::find::<P>()
        .filter(and_visible::<P>(viewer, cond))
        .into_query();
    all::<P>(db, viewer, query, columns, joins).await
}
