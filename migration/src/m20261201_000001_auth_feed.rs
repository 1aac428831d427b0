//! PostgreSQL only: any change that can end an authentication (a token revoked, expired,
//! re-scoped or deleted; a user locked, re-roled or deleted), whoever makes it, by stepgraph
//! or by hand in SQL, appends an `api_token` row to `change_feed`. Every instance's feed reader
//! hears of it through the feed's NOTIFY and empties its authentication cache, which is what
//! lets PostgreSQL instances cache authentications by default (`auth::tokens`).
//!
//! Other backends have no trigger here: there the cache stays off unless an operator turns it
//! on (`--token-cache-secs`), as their feed is polled, not pushed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE FUNCTION stepgraph_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       INSERT INTO change_feed (entity, kind, row_id, created_at) \
         VALUES ('api_token', 'updated', OLD.id, now()); \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER api_tokens_auth_changed AFTER UPDATE ON api_tokens FOR EACH ROW \
     WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at \
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at \
        OR OLD.scopes IS DISTINCT FROM NEW.scopes \
        OR OLD.token_hash IS DISTINCT FROM NEW.token_hash \
        OR OLD.user_id IS DISTINCT FROM NEW.user_id) \
     EXECUTE FUNCTION stepgraph_auth_changed()",
    "CREATE TRIGGER api_tokens_auth_deleted AFTER DELETE ON api_tokens FOR EACH ROW \
     EXECUTE FUNCTION stepgraph_auth_changed()",
    "CREATE TRIGGER users_auth_changed AFTER UPDATE ON users FOR EACH ROW \
     WHEN (OLD.locked IS DISTINCT FROM NEW.locked OR OLD.role IS DISTINCT FROM NEW.role) \
     EXECUTE FUNCTION stepgraph_auth_changed()",
    "CREATE TRIGGER users_auth_deleted AFTER DELETE ON users FOR EACH ROW \
     EXECUTE FUNCTION stepgraph_auth_changed()",
];

const DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS users_auth_deleted ON users",
    "DROP TRIGGER IF EXISTS users_auth_changed ON users",
    "DROP TRIGGER IF EXISTS api_tokens_auth_deleted ON api_tokens",
    "DROP TRIGGER IF EXISTS api_tokens_auth_changed ON api_tokens",
    "DROP FUNCTION IF EXISTS stepgraph_auth_changed()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::raw_on(manager, DbBackend::Postgres, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::raw_on(manager, DbBackend::Postgres, DOWN).await
    }
}
