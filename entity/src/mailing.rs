//! `mailings`: platform emails. The step and sequence-template counters are aggregates of these.

use sea_orm::entity::prelude::*;

use crate::enums::{MailingState, MailingType, ReplySentiment};

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mailings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub state: MailingState,
    pub mailing_type: Option<MailingType>,
    #[sea_orm(column_type = "Text", nullable)]
    pub subject: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub body_html: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub body_text: Option<String>,
    pub mailbox_address: Option<String>,
    pub message_id: Option<String>,
    pub error_reason: Option<String>,
    pub track_links: bool,
    pub track_opens: bool,
    pub open_count: i32,
    pub click_count: i32,
    pub reply_sentiment: Option<ReplySentiment>,
    pub scheduled_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub opened_at: Option<DateTimeUtc>,
    pub clicked_at: Option<DateTimeUtc>,
    pub replied_at: Option<DateTimeUtc>,
    pub bounced_at: Option<DateTimeUtc>,
    pub unsubscribed_at: Option<DateTimeUtc>,
    pub marked_as_spam_at: Option<DateTimeUtc>,
    pub state_changed_at: Option<DateTimeUtc>,
    pub sequence_id: Option<i64>,
    pub sequence_step_id: Option<i64>,
    pub sequence_template_id: Option<i64>,
    pub template_id: Option<i64>,
    pub task_id: Option<i64>,
    pub user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
