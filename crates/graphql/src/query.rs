//! The root query: `viewer`, and for every entity a lookup by id and a connection, each one
//! call of a generic resolver of [`crate::resolve`]. Each entity's pair of fields is an
//! object of its own ([`root_fields!`]); [`Query`] merges them (async-graphql's
//! `MergedObject`), so the schema still has one `Query` type.

use async_graphql::{Context, ID, MergedObject, Object, Result};

use crate::context::rc;
use crate::error::gql;
use crate::loaders::row;
use crate::resolve::{lookup, page, root_connection};
use crate::types::*;
use stepgraph_domain::service::lists;

/// Everything a signed-in user can read.
#[derive(MergedObject, Default)]
pub struct Query(
    ViewerQuery,
    crate::node::NodeQuery,
    SequenceStepQuery,
    SequenceQuery,
    SequenceTemplateQuery,
    TemplateQuery,
    UserQuery,
    TaskQuery,
    CallQuery,
    MailingQuery,
    CallPurposeQuery,
    TaskPriorityQuery,
);

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The user the request's token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<User> {
        let rc = rc(ctx)?;
        row(
            &*rc.loaders.by_id::<lists::Users>("Query.viewer"),
            rc.viewer.user_id,
        )
        .await?
        .map(User::from)
        .ok_or_else(|| gql(stepgraph_domain::error::AppError::Unauthenticated))
    }
}

/// An entity's root fields: `$lookup(id:)` (null when missing or hidden) and `$list(filter:,
/// orderBy:, first:, after:, last:, before:)`, with their descriptions.
macro_rules! root_fields {
    ($query:ident, $resource:ty, $node:ty, $connection:ty, $filter:ty, $order:ty;
     $lookup:ident: $key:literal, $lookup_doc:literal, $id_desc:literal;
     $list:ident: $list_doc:literal, $filter_desc:literal) => {
        #[derive(Default)]
        pub struct $query;

        #[Object]
        impl $query {
            #[doc = $lookup_doc]
            async fn $lookup(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = $id_desc)] id: ID,
            ) -> Result<Option<$node>> {
                lookup::<$resource, _>(ctx, $key, &id).await
            }

            #[doc = $list_doc]
            #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
            #[allow(clippy::too_many_arguments)]
            async fn $list(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = $filter_desc)] filter: Option<$filter>,
                #[graphql(desc = "Sort keys, most significant first; the id breaks ties.")]
                order_by: Option<Vec<$order>>,
                #[graphql(desc = "Return the first n items (default 50, at most 100).")]
                first: Option<i32>,
                #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
                #[graphql(desc = "Return the last n items (at most 100).")] last: Option<i32>,
                #[graphql(desc = "Return the items before this cursor.")] before: Option<String>,
            ) -> Result<$connection> {
                let page = page(first, after, last, before);
                root_connection::<$resource, _, _, _>(ctx, filter, order_by, page).await
            }
        }
    };
}

root_fields!(SequenceStepQuery, lists::Steps, SequenceStep, SequenceStepConnection, SequenceStepFilter, SequenceStepOrder;
    sequence_step: "Query.sequenceStep", "A sequence step by id; null when it does not exist or is not visible to you.", "The sequence step's id.";
    sequence_steps: "The sequence steps you can see, filtered, ordered and paginated (keyset cursors).", "Only sequence steps matching this filter.");

root_fields!(SequenceQuery, lists::Sequences, Sequence, SequenceConnection, SequenceFilter, SequenceOrder;
    sequence: "Query.sequence", "A sequence by id; null when it does not exist or is not visible to you.", "The sequence's id.";
    sequences: "The sequences you can see, filtered, ordered and paginated (keyset cursors).", "Only sequences matching this filter.");

root_fields!(SequenceTemplateQuery, lists::SequenceTemplates, SequenceTemplate, SequenceTemplateConnection, SequenceTemplateFilter, SequenceTemplateOrder;
    sequence_template: "Query.sequenceTemplate", "A sequence template by id; null when it does not exist or is not visible to you.", "The sequence template's id.";
    sequence_templates: "The sequence templates (uses of templates by steps) you can see, filtered, ordered and paginated (keyset cursors).", "Only sequence templates matching this filter.");

root_fields!(TemplateQuery, lists::Templates, Template, TemplateConnection, TemplateFilter, TemplateOrder;
    template: "Query.template", "A template by id; null when it does not exist or is not visible to you.", "The template's id.";
    templates: "The templates you can see, filtered, ordered and paginated (keyset cursors).", "Only templates matching this filter.");

root_fields!(UserQuery, lists::Users, User, UserConnection, UserFilter, UserOrder;
    user: "Query.user", "A user by id; null when it does not exist.", "The user's id.";
    users: "The organisation's users, filtered, ordered and paginated (keyset cursors).", "Only users matching this filter.");

root_fields!(TaskQuery, lists::Tasks, Task, TaskConnection, TaskFilter, TaskOrder;
    task: "Query.task", "A task by id; null when it does not exist or is not visible to you.", "The task's id.";
    tasks: "The tasks you can see, filtered, ordered and paginated (keyset cursors).", "Only tasks matching this filter.");

root_fields!(CallQuery, lists::Calls, Call, CallConnection, CallFilter, CallOrder;
    call: "Query.call", "A call by id; null when it does not exist or is not visible to you.", "The call's id.";
    calls: "The calls you can see, filtered, ordered and paginated (keyset cursors).", "Only calls matching this filter.");

root_fields!(MailingQuery, lists::Mailings, Mailing, MailingConnection, MailingFilter, MailingOrder;
    mailing: "Query.mailing", "A mailing by id; null when it does not exist or is not visible to you.", "The mailing's id.";
    mailings: "The mailings you can see, filtered, ordered and paginated (keyset cursors).", "Only mailings matching this filter.");

root_fields!(CallPurposeQuery, lists::CallPurposes, CallPurpose, CallPurposeConnection, CallPurposeFilter, CallPurposeOrder;
    call_purpose: "Query.callPurpose", "A call purpose by id; null when it does not exist.", "The call purpose's id.";
    call_purposes: "The organisation's call purposes, filtered, ordered and paginated (keyset cursors).", "Only call purposes matching this filter.");

root_fields!(TaskPriorityQuery, lists::TaskPriorities, TaskPriority, TaskPriorityConnection, TaskPriorityFilter, TaskPriorityOrder;
    task_priority: "Query.taskPriority", "A task priority by id; null when it does not exist.", "The task priority's id.";
    task_priorities: "The organisation's task priorities, filtered, ordered and paginated (keyset cursors).", "Only task priorities matching this filter.");
