//! `sequences`: an ordered series of steps owned by a user and shared by `share_type`.

use sea_orm::entity::prelude::*;

use crate::enums::{ReplyAction, ScheduleIntervalType, SequenceType, ShareType};

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sequences")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub sequence_type: SequenceType,
    pub share_type: ShareType,
    pub schedule_interval_type: Option<ScheduleIntervalType>,
    pub enabled: bool,
    pub enabled_at: Option<DateTimeUtc>,
    /// Locked means archived: nobody may change its steps.
    pub locked: bool,
    pub locked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub max_activations: Option<i32>,
    pub primary_reply_action: Option<ReplyAction>,
    pub primary_reply_pause_duration: Option<i32>,
    pub secondary_reply_action: Option<ReplyAction>,
    pub secondary_reply_pause_duration: Option<i32>,
    pub throttle_capacity: Option<i32>,
    pub throttle_max_adds_per_day: Option<i32>,
    pub throttle_paused: bool,
    pub throttle_paused_at: Option<DateTimeUtc>,
    pub transactional: bool,
    /// A JSON array of strings.
    pub tags: Json,
    // The eleven mailing counters, aggregates of this sequence's mailings (see
    // `service::counters`).
    pub bounce_count: i32,
    pub click_count: i32,
    pub deliver_count: i32,
    pub failure_count: i32,
    pub negative_reply_count: i32,
    pub neutral_reply_count: i32,
    pub open_count: i32,
    pub opt_out_count: i32,
    pub positive_reply_count: i32,
    pub reply_count: i32,
    pub schedule_count: i32,
    pub owner_id: i64,
    pub creator_id: Option<i64>,
    pub updater_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sequence_step::Entity")]
    SequenceStep,
}

impl Related<super::sequence_step::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SequenceStep.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
