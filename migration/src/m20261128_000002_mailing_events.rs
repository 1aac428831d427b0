//! Live mailing activity: events as they arrive, counters on sequences, and token scopes.
//!
//! - `mailing_events`: every applied event, unique by the sender's idempotency key, so a
//!   replayed event is recognised and changes nothing. Rejected events are not stored.
//! - `sequences` gets the eleven mailing counters that steps and sequence templates already
//!   carry, filled from the existing mailings here so they equal their aggregate from the start.
//! - `api_tokens.scopes`: what a token may be used for, space-separated (`api`, `ingest`);
//!   existing tokens keep what they could do, `api`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::columns::TableDef;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The same eleven counters as on steps, in the same order.
const COUNTERS: [&str; 11] = [
    "bounce_count",
    "click_count",
    "deliver_count",
    "failure_count",
    "negative_reply_count",
    "neutral_reply_count",
    "open_count",
    "opt_out_count",
    "positive_reply_count",
    "reply_count",
    "schedule_count",
];

/// The counting rules as they stood when this migration was written (a migration never
/// changes after it lands, so it does not borrow the service's `RULES`).
const RULES: [&str; 11] = [
    "m.bounced_at IS NOT NULL",
    "m.clicked_at IS NOT NULL",
    "m.delivered_at IS NOT NULL",
    "m.state = 'failed'",
    "m.replied_at IS NOT NULL AND m.reply_sentiment = 'negative'",
    "m.replied_at IS NOT NULL AND m.reply_sentiment = 'neutral'",
    "m.opened_at IS NOT NULL",
    "m.unsubscribed_at IS NOT NULL",
    "m.replied_at IS NOT NULL AND m.reply_sentiment = 'positive'",
    "m.replied_at IS NOT NULL",
    "m.scheduled_at IS NOT NULL",
];

const EVENT_TYPES: [&str; 8] = [
    "scheduled",
    "delivered",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "failed",
    "opted_out",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .alter_table(
                Table::alter()
                    .table("api_tokens")
                    .add_column(
                        ColumnDef::new("scopes")
                            .string_len(100)
                            .not_null()
                            .default("api"),
                    )
                    .to_owned(),
            )
            .await?;

        // One column per statement: SQLite alters one thing at a time.
        for col in COUNTERS {
            manager
                .alter_table(
                    Table::alter()
                        .table("sequences")
                        .add_column(
                            ColumnDef::new(col)
                                .integer()
                                .not_null()
                                .default(0)
                                .check(Expr::col(col).gte(0)),
                        )
                        .to_owned(),
                )
                .await?;
        }
        let sets: Vec<String> = COUNTERS
            .iter()
            .zip(RULES)
            .map(|(col, cond)| {
                format!(
                    "{col} = (SELECT COUNT(*) FROM mailings m WHERE m.sequence_id = sequences.id AND {cond})"
                )
            })
            .collect();
        manager
            .get_connection()
            .execute_raw(Statement::from_string(
                b,
                format!("UPDATE sequences SET {}", sets.join(", ")),
            ))
            .await?;

        let mut t = TableDef::new(b, "mailing_events");
        t.string("idempotency_key", 200, false)
            .unique(&["idempotency_key"])
            .foreign_key("mailing_id", "mailings", false, ForeignKeyAction::Cascade)
            .enumeration("event_type", &EVENT_TYPES, false)
            .enumeration("sentiment", &["positive", "neutral", "negative"], true)
            .timestamp("occurred_at", false)
            .timestamp("created_at", false);
        t.create(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("mailing_events").to_owned())
            .await?;
        for col in COUNTERS {
            manager
                .alter_table(
                    Table::alter()
                        .table("sequences")
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("api_tokens")
                    .drop_column("scopes")
                    .to_owned(),
            )
            .await
    }
}
