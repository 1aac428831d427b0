//! `Sequence`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of sequences).

use super::prelude::*;

connection!(SequenceConnection, SequenceEdge, Sequence, "sequences");

pub struct SequenceNode(pub entity::sequence::Model);

/// `SequenceNode` with its attributes resolved in place (see [`crate::fast`]).
pub type Sequence = Fast<SequenceNode>;

attributes!(
    SequenceNode,
    entity::sequence::Model:
    id,
    node_id,
    name,
    description,
    sequence_type,
    share_type,
    schedule_interval_type,
    enabled,
    enabled_at,
    locked,
    locked_at,
    bounce_count,
    click_count,
    deliver_count,
    failure_count,
    negative_reply_count,
    neutral_reply_count,
    open_count,
    opt_out_count,
    positive_reply_count,
    reply_count,
    schedule_count,
    last_used_at,
    max_activations,
    primary_reply_action,
    primary_reply_pause_duration,
    secondary_reply_action,
    secondary_reply_pause_duration,
    throttle_capacity,
    throttle_max_adds_per_day,
    throttle_paused,
    throttle_paused_at,
    transactional,
    tags,
    created_at,
    updated_at
);

/// An ordered series of steps that automates touches with prospects.
#[Object(name = "Sequence")]
impl SequenceNode {
    /// The sequence's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The name of the sequence (at most 255 characters).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A custom description for the sequence (at most 1,024 characters).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Whether steps are scheduled by interval or by date.
    async fn sequence_type(&self) -> scalars::SequenceType {
        self.0.sequence_type.into()
    }
    /// Who besides the owner can see or edit the sequence.
    async fn share_type(&self) -> scalars::ShareType {
        self.0.share_type.into()
    }
    /// How intervals are counted.
    async fn schedule_interval_type(&self) -> Option<scalars::ScheduleIntervalType> {
        self.0.schedule_interval_type.map(Into::into)
    }
    /// Whether the sequence is active.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// When the sequence was last enabled; null while disabled.
    async fn enabled_at(&self) -> Option<DateTime> {
        self.0.enabled_at.map(DateTime)
    }
    /// Whether the sequence is locked (archived); a locked sequence's steps cannot change.
    async fn locked(&self) -> bool {
        self.0.locked
    }
    /// When the sequence was locked.
    async fn locked_at(&self) -> Option<DateTime> {
        self.0.locked_at.map(DateTime)
    }
    /// The total count of bounced mailings from this sequence.
    async fn bounce_count(&self) -> i32 {
        self.0.bounce_count
    }
    /// The total count of clicked mailings from this sequence.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The total count of delivered mailings from this sequence.
    async fn deliver_count(&self) -> i32 {
        self.0.deliver_count
    }
    /// The total count of failed mailings from this sequence.
    async fn failure_count(&self) -> i32 {
        self.0.failure_count
    }
    /// The total count of negative reply mailings from this sequence.
    async fn negative_reply_count(&self) -> i32 {
        self.0.negative_reply_count
    }
    /// The total count of neutral reply mailings from this sequence.
    async fn neutral_reply_count(&self) -> i32 {
        self.0.neutral_reply_count
    }
    /// The total count of opened mailings from this sequence.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The total count of opted out mailings from this sequence.
    async fn opt_out_count(&self) -> i32 {
        self.0.opt_out_count
    }
    /// The total count of positive reply mailings from this sequence.
    async fn positive_reply_count(&self) -> i32 {
        self.0.positive_reply_count
    }
    /// The total count of replied mailings from this sequence.
    async fn reply_count(&self) -> i32 {
        self.0.reply_count
    }
    /// The total count of scheduled mailings from this sequence.
    async fn schedule_count(&self) -> i32 {
        self.0.schedule_count
    }
    /// When the sequence was last used.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime)
    }
    /// The maximum number of prospects that can be added (date-based sequences only).
    async fn max_activations(&self) -> Option<i32> {
        self.0.max_activations
    }
    /// What happens when a prospect replies to a mailing from this sequence.
    async fn primary_reply_action(&self) -> Option<scalars::ReplyAction> {
        self.0.primary_reply_action.map(Into::into)
    }
    /// How long (seconds) to pause after a reply, when the primary action is PAUSE.
    async fn primary_reply_pause_duration(&self) -> Option<i32> {
        self.0.primary_reply_pause_duration
    }
    /// What happens when a prospect replies from another address.
    async fn secondary_reply_action(&self) -> Option<scalars::ReplyAction> {
        self.0.secondary_reply_action.map(Into::into)
    }
    /// How long (seconds) to pause, when the secondary action is PAUSE.
    async fn secondary_reply_pause_duration(&self) -> Option<i32> {
        self.0.secondary_reply_pause_duration
    }
    /// The maximum number of prospects active in the sequence at once.
    async fn throttle_capacity(&self) -> Option<i32> {
        self.0.throttle_capacity
    }
    /// The maximum number of prospects added per day.
    async fn throttle_max_adds_per_day(&self) -> Option<i32> {
        self.0.throttle_max_adds_per_day
    }
    /// Whether throttling is paused.
    async fn throttle_paused(&self) -> bool {
        self.0.throttle_paused
    }
    /// When throttling was paused.
    async fn throttle_paused_at(&self) -> Option<DateTime> {
        self.0.throttle_paused_at.map(DateTime)
    }
    /// Whether the sequence sends transactional (not marketing) emails.
    async fn transactional(&self) -> bool {
        self.0.transactional
    }
    /// Tags applied to the sequence.
    async fn tags(&self) -> Vec<String> {
        tags(&self.0.tags)
    }
    /// The date and time the sequence was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the sequence was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The owner of the sequence.
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        to_one_required(ctx, &rel::SEQUENCE_OWNER, &self.0).await
    }
    /// The creator of the sequence.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_CREATOR, &self.0).await
    }
    /// The most recent updater of the sequence.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_UPDATER, &self.0).await
    }
    /// The number of steps in the sequence.
    async fn sequence_step_count(&self, ctx: &Context<'_>) -> Result<i64> {
        child_count(ctx, &rel::SEQUENCE_STEP_COUNT, self.0.id).await
    }
    /// Whether the current user may change this sequence's steps: add, edit and reorder them
    /// (the rule of `SequenceStep.canWrite`).
    async fn can_write(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(policy::can_write_step(
            &rc(ctx)?.viewer,
            &SequenceAccess::from(&self.0),
        ))
    }
    /// Whether the current user may delete this sequence's steps (the rule of
    /// `SequenceStep.canDelete`).
    async fn can_delete(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(policy::can_delete_step(
            &rc(ctx)?.viewer,
            &SequenceAccess::from(&self.0),
        ))
    }
    /// The steps of the sequence, by order unless `orderBy` says otherwise.
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
        nested_connection(ctx, &rel::SEQUENCE_STEPS, self.0.id, filter, order_by, page).await
    }
    /// The tasks created by the sequence.
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
        nested_connection(ctx, &rel::SEQUENCE_TASKS, self.0.id, filter, order_by, page).await
    }
    /// The calls made for the sequence.
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
        nested_connection(ctx, &rel::SEQUENCE_CALLS, self.0.id, filter, order_by, page).await
    }
    /// The mailings sent by the sequence.
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
        nested_connection(
            ctx,
            &rel::SEQUENCE_MAILINGS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
}

/// Filters sequences.
#[derive(InputObject, Clone, Debug, Default)]
pub struct SequenceFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
    /// Any of these sequence types.
    pub sequence_type: Option<Vec<scalars::SequenceType>>,
    /// Any of these share types.
    pub share_type: Option<Vec<scalars::ShareType>>,
    /// Enabled or not.
    pub enabled: Option<bool>,
    /// Locked (archived) or not.
    pub locked: Option<bool>,
    /// Enabled within this range.
    pub enabled_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// Owned by any of these users.
    pub owner: Option<IdFilter>,
}

impl FilterInput for SequenceFilter {
    type Service = lists::sequences::Filter;
    fn into_service(self) -> Result<lists::sequences::Filter, AppError> {
        Ok(lists::sequences::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
            sequence_types: self
                .sequence_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            share_types: self
                .share_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            enabled: self.enabled,
            locked: self.locked,
            enabled_at: time_range("filter.enabledAt", self.enabled_at)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            owner_ids: ids("filter.owner.id", self.owner)?,
        })
    }
}

order_input!(
    /// The attributes sequences can be sorted by.
    SequenceOrder, SequenceOrderField, lists::sequences::Sort {
        Id, Name, CreatedAt, UpdatedAt, EnabledAt, LastUsedAt,
    }
);
