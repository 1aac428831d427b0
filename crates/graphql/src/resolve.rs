//! The generic resolvers every field of the schema is written with: root lookups and lists
//! ([`lookup`], [`root_connection`]) and relationships ([`to_one`], [`to_one_required`],
//! [`nested_connection`], [`child_count`]). Each goes through the request's loaders or the service's generic list
//! functions, so visibility and batching come with it; an object type's resolver only names
//! the relationship (a static of [`stepgraph_domain::service::relations`]) and wraps the result.

use std::sync::Arc;

use async_graphql::{Context, ID, Result};

use crate::connection::{FromPage, LIMITS, Total, total_from};
use crate::context::rc;
use crate::error::gql;
use crate::inputs::{FilterInput, OrderInput};
use crate::joins::{Joinable, Plan, columns, connection_nodes, selection_columns};
use crate::loaders::{ChildKey, NO_ROW, PagesKey, one, row, take_pages};
use crate::scalars::parse_id;
use stepgraph_domain::error::AppError;
use stepgraph_domain::service::children;
use stepgraph_domain::service::pagination::{Direction, Extras, Page, PageRequest};
use stepgraph_domain::service::relations::{ToMany, ToOne};
use stepgraph_domain::service::resource::{self, ListRequest, Resource};

/// The page arguments of a connection field.
pub fn page(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageRequest {
    PageRequest {
        first: first.map(i64::from),
        after,
        last: last.map(i64::from),
        before,
    }
}

/// Whether the client selected the page fact on the far side of the cursor a page starts from
/// (`pageInfo.hasPreviousPage` paging forwards, `hasNextPage` paging backwards): it costs a
/// statement, and a client that reads only `hasNextPage` and `endCursor` to page forwards
/// never sees it.
fn opposite_fact_selected(ctx: &Context<'_>, page: &PageRequest) -> bool {
    let fact = if page.backwards() {
        "hasNextPage"
    } else {
        "hasPreviousPage"
    };
    ctx.look_ahead().field("pageInfo").field(fact).exists()
}

/// A root lookup by id (`Query.sequenceStep(id:)`): `None` when the row does not exist or the
/// viewer cannot see it, which look the same. The to-one targets its selection reads come in
/// the same statement ([`crate::joins`]).
pub async fn lookup<R: Joinable, N: From<R::Model>>(
    ctx: &Context<'_>,
    name: &'static str,
    id: &ID,
) -> Result<Option<N>> {
    let rc = rc(ctx)?;
    let id = parse_id("id", id).map_err(gql)?;
    let loader = rc
        .loaders
        .by_id_joined::<R>(name, Plan::of(&[ctx.look_ahead()]));
    Ok(row(&*loader, id).await?.map(N::from))
}

/// A root list: one page through the service, with the to-one targets its nodes read joined
/// in, and a `totalCount` deferred until selected.
async fn root_list<R: Joinable>(
    ctx: &Context<'_>,
    filter: R::Filter,
    order_by: Vec<(R::Sort, Direction)>,
    page: PageRequest,
) -> Result<(Page<R::Model>, Total)> {
    let rc = rc(ctx)?;
    let extras = Extras {
        opposite_page_fact: opposite_fact_selected(ctx, &page),
    };
    let req = ListRequest::<R> {
        filter,
        order_by,
        page,
        limits: LIMITS,
        extras,
    };
    rc.budget.check().map_err(gql)?;
    let plan = Plan::<R>::of(&connection_nodes(&ctx.look_ahead()));
    let (result, targets) =
        resource::list_joined::<R>(&rc.db, &rc.viewer, &req, plan.columns(), &plan.statement())
            .await
            .map_err(gql)?;
    plan.store(&rc.loaders, targets);
    let (db, viewer, filter, budget) = (rc.db.clone(), rc.viewer, req.filter, rc.budget.clone());
    let total = Total::new(move || {
        let (db, filter, budget) = (db.clone(), filter.clone(), budget.clone());
        async move {
            budget.check().map_err(gql)?;
            total_from(resource::count::<R>(&db, &viewer, &filter).await)
        }
    });
    Ok((result, total))
}

/// A to-one relationship that may be empty: `None` when the key is not set or when the viewer
/// cannot see the target (the field's description says so).
///
/// The target comes from the join of a root statement when one read it for this selection
/// ([`crate::joins`]), and otherwise from the loader every to-one relationship from one
/// parent type to one target type shares (`SequenceStep.creator` and `SequenceStep.updater`
/// are one `users` statement): the fields of the same parents resolve in the same pass, so
/// they batch together deterministically.
pub async fn to_one<P: Resource, T: Joinable, N: From<T::Model>>(
    ctx: &Context<'_>,
    rel: &'static ToOne<P, T>,
    parent: &P::Model,
) -> Result<Option<N>> {
    let mask = || own_mask::<T>(ctx, rel.name);
    Ok(target(ctx, rel, parent, mask).await?.map(N::from))
}

/// The target of `rel` for `parent`, for a reader of the columns `mask()` names (see
/// [`to_one`]).
pub async fn target<P: Resource, T: Joinable>(
    ctx: &Context<'_>,
    rel: &'static ToOne<P, T>,
    parent: &P::Model,
    mask: impl FnOnce() -> u64,
) -> Result<Option<T::Model>> {
    let rc = rc(ctx)?;
    let key = (rel.key)(parent);
    if let Some(joined) = rc
        .loaders
        .joined::<T>(rel.name, mask, key.unwrap_or(NO_ROW))
    {
        return Ok(joined);
    }
    let loader = rc.loaders.by_id::<T>(P::NAME);
    let Some(id) = key else {
        // An unset key still joins the batch (as id 0, which no row has) when the target may
        // be hidden from this viewer, so a page whose links are unset runs the statement a
        // page with hidden links runs: `x-sql-statements` cannot tell the two apart.
        if T::visible(&rc.viewer).is_some() {
            one(&*loader, NO_ROW).await?;
        }
        return Ok(None);
    };
    row(&*loader, id).await
}

/// A to-one relationship the schema declares non-null: the foreign key is NOT NULL and the
/// policy makes the target visible whenever the parent is. A missing target breaks that
/// invariant and is reported as an internal error, never as a silent null.
pub async fn to_one_required<P: Resource, T: Joinable, N: From<T::Model>>(
    ctx: &Context<'_>,
    rel: &'static ToOne<P, T>,
    parent: &P::Model,
) -> Result<N> {
    let mask = || own_mask::<T>(ctx, rel.name);
    required(rel, parent, target(ctx, rel, parent, mask).await?).map(N::from)
}

/// The target columns the to-one field `ctx.item` reads with its own selection.
fn own_mask<T: Joinable>(ctx: &Context<'_>, rel: &'static str) -> u64 {
    let make = || columns::<T>(ctx.field().selection_set());
    match ctx.data_opt::<crate::RequestCtx>() {
        Some(rc) => rc.loaders.field_mask(ctx.item, rel, make),
        None => make(),
    }
}

/// The target of a relationship whose target is always there, or the internal error that
/// says the invariant broke (see [`to_one_required`]).
pub fn required<P: Resource, T: Resource>(
    rel: &'static ToOne<P, T>,
    parent: &P::Model,
    target: Option<T::Model>,
) -> Result<T::Model> {
    debug_assert!(rel.shown, "{} is not declared shown_with_parent", rel.name);
    target.ok_or_else(|| {
        gql(AppError::Internal(anyhow::anyhow!(
            "{}: the target of a visible {} {} is missing or hidden",
            rel.name,
            P::NAME,
            P::id(parent)
        )))
    })
}

/// A to-many relationship as a connection: one page from the relationship's page loader and a
/// deferred count from its count loader; both batch across every parent in the response.
///
/// The connection's checked arguments are made once per field of the document, not once per
/// parent: a field's arguments (literals and the request's variables) and its selection are
/// the same under every parent, so the 50 steps of a page asking for their `tasks(first: 5)`
/// share one [`children::ArgsOf`] ([`crate::loaders::Loaders::child_args`]). An error (a bad
/// cursor) is not kept: each parent reports it.
async fn to_many<P: Resource, C: Joinable>(
    ctx: &Context<'_>,
    rel: &'static ToMany<P, C>,
    parent: i64,
    args: impl FnOnce() -> Result<children::ArgsOf<C>>,
) -> Result<(Page<C::Model>, Total)> {
    let rc = rc(ctx)?;
    let args = rc.loaders.child_args::<C>(ctx.item, args)?;
    let key = PagesKey::new(Arc::from([parent]), args.clone());
    let page = match one(&*rc.loaders.pages(rel), key).await? {
        Some(pages) => take_pages(pages, &[parent]).pop(),
        None => None,
    }
    .unwrap_or_else(Page::empty);
    let total = child_total(rc.loaders.clone(), rel, parent, args.0.filter.clone());
    Ok((page, total))
}

/// The deferred `totalCount` of `parent`'s children matching `filter`: a count from the
/// relationship's count loader, only when the field is selected.
pub(crate) fn child_total<P: Resource, C: Resource>(
    loaders: Arc<crate::loaders::Loaders>,
    rel: &'static ToMany<P, C>,
    parent: i64,
    filter: C::Filter,
) -> Total {
    Total::new(move || {
        let (loaders, filter) = (loaders.clone(), filter.clone());
        async move {
            Ok(one(&*loaders.counts(rel), ChildKey::new(parent, filter))
                .await?
                .unwrap_or(0))
        }
    })
}

/// The number of visible children, alone (`Sequence.sequenceStepCount`).
pub async fn child_count<P: Resource, C: Resource>(
    ctx: &Context<'_>,
    rel: &'static ToMany<P, C>,
    parent: i64,
) -> Result<i64> {
    let loaders = &rc(ctx)?.loaders;
    Ok(one(
        &*loaders.counts(rel),
        ChildKey::new(parent, C::Filter::default()),
    )
    .await?
    .unwrap_or(0))
}

/// A root connection field (`Query.tasks(filter:, orderBy:, first:, ...)`).
pub async fn root_connection<R, F, O, Conn>(
    ctx: &Context<'_>,
    filter: Option<F>,
    order_by: Option<Vec<O>>,
    page: PageRequest,
) -> Result<Conn>
where
    R: Joinable,
    F: FilterInput<Service = R::Filter>,
    O: OrderInput<Sort = R::Sort>,
    Conn: FromPage<R::Model>,
{
    let filter = filter.unwrap_or_default().into_service().map_err(gql)?;
    let (page, total) = root_list::<R>(ctx, filter, O::to_service(&order_by), page).await?;
    Ok(Conn::from_page(page, total))
}

/// A nested connection field (`SequenceStep.tasks(filter:, orderBy:, first:, ...)`): the
/// same arguments as the root list of its entity, over one relationship's children.
pub async fn nested_connection<P, C, F, O, Conn>(
    ctx: &Context<'_>,
    rel: &'static ToMany<P, C>,
    parent: i64,
    filter: Option<F>,
    order_by: Option<Vec<O>>,
    page: PageRequest,
) -> Result<Conn>
where
    P: Resource,
    C: Joinable,
    F: FilterInput<Service = C::Filter>,
    O: OrderInput<Sort = C::Sort>,
    Conn: FromPage<C::Model>,
{
    let args = || connection_args(ctx, rel, filter, order_by, &page);
    let (page, total) = to_many(ctx, rel, parent, args).await?;
    Ok(Conn::from_page(page, total))
}

/// A nested connection's checked arguments, for the field `ctx.item` (see [`to_many`]).
pub(crate) fn connection_args<P, C, F, O>(
    ctx: &Context<'_>,
    rel: &'static ToMany<P, C>,
    filter: Option<F>,
    order_by: Option<Vec<O>>,
    page: &PageRequest,
) -> Result<children::ArgsOf<C>>
where
    P: Resource,
    C: Joinable,
    F: FilterInput<Service = C::Filter>,
    O: OrderInput<Sort = C::Sort>,
{
    let filter = filter.unwrap_or_default().into_service().map_err(gql)?;
    children::args(
        rel,
        filter,
        O::to_service(&order_by),
        page,
        LIMITS,
        opposite_fact_selected(ctx, page),
        selection_columns::<C>(&connection_nodes(&ctx.look_ahead())),
    )
    .map_err(gql)
}
