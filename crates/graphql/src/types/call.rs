//! `Call`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of calls).

use super::prelude::*;

connection!(CallConnection, CallEdge, Call, "calls");

pub struct CallNode(pub entity::call::Model);

/// `CallNode` with its attributes resolved in place (see [`crate::fast`]).
pub type Call = Fast<CallNode>;

attributes!(
    CallNode,
    entity::call::Model:
    id,
    node_id,
    direction,
    outcome,
    state,
    sequence_action,
    user_call_type,
    from,
    to,
    note,
    recording_url,
    voicemail_recording_url,
    vendor_call_id,
    external_vendor,
    should_record_call,
    dialed_at,
    answered_at,
    completed_at,
    returned_at,
    state_changed_at,
    created_at,
    updated_at
);

/// A logged phone call.
#[Object(name = "Call")]
impl CallNode {
    /// The call's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The call direction from the user's point of view.
    async fn direction(&self) -> scalars::CallDirection {
        self.0.direction.into()
    }
    /// The call's outcome.
    async fn outcome(&self) -> Option<scalars::CallOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// The call's current state.
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    /// What the call did to the prospect's place in the sequence.
    async fn sequence_action(&self) -> Option<scalars::CallSequenceAction> {
        self.0
            .sequence_action
            .as_deref()
            .and_then(scalars::CallSequenceAction::from_stored)
    }
    /// How the call was placed (bridge or voip).
    async fn user_call_type(&self) -> Option<scalars::UserCallType> {
        self.0
            .user_call_type
            .as_deref()
            .and_then(scalars::UserCallType::from_stored)
    }
    /// The phone number used to place the call.
    async fn from(&self) -> Option<&str> {
        self.0.from.as_deref()
    }
    /// The phone number that was called.
    async fn to(&self) -> Option<&str> {
        self.0.to.as_deref()
    }
    /// A custom note associated with the call.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The URL of the call's recording.
    async fn recording_url(&self) -> Option<&str> {
        self.0.recording_url.as_deref()
    }
    /// The URL of the call's voicemail recording.
    async fn voicemail_recording_url(&self) -> Option<&str> {
        self.0.voicemail_recording_url.as_deref()
    }
    /// The call's identifier at the vendor.
    async fn vendor_call_id(&self) -> Option<&str> {
        self.0.vendor_call_id.as_deref()
    }
    /// The vendor that placed the call.
    async fn external_vendor(&self) -> Option<&str> {
        self.0.external_vendor.as_deref()
    }
    /// Whether the call should be recorded.
    async fn should_record_call(&self) -> bool {
        self.0.should_record_call
    }
    /// When the call was dialed.
    async fn dialed_at(&self) -> Option<DateTime> {
        self.0.dialed_at.map(DateTime)
    }
    /// When the call was answered.
    async fn answered_at(&self) -> Option<DateTime> {
        self.0.answered_at.map(DateTime)
    }
    /// When the call was completed.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    /// When the call was returned.
    async fn returned_at(&self) -> Option<DateTime> {
        self.0.returned_at.map(DateTime)
    }
    /// When the call's state last changed.
    async fn state_changed_at(&self) -> Option<DateTime> {
        self.0.state_changed_at.map(DateTime)
    }
    /// The date and time the call record was created (not when the call happened).
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the call was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The purpose of the call.
    async fn call_purpose(&self, ctx: &Context<'_>) -> Result<Option<CallPurpose>> {
        to_one(ctx, &rel::CALL_CALL_PURPOSE, &self.0).await
    }
    /// The sequence of the call; null when not set or not visible to you.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Option<Sequence>> {
        to_one(ctx, &rel::CALL_SEQUENCE, &self.0).await
    }
    /// The sequence step of the call; null when not set or not visible to you.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<Option<SequenceStep>> {
        to_one(ctx, &rel::CALL_STEP, &self.0).await
    }
    /// The task the call was made for; null when not set or not visible to you.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        to_one(ctx, &rel::CALL_TASK, &self.0).await
    }
    /// The user who made the call.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::CALL_USER, &self.0).await
    }
}

/// Filters calls. A list matches any of its values (OR); the fields all apply (AND); ranges
/// include both ends.
#[derive(InputObject, Clone, Debug, Default)]
pub struct CallFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these directions.
    pub direction: Option<Vec<scalars::CallDirection>>,
    /// Any of these outcomes.
    pub outcome: Option<Vec<scalars::CallOutcome>>,
    /// Dialed within this range.
    pub dialed_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// With any of these call purposes.
    pub call_purpose: Option<IdFilter>,
    /// Of any of these sequences.
    pub sequence: Option<IdFilter>,
    /// For any of these sequence steps.
    pub sequence_step: Option<IdFilter>,
    /// For any of these tasks.
    pub task: Option<IdFilter>,
    /// Made by any of these users.
    pub user: Option<IdFilter>,
}

impl FilterInput for CallFilter {
    type Service = lists::calls::Filter;
    fn into_service(self) -> Result<lists::calls::Filter, AppError> {
        Ok(lists::calls::Filter {
            ids: id_list("filter.id", self.id)?,
            directions: self
                .direction
                .map(|v| v.into_iter().map(Into::into).collect()),
            outcomes: self
                .outcome
                .map(|v| v.into_iter().map(Into::into).collect()),
            dialed_at: time_range("filter.dialedAt", self.dialed_at)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            call_purpose_ids: ids("filter.callPurpose.id", self.call_purpose)?,
            sequence_ids: ids("filter.sequence.id", self.sequence)?,
            sequence_step_ids: ids("filter.sequenceStep.id", self.sequence_step)?,
            task_ids: ids("filter.task.id", self.task)?,
            user_ids: ids("filter.user.id", self.user)?,
        })
    }
}

order_input!(
    /// The attributes calls can be sorted by.
    CallOrder, CallOrderField, lists::calls::Sort {
        Id, Direction, DialedAt, CompletedAt, CreatedAt, UpdatedAt,
    }
);
