//! `sequence_templates`: which templates a step sends (several per step for A/B tests), with the
//! same eleven counters as a step, over the mailings sent with this variant.

use sea_orm::entity::prelude::*;

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sequence_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sequence_step_id: i64,
    pub template_id: i64,
    pub is_reply: bool,
    pub enabled: bool,
    pub enabled_at: Option<DateTimeUtc>,
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
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
