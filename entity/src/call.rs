//! `calls`: logged phone calls, optionally made for a sequence step.

use sea_orm::entity::prelude::*;

use crate::enums::{CallDirection, CallOutcome};

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub direction: CallDirection,
    pub outcome: Option<CallOutcome>,
    pub state: Option<String>,
    pub sequence_action: Option<String>,
    pub user_call_type: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub recording_url: Option<String>,
    pub voicemail_recording_url: Option<String>,
    pub vendor_call_id: Option<String>,
    pub external_vendor: Option<String>,
    pub should_record_call: bool,
    pub dialed_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub returned_at: Option<DateTimeUtc>,
    pub state_changed_at: Option<DateTimeUtc>,
    pub call_purpose_id: Option<i64>,
    pub sequence_id: Option<i64>,
    pub sequence_step_id: Option<i64>,
    pub task_id: Option<i64>,
    pub user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
