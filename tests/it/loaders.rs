//! The SQL statement count of a query depends on its shape, not on how many rows it returns.

use serde_json::json;
use stepgraph::seed::sized;

use crate::server::TestServer;
use crate::support::TestDb;

/// A list of steps selecting every relationship, two levels deep (shared with the benchmark).
pub const TWO_LEVELS: &str = include_str!("../../bench/two_levels.graphql");

/// Nested connections with `last`, `orderBy` and `filter`.
const NESTED_ARGS: &str = r#"query($n: Int) { sequenceSteps(first: $n) { nodes { id
    mailings(last: 2, orderBy: [{field: DELIVERED_AT, direction: DESC}], filter: {state: [DELIVERED, OPENED, REPLIED, BOUNCED]}) {
        totalCount pageInfo { hasPreviousPage } nodes { id state } }
    tasks(last: 1, orderBy: [{field: DUE_AT}], filter: {completed: false}) { nodes { id owner { id } } }
} } }"#;

/// 100 sized steps in 10 sequences with every optional relationship filled, so that a page of
/// any size exercises every loader and statement counts compare a query's shape alone (a
/// relationship with no keys costs no statement).
pub async fn every_relationship_filled() -> TestDb {
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 10,
        steps_per_sequence: 10,
        mailings_per_step: 3,
        tasks_per_step: 2,
        calls_per_step: 2,
        seed: 5,
    })
    .await;
    for sql in [
        "UPDATE sequence_steps SET call_purpose_id = (SELECT MIN(id) FROM call_purposes), task_priority_id = (SELECT MIN(id) FROM task_priorities)",
        "INSERT INTO sequence_templates (sequence_step_id, template_id, is_reply, enabled, creator_id, bounce_count, click_count, deliver_count, failure_count, negative_reply_count, neutral_reply_count, open_count, opt_out_count, positive_reply_count, reply_count, schedule_count, created_at, updated_at) SELECT s.id, (SELECT MIN(id) FROM templates), false, true, s.creator_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s.created_at, s.updated_at FROM sequence_steps s WHERE NOT EXISTS (SELECT 1 FROM sequence_templates v WHERE v.sequence_step_id = s.id)",
        "UPDATE mailings SET sequence_template_id = (SELECT MIN(v.id) FROM sequence_templates v WHERE v.sequence_step_id = mailings.sequence_step_id), task_id = (SELECT MIN(k.id) FROM tasks k WHERE k.sequence_step_id = mailings.sequence_step_id)",
        "UPDATE mailings SET template_id = (SELECT v.template_id FROM sequence_templates v WHERE v.id = mailings.sequence_template_id)",
        "UPDATE calls SET task_id = (SELECT MIN(k.id) FROM tasks k WHERE k.sequence_step_id = calls.sequence_step_id)",
    ] {
        t.exec(sql).await.unwrap();
    }
    stepgraph::service::counters::recompute(&t.db)
        .await
        .unwrap();
    t
}

#[tokio::test]
async fn statement_count_does_not_depend_on_page_size() {
    let t = every_relationship_filled().await;
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;

    let mut counts = Vec::new();
    for n in [5, 50] {
        let res = s.gql(&token, TWO_LEVELS, json!({ "n": n })).await;
        let nodes = res.data()["sequenceSteps"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        // The data is really there: every step has its sequence, mailings and tasks.
        assert!(
            nodes
                .iter()
                .all(|s| s["sequence"]["owner"]["email"].is_string())
        );
        assert!(nodes.iter().all(|s| s["mailings"]["totalCount"] == 3
            && s["tasks"]["nodes"].as_array().unwrap().len() == 2));
        counts.push(res.statements.expect("x-sql-statements header"));
    }
    eprintln!(
        "SQL statements for the two-level query: 5 steps -> {}, 50 steps -> {}",
        counts[0], counts[1]
    );
    assert_eq!(
        counts[0], counts[1],
        "statements must not grow with the page size"
    );
    // Exactly one statement per relationship per level (to-one relationships from one parent
    // type to one target table share it; a root list reads its to-one targets in its own
    // statement), plus one per selected totalCount: the list with the steps' sequence,
    // creator, updater, call purpose and task priority joined, and its count (2); the
    // sequence's users (owner, creator, updater: one), step count and steps page + count (4);
    // the step's calls page + count (2); sequence templates page + count, their template, its
    // owner, creator, step and mailings page (7); tasks, calls and mailings, each a page +
    // count and four relationships (3 x 6).
    assert_eq!(
        counts[0],
        2 + 4 + 2 + 7 + 18,
        "one statement per relationship per level"
    );

    // Nested connections with the full argument set (`last`, `orderBy`, `filter`) batch the
    // same way: one statement per relationship per level, whatever the arguments.
    let mut counts = Vec::new();
    for n in [5, 50] {
        let res = s.gql(&token, NESTED_ARGS, json!({ "n": n })).await;
        let nodes = res.data()["sequenceSteps"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        assert!(nodes.iter().all(|s| {
            let m = s["mailings"]["nodes"].as_array().unwrap();
            m.len() <= 2 && s["mailings"]["totalCount"].as_i64().unwrap() >= m.len() as i64
        }));
        assert!(
            nodes
                .iter()
                .any(|s| s["mailings"]["nodes"].as_array().unwrap().len() == 2),
            "the filter keeps some mailings"
        );
        counts.push(res.statements.expect("x-sql-statements header"));
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    // The list; mailings page and count; tasks page and their owners.
    assert_eq!(counts[0], 1 + 2 + 2, "{counts:?}");
    s.finish().await;
}

/// On PostgreSQL every connection plans a prepared statement once (`plan_cache_mode =
/// force_generic_plan`, `db::PlanCache`): after six executions of the by-id loader's statement
/// shape, its plan still names the parameter instead of the folded value, so it was not
/// planned again for the values.
#[tokio::test]
async fn postgres_keeps_one_plan_per_statement() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let t = TestDb::new().await;
    if t.backend() != DbBackend::Postgres {
        t.finish().await;
        return;
    }
    // One connection for the whole check: a transaction holds it.
    let txn = t.db.begin().await.unwrap();
    let text = |row: sea_orm::QueryResult| row.try_get_by_index::<String>(0).unwrap();
    let mode = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SHOW plan_cache_mode",
        ))
        .await
        .unwrap()
        .map(text);
    assert_eq!(mode.as_deref(), Some("force_generic_plan"));
    txn.execute_unprepared(
        "PREPARE by_id(text) AS SELECT id, sequence_id FROM sequence_steps \
         WHERE id = ANY(string_to_array($1, ',')::bigint[])",
    )
    .await
    .unwrap();
    for _ in 0..6 {
        txn.execute_unprepared("EXECUTE by_id('1,2')")
            .await
            .unwrap();
    }
    let plan: Vec<String> = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "EXPLAIN EXECUTE by_id('1,2')",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(text)
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("$1"), "a plan for the values:\n{plan}");
    assert!(!plan.contains("{1,2}"), "a plan for the values:\n{plan}");
    txn.rollback().await.unwrap();
    t.finish().await;
}
