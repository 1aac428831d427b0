//! `Template`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of templates).

use super::prelude::*;

connection!(TemplateConnection, TemplateEdge, Template, "templates");

pub struct TemplateNode(pub entity::template::Model);

/// `TemplateNode` with its attributes resolved in place (see [`crate::fast`]).
pub type Template = Fast<TemplateNode>;

attributes!(
    TemplateNode,
    entity::template::Model:
    id,
    node_id,
    name,
    subject,
    body_html,
    body_text,
    share_type,
    archived,
    archived_at,
    track_links,
    track_opens,
    to_recipients,
    cc_recipients,
    bcc_recipients,
    tags,
    last_used_at,
    created_at,
    updated_at
);

/// Reusable email content.
#[Object(name = "Template")]
impl TemplateNode {
    /// The template's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The name of the template (at most 225 characters).
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// The subject line of the email.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The body of the email, in HTML.
    async fn body_html(&self) -> Option<&str> {
        self.0.body_html.as_deref()
    }
    /// The body of the email as plain text (derived from bodyHtml).
    async fn body_text(&self) -> Option<&str> {
        self.0.body_text.as_deref()
    }
    /// Who besides the owner can see or use the template.
    async fn share_type(&self) -> scalars::ShareType {
        self.0.share_type.into()
    }
    /// Whether the template is archived.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// When the template was archived.
    async fn archived_at(&self) -> Option<DateTime> {
        self.0.archived_at.map(DateTime)
    }
    /// Whether links in mailings from this template are tracked.
    async fn track_links(&self) -> bool {
        self.0.track_links
    }
    /// Whether opens of mailings from this template are tracked.
    async fn track_opens(&self) -> bool {
        self.0.track_opens
    }
    /// Default To recipients.
    async fn to_recipients(&self) -> Vec<String> {
        tags(&self.0.to_recipients)
    }
    /// Default Cc recipients.
    async fn cc_recipients(&self) -> Vec<String> {
        tags(&self.0.cc_recipients)
    }
    /// Default Bcc recipients.
    async fn bcc_recipients(&self) -> Vec<String> {
        tags(&self.0.bcc_recipients)
    }
    /// Tags applied to the template.
    async fn tags(&self) -> Vec<String> {
        tags(&self.0.tags)
    }
    /// When the template was last used.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime)
    }
    /// The date and time the template was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the template was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The owner of the template.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TEMPLATE_OWNER, &self.0).await
    }
    /// The creator of the template.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TEMPLATE_CREATOR, &self.0).await
    }
    /// The most recent updater of the template.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TEMPLATE_UPDATER, &self.0).await
    }
    /// The sequence templates (uses by sequence steps) of this template.
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
            &rel::TEMPLATE_SEQUENCE_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The mailings sent from this template.
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
            &rel::TEMPLATE_MAILINGS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
}

/// Filters templates.
#[derive(InputObject, Clone, Debug, Default)]
pub struct TemplateFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
    /// Any of these share types.
    pub share_type: Option<Vec<scalars::ShareType>>,
    /// Archived or not.
    pub archived: Option<bool>,
    /// Owned by any of these users.
    pub owner: Option<IdFilter>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
}

impl FilterInput for TemplateFilter {
    type Service = lists::templates::Filter;
    fn into_service(self) -> Result<lists::templates::Filter, AppError> {
        Ok(lists::templates::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
            share_types: self
                .share_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            archived: self.archived,
            owner_ids: ids("filter.owner.id", self.owner)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
        })
    }
}

order_input!(
    /// The attributes templates can be sorted by.
    TemplateOrder, TemplateOrderField, lists::templates::Sort { Id, Name, CreatedAt, UpdatedAt }
);
