//! The change feed: an outbox of what changed, written in the same transaction as the change.
//!
//! Each row names one changed row by id (`entity`, `row_id`, and the step's `sequence_id`, so a
//! deletion can still be checked against the sequence's visibility), never its data: servers
//! re-read what they deliver. Rows are read in id order by every server instance and pruned
//! after a retention period. On PostgreSQL a statement-level trigger wakes listening servers
//! with `NOTIFY stepgraph_changes` (delivered at commit, once per transaction); other backends
//! are polled.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::columns::TableDef;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let mut t = TableDef::new(b, "change_feed");
        t.enumeration("entity", &["sequence_step", "sequence", "api_token"], false)
            .enumeration("kind", &["created", "updated", "deleted"], false)
            .add_plain_big_integer("row_id", false)
            .add_plain_big_integer("sequence_id", true)
            .timestamp("created_at", false)
            .index(&["created_at"]);
        t.create(manager).await?;
        if b == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(
                "CREATE FUNCTION stepgraph_notify_changes() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN PERFORM pg_notify('stepgraph_changes', ''); RETURN NULL; END $$",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER change_feed_notify AFTER INSERT ON change_feed \
                 FOR EACH STATEMENT EXECUTE FUNCTION stepgraph_notify_changes()",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("change_feed").to_owned())
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS stepgraph_notify_changes()")
                .await?;
        }
        Ok(())
    }
}
