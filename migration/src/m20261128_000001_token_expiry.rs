//! Tokens may expire: `api_tokens.expires_at` (NULL: never).

use sea_orm_migration::prelude::*;

use crate::columns::timestamp_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .alter_table(
                Table::alter()
                    .table("api_tokens")
                    .add_column(timestamp_column(backend, "expires_at").null().to_owned())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("api_tokens")
                    .drop_column("expires_at")
                    .to_owned(),
            )
            .await
    }
}
