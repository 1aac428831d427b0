//! `CallPurpose`: the object type, its connection, and its filter and ordering inputs (shared by
//! the root list and every nested connection of call purposes).

use super::prelude::*;

connection!(
    CallPurposeConnection,
    CallPurposeEdge,
    CallPurpose,
    "call purposes"
);

pub struct CallPurposeNode(pub entity::call_purpose::Model);

/// `CallPurposeNode` with its attributes resolved in place (see [`crate::fast`]).
pub type CallPurpose = Fast<CallPurposeNode>;

attributes!(
    CallPurposeNode,
    entity::call_purpose::Model:
    id,
    node_id,
    name,
    order,
    created_at,
    updated_at
);

/// A ready-made call purpose that helps categorize call logs.
#[Object(name = "CallPurpose")]
impl CallPurposeNode {
    /// The call purpose's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// An opaque global id naming the type and the row (Relay's object identification);
    /// `Query.node` takes it.
    pub async fn node_id(&self) -> ID {
        crate::node::node_id::<Self>(self.0.id)
    }
    /// The name of the call purpose (for example "Initial Contact").
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The display order of the call purpose within the collection.
    async fn order(&self) -> Option<i32> {
        self.0.order
    }
    /// The date and time the call purpose was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The date and time the call purpose was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The creator of the call purpose.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::CALL_PURPOSE_CREATOR, &self.0).await
    }
    /// The calls logged with this call purpose.
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
        nested_connection(
            ctx,
            &rel::CALL_PURPOSE_CALLS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
    /// The sequence steps whose default call purpose this is.
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
            &rel::CALL_PURPOSE_STEPS,
            self.0.id,
            filter,
            order_by,
            page,
        )
        .await
    }
}

/// Filters call purposes.
#[derive(InputObject, Clone, Debug, Default)]
pub struct CallPurposeFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
}

impl FilterInput for CallPurposeFilter {
    type Service = lists::call_purposes::Filter;
    fn into_service(self) -> Result<lists::call_purposes::Filter, AppError> {
        Ok(lists::call_purposes::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
        })
    }
}

order_input!(
    /// The attributes call purposes can be sorted by.
    CallPurposeOrder, CallPurposeOrderField, lists::call_purposes::Sort { Id, Name, Order, CreatedAt, UpdatedAt }
);
