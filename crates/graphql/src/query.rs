//! The root query fields: for every entity a lookup by id and a connection, plus `viewer`.
//! Each is one call of a generic resolver of [`crate::resolve`].

use async_graphql::{Context, ID, Object, Result};

use crate::context::rc;
use crate::error::gql;
use crate::loaders::one;
use crate::resolve::{lookup, page, root_connection};
use crate::types::*;
use stepgraph_domain::service::lists;

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
        .map(User::from)
        .ok_or_else(|| gql(stepgraph_domain::error::AppError::Unauthenticated))
    }

    /// A sequence step by id; null when it does not exist or is not visible to you.
    async fn sequence_step(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sequence step's id.")] id: ID,
    ) -> Result<Option<SequenceStep>> {
        lookup::<lists::Steps, _>(ctx, "Query.sequenceStep", &id).await
    }

    /// The sequence steps you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn sequence_steps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only sequence steps matching this filter.")] filter: Option<
            SequenceStepFilter,
        >,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<SequenceStepOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<SequenceStepConnection> {
        let page = page(first, after, last, before);
        root_connection::<lists::Steps, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A sequence by id; null when it does not exist or is not visible to you.
    async fn sequence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sequence's id.")] id: ID,
    ) -> Result<Option<Sequence>> {
        lookup::<lists::Sequences, _>(ctx, "Query.sequence", &id).await
    }

    /// The sequences you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
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
        let page = page(first, after, last, before);
        root_connection::<lists::Sequences, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A sequence template by id; null when it does not exist or is not visible to you.
    async fn sequence_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sequence template's id.")] id: ID,
    ) -> Result<Option<SequenceTemplate>> {
        lookup::<lists::SequenceTemplates, _>(ctx, "Query.sequenceTemplate", &id).await
    }

    /// The sequence templates (uses of templates by steps) you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn sequence_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only sequence templates matching this filter.")] filter: Option<
            SequenceTemplateFilter,
        >,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<SequenceTemplateOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<SequenceTemplateConnection> {
        let page = page(first, after, last, before);
        root_connection::<lists::SequenceTemplates, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A template by id; null when it does not exist or is not visible to you.
    async fn template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template's id.")] id: ID,
    ) -> Result<Option<Template>> {
        lookup::<lists::Templates, _>(ctx, "Query.template", &id).await
    }

    /// The templates you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
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
        let page = page(first, after, last, before);
        root_connection::<lists::Templates, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A user by id; null when it does not exist.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] id: ID,
    ) -> Result<Option<User>> {
        lookup::<lists::Users, _>(ctx, "Query.user", &id).await
    }

    /// The organisation's users, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
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
        let page = page(first, after, last, before);
        root_connection::<lists::Users, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A task by id; null when it does not exist or is not visible to you.
    async fn task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id.")] id: ID,
    ) -> Result<Option<Task>> {
        lookup::<lists::Tasks, _>(ctx, "Query.task", &id).await
    }

    /// The tasks you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only tasks matching this filter.")] filter: Option<TaskFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<TaskOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<TaskConnection> {
        let page = page(first, after, last, before);
        root_connection::<lists::Tasks, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A call by id; null when it does not exist or is not visible to you.
    async fn call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call's id.")] id: ID,
    ) -> Result<Option<Call>> {
        lookup::<lists::Calls, _>(ctx, "Query.call", &id).await
    }

    /// The calls you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only calls matching this filter.")] filter: Option<CallFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<CallOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<CallConnection> {
        let page = page(first, after, last, before);
        root_connection::<lists::Calls, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A mailing by id; null when it does not exist or is not visible to you.
    async fn mailing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mailing's id.")] id: ID,
    ) -> Result<Option<Mailing>> {
        lookup::<lists::Mailings, _>(ctx, "Query.mailing", &id).await
    }

    /// The mailings you can see, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn mailings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only mailings matching this filter.")] filter: Option<MailingFilter>,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<MailingOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<MailingConnection> {
        let page = page(first, after, last, before);
        root_connection::<lists::Mailings, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A call purpose by id; null when it does not exist.
    async fn call_purpose(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call purpose's id.")] id: ID,
    ) -> Result<Option<CallPurpose>> {
        lookup::<lists::CallPurposes, _>(ctx, "Query.callPurpose", &id).await
    }

    /// The organisation's call purposes, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
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
        let page = page(first, after, last, before);
        root_connection::<lists::CallPurposes, _, _, _>(ctx, filter, order_by, page).await
    }

    /// A task priority by id; null when it does not exist.
    async fn task_priority(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task priority's id.")] id: ID,
    ) -> Result<Option<TaskPriority>> {
        lookup::<lists::TaskPriorities, _>(ctx, "Query.taskPriority", &id).await
    }

    /// The organisation's task priorities, filtered, ordered and paginated (keyset cursors).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn task_priorities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only task priorities matching this filter.")] filter: Option<
            TaskPriorityFilter,
        >,
        #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
        order_by: Option<Vec<TaskPriorityOrder>>,
        #[graphql(desc = "Return the first n items (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
    ) -> Result<TaskPriorityConnection> {
        let page = page(first, after, last, before);
        root_connection::<lists::TaskPriorities, _, _, _>(ctx, filter, order_by, page).await
    }
}
