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

use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, SelectStatement};
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
pub trait Join<P: Resource>: Sync {
    /// The relationship's field name (`creator`).
    fn field(&self) -> &'static str;
    /// Adds the target's columns to `query`, an entity select over `P`, as join `index`.
    fn add_to(&self, query: &mut SelectStatement, viewer: &Viewer, index: usize);
    /// How many columns [`Join::add_to`] adds.
    fn width(&self) -> usize;
    /// The targets of `parents`, decoded from `rows` (the same rows, in order) from column
    /// `start`.
    fn decode(
        &self,
        parents: &[P::Model],
        rows: &[sea_orm::QueryResult],
        start: usize,
    ) -> AppResult<Targets>;
}

impl<P: Resource, T: Resource> Join<P> for ToOne<P, T> {
    fn field(&self) -> &'static str {
        crate::service::relations::Declared::field(self)
    }

    fn add_to(&self, query: &mut SelectStatement, viewer: &Viewer, index: usize) {
        let alias = Alias::new(format!("sg_j{index}"));
        let targets = T::Entity::find()
            .filter(and_visible::<T>(viewer, Condition::all()))
            .into_query();
        let on =
            Expr::col((alias.clone(), T::id_column())).equals((self.fk.entity_name(), self.fk));
        query.join_subquery(JoinType::LeftJoin, targets, alias.clone(), on);
        for column in <T::Entity as EntityTrait>::Column::iter() {
            query.column((alias.clone(), column));
        }
    }

    fn width(&self) -> usize {
        <T::Model as entity::FromRow>::WIDTH
    }

    fn decode(
        &self,
        parents: &[P::Model],
        rows: &[sea_orm::QueryResult],
        start: usize,
    ) -> AppResult<Targets> {
        let mut out: Vec<(i64, Option<T::Model>)> = Vec::with_capacity(parents.len());
        for (parent, row) in parents.iter().zip(rows) {
            if let Some(key) = (self.key)(parent) {
                out.push((key, <T::Model as entity::FromRow>::from_joined(row, start)?));
            }
        }
        Ok(Box::new(out))
    }
}

/// The rows of `query` (an entity select over `P`, as SeaORM builds it) with `joins` added:
/// each parent, and for each join the targets it found ([`Targets`], in the order of `joins`).
pub async fn all<P: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    mut query: SelectStatement,
    joins: &[&dyn Join<P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    for (index, join) in joins.iter().enumerate() {
        join.add_to(&mut query, viewer, index);
    }
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    let parents = rows
        .iter()
        .map(<P::Model as entity::FromRow>::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let mut start = <P::Model as entity::FromRow>::WIDTH;
    let mut targets = Vec::with_capacity(joins.len());
    for join in joins {
        targets.push(join.decode(&parents, &rows, start)?);
        start += join.width();
    }
    Ok((parents, targets))
}

/// The visible rows of `P` among `ids` with `joins` (see [`all`]); missing and invisible ids
/// are absent.
pub async fn by_ids<P: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: &[i64],
    joins: &[&dyn Join<P>],
) -> AppResult<(Vec<P::Model>, Vec<Targets>)> {
    let cond = Condition::all().add(crate::service::resource::any_id(
        db.get_database_backend(),
        P::id_column(),
        ids,
    ));
    let query = P::Entity::find()
        .filter(and_visible::<P>(viewer, cond))
        .into_query();
    all::<P>(db, viewer, query, joins).await
}
