//! `Task`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of tasks).

use super::prelude::*;

connection!(TaskConnection, TaskEdge, Task, "tasks");

pub struct TaskNode(pub entity::task::Model);

/// `TaskNode` with its attributes resolved in place (see [`crate::fast`]).
pub type Task = Fast<TaskNode>;

attributes!(
    TaskNode,
    entity::task::Model:
    id,
    node_id,
    action,
    state,
    task_type,
    due_at,
    scheduled_at,
    autoskip_at,
    completed,
    completed_at,
    note,
    state_changed_at,
    created_at,
    updated_at
);

/// A work item for a user, often created by a sequence step.
#[Object(name = "Task")]
impl TaskNode {
    /// The task's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The action type of the task.
    async fn action(&self) -> scalars::TaskAction {
        self.0.action.into()
    }
    /// The current state of the task.
    async fn state(&self) -> scalars::TaskState {
        self.0.state.into()
    }
    /// Why the task exists (for example SEQUENCE_STEP_CALL, MANUAL); null for a stored value
    /// outside the documented set.
    async fn task_type(&self) -> Option<scalars::TaskType> {
        scalars::TaskType::from_stored(&self.0.task_type)
    }
    /// When the task is due.
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at.map(DateTime)
    }
    /// When the task is scheduled.
    async fn scheduled_at(&self) -> Option<DateTime> {
        self.0.scheduled_at.map(DateTime)
    }
    /// When the task will be automatically skipped; null means never.
    async fn autoskip_at(&self) -> Option<DateTime> {
        self.0.autoskip_at.map(DateTime)
    }
    /// Whether the task is completed.
    async fn completed(&self) -> bool {
        self.0.completed
    }
    /// When the task was completed.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    /// An optional note for the task.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// When the task's state last changed.
    async fn state_changed_at(&self) -> Option<DateTime> {
        self.0.state_changed_at.map(DateTime)
    }
    /// The date and time the task was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the task was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The sequence the task belongs to; null when not set or not visible to you.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Option<Sequence>> {
        to_one(ctx, &rel::TASK_SEQUENCE, &self.0).await
    }
    /// The sequence step that created the task; null when not set or not visible to you.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<Option<SequenceStep>> {
        to_one(ctx, &rel::TASK_STEP, &self.0).await
    }
    /// The task's priority.
    async fn task_priority(&self, ctx: &Context<'_>) -> Result<Option<TaskPriority>> {
        to_one(ctx, &rel::TASK_PRIORITY, &self.0).await
    }
    /// The owner of the task.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TASK_OWNER, &self.0).await
    }
    /// The creator of the task.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TASK_CREATOR, &self.0).await
    }
    /// The user who completed the task.
    async fn completer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TASK_COMPLETER, &self.0).await
    }
    /// The calls made for this task.
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
        nested_connection(ctx, &rel::TASK_CALLS, self.0.id, filter, order_by, page).await
    }
    /// The mailings sent for this task.
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
        nested_connection(ctx, &rel::TASK_MAILINGS, self.0.id, filter, order_by, page).await
    }
}

/// Filters tasks. A list matches any of its values (OR); the fields all apply (AND); ranges
/// include both ends.
#[derive(InputObject, Clone, Debug, Default)]
pub struct TaskFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these states.
    pub state: Option<Vec<scalars::TaskState>>,
    /// Any of these actions.
    pub action: Option<Vec<scalars::TaskAction>>,
    /// Completed or not.
    pub completed: Option<bool>,
    /// Due within this range.
    pub due_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// Of any of these sequences.
    pub sequence: Option<IdFilter>,
    /// Created by any of these sequence steps.
    pub sequence_step: Option<IdFilter>,
    /// With any of these priorities.
    pub task_priority: Option<IdFilter>,
    /// Owned by any of these users.
    pub owner: Option<IdFilter>,
}

impl FilterInput for TaskFilter {
    type Service = lists::tasks::Filter;
    fn into_service(self) -> Result<lists::tasks::Filter, AppError> {
        Ok(lists::tasks::Filter {
            ids: id_list("filter.id", self.id)?,
            states: self.state.map(|v| v.into_iter().map(Into::into).collect()),
            actions: self.action.map(|v| v.into_iter().map(Into::into).collect()),
            completed: self.completed,
            due_at: time_range("filter.dueAt", self.due_at)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            sequence_ids: ids("filter.sequence.id", self.sequence)?,
            sequence_step_ids: ids("filter.sequenceStep.id", self.sequence_step)?,
            task_priority_ids: ids("filter.taskPriority.id", self.task_priority)?,
            owner_ids: ids("filter.owner.id", self.owner)?,
        })
    }
}

order_input!(
    /// The attributes tasks can be sorted by.
    TaskOrder, TaskOrderField, lists::tasks::Sort {
        Id, State, Action, DueAt, ScheduledAt, CompletedAt, CreatedAt, UpdatedAt,
    }
);
