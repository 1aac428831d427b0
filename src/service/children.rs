//! Pages of children for many parents at once: "the first N tasks of each of these 50 steps"
//! in one statement (see [`pages`]), and their counts in another (see [`counts`]).
//!
//! This is what keeps nested connections (a sequence's steps, a step's tasks, ...) at one SQL
//! statement per relationship per level, however many parents a page holds. Both functions
//! take a [`ToMany`] declaration and apply the children's visibility (`C::visible`) and the
//! connection's filter in SQL, so a page never shows and a count never counts a hidden row.

use std::collections::{HashMap, HashSet};

use entity::Positional;
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Func, PostgresQueryBuilder, Query,
    SelectStatement, SimpleExpr, UnionType,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    Statement,
};

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::service::pagination::{Direction, Ordering, Page, PageLimits, PageRequest, Window};
use crate::service::relations::ToMany;
use crate::service::resource::{self, Resource, and_visible, any_id};

/// The arguments of one nested connection, checked: its filter, its ordering and its window.
/// Parents asking with equal arguments share one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildArgs<F, S> {
    pub filter: F,
    /// The requested ordering (empty: the relationship's default order).
    pub order_by: Vec<(S, Direction)>,
    pub window: Window,
    /// Whether to compute the page fact that costs a query (see `pagination::Extras`).
    pub opposite_page_fact: bool,
}

/// The checked arguments of a nested connection over `rel`'s children.
pub type ArgsOf<C> = ChildArgs<<C as Resource>::Filter, <C as Resource>::Sort>;

/// The ordering of a child page: the requested one, or the relationship's default.
pub fn ordering<P: Resource, C: Resource>(
    rel: &ToMany<P, C>,
    order_by: &[(C::Sort, Direction)],
) -> Ordering<C::Model> {
    if order_by.is_empty() {
        resource::ordering::<C>(rel.default_order)
    } else {
        resource::ordering::<C>(order_by)
    }
}

/// Checks a nested connection's arguments (sizes, cursors against the ordering).
pub fn args<P: Resource, C: Resource>(
    rel: &ToMany<P, C>,
    filter: C::Filter,
    order_by: Vec<(C::Sort, Direction)>,
    page: &PageRequest,
    limits: PageLimits,
    opposite_page_fact: bool,
) -> AppResult<ArgsOf<C>> {
    let window = Window::parse(page, &ordering(rel, &order_by), limits)?;
    Ok(ChildArgs {
        filter,
        order_by,
        window,
        opposite_page_fact,
    })
}

/// Parents per statement: SQLite allows at most 500 terms in a compound SELECT.
const PARENTS_PER_STATEMENT: usize = 250;

/// The children of `parents` (a condition on the foreign key) that the viewer can see and
/// that match the filter.
fn children_condition<C: Resource>(
    viewer: &Viewer,
    parents: SimpleExpr,
    filter: &C::Filter,
) -> Condition {
    and_visible::<C>(
        viewer,
        Condition::all()
            .add(parents)
            .add(C::condition(viewer, filter)),
    )
}

/// One page of children for each parent, in one statement (per 250 parents); parents with no
/// children get an empty page.
///
/// The statement is a `UNION ALL` of one small keyset query per parent,
/// `SELECT * FROM (SELECT .. WHERE parent = ? ORDER BY .. LIMIT n + 1)`, each an index range
/// scan that stops after `n + 1` rows. (A `ROW_NUMBER() OVER (PARTITION BY ..)` window ranks
/// every child of every parent first: fine for a step's few tasks, but 100 ms for a call
/// purpose with 25,000 calls.)
///
/// Each branch is one parent's rows, produced in the branch's `ORDER BY` by one sequential
/// scan, and rows are grouped by parent keeping their arrival order. They are not re-sorted in
/// memory: for string keys the database's collation decides the order, and the cursors are
/// compared by the same database.
pub async fn pages<P: Resource, C: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
) -> AppResult<HashMap<i64, Page<C::Model>>> {
    let backend = db.get_database_backend();
    let ordering = ordering(rel, &args.order_by);
    let window = &args.window;
    let rows = if backend == DbBackend::Postgres {
        lateral_pages(db, viewer, rel, parents, args, &ordering).await?
    } else {
        union_pages(db, viewer, rel, parents, args, &ordering).await?
    };

    // The page fact on the near side of a cursor: does anything lie behind it, per parent?
    let mut behind: HashSet<i64> = HashSet::new();
    if let Some(start) = window.start().filter(|_| args.opposite_page_fact) {
        let cond = children_condition::<C>(viewer, any_id(backend, rel.fk, parents), &args.filter)
            .add(window.behind(&ordering, start));
        let mut q = Query::select();
        q.column(rel.fk)
            .from(C::Entity::default())
            .cond_where(cond)
            .group_by_col(rel.fk);
        for row in db.query_all(&q).await? {
            behind.insert(row.try_get_by_index::<i64>(0)?);
        }
    }

    let mut by_parent: HashMap<i64, Vec<C::Model>> = HashMap::new();
    for row in rows {
        if let Some(parent) = (rel.parent_of)(&row) {
            by_parent.entry(parent).or_default().push(row);
        }
    }
    Ok(parents
        .iter()
        .map(|&p| {
            let children = by_parent.remove(&p).unwrap_or_default();
            (p, window.page(&ordering, children, behind.contains(&p)))
        })
        .collect())
}

/// SQLite and MySQL: a `UNION ALL` of one keyset sub-select per parent (neither has a
/// lateral join: MariaDB lacks it, SQLite too), per 250 parents.
async fn union_pages<P: Resource, C: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
    ordering: &Ordering<C::Model>,
) -> AppResult<Vec<C::Model>> {
    let backend = db.get_database_backend();
    let window = &args.window;
    let mut rows = Vec::new();
    for chunk in parents.chunks(PARENTS_PER_STATEMENT) {
        let mut union: Option<SelectStatement> = None;
        for (i, p) in chunk.iter().enumerate() {
            let cond = children_condition::<C>(viewer, rel.fk.eq(*p), &args.filter)
                .add(window.between(ordering));
            let branch = C::Entity::find().filter(cond);
            let inner = ordering
                .apply(branch, window.backwards)
                .limit(window.size + 1)
                .into_query();
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new(format!("sg_b{i}")))
                .to_owned();
            union = Some(match union {
                None => outer,
                Some(mut all) => {
                    all.union(UnionType::All, outer);
                    all
                }
            });
        }
        if let Some(union) = union {
            rows.extend(
                C::Entity::find()
                    .from_raw_sql(backend.build(&union))
                    .into_model::<Positional<C::Model>>()
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|Positional(row)| row),
            );
        }
    }

    Ok(rows)
}

/// PostgreSQL: every parent's page in one statement whose text does not depend on the number
/// of parents, `SELECT c.* FROM unnest($ids) p CROSS JOIN LATERAL (SELECT .. WHERE fk = p.id
/// .. ORDER BY .. LIMIT n + 1) c`, so it is parsed and planned once and its prepared statement
/// reused by every request with the same shape. Each lateral sub-select is the same index
/// range scan a UNION ALL branch would be, and emits its rows in its own order.
async fn lateral_pages<P: Resource, C: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
    ordering: &Ordering<C::Model>,
) -> AppResult<Vec<C::Model>> {
    let window = &args.window;
    let parent = Expr::col((Alias::new("sg_p"), Alias::new("parent_id")));
    let cond = children_condition::<C>(
        viewer,
        Expr::col((rel.fk.entity_name(), rel.fk)).eq(parent),
        &args.filter,
    )
    .add(window.between(ordering));
    let inner = ordering
        .apply(C::Entity::find().filter(cond), window.backwards)
        .limit(window.size + 1)
        .into_query();
    let (inner_sql, mut values) = inner.build(PostgresQueryBuilder);
    values.0.push(resource::comma_separated(parents).into());
    let sql = format!(
        "SELECT sg_c.* FROM unnest(string_to_array(${}, ',')::bigint[]) AS sg_p(parent_id) \
         CROSS JOIN LATERAL ({inner_sql}) AS sg_c",
        values.0.len()
    );
    Ok(C::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .into_model::<Positional<C::Model>>()
        .all(db)
        .await?
        .into_iter()
        .map(|Positional(row)| row)
        .collect())
}

/// The number of visible children (matching `filter`) of each parent, in one statement.
pub async fn counts<P: Resource, C: Resource>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    filter: &C::Filter,
) -> AppResult<HashMap<i64, i64>> {
    let cond = children_condition::<C>(viewer, rel.fk.is_in(parents.iter().copied()), filter);
    let mut q = Query::select();
    q.column(rel.fk)
        .expr(Func::count(Expr::col(rel.fk)))
        .from(C::Entity::default())
        .cond_where(cond)
        .group_by_col(rel.fk);
    let mut out: HashMap<i64, i64> = parents.iter().map(|&p| (p, 0)).collect();
    for row in db.query_all(&q).await? {
        out.insert(
            row.try_get_by_index::<i64>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    Ok(out)
}
