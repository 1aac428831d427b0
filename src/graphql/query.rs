//! The root query fields.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::connection::{LIMITS, Total, total_from};
use crate::graphql::context::rc;
use crate::graphql::error::gql;
use crate::graphql::inputs::{
    CallPurposeFilter, CallPurposeOrder, SequenceFilter, SequenceOrder, SequenceStepFilter,
    SequenceStepOrder, TemplateFilter, TemplateOrder, UserFilter, UserOrder,
};
use crate::graphql::loaders::one;
use crate::graphql::scalars::parse_id;
use crate::graphql::types::{
    CallPurpose, CallPurposeConnection, Sequence, SequenceConnection, SequenceStep,
    SequenceStepConnection, TaskPriority, Template, TemplateConnection, User, UserConnection,
};
use crate::service::lists::{self, ListRequest};
use crate::service::pagination::{Extras, PageRequest};

/// The body of a root list field: convert the filter, fetch the page through the service,
/// and defer the total count until a client selects it.
macro_rules! root_list {
    ($ctx:expr, $list:ident, $order:ident, $conn:ident, $node:ident,
     $filter:expr, $order_by:expr, $first:expr, $after:expr, $last:expr, $before:expr) => {{
        let rc = rc($ctx)?;
        let req = ListRequest {
            filter: $filter.unwrap_or_default().into_service().map_err(gql)?,
            order_by: $order::to_service(&$order_by),
            page: page($first, $after, $last, $before),
            limits: LIMITS,
            extras: extras($ctx),
        };
        let result = lists::$list::list(&rc.db, &rc.viewer, &req)
            .await
            .map_err(gql)?;
        let (db, viewer, filter) = (rc.db.clone(), rc.viewer, req.filter);
        let total = Total::new(move || {
            let (db, filter) = (db.clone(), filter.clone());
            async move { total_from(lists::$list::count(&db, &viewer, &filter).await) }
        });
        Ok($conn::new(result, $node, total))
    }};
}

#[derive(Default)]
pub struct Query;

fn page(
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

/// Computes the costly page fact only when the client selected `pageInfo`.
fn extras(ctx: &Context<'_>) -> Extras {
    Extras {
        opposite_page_fact: ctx.look_ahead().field("pageInfo").exists(),
    }
}

/// Everything a signed-in user can read.
#[Object]
impl Query {
    /// The user the request's token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<User> {
        let rc = rc(ctx)?;
        one(&*rc.loaders.users.rel("Query.viewer"), rc.viewer.user_id)
            .await?
            .map(User)
            .ok_or_else(|| gql(crate::error::AppError::Unauthenticated))
    }

    /// A sequence step by id; null when it does not exist or is not visible to you.
    async fn sequence_step(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The step's id.")] id: ID,
    ) -> Result<Option<SequenceStep>> {
        let rc = rc(ctx)?;
        let id = parse_id("id", &id).map_err(gql)?;
        Ok(one(&*rc.loaders.steps.rel("Query.sequenceStep"), id)
            .await?
            .map(SequenceStep))
    }

    /// Sequence steps you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::graphql::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn sequence_steps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only steps matching this filter.")] filter: Option<SequenceStepFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<SequenceStepOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<SequenceStepConnection> {
        root_list!(
            ctx,
            steps,
            SequenceStepOrder,
            SequenceStepConnection,
            SequenceStep,
            filter,
            order_by,
            first,
            after,
            last,
            before
        )
    }

    /// A sequence by id; null when it does not exist or is not visible to you.
    async fn sequence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sequence's id.")] id: ID,
    ) -> Result<Option<Sequence>> {
        let rc = rc(ctx)?;
        let id = parse_id("id", &id).map_err(gql)?;
        Ok(one(&*rc.loaders.sequences.rel("Query.sequence"), id)
            .await?
            .map(Sequence))
    }

    /// Sequences you can see, filtered, ordered and paginated.
    #[graphql(complexity = "crate::graphql::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn sequences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only sequences matching this filter.")] filter: Option<SequenceFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<SequenceOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<SequenceConnection> {
        root_list!(
            ctx,
            sequences,
            SequenceOrder,
            SequenceConnection,
            Sequence,
            filter,
            order_by,
            first,
            after,
            last,
            before
        )
    }

    /// A template by id; null when it does not exist or is not shared with you.
    async fn template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template's id.")] id: ID,
    ) -> Result<Option<Template>> {
        let rc = rc(ctx)?;
        let id = parse_id("id", &id).map_err(gql)?;
        Ok(one(&*rc.loaders.templates.rel("Query.template"), id)
            .await?
            .map(Template))
    }

    /// Templates you can see, filtered, ordered and paginated.
    #[graphql(complexity = "crate::graphql::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only templates matching this filter.")] filter: Option<TemplateFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<TemplateOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<TemplateConnection> {
        root_list!(
            ctx,
            templates,
            TemplateOrder,
            TemplateConnection,
            Template,
            filter,
            order_by,
            first,
            after,
            last,
            before
        )
    }

    /// A user by id.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: ID,
    ) -> Result<Option<User>> {
        let rc = rc(ctx)?;
        let id = parse_id("id", &id).map_err(gql)?;
        Ok(one(&*rc.loaders.users.rel("Query.user"), id)
            .await?
            .map(User))
    }

    /// The organisation's users, filtered, ordered and paginated.
    #[graphql(complexity = "crate::graphql::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only users matching this filter.")] filter: Option<UserFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<UserOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<UserConnection> {
        root_list!(
            ctx,
            users,
            UserOrder,
            UserConnection,
            User,
            filter,
            order_by,
            first,
            after,
            last,
            before
        )
    }

    /// The organisation's call purposes, ordered and paginated.
    #[graphql(complexity = "crate::graphql::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn call_purposes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only call purposes matching this filter.")] filter: Option<
            CallPurposeFilter,
        >,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<CallPurposeOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<CallPurposeConnection> {
        root_list!(
            ctx,
            call_purposes,
            CallPurposeOrder,
            CallPurposeConnection,
            CallPurpose,
            filter,
            order_by,
            first,
            after,
            last,
            before
        )
    }

    /// The organisation's task priorities, heaviest first.
    async fn task_priorities(&self, ctx: &Context<'_>) -> Result<Vec<TaskPriority>> {
        let rc = rc(ctx)?;
        Ok(lists::task_priorities(&rc.db)
            .await
            .map_err(gql)?
            .into_iter()
            .map(TaskPriority)
            .collect())
    }
}
