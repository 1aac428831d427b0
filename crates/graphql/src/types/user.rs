//! `User`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of users).

use super::prelude::*;

connection!(UserConnection, UserEdge, User, "users");

pub struct UserNode(pub entity::user::Model);

/// `UserNode` with its attributes resolved in place (see [`crate::fast`]).
pub type User = Fast<UserNode>;

attributes!(
    UserNode,
    entity::user::Model:
    id,
    node_id,
    email,
    first_name,
    last_name,
    name,
    username,
    title,
    role,
    locked,
    created_at,
    updated_at
);

/// A user of the organisation.
#[Object(name = "User")]
impl UserNode {
    /// The user's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The email address of the user (cannot be changed through the API).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The first name of the user.
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// The last name of the user.
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// The full name of the user (derived from first and last name).
    async fn name(&self) -> String {
        stepgraph_domain::service::lists::users::full_name(&self.0)
    }
    /// A short handle for the user.
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    /// The user's job title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// What the user may do.
    async fn role(&self) -> scalars::Role {
        self.0.role.into()
    }
    /// Whether the user is deactivated.
    async fn locked(&self) -> bool {
        self.0.locked
    }
    /// The date and time the user was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the user was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The sequences this user owns.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn owned_sequences(
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
        nested_connection(
            ctx,
            &rel::USER_OWNED_SEQUENCES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The templates this user owns.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn owned_templates(
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
        nested_connection(
            ctx,
            &rel::USER_OWNED_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The tasks this user owns (their inbox).
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn owned_tasks(
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
            &rel::USER_OWNED_TASKS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The calls this user made.
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
        nested_connection(ctx, &rel::USER_CALLS, self.0.id, filter, order_by, page).await
    }
    /// The mailings sent by this user.
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
        nested_connection(ctx, &rel::USER_MAILINGS, self.0.id, filter, order_by, page).await
    }
    /// The sequence steps this user created.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn created_sequence_steps(
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
        nested_connection(
            ctx,
            &rel::USER_CREATED_STEPS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The sequence steps this user updated last.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn updated_sequence_steps(
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
        nested_connection(
            ctx,
            &rel::USER_UPDATED_STEPS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The sequences this user created.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn created_sequences(
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
        nested_connection(
            ctx,
            &rel::USER_CREATED_SEQUENCES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The sequences this user updated last.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn updated_sequences(
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
        nested_connection(
            ctx,
            &rel::USER_UPDATED_SEQUENCES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The sequence templates this user created.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn created_sequence_templates(
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
            &rel::USER_CREATED_SEQUENCE_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The sequence templates this user updated last.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn updated_sequence_templates(
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
            &rel::USER_UPDATED_SEQUENCE_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The templates this user created.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn created_templates(
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
        nested_connection(
            ctx,
            &rel::USER_CREATED_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The templates this user updated last.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn updated_templates(
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
        nested_connection(
            ctx,
            &rel::USER_UPDATED_TEMPLATES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The tasks this user created.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn created_tasks(
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
            &rel::USER_CREATED_TASKS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The tasks this user completed.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn completed_tasks(
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
            &rel::USER_COMPLETED_TASKS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The call purposes this user created.
    #[graphql(complexity = "crate::connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn created_call_purposes(
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
        nested_connection(
            ctx,
            &rel::USER_CREATED_CALL_PURPOSES,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
}

/// Filters users.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UserFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these email addresses.
    pub email: Option<Vec<String>>,
    /// Any of these roles.
    pub role: Option<Vec<scalars::Role>>,
    /// Deactivated or not.
    pub locked: Option<bool>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
}

impl FilterInput for UserFilter {
    type Service = lists::users::Filter;
    fn into_service(self) -> Result<lists::users::Filter, AppError> {
        Ok(lists::users::Filter {
            ids: id_list("filter.id", self.id)?,
            emails: self.email,
            roles: self.role.map(|v| v.into_iter().map(Into::into).collect()),
            locked: self.locked,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
        })
    }
}

order_input!(
    /// The attributes users can be sorted by.
    UserOrder, UserOrderField, lists::users::Sort { Id, Email, FirstName, LastName, CreatedAt, UpdatedAt }
);
