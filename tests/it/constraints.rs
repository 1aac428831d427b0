//! The database itself rejects rows that break the model, whatever wrote them.

use crate::support::{TestDb, fixture};

const STEP_COLUMNS: &str = "sequence_id, step_type, \"order\", created_at, updated_at";

fn q(t: &TestDb, sql: &str) -> String {
    // MySQL quotes identifiers with backticks.
    if t.backend() == sea_orm::DbBackend::MySql {
        sql.replace('"', "`")
    } else {
        sql.to_string()
    }
}

#[tokio::test]
async fn constraints_reject_bad_rows() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let seq = f.interval_shared.id;
    let ts = "'2026-01-01 00:00:00'";
    let ok = format!(
        "INSERT INTO sequence_steps ({STEP_COLUMNS}) VALUES ({seq}, 'call', 1, {ts}, {ts})"
    );
    t.exec(&q(&t, &ok)).await.expect("a valid row is accepted");

    let bad = [
        (
            "unknown step type",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}) VALUES ({seq}, 'fax', 2, {ts}, {ts})"
            ),
        ),
        (
            "duplicate order",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}) VALUES ({seq}, 'call', 1, {ts}, {ts})"
            ),
        ),
        (
            "missing sequence",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}) VALUES (999999, 'call', 3, {ts}, {ts})"
            ),
        ),
        (
            "null step type",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}) VALUES ({seq}, NULL, 4, {ts}, {ts})"
            ),
        ),
        (
            "negative interval",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}, \"interval\") VALUES ({seq}, 'call', 5, {ts}, {ts}, -1)"
            ),
        ),
        (
            "negative counter",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}, open_count) VALUES ({seq}, 'call', 6, {ts}, {ts}, -1)"
            ),
        ),
        (
            "task note too long",
            format!(
                "INSERT INTO sequence_steps ({STEP_COLUMNS}, task_note) VALUES ({seq}, 'call', 7, {ts}, {ts}, '{}')",
                "x".repeat(65_536)
            ),
        ),
        (
            "unknown share type",
            format!(
                "INSERT INTO sequences (name, sequence_type, share_type, enabled, locked, throttle_paused, transactional, tags, owner_id, created_at, updated_at) VALUES ('s', 'interval', 'public', false, false, false, false, '[]', {}, {ts}, {ts})",
                f.owner.user_id
            ),
        ),
        (
            "name over 255 characters",
            format!(
                "INSERT INTO sequences (name, sequence_type, share_type, enabled, locked, throttle_paused, transactional, tags, owner_id, created_at, updated_at) VALUES ('{}', 'interval', 'shared', false, false, false, false, '[]', {}, {ts}, {ts})",
                "n".repeat(256),
                f.owner.user_id
            ),
        ),
        (
            "unknown role",
            format!(
                "INSERT INTO users (email, role, locked, created_at, updated_at) VALUES ('x@y.z', 'root', false, {ts}, {ts})"
            ),
        ),
        (
            "duplicate email",
            format!(
                "INSERT INTO users (email, role, locked, created_at, updated_at) VALUES ('user0@test.example', 'admin', false, {ts}, {ts})"
            ),
        ),
        (
            "unknown mailing state",
            format!(
                "INSERT INTO mailings (state, track_links, track_opens, open_count, click_count, created_at, updated_at) VALUES ('lost', true, true, 0, 0, {ts}, {ts})"
            ),
        ),
        (
            "unknown reply sentiment",
            format!(
                "INSERT INTO mailings (state, reply_sentiment, track_links, track_opens, open_count, click_count, created_at, updated_at) VALUES ('replied', 'angry', true, true, 0, 0, {ts}, {ts})"
            ),
        ),
    ];
    for (what, sql) in bad {
        let res = t.exec(&q(&t, &sql)).await;
        assert!(res.is_err(), "{what}: the database accepted a bad row");
    }
    t.finish().await;
}

#[tokio::test]
async fn deleting_a_sequence_cascades_to_steps_and_keeps_history() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let seq = f.interval_shared.id;
    let ts = "'2026-01-01 00:00:00'";
    t.exec(&q(
        &t,
        &format!(
            "INSERT INTO sequence_steps ({STEP_COLUMNS}) VALUES ({seq}, 'call', 1, {ts}, {ts})"
        ),
    ))
    .await
    .unwrap();
    t.exec(&format!("INSERT INTO mailings (state, sequence_id, sequence_step_id, track_links, track_opens, open_count, click_count, created_at, updated_at) SELECT 'delivered', sequence_id, id, true, true, 0, 0, {ts}, {ts} FROM sequence_steps")).await.unwrap();
    // A user who owns a sequence cannot be deleted out from under it.
    assert!(
        t.exec(&format!("DELETE FROM users WHERE id = {}", f.owner.user_id))
            .await
            .is_err()
    );
    t.exec(&format!("DELETE FROM sequences WHERE id = {seq}"))
        .await
        .unwrap();
    let steps: i64 = scalar(&t, "SELECT COUNT(*) FROM sequence_steps").await;
    let orphaned: i64 = scalar(
        &t,
        "SELECT COUNT(*) FROM mailings WHERE sequence_step_id IS NULL AND sequence_id IS NULL",
    )
    .await;
    assert_eq!(
        (steps, orphaned),
        (0, 1),
        "steps cascade; mailings stay, detached"
    );
    t.finish().await;
}

pub async fn scalar(t: &TestDb, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row =
        t.db.query_one_raw(Statement::from_string(t.backend(), sql.to_string()))
            .await
            .unwrap()
            .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}
