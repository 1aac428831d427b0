//! The initial schema: every table of the sequence-step model.
//!
//! ON DELETE choices, deliberately:
//! - a step belongs to its sequence, and a sequence template to its step: CASCADE;
//! - a sequence's owner and a template in use cannot vanish under them: RESTRICT;
//! - history (tasks, calls, mailings) outlives the step, sequence or template it came from, and
//!   optional references (creator, updater, call purpose, task priority) are cleared: SET NULL;
//! - a user's API tokens die with the user: CASCADE.

use sea_orm_migration::prelude::*;

use crate::columns::TableDef;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_initial_schema"
    }
}

/// Table names in creation order; `down` drops them in reverse.
const TABLES: [&str; 11] = [
    "users",
    "api_tokens",
    "call_purposes",
    "task_priorities",
    "sequences",
    "sequence_steps",
    "templates",
    "sequence_templates",
    "tasks",
    "calls",
    "mailings",
];

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

const SHARE_TYPES: [&str; 3] = ["private", "read_only", "shared"];
const REPLY_ACTIONS: [&str; 3] = ["finish", "continue", "pause"];

use ForeignKeyAction::{Cascade, Restrict, SetNull};

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();

        let mut t = TableDef::new(b, "users");
        t.string("email", 255, false)
            .string("first_name", 255, true)
            .string("last_name", 255, true)
            .string("username", 255, true)
            .string("title", 255, true)
            .enumeration("role", &["admin", "member", "viewer"], false)
            .boolean("locked", false)
            .timestamps()
            .unique(&["email"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "api_tokens");
        t.foreign_key("user_id", "users", false, Cascade)
            .string("token_hash", 64, false)
            .string("prefix", 16, false)
            .string("name", 255, true)
            .timestamp("last_used_at", true)
            .timestamp("revoked_at", true)
            .timestamps()
            .unique(&["token_hash"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "call_purposes");
        t.string("name", 255, false)
            .integer("order", true)
            .foreign_key("creator_id", "users", true, SetNull)
            .timestamps()
            .index(&["order"])
            .index(&["name"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "task_priorities");
        t.string("name", 255, false)
            .string("color", 32, true)
            .integer("weight", false)
            .timestamps()
            .index(&["weight"])
            .index(&["name"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "sequences");
        t.string("name", 255, false)
            .string("description", 1024, true)
            .enumeration("sequence_type", &["interval", "date"], false)
            .enumeration("share_type", &SHARE_TYPES, false)
            .enumeration("schedule_interval_type", &["calendar", "schedule"], true)
            .boolean("enabled", false)
            .timestamp("enabled_at", true)
            .boolean("locked", false)
            .timestamp("locked_at", true)
            .timestamp("last_used_at", true)
            .integer("max_activations", true)
            .enumeration("primary_reply_action", &REPLY_ACTIONS, true)
            .non_negative("primary_reply_pause_duration")
            .enumeration("secondary_reply_action", &REPLY_ACTIONS, true)
            .non_negative("secondary_reply_pause_duration")
            .non_negative("throttle_capacity")
            .non_negative("throttle_max_adds_per_day")
            .boolean("throttle_paused", false)
            .timestamp("throttle_paused_at", true)
            .boolean("transactional", false)
            .json("tags")
            .foreign_key("owner_id", "users", false, Restrict)
            .foreign_key("creator_id", "users", true, SetNull)
            .foreign_key("updater_id", "users", true, SetNull)
            .timestamps()
            .index(&["name"])
            .index(&["enabled_at"])
            .index(&["share_type"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "sequence_steps");
        t.foreign_key("sequence_id", "sequences", false, Cascade)
            .enumeration(
                "step_type",
                &["auto_email", "manual_email", "call", "task"],
                false,
            )
            .integer("order", false)
            .non_negative("interval")
            .date("date")
            .text("task_note", Some(65_535))
            .non_negative("task_autoskip_delay")
            .foreign_key("call_purpose_id", "call_purposes", true, SetNull)
            .foreign_key("task_priority_id", "task_priorities", true, SetNull)
            .foreign_key("creator_id", "users", true, SetNull)
            .foreign_key("updater_id", "users", true, SetNull);
        for counter in COUNTERS {
            t.counter(counter).index(&[counter]);
        }
        // The unique (sequence_id, order) index is the database's own guard of the order
        // invariant; the service layer shifts orders through negative values so that no
        // intermediate state of a multi-row UPDATE collides with it.
        t.timestamps()
            .unique(&["sequence_id", "order"])
            .index(&["order"])
            .index(&["step_type"])
            .index(&["interval"])
            .index(&["date"])
            .index(&["task_autoskip_delay"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "templates");
        t.string("name", 225, true)
            .text("subject", Some(65_535))
            .text("body_html", None)
            .text("body_text", None)
            .enumeration("share_type", &SHARE_TYPES, false)
            .boolean("archived", false)
            .timestamp("archived_at", true)
            .boolean("track_links", true)
            .boolean("track_opens", true)
            .json("to_recipients")
            .json("cc_recipients")
            .json("bcc_recipients")
            .json("tags")
            .timestamp("last_used_at", true)
            .foreign_key("owner_id", "users", true, SetNull)
            .foreign_key("creator_id", "users", true, SetNull)
            .foreign_key("updater_id", "users", true, SetNull)
            .timestamps()
            .index(&["name"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "sequence_templates");
        t.foreign_key("sequence_step_id", "sequence_steps", false, Cascade)
            .foreign_key("template_id", "templates", false, Restrict)
            .boolean("is_reply", false)
            .boolean("enabled", true)
            .timestamp("enabled_at", true)
            .foreign_key("creator_id", "users", true, SetNull)
            .foreign_key("updater_id", "users", true, SetNull);
        for counter in COUNTERS {
            t.counter(counter);
        }
        t.timestamps()
            .unique(&["sequence_step_id", "template_id"])
            .index(&["enabled"])
            .index(&["enabled_at"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "tasks");
        t.enumeration(
            "action",
            &["action_item", "call", "email", "in_person"],
            false,
        )
        .enumeration("state", &["pending", "incomplete", "complete"], false)
        .string("task_type", 255, false)
        .timestamp("due_at", true)
        .timestamp("scheduled_at", true)
        .timestamp("autoskip_at", true)
        .boolean("completed", false)
        .timestamp("completed_at", true)
        .text("note", Some(65_535))
        .timestamp("state_changed_at", true)
        .foreign_key("sequence_id", "sequences", true, SetNull)
        .foreign_key("sequence_step_id", "sequence_steps", true, SetNull)
        .foreign_key("task_priority_id", "task_priorities", true, SetNull)
        .foreign_key("owner_id", "users", true, SetNull)
        .foreign_key("creator_id", "users", true, SetNull)
        .foreign_key("completer_id", "users", true, SetNull)
        .timestamps()
        .index(&["state", "due_at"])
        .index(&["due_at"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "calls");
        t.enumeration("direction", &["inbound", "outbound"], false)
            .enumeration("outcome", &["Answered", "Not Answered"], true)
            .string("state", 255, true)
            .enumeration(
                "sequence_action",
                &["Advance", "Finish", "Finish - No Reply", "Finish - Replied"],
                true,
            )
            .enumeration("user_call_type", &["bridge", "voip"], true)
            .string("from", 255, true)
            .string("to", 255, true)
            .text("note", Some(65_535))
            .string("recording_url", 255, true)
            .string("voicemail_recording_url", 1024, true)
            .string("vendor_call_id", 63, true)
            .string("external_vendor", 255, true)
            .boolean("should_record_call", false)
            .timestamp("dialed_at", true)
            .timestamp("answered_at", true)
            .timestamp("completed_at", true)
            .timestamp("returned_at", true)
            .timestamp("state_changed_at", true)
            .foreign_key("call_purpose_id", "call_purposes", true, SetNull)
            .foreign_key("sequence_id", "sequences", true, SetNull)
            .foreign_key("sequence_step_id", "sequence_steps", true, SetNull)
            .foreign_key("task_id", "tasks", true, SetNull)
            .foreign_key("user_id", "users", true, SetNull)
            .timestamps()
            .index(&["dialed_at"]);
        t.create(manager).await?;

        let mut t = TableDef::new(b, "mailings");
        t.enumeration(
            "state",
            &[
                "bounced",
                "delivered",
                "delivering",
                "drafted",
                "failed",
                "opened",
                "placeholder",
                "queued",
                "replied",
                "scheduled",
            ],
            false,
        )
        .enumeration("mailing_type", &["sequence", "single", "campaign"], true)
        .text("subject", Some(65_535))
        .text("body_html", None)
        .text("body_text", None)
        .string("mailbox_address", 255, true)
        .string("message_id", 255, true)
        .string("error_reason", 255, true)
        .boolean("track_links", true)
        .boolean("track_opens", true)
        .counter("open_count")
        .counter("click_count")
        .enumeration(
            "reply_sentiment",
            &["positive", "neutral", "negative"],
            true,
        )
        .timestamp("scheduled_at", true)
        .timestamp("delivered_at", true)
        .timestamp("opened_at", true)
        .timestamp("clicked_at", true)
        .timestamp("replied_at", true)
        .timestamp("bounced_at", true)
        .timestamp("unsubscribed_at", true)
        .timestamp("marked_as_spam_at", true)
        .timestamp("state_changed_at", true)
        .foreign_key("sequence_id", "sequences", true, SetNull)
        .foreign_key("sequence_step_id", "sequence_steps", true, SetNull)
        .foreign_key("sequence_template_id", "sequence_templates", true, SetNull)
        .foreign_key("template_id", "templates", true, SetNull)
        .foreign_key("task_id", "tasks", true, SetNull)
        .foreign_key("user_id", "users", true, SetNull)
        .timestamps()
        .index(&["state"]);
        t.create(manager).await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
