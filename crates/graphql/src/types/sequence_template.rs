//! `SequenceTemplate`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of sequence templates).

use super::prelude::*;

connection!(
    SequenceTemplateConnection,
    SequenceTemplateEdge,
    SequenceTemplate,
    "sequence templates"
);

pub struct SequenceTemplateNode(pub entity::sequence_template::Model);

/// `SequenceTemplateNode` with its attributes resolved in place (see [`crate::fast`]).
pub type SequenceTemplate = Fast<SequenceTemplateNode>;

attributes!(
    SequenceTemplateNode,
    entity::sequence_template::Model:
    id,
    node_id,
    is_reply,
    enabled,
    enabled_at,
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
    created_at,
    updated_at
);

/// An object used to track which templates are in use by which sequence steps (an A/B variant).
#[Object(name = "SequenceTemplate")]
impl SequenceTemplateNode {
    /// The sequence template's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// Whether the template is sent as a reply in the previous thread, or as a new thread.
    async fn is_reply(&self) -> bool {
        self.0.is_reply
    }
    /// Whether this variant is active.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// When this variant was last enabled.
    async fn enabled_at(&self) -> Option<DateTime> {
        self.0.enabled_at.map(DateTime)
    }
    /// The total count of bounced mailings from this sequence template.
    async fn bounce_count(&self) -> i32 {
        self.0.bounce_count
    }
    /// The total count of clicked mailings from this sequence template.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The total count of delivered mailings from this sequence template.
    async fn deliver_count(&self) -> i32 {
        self.0.deliver_count
    }
    /// The total count of failed mailings from this sequence template.
    async fn failure_count(&self) -> i32 {
        self.0.failure_count
    }
    /// The total count of negative reply mailings from this sequence template.
    async fn negative_reply_count(&self) -> i32 {
        self.0.negative_reply_count
    }
    /// The total count of neutral reply mailings from this sequence template.
    async fn neutral_reply_count(&self) -> i32 {
        self.0.neutral_reply_count
    }
    /// The total count of opened mailings from this sequence template.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The total count of opted out mailings from this sequence template.
    async fn opt_out_count(&self) -> i32 {
        self.0.opt_out_count
    }
    /// The total count of positive reply mailings from this sequence template.
    async fn positive_reply_count(&self) -> i32 {
        self.0.positive_reply_count
    }
    /// The total count of replied mailings from this sequence template.
    async fn reply_count(&self) -> i32 {
        self.0.reply_count
    }
    /// The total count of scheduled mailings from this sequence template.
    async fn schedule_count(&self) -> i32 {
        self.0.schedule_count
    }
    /// The date and time the sequence template was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the sequence template was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The sequence step that uses the sequence template.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<SequenceStep> {
        to_one_required(ctx, &rel::SEQUENCE_TEMPLATE_STEP, &self.0).await
    }
    /// The template used (visible whenever the sequence template is).
    async fn template(&self, ctx: &Context<'_>) -> Result<Template> {
        to_one_required(ctx, &rel::SEQUENCE_TEMPLATE_TEMPLATE, &self.0).await
    }
    /// The creator of the sequence template.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_TEMPLATE_CREATOR, &self.0).await
    }
    /// The most recent updater of the sequence template.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_TEMPLATE_UPDATER, &self.0).await
    }
    /// The mailings sent with this sequence template.
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
            &rel::SEQUENCE_TEMPLATE_MAILINGS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
}

/// Filters sequence templates by any of their filterable attributes.
#[derive(InputObject, Clone, Debug, Default)]
pub struct SequenceTemplateFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Sent as a reply, or as a new thread.
    pub is_reply: Option<bool>,
    /// Active or not.
    pub enabled: Option<bool>,
    /// Enabled within this range.
    pub enabled_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// Using any of these templates.
    pub template: Option<IdFilter>,
    /// Created by any of these users.
    pub creator: Option<IdFilter>,
    /// Used by any of these sequence steps.
    pub sequence_step: Option<IdFilter>,
}

impl FilterInput for SequenceTemplateFilter {
    type Service = lists::sequence_templates::Filter;
    fn into_service(self) -> Result<lists::sequence_templates::Filter, AppError> {
        Ok(lists::sequence_templates::Filter {
            ids: id_list("sequenceTemplates.id", self.id)?,
            is_reply: self.is_reply,
            enabled: self.enabled,
            enabled_at: time_range("sequenceTemplates.enabledAt", self.enabled_at)?,
            created_at: time_range("sequenceTemplates.createdAt", self.created_at)?,
            updated_at: time_range("sequenceTemplates.updatedAt", self.updated_at)?,
            template_ids: ids("sequenceTemplates.template.id", self.template)?,
            creator_ids: ids("sequenceTemplates.creator.id", self.creator)?,
            sequence_step_ids: ids("sequenceTemplates.sequenceStep.id", self.sequence_step)?,
        })
    }
}

order_input!(
    /// The attributes sequence templates can be sorted by.
    SequenceTemplateOrder, SequenceTemplateOrderField, lists::sequence_templates::Sort {
        Id, EnabledAt, CreatedAt, UpdatedAt, OpenCount, ClickCount, ReplyCount,
    }
);
