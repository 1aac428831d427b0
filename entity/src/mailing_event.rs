//! `mailing_events`: the mailing events that were applied, unique by submitter and idempotency key.

use sea_orm::entity::prelude::*;

use crate::enums::{MailingEventType, ReplySentiment};

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mailing_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The sender's key for this event; a second event with the same key from the same
    /// submitter is a replay. Keys are unique per submitter (`submitted_by`), not globally.
    pub idempotency_key: String,
    pub mailing_id: i64,
    pub event_type: MailingEventType,
    pub sentiment: Option<ReplySentiment>,
    pub occurred_at: DateTimeUtc,
    /// When this server applied it.
    pub created_at: DateTimeUtc,
    /// The user whose token submitted it: the scope of its key (0: stored before keys were
    /// scoped).
    pub submitted_by: i64,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
