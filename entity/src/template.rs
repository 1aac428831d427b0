//! `templates`: reusable email content, attached to steps through `sequence_templates`.

use sea_orm::entity::prelude::*;

use crate::enums::ShareType;

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub subject: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub body_html: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub body_text: Option<String>,
    pub share_type: ShareType,
    pub archived: bool,
    pub archived_at: Option<DateTimeUtc>,
    pub track_links: bool,
    pub track_opens: bool,
    /// JSON arrays of e-mail addresses.
    pub to_recipients: Json,
    pub cc_recipients: Json,
    pub bcc_recipients: Json,
    /// A JSON array of strings.
    pub tags: Json,
    pub last_used_at: Option<DateTimeUtc>,
    pub owner_id: Option<i64>,
    pub creator_id: Option<i64>,
    pub updater_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
