//! The root query fields.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::rc;
use crate::graphql::error::gql;
use crate::graphql::inputs::{
    CallPurposeFilter, CallPurposeOrder, SequenceFilter, SequenceOrder, SequenceStepFilter,
    SequenceStepOrder, TemplateFilter, TemplateOrder, UserFilter, UserOrder,
};
use crate::graphql::loaders::one;
use crate::graphql::resolve::{lookup, page, root_list};
use crate::graphql::types::{
    CallPurpose, CallPurposeConnection, Sequence, SequenceConnection, SequenceStep,
    SequenceStepConnection, TaskPriority, Template, TemplateConnection, User, UserConnection,
};
use crate::service::lists;
use crate::service::pagination::{Extras, PageRequest};
use crate::service::resource::{self, ListRequest};

#[derive(Default)]
pub struct Query;

/// Everything a signed-in user can read.
#[Object]
impl Query {
    /// The user the request's token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<User> {
        let rc = rc(ctx)?;
        one(
            &*rc.loaders.by_id::<lists::Users>("Query.viewer"),
            rc.viewer.user_id,
        )
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
        lookup::<lists::Steps, SequenceStep>(ctx, "Query.sequenceStep", &id).await
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
        let (page, total) = root_list::<lists::Steps>(
            ctx,
            filter.unwrap_or_default().into_service().map_err(gql)?,
            SequenceStepOrder::to_service(&order_by),
            page(first, after, last, before),
        )
        .await?;
        Ok(SequenceStepConnection::new(page, SequenceStep, total))
    }

    /// A sequence by id; null when it does not exist or is not visible to you.
    async fn sequence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sequence's id.")] id: ID,
    ) -> Result<Option<Sequence>> {
        lookup::<lists::Sequences, Sequence>(ctx, "Query.sequence", &id).await
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
        let (page, total) = root_list::<lists::Sequences>(
            ctx,
            filter.unwrap_or_default().into_service().map_err(gql)?,
            SequenceOrder::to_service(&order_by),
            page(first, after, last, before),
        )
        .await?;
        Ok(SequenceConnection::new(page, Sequence, total))
    }

    /// A template by id; null when it does not exist or is not shared with you.
    async fn template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template's id.")] id: ID,
    ) -> Result<Option<Template>> {
        lookup::<lists::Templates, Template>(ctx, "Query.template", &id).await
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
        let (page, total) = root_list::<lists::Templates>(
            ctx,
            filter.unwrap_or_default().into_service().map_err(gql)?,
            TemplateOrder::to_service(&order_by),
            page(first, after, last, before),
        )
        .await?;
        Ok(TemplateConnection::new(page, Template, total))
    }

    /// A user by id.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: ID,
    ) -> Result<Option<User>> {
        lookup::<lists::Users, User>(ctx, "Query.user", &id).await
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
        let (page, total) = root_list::<lists::Users>(
            ctx,
            filter.unwrap_or_default().into_service().map_err(gql)?,
            UserOrder::to_service(&order_by),
            page(first, after, last, before),
        )
        .await?;
        Ok(UserConnection::new(page, User, total))
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
        let (page, total) = root_list::<lists::CallPurposes>(
            ctx,
            filter.unwrap_or_default().into_service().map_err(gql)?,
            CallPurposeOrder::to_service(&order_by),
            page(first, after, last, before),
        )
        .await?;
        Ok(CallPurposeConnection::new(page, CallPurpose, total))
    }

    /// The organisation's task priorities, heaviest first.
    async fn task_priorities(&self, ctx: &Context<'_>) -> Result<Vec<TaskPriority>> {
        let rc = rc(ctx)?;
        let heaviest_first = vec![(
            lists::task_priorities::Sort::Weight,
            crate::service::pagination::Direction::Desc,
        )];
        let req = ListRequest::<lists::TaskPriorities> {
            filter: Default::default(),
            order_by: heaviest_first,
            page: PageRequest::default(),
            limits: crate::service::pagination::PageLimits {
                default: 1000,
                max: 1000,
            },
            extras: Extras::default(),
        };
        let page = resource::list(&rc.db, &rc.viewer, &req)
            .await
            .map_err(gql)?;
        Ok(page
            .rows
            .into_iter()
            .map(|(m, _)| TaskPriority(m))
            .collect())
    }
}
