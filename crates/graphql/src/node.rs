//! Global object identification, the Relay way: `interface Node { nodeId: ID! }`, implemented
//! by every entity type, and `Query.node(id:)` / `Query.nodes(ids:)`.
//!
//! A `nodeId` names the type and the row (`SequenceStep:42`, base64url without padding, so
//! clients treat it as opaque); the numeric `id` stays the Outreach id that /api/v2 and the
//! subscriptions share. A lookup goes through the same by-id loaders as the root lookups
//! (`Query.sequenceStep`), so it is batched with them and visibility-checked like them. A
//! hidden row, a malformed id and an unknown type all answer null, the same way: nothing tells
//! a probe which of the three it hit.

use async_graphql::{Context, ID, Interface, Object, OutputType, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;

use crate::context::rc;
use crate::loaders::row;
use crate::types::*;
use stepgraph_domain::service::lists;

/// The longest `nodeId` this server makes is well under this; a longer one is not decoded.
const MAX_NODE_ID_LEN: usize = 64;

/// The `nodeId` of the row `id` of the object type `T`.
pub fn node_id<T: OutputType>(id: i64) -> ID {
    encode(&T::type_name(), id)
}

/// The `nodeId` of the row `id` of the object type named `type_name`.
pub fn encode(type_name: &str, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// The type name and row id a `nodeId` names; `None` for anything this server did not make.
fn decode(node_id: &str) -> Option<(String, i64)> {
    if node_id.len() > MAX_NODE_ID_LEN {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(node_id).ok()?).ok()?;
    let (ty, id) = text.split_once(':')?;
    // Only the canonical spelling (no sign, no leading zero), so one row has one `nodeId`.
    if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((ty.to_string(), id.parse().ok()?))
}

/// Declares the `Node` interface over every entity type and the lookup of a decoded id
/// through that type's root-lookup loader.
macro_rules! nodes {
    ($($ty:ident: $resource:ty, $loader:literal;)*) => {
        /// An object with a global id: every entity type. `Query.node` refetches one by its
        /// `nodeId` (Relay's object identification).
        #[derive(Interface)]
        #[graphql(field(
            name = "node_id",
            ty = "ID",
            desc = "An opaque global id naming the type and the row; `Query.node` takes it. \
                    (The numeric `id` is the Outreach id.)"
        ))]
        pub enum Node {
            $($ty($ty),)*
        }

        /// The visible row a decoded `nodeId` names, as a [`Node`].
        async fn load(ctx: &Context<'_>, ty: &str, id: i64) -> Result<Option<Node>> {
            let rc = rc(ctx)?;
            Ok(match ty {
                $(stringify!($ty) => row(&*rc.loaders.by_id::<$resource>($loader), id)
                    .await?
                    .map(|m| Node::$ty(m.into())),)*
                _ => None,
            })
        }
    };
}

nodes! {
    SequenceStep: lists::Steps, "Query.sequenceStep";
    Sequence: lists::Sequences, "Query.sequence";
    SequenceTemplate: lists::SequenceTemplates, "Query.sequenceTemplate";
    Template: lists::Templates, "Query.template";
    User: lists::Users, "Query.user";
    Task: lists::Tasks, "Query.task";
    Call: lists::Calls, "Query.call";
    Mailing: lists::Mailings, "Query.mailing";
    CallPurpose: lists::CallPurposes, "Query.callPurpose";
    TaskPriority: lists::TaskPriorities, "Query.taskPriority";
}

async fn lookup(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    match decode(id) {
        Some((ty, id)) => load(ctx, &ty, id).await,
        None => Ok(None),
    }
}

/// `Query.node` and `Query.nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this `nodeId`; null when it does not exist, is not visible to you, or
    /// the id is not one this server made.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A `nodeId`.")] id: ID,
    ) -> Result<Option<Node>> {
        lookup(ctx, &id).await
    }

    /// The objects with these `nodeId`s, in the same order; each null as `node` would answer
    /// it. Loaded in one batch per type; at most STEPGRAPH_MAX_LIST_ITEMS ids.
    #[graphql(complexity = "ids.len().saturating_mul(child_complexity).saturating_add(1)")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`nodeId`s.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        // The cost check refused a longer list before anything ran; the loaders batch the
        // concurrent lookups per type.
        join_all(ids.iter().map(|id| lookup(ctx, id)))
            .await
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let id = node_id::<SequenceStep>(42);
        assert_eq!(decode(&id), Some(("SequenceStep".to_string(), 42)));
        assert_ne!(id, node_id::<Sequence>(42));
        for bad in [
            "",
            "42",
            "!!!",
            &URL_SAFE_NO_PAD.encode("SequenceStep:"),
            &URL_SAFE_NO_PAD.encode("SequenceStep:042"),
            &URL_SAFE_NO_PAD.encode("SequenceStep:-1"),
            &URL_SAFE_NO_PAD.encode("SequenceStep:+1"),
            &URL_SAFE_NO_PAD.encode("SequenceStep:99999999999999999999"),
            &URL_SAFE_NO_PAD.encode("SequenceStep 1"),
            &"A".repeat(65),
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
