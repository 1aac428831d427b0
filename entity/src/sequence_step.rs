//! `sequence_steps`: one step of a sequence, with its eleven mailing counters stored as columns.

use sea_orm::entity::prelude::*;

use crate::enums::StepType;

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sequence_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sequence_id: i64,
    pub step_type: StepType,
    /// 1-based, contiguous and unique within the sequence.
    pub order: i32,
    /// Seconds; set exactly when the sequence is interval-based.
    pub interval: Option<i32>,
    /// Set exactly when the sequence is date-based.
    pub date: Option<Date>,
    #[sea_orm(column_type = "Text", nullable)]
    pub task_note: Option<String>,
    pub task_autoskip_delay: Option<i32>,
    pub call_purpose_id: Option<i64>,
    pub task_priority_id: Option<i64>,
    pub creator_id: Option<i64>,
    pub updater_id: Option<i64>,
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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::sequence::Entity",
        from = "Column::SequenceId",
        to = "super::sequence::Column::Id"
    )]
    Sequence,
}

impl Related<super::sequence::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sequence.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
