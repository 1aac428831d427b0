//! `api_tokens`: bearer tokens, stored only as the SHA-256 hash of the secret.

use sea_orm::entity::prelude::*;

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// Lower-case hex SHA-256 of the whole token string; unique.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The first characters of the token, kept so operators can tell tokens apart.
    pub prefix: String,
    pub name: Option<String>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// After this instant the token no longer authenticates (`None`: never expires).
    pub expires_at: Option<DateTimeUtc>,
    /// What the token may be used for, space-separated: `api` (GraphQL and JSON:API),
    /// `ingest` (mailing events).
    pub scopes: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
