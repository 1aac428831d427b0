//! The eleven mailing counters of steps and sequence templates.
//!
//! The counters are stored as columns so lists can sort and filter on them cheaply, and they
//! must always equal their aggregate over mailings. [`RULES`] is the single definition of what
//! each counter counts; [`recompute`] applies it with one set-based `UPDATE` per table,
//! [`CounterRule::counts`] applies it to a mailing in memory (the sized seed uses it to write
//! correct counters without a second pass), and [`delta`] with [`add_many`] moves stored
//! counters by what a mailing's change makes them move (mailing events, new mailings).

use entity::enums::{MailingState, ReplySentiment};
use entity::mailing;
use sea_orm::{ConnectionTrait, DbErr, Statement};

/// What one counter counts, in SQL (over `mailings` aliased `m`) and in Rust.
pub struct CounterRule {
    /// The counter's column on `sequence_steps` and `sequence_templates`.
    pub column: &'static str,
    /// A condition on the mailing row `m`.
    pub sql: &'static str,
    /// The same condition on a mailing in memory.
    pub counts: fn(&mailing::Model) -> bool,
}

fn replied_with(m: &mailing::Model, sentiment: ReplySentiment) -> bool {
    m.replied_at.is_some() && m.reply_sentiment == Some(sentiment)
}

/// The rules of `reference/outreach-model.md` section 4: a mailing counts once it has reached
/// the state, recorded by its timestamp; failures by state; reply sentiments split replies.
pub const RULES: [CounterRule; 11] = [
    CounterRule {
        column: "bounce_count",
        sql: "m.bounced_at IS NOT NULL",
        counts: |m| m.bounced_at.is_some(),
    },
    CounterRule {
        column: "click_count",
        sql: "m.clicked_at IS NOT NULL",
        counts: |m| m.clicked_at.is_some(),
    },
    CounterRule {
        column: "deliver_count",
        sql: "m.delivered_at IS NOT NULL",
        counts: |m| m.delivered_at.is_some(),
    },
    CounterRule {
        column: "failure_count",
        sql: "m.state = 'failed'",
        counts: |m| m.state == MailingState::Failed,
    },
    CounterRule {
        column: "negative_reply_count",
        sql: "m.replied_at IS NOT NULL AND m.reply_sentiment = 'negative'",
        counts: |m| replied_with(m, ReplySentiment::Negative),
    },
    CounterRule {
        column: "neutral_reply_count",
        sql: "m.replied_at IS NOT NULL AND m.reply_sentiment = 'neutral'",
        counts: |m| replied_with(m, ReplySentiment::Neutral),
    },
    CounterRule {
        column: "open_count",
        sql: "m.opened_at IS NOT NULL",
        counts: |m| m.opened_at.is_some(),
    },
    CounterRule {
        column: "opt_out_count",
        sql: "m.unsubscribed_at IS NOT NULL",
        counts: |m| m.unsubscribed_at.is_some(),
    },
    CounterRule {
        column: "positive_reply_count",
        sql: "m.replied_at IS NOT NULL AND m.reply_sentiment = 'positive'",
        counts: |m| replied_with(m, ReplySentiment::Positive),
    },
    CounterRule {
        column: "reply_count",
        sql: "m.replied_at IS NOT NULL",
        counts: |m| m.replied_at.is_some(),
    },
    CounterRule {
        column: "schedule_count",
        sql: "m.scheduled_at IS NOT NULL",
        counts: |m| m.scheduled_at.is_some(),
    },
];

/// The eleven counter values of a set of mailings, in [`RULES`] order.
pub fn tally<'a>(mailings: impl IntoIterator<Item = &'a mailing::Model>) -> [i32; 11] {
    let mut out = [0; 11];
    for m in mailings {
        for (slot, rule) in out.iter_mut().zip(RULES.iter()) {
            *slot += i32::from((rule.counts)(m));
        }
    }
    out
}

/// The tables that carry counters, and the mailing column that links a mailing to them.
pub const COUNTED: [(&str, &str); 3] = [
    ("sequences", "sequence_id"),
    ("sequence_steps", "sequence_step_id"),
    ("sequence_templates", "sequence_template_id"),
];

/// Recomputes every stored counter from the mailings: one `UPDATE` per table, whatever the
/// number of rows. Plain identifiers only, so the same text runs on every backend.
pub async fn recompute(db: &(impl ConnectionTrait + 'static)) -> Result<(), DbErr> {
    for (table, link) in COUNTED {
        let sets: Vec<String> = RULES
            .iter()
            .map(|rule| {
                format!(
                    "{col} = (SELECT COUNT(*) FROM mailings m WHERE m.{link} = {table}.id AND {cond})",
                    col = rule.column,
                    cond = rule.sql,
                )
            })
            .collect();
        let sql = format!("UPDATE {table} SET {}", sets.join(", "));
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
    }
    Ok(())
}

/// How the eleven counters of the rows a mailing links to change when the mailing goes from
/// `before` to `after`: +1, 0 or -1 per counter, in [`RULES`] order.
pub fn delta(before: &mailing::Model, after: &mailing::Model) -> [i32; 11] {
    let mut out = [0; 11];
    for (slot, rule) in out.iter_mut().zip(RULES.iter()) {
        *slot = i32::from((rule.counts)(after)) - i32::from((rule.counts)(before));
    }
    out
}

/// Adds each row's delta to the counters of `table` (one of [`COUNTED`]'s tables) in one
/// `UPDATE`: each counter that moves in some row is `c = c + CASE WHEN id = .. THEN d .. ELSE 0
/// END` over those rows. Relative, so concurrent writers of other mailings of the same rows
/// compose; nothing runs when nothing moves.
pub async fn add_many(
    db: &(impl ConnectionTrait + 'static),
    table: &'static str,
    deltas: &std::collections::BTreeMap<i64, [i32; 11]>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Query};
    debug_assert!(COUNTED.iter().any(|(t, _)| *t == table));
    let rows: Vec<(i64, &[i32; 11])> = deltas
        .iter()
        .filter(|(_, d)| d.iter().any(|x| *x != 0))
        .map(|(id, d)| (*id, d))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut update = Query::update();
    update.table(table);
    for (i, rule) in RULES.iter().enumerate() {
        let mut case = CaseStatement::new();
        let mut moves = false;
        for (id, d) in &rows {
            if d[i] != 0 {
                case = case.case(Expr::col((table, "id")).eq(*id), Expr::val(d[i]));
                moves = true;
            }
        }
        if moves {
            let case: Expr = case.finally(Expr::val(0)).into();
            update.value(rule.column, Expr::col((table, rule.column)).add(case));
        }
    }
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    update.and_where(Expr::col((table, "id")).is_in(ids));
    db.execute(&update).await?;
    Ok(())
}
