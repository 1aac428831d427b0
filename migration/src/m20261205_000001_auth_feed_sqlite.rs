//! SQLite only: the triggers of `m20261201_000001_auth_feed`, in SQLite's dialect. Any change
//! that can end an authentication (a token revoked, expired, re-scoped, re-keyed, moved or
//! deleted; a user locked, re-roled or deleted), whoever makes it (the CLI in another process,
//! SQL by hand), appends an `api_token` row to `change_feed`. The server's feed reader reads
//! the feed at least once a second and empties its authentication cache when it reads one,
//! which is what lets a SQLite server remember authentications (`auth::tokens::AuthCache`).
//!
//! `created_at` is written as the application writes it (`2026-12-05T03:22:57.650000+00:00`),
//! so the feed's pruning, which compares it as text, orders these rows with the others.
//!
//! MySQL has no twin: with binary logging on (MySQL 8's default), `CREATE TRIGGER` needs
//! `SUPER` or `log_bin_trust_function_creators`, so the migration would fail for a deployment
//! whose database user has neither, and a cache that trusted missing triggers would miss
//! revocations. MySQL looks the token up on every request.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One feed row for the token or user `OLD` (the reader empties the whole cache either way).
macro_rules! feed_row {
    () => {
        "BEGIN INSERT INTO change_feed (entity, kind, row_id, created_at) \
         VALUES ('api_token', 'updated', OLD.id, \
                 strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000+00:00'); END"
    };
}

const UP: &[&str] = &[
    concat!(
        "CREATE TRIGGER api_tokens_auth_changed AFTER UPDATE ON api_tokens FOR EACH ROW \
         WHEN OLD.revoked_at IS NOT NEW.revoked_at \
           OR OLD.expires_at IS NOT NEW.expires_at \
           OR OLD.scopes IS NOT NEW.scopes \
           OR OLD.token_hash IS NOT NEW.token_hash \
           OR OLD.user_id IS NOT NEW.user_id ",
        feed_row!()
    ),
    concat!(
        "CREATE TRIGGER api_tokens_auth_deleted AFTER DELETE ON api_tokens FOR EACH ROW ",
        feed_row!()
    ),
    concat!(
        "CREATE TRIGGER users_auth_changed AFTER UPDATE ON users FOR EACH ROW \
         WHEN OLD.locked IS NOT NEW.locked OR OLD.role IS NOT NEW.role ",
        feed_row!()
    ),
    concat!(
        "CREATE TRIGGER users_auth_deleted AFTER DELETE ON users FOR EACH ROW ",
        feed_row!()
    ),
];

const DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS users_auth_deleted",
    "DROP TRIGGER IF EXISTS users_auth_changed",
    "DROP TRIGGER IF EXISTS api_tokens_auth_deleted",
    "DROP TRIGGER IF EXISTS api_tokens_auth_changed",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::raw_on(manager, DbBackend::Sqlite, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::raw_on(manager, DbBackend::Sqlite, DOWN).await
    }
}
