//! Stored counters equal their aggregate over mailings, and recomputation restores them.
//! (Counters moved by mailing events are checked in `events`.)

use sea_orm::{ConnectionTrait, Statement};
use stepgraph::seed::{demo, sized};
use stepgraph::service::counters;

use crate::support::TestDb;

/// The counters' aggregates (a counter is the number of its mailings in the states that count
/// for it), written out independently of the service's rules: one GROUP BY over mailings,
/// compared column by column with what is stored.
const COUNTER_AGGREGATES: [(&str, &str); 11] = [
    ("bounce_count", "bounced_at IS NOT NULL"),
    ("click_count", "clicked_at IS NOT NULL"),
    ("deliver_count", "delivered_at IS NOT NULL"),
    ("failure_count", "state = 'failed'"),
    (
        "negative_reply_count",
        "replied_at IS NOT NULL AND reply_sentiment = 'negative'",
    ),
    (
        "neutral_reply_count",
        "replied_at IS NOT NULL AND reply_sentiment = 'neutral'",
    ),
    ("open_count", "opened_at IS NOT NULL"),
    ("opt_out_count", "unsubscribed_at IS NOT NULL"),
    (
        "positive_reply_count",
        "replied_at IS NOT NULL AND reply_sentiment = 'positive'",
    ),
    ("reply_count", "replied_at IS NOT NULL"),
    ("schedule_count", "scheduled_at IS NOT NULL"),
];

/// Rows (of `table`) whose stored counters differ from the aggregate; also returns how many
/// rows have at least one non-zero counter, so a vacuous pass is caught.
pub async fn mismatches(t: &TestDb, table: &str, link: &str) -> (i64, i64) {
    let sums: Vec<String> = COUNTER_AGGREGATES
        .iter()
        .map(|(col, cond)| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {col}"))
        .collect();
    let differs: Vec<String> = COUNTER_AGGREGATES
        .iter()
        .map(|(col, _)| format!("x.{col} <> COALESCE(a.{col}, 0)"))
        .collect();
    let nonzero: Vec<String> = COUNTER_AGGREGATES
        .iter()
        .map(|(col, _)| format!("x.{col} > 0"))
        .collect();
    let sql = format!(
        "SELECT \
           SUM(CASE WHEN {differs} THEN 1 ELSE 0 END), \
           SUM(CASE WHEN {nonzero} THEN 1 ELSE 0 END) \
         FROM {table} x LEFT JOIN \
           (SELECT {link} AS owner_id, {sums} FROM mailings WHERE {link} IS NOT NULL GROUP BY {link}) a \
         ON a.owner_id = x.id",
        differs = differs.join(" OR "),
        nonzero = nonzero.join(" OR "),
        sums = sums.join(", "),
    );
    let row =
        t.db.query_one_raw(Statement::from_string(t.backend(), sql))
            .await
            .unwrap()
            .unwrap();
    // SUM over no rows is NULL, and MySQL returns DECIMAL for SUM: read through a string.
    let get = |i: usize| -> i64 {
        row.try_get_by_index::<Option<i64>>(i)
            .ok()
            .flatten()
            .or_else(|| {
                row.try_get_by_index::<Option<sea_orm::prelude::Decimal>>(i)
                    .ok()
                    .flatten()
                    .map(|d| d.to_string().parse().unwrap())
            })
            .unwrap_or(0)
    };
    (get(0), get(1))
}

#[tokio::test]
async fn demo_counters_match_the_mailings() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let (bad, nonzero) = mismatches(&t, "sequence_steps", "sequence_step_id").await;
    assert_eq!(bad, 0);
    assert!(nonzero >= 5, "the demo has counted steps ({nonzero})");
    let (bad, nonzero) = mismatches(&t, "sequence_templates", "sequence_template_id").await;
    assert_eq!(bad, 0);
    assert!(nonzero >= 5);
    let (bad, nonzero) = mismatches(&t, "sequences", "sequence_id").await;
    assert_eq!(bad, 0);
    assert!(nonzero >= 2, "the demo has counted sequences ({nonzero})");
    t.finish().await;
}

#[tokio::test]
async fn sized_counters_match_the_mailings() {
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 30,
        steps_per_sequence: 6,
        mailings_per_step: 8,
        tasks_per_step: 1,
        calls_per_step: 1,
        seed: 7,
    })
    .await;
    let (bad, nonzero) = mismatches(&t, "sequence_steps", "sequence_step_id").await;
    assert_eq!((bad, nonzero > 100), (0, true));
    let (bad, _) = mismatches(&t, "sequence_templates", "sequence_template_id").await;
    assert_eq!(bad, 0);
    let (bad, nonzero) = mismatches(&t, "sequences", "sequence_id").await;
    assert_eq!((bad, nonzero > 20), (0, true));
    t.finish().await;
}

#[tokio::test]
async fn recompute_restores_counters_in_one_statement_per_table() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    // Corrupt the stored counters and change the mailings under them.
    t.exec("UPDATE sequence_steps SET open_count = open_count + 5, reply_count = 0")
        .await
        .unwrap();
    t.exec("UPDATE sequence_templates SET bounce_count = 9")
        .await
        .unwrap();
    t.exec("UPDATE sequences SET click_count = 4")
        .await
        .unwrap();
    t.exec("UPDATE mailings SET bounced_at = scheduled_at WHERE state = 'failed'")
        .await
        .unwrap();
    let (bad, _) = mismatches(&t, "sequence_steps", "sequence_step_id").await;
    assert!(bad > 0);

    // Count the statements recompute runs.
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut db = t.db.clone();
    let seen = count.clone();
    db.set_metric_callback(move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    counters::recompute(&db).await.unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);

    assert_eq!(
        mismatches(&t, "sequence_steps", "sequence_step_id").await.0,
        0
    );
    assert_eq!(
        mismatches(&t, "sequence_templates", "sequence_template_id")
            .await
            .0,
        0
    );
    assert_eq!(mismatches(&t, "sequences", "sequence_id").await.0, 0);
    t.finish().await;
}
