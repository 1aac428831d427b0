//! Idempotency keys of mailing events are scoped by who submitted them: `mailing_events`
//! gets `submitted_by` (the submitting user's id) and its unique index moves from
//! `(idempotency_key)` to `(submitted_by, idempotency_key)`, so one user's keys can neither
//! be probed nor blocked by another's.
//!
//! Events stored before this migration get `submitted_by = 0`, a scope no user has: a replay
//! of such an event after the upgrade applies again only if its mailing's state would change
//! (events are order-independent and state timestamps keep their earliest value, so most
//! replays change nothing anyway).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_INDEX: &str = "uq_mailing_events_idempotency_key";
const NEW_INDEX: &str = "uq_mailing_events_submitted_by_idempotency_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("mailing_events")
                    .add_column(
                        ColumnDef::new("submitted_by")
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(OLD_INDEX)
                    .table("mailing_events")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(NEW_INDEX)
                    .table("mailing_events")
                    .col("submitted_by")
                    .col("idempotency_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Keys of different users may now collide: keep the first of each.
        let db = manager.get_connection();
        db.execute_unprepared(
            "DELETE FROM mailing_events WHERE id NOT IN \
             (SELECT first FROM (SELECT MIN(id) AS first FROM mailing_events \
              GROUP BY idempotency_key) AS firsts)",
        )
        .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(NEW_INDEX)
                    .table("mailing_events")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD_INDEX)
                    .table("mailing_events")
                    .col("idempotency_key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("mailing_events")
                    .drop_column("submitted_by")
                    .to_owned(),
            )
            .await
    }
}
