//! Pages of children for many parents at once: "the first N tasks of each of these 50 steps"
//! in one statement (see [`pages`]), and their counts in another (see [`counts`]).
//!
//! This is what keeps nested connections (a sequence's steps, a step's tasks, ...) at one SQL
//! statement per relationship per level, however many parents a page holds. Both functions
//! take a [`ToMany`] declaration and apply the children's visibility (`C::visible`) and the
//! connection's filter in SQL, so a page never shows and a count never counts a hidden row.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Func, Order, PostgresQueryBuilder, Query,
    SelectStatement, SimpleExpr, UnionType,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, QueryFilter, QuerySelect, QueryTrait, Statement,
};

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::service::joins;
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
    /// The children's columns to read (a mask of the model's fields, see
    /// `service::joins`): what the caller reads, the foreign key and the cursors' columns;
    /// the rest hold placeholders. Every bit: every column.
    pub columns: u64,
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

/// Checks a nested connection's arguments (sizes, cursors against the ordering). `columns`
/// names the children's columns the caller reads (`u64::MAX`: all of them); the foreign key
/// and the ordering's columns are added.
pub fn args<P: Resource, C: Resource>(
    rel: &ToMany<P, C>,
    filter: C::Filter,
    order_by: Vec<(C::Sort, Direction)>,
    page: &PageRequest,
    limits: PageLimits,
    opposite_page_fact: bool,
    columns: u64,
) -> AppResult<ArgsOf<C>> {
    let window = Window::parse(page, &ordering(rel, &order_by), limits)?;
    let sorted = if order_by.is_empty() {
        rel.default_order
    } else {
        &order_by
    };
    let fk = joins::column_bit::<C>(sea_orm::IdenStatic::as_str(&rel.fk))
        .expect("BUG: a foreign key is a column");
    let columns = (columns | fk | resource::sort_columns::<C>(sorted)) & joins::all_columns::<C>();
    Ok(ChildArgs {
        filter,
        order_by,
        window,
        opposite_page_fact,
        columns,
    })
}

/// Parents per `UNION ALL` statement (kept under SQLite's limit of 500 terms in a compound
/// SELECT, which MySQL does not have, so the limit holds wherever the union runs).
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

/// One parent's page as a sub-select: the visible children matching the filter and `parent`
/// (a condition on the foreign key), inside the window, in the page's order, `n + 1` of them.
/// `select` chooses the columns. Every backend's statement is built from this.
fn one_parent_page<C: Resource>(
    viewer: &Viewer,
    args: &ArgsOf<C>,
    ordering: &Ordering<C::Model>,
    parent: SimpleExpr,
    select: sea_orm::Select<C::Entity>,
) -> SelectStatement {
    let window = &args.window;
    let cond = children_condition::<C>(viewer, parent, &args.filter).add(window.between(ordering));
    ordering
        .apply(select.filter(cond), window.backwards)
        .limit(window.size + 1)
        .into_query()
}

/// A map by parent id. Hashed with foldhash: the keys are ids the statement returned.
pub type ByParent<V> = HashMap<i64, V, foldhash::fast::RandomState>;

/// One page of children for each parent, in one statement; parents with no children get an
/// empty page.
///
/// Each parent's page is a small keyset query, `SELECT .. WHERE parent = ? ORDER BY .. LIMIT
/// n + 1`, an index range scan that stops after `n + 1` rows; the backends differ in how one
/// statement runs it per parent: a `LATERAL` join over an array on PostgreSQL
/// ([`lateral_pages`]), a correlated `IN` over `json_each` on SQLite ([`json_pages`]), a
/// `UNION ALL` of one branch per parent on MySQL ([`union_pages`], per 250 parents). (A
/// `ROW_NUMBER() OVER (PARTITION BY ..)` window ranks every child of every parent first: fine
/// for a step's few tasks, but 100 ms for a call purpose with 25,000 calls.)
///
/// Rows arrive grouped by parent, each parent's in the page's order, and are grouped keeping
/// that order. They are not re-sorted in memory: for string keys the database's collation
/// decides the order, and the cursors are compared by the same database.
pub async fn pages<P: Resource, C: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
) -> AppResult<ByParent<Page<C::Model>>> {
    let backend = db.get_database_backend();
    let ordering = ordering(rel, &args.order_by);
    let window = &args.window;
    let rows = match backend {
        DbBackend::Postgres => lateral_pages(db, viewer, rel, parents, args, &ordering).await?,
        DbBackend::Sqlite => json_pages(db, viewer, rel, parents, args, &ordering).await?,
        _ => union_pages(db, viewer, rel, parents, args, &ordering).await?,
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

    let mut by_parent: ByParent<Vec<C::Model>> = ByParent::default();
    for row in rows {
        if let Some(parent) = (rel.parent_of)(&row) {
            by_parent.entry(parent).or_default().push(row);
        }
    }
    // One signature for every page's cursors.
    let signature = ordering.signature().into();
    Ok(parents
        .iter()
        .map(|&p| {
            let children = by_parent.remove(&p).unwrap_or_default();
            let page = window.signed_page(&ordering, &signature, children, behind.contains(&p));
            (p, page)
        })
        .collect())
}

/// MySQL: a `UNION ALL` of one keyset sub-select per parent (MariaDB has no lateral join),
/// per 250 parents.
async fn union_pages<P: Resource, C: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
    ordering: &Ordering<C::Model>,
) -> AppResult<Vec<C::Model>> {
    let backend = db.get_database_backend();
    let mut rows = Vec::new();
    for chunk in parents.chunks(PARENTS_PER_STATEMENT) {
        let mut union: Option<SelectStatement> = None;
        for (i, p) in chunk.iter().enumerate() {
            let inner = one_parent_page::<C>(
                viewer,
                args,
                ordering,
                rel.fk.eq(*p),
                resource::find_columns::<C>(args.columns),
            );
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
                entity::all_by_position_masked(db, backend.build(&union), args.columns).await?,
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
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
    ordering: &Ordering<C::Model>,
) -> AppResult<Vec<C::Model>> {
    let parent = Expr::col((Alias::new("sg_p"), Alias::new("parent_id")));
    let inner = one_parent_page::<C>(
        viewer,
        args,
        ordering,
        Expr::col((rel.fk.entity_name(), rel.fk)).eq(parent),
        resource::find_columns::<C>(args.columns),
    );
    let (inner_sql, mut values) = inner.build(PostgresQueryBuilder);
    values.0.push(resource::comma_separated(parents).into());
    let sql = format!(
        "SELECT sg_c.* FROM unnest(string_to_array(${}, ',')::bigint[]) AS sg_p(parent_id) \
         CROSS JOIN LATERAL ({inner_sql}) AS sg_c",
        values.0.len()
    );
    let stmt = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    Ok(entity::all_by_position_masked(db, stmt, args.columns).await?)
}

/// SQLite: every parent's page in one statement whose text does not depend on the number of
/// parents, as [`lateral_pages`] on PostgreSQL, without a lateral join (SQLite has none):
///
/// ```sql
/// SELECT <C's columns> FROM json_each(?) AS sg_p CROSS JOIN c
/// WHERE c.id IN (SELECT c.id FROM c WHERE c.fk = sg_p.value AND .. ORDER BY .. LIMIT n + 1)
/// ORDER BY sg_p.key, <the page's ordering>
/// ```
///
/// For each parent (`CROSS JOIN` keeps `json_each` the outer loop), the correlated sub-select
/// is the same index range scan a `UNION ALL` branch would be, and its ids are looked up by
/// primary key. Inside the sub-select, `c` names the sub-select's own table. The outer
/// `ORDER BY` puts each parent's rows in the page's order, as the database collates them.
///
/// Why not the `UNION ALL`: its text grows with the parents (50 branches for a page of 50
/// steps), and building, hashing and dropping that statement through sea-query on every
/// request was about a sixth of the server's CPU for a page of steps with their tasks.
async fn json_pages<P: Resource, C: Resource>(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    rel: &ToMany<P, C>,
    parents: &[i64],
    args: &ArgsOf<C>,
    ordering: &Ordering<C::Model>,
) -> AppResult<Vec<C::Model>> {
    let window = &args.window;
    let table = C::Entity::default();
    let parent = Alias::new("sg_p");
    let ids = one_parent_page::<C>(
        viewer,
        args,
        ordering,
        Expr::col((rel.fk.entity_name(), rel.fk))
            .eq(Expr::col((parent.clone(), Alias::new("value")))),
        resource::find_columns::<C>(1),
    );
    // `find` lists the columns in the model's order (positional decoding needs it).
    let mut outer = resource::find_columns::<C>(args.columns).into_query();
    outer
        .from_clear()
        .from_function(
            Func::cust(Alias::new("json_each")).arg(Expr::val(format!(
                "[{}]",
                resource::comma_separated(parents)
            ))),
            parent.clone(),
        )
        .cross_join(table)
        .and_where(Expr::col((table, C::id_column())).in_subquery(ids))
        .order_by_expr(Expr::col((parent, Alias::new("key"))), Order::Asc);
    for (expr, order) in ordering.terms(window.backwards) {
        outer.order_by_expr(expr, order);
    }
    Ok(entity::all_by_position_masked(db, DbBackend::Sqlite.build(&outer), args.columns).await?)
}

/// The number of visible children (matching `filter`) of each parent, in one statement.
pub async fn counts<P: Resource, C: Resource>(
    db: &(impl ConnectionTrait + 'static),
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
