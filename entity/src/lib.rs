//! SeaORM entities of stepgraph: the storage model and nothing else.
//!
//! These types mirror the tables created by the `migration` crate. They derive no GraphQL,
//! JSON:API or serde traits on purpose: a derive on a storage type would silently turn a column
//! into part of a public contract. The server crate maps them into its own wire types.

pub mod api_token;
pub mod call;
pub mod call_purpose;
pub mod change_feed;
pub mod enums;
pub mod mailing;
pub mod mailing_event;
pub mod sequence;
pub mod sequence_step;
pub mod sequence_template;
pub mod task;
pub mod task_priority;
pub mod template;
pub mod user;
