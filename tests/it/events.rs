//! Mailing activity: `POST /events/mailings` and `POST /api/v2/mailings` move the counters of
//! steps, sequence templates and sequences exactly, once per event, whoever sends it how often.

use std::collections::{HashMap, HashSet};

use entity::enums::Role;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};
use serde_json::{Value, json};
use stepgraph::auth::tokens::{self, Scope};
use stepgraph::seed::sized;

use crate::counters::mismatches;
use crate::server::TestServer;
use crate::support::TestDb;

/// A sized data set: 12 sequences of 3 steps, 4 mailings per step.
async fn seeded() -> TestServer {
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 12,
        steps_per_sequence: 3,
        mailings_per_step: 4,
        tasks_per_step: 0,
        calls_per_step: 0,
        seed: 11,
    })
    .await;
    TestServer::start(t).await
}

async fn email_of(s: &TestServer, role: Role) -> String {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::user::Entity::find()
        .filter(entity::user::Column::Role.eq(role))
        .order_by_asc(entity::user::Column::Id)
        .one(&s.db.db)
        .await
        .unwrap()
        .expect("a user with that role")
        .email
}

async fn ingest_token(s: &TestServer, role: Role) -> String {
    let email = email_of(s, role).await;
    tokens::create_with(&s.db.db, &email, None, None, &[Scope::Ingest])
        .await
        .unwrap()
        .token
}

/// Sends a batch; returns the status and the body.
async fn send(s: &TestServer, token: &str, body: &Value) -> (u16, Value) {
    let res = s
        .http
        .post(format!("{}/events/mailings", s.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

async fn mailing_ids(s: &TestServer) -> Vec<i64> {
    entity::mailing::Entity::find()
        .order_by_asc(entity::mailing::Column::Id)
        .all(&s.db.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// Stored counters equal their aggregates on all three tables, and some of them moved.
async fn assert_exact(s: &TestServer) {
    for (table, link) in [
        ("sequences", "sequence_id"),
        ("sequence_steps", "sequence_step_id"),
        ("sequence_templates", "sequence_template_id"),
    ] {
        let (bad, nonzero) = mismatches(&s.db, table, link).await;
        assert_eq!(bad, 0, "{table}: counters differ from their aggregate");
        assert!(nonzero > 0, "{table}: no counter moved at all");
    }
}

async fn scalar(s: &TestServer, sql: &str) -> i64 {
    let row =
        s.db.db
            .query_one_raw(Statement::from_string(s.db.backend(), sql.to_string()))
            .await
            .unwrap()
            .unwrap();
    // Integer widths and SUM's type differ by backend (INT4, DECIMAL): read whichever it is.
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .or_else(|_| {
            row.try_get_by_index::<sea_orm::prelude::Decimal>(0)
                .map(|d| d.to_string().parse().unwrap())
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Events of every type over the seeded mailings, with distinct keys.
fn events_for(ids: &[i64], prefix: &str) -> Vec<Value> {
    let types = [
        "scheduled",
        "delivered",
        "opened",
        "clicked",
        "replied",
        "bounced",
        "failed",
        "opted_out",
        "opened",
    ];
    let sentiments = ["positive", "neutral", "negative"];
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..3 {
            let ty = types[(i + k * 3) % types.len()];
            let mut e = json!({
                "idempotencyKey": format!("{prefix}-{id}-{k}"),
                "mailingId": id,
                "type": ty,
                "occurredAt": format!("2026-11-{:02}T10:{:02}:00Z", 1 + (i % 27), k * 7),
            });
            if ty == "replied" {
                e["sentiment"] = json!(sentiments[i % 3]);
            }
            out.push(e);
        }
    }
    out
}

#[tokio::test]
async fn events_move_counters_exactly_and_replays_change_nothing() {
    let s = seeded().await;
    let token = ingest_token(&s, Role::Admin).await;
    let ids = mailing_ids(&s).await;
    let mut events = events_for(&ids[..40], "a");
    // An unknown mailing, a malformed event and a repeat inside the batch.
    events.push(json!({"idempotencyKey": "ghost", "mailingId": 999_999_999, "type": "opened", "occurredAt": "2026-11-20T10:00:00Z"}));
    events.push(json!({"idempotencyKey": "bad", "mailingId": ids[0], "type": "exploded", "occurredAt": "yesterday"}));
    events.push(events[0].clone());
    let n = events.len();
    let (status, body) = send(&s, &token, &json!({ "events": events })).await;
    assert_eq!(status, 200, "{body}");
    let got = statuses(&body);
    assert_eq!(got.len(), n);
    assert!(got[..n - 3].iter().all(|g| g == "applied"), "{body}");
    assert_eq!(got[n - 3], "rejected");
    assert_eq!(body["results"][n - 3]["error"]["code"], "NOT_FOUND");
    assert_eq!(got[n - 2], "rejected");
    assert_eq!(body["results"][n - 2]["error"]["code"], "BAD_USER_INPUT");
    let fields: HashSet<&str> = body["results"][n - 2]["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, HashSet::from(["type", "occurredAt"]));
    assert_eq!(got[n - 1], "duplicate");
    assert_eq!(
        body["results"][n - 1]["idempotencyKey"],
        events[0]["idempotencyKey"]
    );
    assert_exact(&s).await;
    assert_eq!(
        scalar(&s, "SELECT COUNT(*) FROM mailing_events").await,
        (n - 3) as i64
    );

    // The whole batch again: every event a duplicate, nothing moves.
    let snapshot = |s: &TestServer| {
        let db = s.db.db.clone();
        async move {
            entity::sequence_step::Entity::find()
                .order_by_asc(entity::sequence_step::Column::Id)
                .all(&db)
                .await
                .unwrap()
        }
    };
    let before = snapshot(&s).await;
    let (status, body) = send(&s, &token, &json!({ "events": events })).await;
    assert_eq!(status, 200);
    let got = statuses(&body);
    assert!(got[..n - 3].iter().all(|g| g == "duplicate"), "{body}");
    assert_eq!(snapshot(&s).await, before);

    // A key reused for another event is refused, not taken for a replay.
    let mut reused = events[1].clone();
    reused["type"] = json!(if reused["type"] == "bounced" {
        "opened"
    } else {
        "bounced"
    });
    reused["sentiment"] = Value::Null;
    let (_, body) = send(&s, &token, &json!({ "events": [reused] })).await;
    assert_eq!(statuses(&body), ["rejected"]);
    assert_eq!(body["results"][0]["error"]["code"], "CONFLICT");

    // What GraphQL shows is what was counted.
    let api = s.token_for_role(Role::Admin).await;
    let step = scalar(
        &s,
        "SELECT sequence_step_id FROM mailings WHERE opened_at IS NOT NULL AND sequence_step_id IS NOT NULL ORDER BY id LIMIT 1",
    )
    .await;
    let stored = scalar(
        &s,
        &format!("SELECT open_count FROM sequence_steps WHERE id = {step}"),
    )
    .await;
    let data = s
        .gql(
            &api,
            "query($id: ID!) { sequenceStep(id: $id) { openCount sequence { openCount } } }",
            json!({ "id": step.to_string() }),
        )
        .await;
    assert_eq!(data.data()["sequenceStep"]["openCount"], json!(stored));
    assert!(stored > 0);
    s.finish().await;
}

/// Eight clients send the same events at once, each in its own order and batches: each
/// event is applied exactly once, and every counter equals its aggregate.
#[tokio::test]
async fn concurrent_replays_count_each_event_once() {
    let s = seeded().await;
    let token = ingest_token(&s, Role::Admin).await;
    let ids = mailing_ids(&s).await;
    let events = events_for(&ids, "c");
    let total = events.len();
    let opens_before = scalar(&s, "SELECT COALESCE(SUM(open_count), 0) FROM mailings").await;
    let mut clients = Vec::new();
    for client in 0..8usize {
        let mut mine = events.clone();
        // A different order per client (a rotation, reversed for odd clients).
        mine.rotate_left(client * total / 8);
        if client % 2 == 1 {
            mine.reverse();
        }
        let (http, base, token) = (s.http.clone(), s.base.clone(), token.clone());
        clients.push(tokio::spawn(async move {
            let mut applied = Vec::new();
            for batch in mine.chunks(25) {
                let res = http
                    .post(format!("{base}/events/mailings"))
                    .bearer_auth(&token)
                    .json(&json!({ "events": batch }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status().as_u16(), 200);
                let body: Value = res.json().await.unwrap();
                for (event, result) in batch.iter().zip(body["results"].as_array().unwrap()) {
                    match result["status"].as_str().unwrap() {
                        "applied" => applied.push(event["idempotencyKey"].clone()),
                        "duplicate" => {}
                        other => panic!("{other}: {result}"),
                    }
                }
            }
            applied
        }));
    }
    let mut applied: HashMap<String, usize> = HashMap::new();
    for client in clients {
        for key in client.await.unwrap() {
            *applied
                .entry(key.as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(applied.len(), total, "every event was applied by someone");
    assert!(applied.values().all(|n| *n == 1), "no event applied twice");
    assert_eq!(
        scalar(&s, "SELECT COUNT(*) FROM mailing_events").await,
        total as i64
    );
    // Mailings' own open counts grew by exactly the number of open events.
    let opens_after = scalar(&s, "SELECT COALESCE(SUM(open_count), 0) FROM mailings").await;
    let open_events = events.iter().filter(|e| e["type"] == "opened").count() as i64;
    assert_eq!(opens_after - opens_before, open_events);
    assert_eq!(
        scalar(
            &s,
            "SELECT COUNT(*) FROM mailing_events WHERE event_type = 'opened'"
        )
        .await,
        open_events
    );
    assert_exact(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn ingest_needs_its_scope_an_admin_and_a_readable_body() {
    let s = seeded().await;
    let ids = mailing_ids(&s).await;
    let one = json!({ "events": [{"idempotencyKey": "k1", "mailingId": ids[0], "type": "opened", "occurredAt": "2026-11-20T10:00:00Z"}] });
    let url = format!("{}/events/mailings", s.base);

    let res = s.http.post(&url).json(&one).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let api_only = s.token_for_role(Role::Admin).await;
    let (status, body) = send(&s, &api_only, &one).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ingest")
    );
    let member = ingest_token(&s, Role::Member).await;
    let (status, _) = send(&s, &member, &one).await;
    assert_eq!(status, 403, "a member's ingest token is refused by default");

    // An ingest-only token cannot read the API.
    let admin = ingest_token(&s, Role::Admin).await;
    let gql = s
        .gql(
            &admin,
            "{ sequenceSteps(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(gql.status, 403, "{}", gql.body);

    let res = s
        .http
        .post(&url)
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(one.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let res = s
        .http
        .post(&url)
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"events\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let (status, body) = send(&s, &admin, &json!({ "event": [] })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"idempotencyKey": i.to_string()}))
        .collect();
    let (status, _) = send(&s, &admin, &json!({ "events": many })).await;
    assert_eq!(status, 413);
    // None of that applied anything.
    assert_eq!(scalar(&s, "SELECT COUNT(*) FROM mailing_events").await, 0);
    let (status, body) = send(&s, &admin, &one).await;
    assert_eq!(
        (status, statuses(&body)),
        (200, vec!["applied".to_string()])
    );
    s.finish().await;
}

/// With `--ingest-members`, a member's events reach only the mailings that member can see.
#[tokio::test]
async fn a_members_events_reach_only_visible_mailings() {
    let t = TestDb::new().await;
    let f = crate::support::fixture(&t.db).await;
    let s = TestServer::start_configured(t, Default::default(), |state| {
        state.ingest_members = true;
    })
    .await;
    // One mailing in the owner's private sequence, one in its shared one.
    let mut ids = Vec::new();
    for seq in [&f.interval_private, &f.interval_shared] {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let at = chrono::Utc::now();
        let m = entity::mailing::ActiveModel {
            state: Set(entity::enums::MailingState::Delivered),
            track_links: Set(true),
            track_opens: Set(true),
            open_count: Set(0),
            click_count: Set(0),
            sequence_id: Set(Some(seq.id)),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
        .insert(&s.db.db)
        .await
        .unwrap();
        ids.push(m.id);
    }
    let other = entity::user::Entity::find_by_id(f.other.user_id)
        .one(&s.db.db)
        .await
        .unwrap()
        .unwrap();
    let token = tokens::create_with(&s.db.db, &other.email, None, None, &[Scope::Ingest])
        .await
        .unwrap()
        .token;
    let events: Vec<Value> = ids
        .iter()
        .map(|id| json!({"idempotencyKey": format!("m{id}"), "mailingId": id, "type": "opened", "occurredAt": "2026-11-20T10:00:00Z"}))
        .collect();
    let (status, body) = send(&s, &token, &json!({ "events": events })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), ["rejected", "applied"]);
    assert_eq!(body["results"][0]["error"]["code"], "NOT_FOUND");
    assert_eq!(
        scalar(
            &s,
            &format!(
                "SELECT open_count FROM sequences WHERE id = {}",
                f.interval_private.id
            )
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &s,
            &format!(
                "SELECT open_count FROM sequences WHERE id = {}",
                f.interval_shared.id
            )
        )
        .await,
        1,
        "visibility, not write access, decides which events a member may report"
    );
    s.finish().await;
}

#[tokio::test]
async fn a_created_mailing_counts_at_once_and_bad_bodies_change_nothing() {
    let s = seeded().await;
    let admin = s.token_for_role(Role::Admin).await;
    let (step, sequence, before) = {
        let row = s
            .db
            .db
            .query_one_raw(Statement::from_string(
                s.db.backend(),
                "SELECT st.id, st.sequence_id, st.schedule_count FROM sequence_steps st \
                 JOIN sequences q ON q.id = st.sequence_id WHERE NOT q.locked ORDER BY st.id LIMIT 1"
                    .to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        (
            row.try_get_by_index::<i64>(0).unwrap(),
            row.try_get_by_index::<i64>(1).unwrap(),
            row.try_get_by_index::<i32>(2).unwrap(),
        )
    };
    let body = json!({"data": {"type": "mailing",
        "attributes": {"subject": "Hello", "scheduledAt": "2026-12-01T09:00:00Z"},
        "relationships": {"sequenceStep": {"data": {"type": "sequenceStep", "id": step}}}}});
    let res = s.api("POST", "/mailings", &admin, Some(body)).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.body["data"]["id"].as_i64().unwrap();
    assert!(
        res.location
            .as_deref()
            .unwrap()
            .ends_with(&format!("/api/v2/mailings/{id}"))
    );
    assert_eq!(res.body["data"]["attributes"]["state"], "scheduled");
    assert_eq!(
        res.body["data"]["relationships"]["sequence"]["data"]["id"],
        json!(sequence),
        "the sequence follows from the step"
    );
    assert_eq!(
        scalar(
            &s,
            &format!("SELECT schedule_count FROM sequence_steps WHERE id = {step}")
        )
        .await,
        i64::from(before) + 1
    );
    assert_exact(&s).await;

    // Read-only attributes, unknown relationships and a mismatched sequence are refused,
    // and create nothing.
    let count = scalar(&s, "SELECT COUNT(*) FROM mailings").await;
    let bad = json!({"data": {"type": "mailing",
        "attributes": {"openCount": 5, "color": "red"},
        "relationships": {"prospect": {"data": null}}}});
    let res = s.api("POST", "/mailings", &admin, Some(bad)).await;
    assert_eq!(res.status, 422, "{}", res.body);
    let pointers: HashSet<&str> = res.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"]["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        HashSet::from([
            "/data/attributes/openCount",
            "/data/attributes/color",
            "/data/relationships/prospect"
        ])
    );
    let other_sequence = scalar(
        &s,
        &format!("SELECT MAX(id) FROM sequences WHERE id <> {sequence}"),
    )
    .await;
    let mismatched = json!({"data": {"type": "mailing", "relationships": {
        "sequenceStep": {"data": {"type": "sequenceStep", "id": step}},
        "sequence": {"data": {"type": "sequence", "id": other_sequence}}}}});
    let res = s.api("POST", "/mailings", &admin, Some(mismatched)).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(res.source(), "/data/relationships/sequence");
    assert_eq!(scalar(&s, "SELECT COUNT(*) FROM mailings").await, count);
    s.finish().await;
}
