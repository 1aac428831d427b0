//! `Mailing`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of mailings).

use super::prelude::*;

connection!(MailingConnection, MailingEdge, Mailing, "mailings");

pub struct MailingNode(pub entity::mailing::Model);

/// `MailingNode` with its attributes resolved in place (see [`crate::fast`]).
pub type Mailing = Fast<MailingNode>;

attributes!(
    MailingNode,
    entity::mailing::Model:
    id,
    node_id,
    state,
    mailing_type,
    subject,
    body_html,
    body_text,
    mailbox_address,
    message_id,
    error_reason,
    track_links,
    track_opens,
    open_count,
    click_count,
    reply_sentiment,
    scheduled_at,
    delivered_at,
    opened_at,
    clicked_at,
    replied_at,
    bounced_at,
    unsubscribed_at,
    marked_as_spam_at,
    state_changed_at,
    created_at,
    updated_at
);

/// A platform-related email.
#[Object(name = "Mailing")]
impl MailingNode {
    /// The mailing's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The current state of the mailing.
    async fn state(&self) -> scalars::MailingState {
        self.0.state.into()
    }
    /// The kind of mailing.
    async fn mailing_type(&self) -> Option<scalars::MailingType> {
        self.0.mailing_type.map(Into::into)
    }
    /// The subject line of the email.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The body of the email in HTML.
    async fn body_html(&self) -> Option<&str> {
        self.0.body_html.as_deref()
    }
    /// The body of the email as plain text.
    async fn body_text(&self) -> Option<&str> {
        self.0.body_text.as_deref()
    }
    /// The email address the mailing was sent from.
    async fn mailbox_address(&self) -> Option<&str> {
        self.0.mailbox_address.as_deref()
    }
    /// The Message-ID header of the sent email.
    async fn message_id(&self) -> Option<&str> {
        self.0.message_id.as_deref()
    }
    /// Why the mailing failed.
    async fn error_reason(&self) -> Option<&str> {
        self.0.error_reason.as_deref()
    }
    /// Whether links are tracked.
    async fn track_links(&self) -> bool {
        self.0.track_links
    }
    /// Whether opens are tracked.
    async fn track_opens(&self) -> bool {
        self.0.track_opens
    }
    /// The number of times the mailing was opened.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The number of times a link in the mailing was clicked.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The sentiment of the reply, when there is one.
    async fn reply_sentiment(&self) -> Option<scalars::ReplySentiment> {
        self.0.reply_sentiment.map(Into::into)
    }
    /// When the mailing was scheduled to be sent.
    async fn scheduled_at(&self) -> Option<DateTime> {
        self.0.scheduled_at.map(DateTime)
    }
    /// When the mailing was delivered.
    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(DateTime)
    }
    /// When the mailing was first opened.
    async fn opened_at(&self) -> Option<DateTime> {
        self.0.opened_at.map(DateTime)
    }
    /// When a link in the mailing was most recently clicked.
    async fn clicked_at(&self) -> Option<DateTime> {
        self.0.clicked_at.map(DateTime)
    }
    /// When the mailing was replied to.
    async fn replied_at(&self) -> Option<DateTime> {
        self.0.replied_at.map(DateTime)
    }
    /// When the mailing bounced.
    async fn bounced_at(&self) -> Option<DateTime> {
        self.0.bounced_at.map(DateTime)
    }
    /// When the recipient opted out.
    async fn unsubscribed_at(&self) -> Option<DateTime> {
        self.0.unsubscribed_at.map(DateTime)
    }
    /// When the mailing was marked as spam.
    async fn marked_as_spam_at(&self) -> Option<DateTime> {
        self.0.marked_as_spam_at.map(DateTime)
    }
    /// When the mailing's state last changed.
    async fn state_changed_at(&self) -> Option<DateTime> {
        self.0.state_changed_at.map(DateTime)
    }
    /// The date and time the mailing was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the mailing was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The sequence of the mailing; null when not set or not visible to you.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Option<Sequence>> {
        to_one(ctx, &rel::MAILING_SEQUENCE, &self.0).await
    }
    /// The sequence step of the mailing; null when not set or not visible to you.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<Option<SequenceStep>> {
        to_one(ctx, &rel::MAILING_STEP, &self.0).await
    }
    /// The sequence template (A/B variant) the mailing was sent with; null when not set or not visible to you.
    async fn sequence_template(&self, ctx: &Context<'_>) -> Result<Option<SequenceTemplate>> {
        to_one(ctx, &rel::MAILING_SEQUENCE_TEMPLATE, &self.0).await
    }
    /// The template the mailing was sent from; null when not set or not visible to you.
    async fn template(&self, ctx: &Context<'_>) -> Result<Option<Template>> {
        to_one(ctx, &rel::MAILING_TEMPLATE, &self.0).await
    }
    /// The task the mailing was sent for; null when not set or not visible to you.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        to_one(ctx, &rel::MAILING_TASK, &self.0).await
    }
    /// The user who sent the mailing.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::MAILING_USER, &self.0).await
    }
}

/// Filters mailings. A list matches any of its values (OR); the fields all apply (AND); ranges
/// include both ends.
#[derive(InputObject, Clone, Debug, Default)]
pub struct MailingFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these states.
    pub state: Option<Vec<scalars::MailingState>>,
    /// Delivered within this range.
    pub delivered_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// Of any of these sequences.
    pub sequence: Option<IdFilter>,
    /// Sent by any of these sequence steps.
    pub sequence_step: Option<IdFilter>,
    /// Sent with any of these sequence templates.
    pub sequence_template: Option<IdFilter>,
    /// Sent from any of these templates.
    pub template: Option<IdFilter>,
    /// Sent for any of these tasks.
    pub task: Option<IdFilter>,
    /// Sent by any of these users.
    pub user: Option<IdFilter>,
}

impl FilterInput for MailingFilter {
    type Service = lists::mailings::Filter;
    fn into_service(self) -> Result<lists::mailings::Filter, AppError> {
        Ok(lists::mailings::Filter {
            ids: id_list("filter.id", self.id)?,
            states: self.state.map(|v| v.into_iter().map(Into::into).collect()),
            delivered_at: time_range("filter.deliveredAt", self.delivered_at)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            sequence_ids: ids("filter.sequence.id", self.sequence)?,
            sequence_step_ids: ids("filter.sequenceStep.id", self.sequence_step)?,
            sequence_template_ids: ids("filter.sequenceTemplate.id", self.sequence_template)?,
            template_ids: ids("filter.template.id", self.template)?,
            task_ids: ids("filter.task.id", self.task)?,
            user_ids: ids("filter.user.id", self.user)?,
        })
    }
}

order_input!(
    /// The attributes mailings can be sorted by.
    MailingOrder, MailingOrderField, lists::mailings::Sort {
        Id, State, DeliveredAt, OpenCount, ClickCount, CreatedAt, UpdatedAt,
    }
);
