//! `SequenceStep`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of sequence steps).

use super::prelude::*;

connection!(
    SequenceStepConnection,
    SequenceStepEdge,
    SequenceStep,
    "sequence steps"
);

pub struct SequenceStepNode(pub entity::sequence_step::Model);

/// `SequenceStepNode` with its attributes resolved in place (see [`crate::fast`]).
pub type SequenceStep = Fast<SequenceStepNode>;

attributes!(
    SequenceStepNode,
    entity::sequence_step::Model:
    id,
    node_id,
    bounce_count,
    click_count,
    created_at,
    date,
    deliver_count,
    display_name,
    failure_count,
    interval,
    negative_reply_count,
    neutral_reply_count,
    open_count,
    opt_out_count,
    order,
    positive_reply_count,
    reply_count,
    schedule_count,
    step_type,
    task_autoskip_delay,
    task_note,
    updated_at
);

/// A descriptor of a single step within an automated sequence.
#[Object(name = "SequenceStep")]
impl SequenceStepNode {
    /// The step's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The total count of bounced mailings during this sequence step.
    async fn bounce_count(&self) -> i32 {
        self.0.bounce_count
    }
    /// The total count of clicked mailings from this sequence step.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The date and time the sequence step was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date this step will activate; only applicable to date-based sequences.
    async fn date(&self) -> Option<Date> {
        self.0.date.map(Date)
    }
    /// The total count of delivered mailings from this sequence step.
    async fn deliver_count(&self) -> i32 {
        self.0.deliver_count
    }
    /// A human-readable display name that captures the step's type and order, such as
    /// "Step #2 (Manual email)".
    async fn display_name(&self) -> String {
        display_name(&self.0)
    }
    /// The total count of failed mailings from this sequence step.
    async fn failure_count(&self) -> i32 {
        self.0.failure_count
    }
    /// The interval (in seconds) until this step will activate; only applicable to
    /// interval-based sequences.
    async fn interval(&self) -> Option<i32> {
        self.0.interval
    }
    /// The total count of negative reply mailings from this sequence step.
    async fn negative_reply_count(&self) -> i32 {
        self.0.negative_reply_count
    }
    /// The total count of neutral reply mailings from this sequence step.
    async fn neutral_reply_count(&self) -> i32 {
        self.0.neutral_reply_count
    }
    /// The total count of opened mailings from this sequence step.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The total count of opted out mailings from this sequence step.
    async fn opt_out_count(&self) -> i32 {
        self.0.opt_out_count
    }
    /// The step's display order within its sequence (1-based, contiguous).
    async fn order(&self) -> i32 {
        self.0.order
    }
    /// The total count of positive reply mailings from this sequence step.
    async fn positive_reply_count(&self) -> i32 {
        self.0.positive_reply_count
    }
    /// The total count of replied mailings from this sequence step.
    async fn reply_count(&self) -> i32 {
        self.0.reply_count
    }
    /// The total count of scheduled mailings from this sequence step.
    async fn schedule_count(&self) -> i32 {
        self.0.schedule_count
    }
    /// The step's type: AUTO_EMAIL, MANUAL_EMAIL, CALL or TASK.
    async fn step_type(&self) -> scalars::StepType {
        self.0.step_type.into()
    }
    /// The optional interval (in seconds) from when tasks created by this sequence step are
    /// overdue until they are automatically skipped.
    async fn task_autoskip_delay(&self) -> Option<i32> {
        self.0.task_autoskip_delay
    }
    /// An optional note to associate with created tasks (at most 65,535 characters).
    async fn task_note(&self) -> Option<&str> {
        self.0.task_note.as_deref()
    }
    /// The date and time the sequence step was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    /// The associated sequence.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Sequence> {
        to_one_required(ctx, &rel::STEP_SEQUENCE, &self.0).await
    }
    /// The creator of the sequence step.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::STEP_CREATOR, &self.0).await
    }
    /// The most recent updater of the sequence step.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::STEP_UPDATER, &self.0).await
    }
    /// The default call purpose associated with the sequence step.
    async fn call_purpose(&self, ctx: &Context<'_>) -> Result<Option<CallPurpose>> {
        to_one(ctx, &rel::STEP_CALL_PURPOSE, &self.0).await
    }
    /// The associated task priority.
    async fn task_priority(&self, ctx: &Context<'_>) -> Result<Option<TaskPriority>> {
        to_one(ctx, &rel::STEP_TASK_PRIORITY, &self.0).await
    }
    /// Whether the current user may change this step (same rule as the update mutation).
    async fn can_write(&self, ctx: &Context<'_>) -> Result<bool> {
        let seq = sequence_access(ctx, &self.0).await?;
        Ok(policy::can_write_step(&rc(ctx)?.viewer, &seq))
    }
    /// Whether the current user may delete this step (same rule as the delete mutation).
    async fn can_delete(&self, ctx: &Context<'_>) -> Result<bool> {
        let seq = sequence_access(ctx, &self.0).await?;
        Ok(policy::can_delete_step(&rc(ctx)?.viewer, &seq))
    }
    /// The sequence templates in use by this sequence step (its A/B variants).
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
        nested_connection(
            ctx,
            &rel::STEP_SEQUENCE_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The tasks created by this sequence step.
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
        nested_connection(ctx, &rel::STEP_TASKS, self.0.id, filter, order_by, page).await
    }
    /// The calls made for this sequence step.
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
        nested_connection(ctx, &rel::STEP_CALLS, self.0.id, filter, order_by, page).await
    }
    /// The mailings sent by this sequence step.
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
        nested_connection(ctx, &rel::STEP_MAILINGS, self.0.id, filter, order_by, page).await
    }
}

/// Filters steps. A list matches any of its values (OR); the fields all apply (AND); ranges
/// include both ends. (Mailings cannot be used as a filter, as in Outreach.)
#[derive(InputObject, Clone, Debug, Default)]
pub struct SequenceStepFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these step types.
    pub step_type: Option<Vec<scalars::StepType>>,
    /// Order within this range.
    pub order: Option<IntRange>,
    /// Interval (seconds) within this range.
    pub interval: Option<IntRange>,
    /// Date within this range.
    pub date: Option<DateRange>,
    /// Autoskip delay (seconds) within this range.
    pub task_autoskip_delay: Option<IntRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// By the step's sequence: id, enabledAt or name.
    pub sequence: Option<SequenceRefFilter>,
    /// Steps having at least one sequence template matching this filter.
    pub sequence_templates: Option<SequenceTemplateFilter>,
    /// By call purpose id.
    pub call_purpose: Option<IdFilter>,
    /// Steps having at least one of these calls.
    pub calls: Option<IdFilter>,
    /// By creator id.
    pub creator: Option<IdFilter>,
    /// By task priority id.
    pub task_priority: Option<IdFilter>,
    /// Steps having at least one of these tasks.
    pub tasks: Option<IdFilter>,
    /// By updater id.
    pub updater: Option<IdFilter>,
}

impl FilterInput for SequenceStepFilter {
    type Service = lists::steps::Filter;
    fn into_service(self) -> Result<lists::steps::Filter, AppError> {
        Ok(lists::steps::Filter {
            ids: id_list("filter.id", self.id)?,
            step_types: self
                .step_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            order: int_range("filter.order", self.order)?,
            interval: int_range("filter.interval", self.interval)?,
            date: date_range("filter.date", self.date)?,
            task_autoskip_delay: int_range("filter.taskAutoskipDelay", self.task_autoskip_delay)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            sequence: self
                .sequence
                .map(|s| -> Result<_, AppError> {
                    Ok(lists::steps::SequenceRef {
                        ids: id_list("filter.sequence.id", s.id)?,
                        enabled_at: time_range("filter.sequence.enabledAt", s.enabled_at)?,
                        names: s.name,
                    })
                })
                .transpose()?,
            sequence_templates: self
                .sequence_templates
                .map(|f| f.into_service())
                .transpose()?,
            call_purpose_ids: ids("filter.callPurpose.id", self.call_purpose)?,
            call_ids: ids("filter.calls.id", self.calls)?,
            creator_ids: ids("filter.creator.id", self.creator)?,
            task_priority_ids: ids("filter.taskPriority.id", self.task_priority)?,
            task_ids: ids("filter.tasks.id", self.tasks)?,
            updater_ids: ids("filter.updater.id", self.updater)?,
        })
    }
}

/// Filters a step by its sequence (the attributes the seed allows: id, enabledAt, name).
#[derive(InputObject, Clone, Debug)]
pub struct SequenceRefFilter {
    /// Any of these sequence ids.
    pub id: Option<Vec<ID>>,
    /// Sequences enabled within this range.
    pub enabled_at: Option<DateTimeRange>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
}

order_input!(
    /// The attributes steps can be sorted by.
    SequenceStepOrder, SequenceStepOrderField, lists::steps::Sort {
        Id, Order,
        /// By the number in the display name ("Step #2" before "Step #10"), like ORDER.
        DisplayName,
        StepType, Interval, Date, TaskNote, TaskAutoskipDelay, CreatedAt, UpdatedAt,
        BounceCount, ClickCount, DeliverCount, FailureCount, NegativeReplyCount, NeutralReplyCount,
        OpenCount, OptOutCount, PositiveReplyCount, ReplyCount, ScheduleCount,
    }
);
