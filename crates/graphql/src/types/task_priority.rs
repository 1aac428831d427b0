//! `TaskPriority`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of task priorities).

use super::prelude::*;

connection!(
    TaskPriorityConnection,
    TaskPriorityEdge,
    TaskPriority,
    "task priorities"
);

pub struct TaskPriorityNode(pub entity::task_priority::Model);

/// `TaskPriorityNode` with its attributes resolved in place (see [`crate::fast`]).
pub type TaskPriority = Fast<TaskPriorityNode>;

attributes!(
    TaskPriorityNode,
    entity::task_priority::Model:
    id,
    node_id,
    name,
    color,
    weight,
    created_at,
    updated_at
);

/// A task priority of the organisation.
#[Object(name = "TaskPriority")]
impl TaskPriorityNode {
    /// The task priority's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The name of the priority (for example "High").
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The display color of the priority.
    async fn color(&self) -> Option<&str> {
        self.0.color.as_deref()
    }
    /// The weight of the priority; heavier priorities sort first.
    async fn weight(&self) -> i32 {
        self.0.weight
    }
    /// The date and time the task priority was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the task priority was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The sequence steps that give their tasks this priority.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
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
        let page = page(first, after, last, before);
        nested_connection(
            ctx,
            &rel::TASK_PRIORITY_STEPS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The tasks with this priority.
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
        nested_connection(
            ctx,
            &rel::TASK_PRIORITY_TASKS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
}

/// Filters task priorities.
#[derive(InputObject, Clone, Debug, Default)]
pub struct TaskPriorityFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
}

impl FilterInput for TaskPriorityFilter {
    type Service = lists::task_priorities::Filter;
    fn into_service(self) -> Result<lists::task_priorities::Filter, AppError> {
        Ok(lists::task_priorities::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
        })
    }
}

order_input!(
    /// The attributes task priorities can be sorted by.
    TaskPriorityOrder, TaskPriorityOrderField, lists::task_priorities::Sort {
        Id, Name, Weight, CreatedAt, UpdatedAt,
    }
);
