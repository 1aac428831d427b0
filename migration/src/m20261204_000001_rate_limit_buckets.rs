//! `rate_limit_buckets`: the per-token buckets of the shared rate limit (`serve
//! --shared-rate-limit`), one row per token that sent a request in the last minute, keyed by
//! the token's SHA-256. PostgreSQL only, the one backend that limit runs on: `UNLOGGED`, since
//! the buckets are worth no WAL (a crash forgets them, which only forgives some requests) and
//! must not be copied to replicas.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNLOGGED TABLE rate_limit_buckets (\
                 key bytea PRIMARY KEY, \
                 tat_us bigint NOT NULL, \
                 allowed boolean NOT NULL)",
            )
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .drop_table(Table::drop().table("rate_limit_buckets").to_owned())
            .await
    }
}
