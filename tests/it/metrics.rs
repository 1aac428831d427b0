//! Prometheus metrics (`serve --metrics-listen`): what a request records, with bounded labels.

use serde_json::json;
use stepgraph::graphql::Limits;
use stepgraph::http::metrics::{MAX_OPERATION_NAMES, Metrics};

use crate::server::TestServer;
use crate::support::{TestDb, fixture};

/// The value of the sample `name{labels}` (labels in any order), if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
        if metric != name {
            return None;
        }
        let rest = rest.strip_suffix('}')?;
        let all = labels
            .iter()
            .all(|(k, v)| rest.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
        all.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn requests_operations_and_the_pool_are_counted_with_bounded_labels() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let metrics = std::sync::Arc::new(Metrics::new(&t.db));
    let m = metrics.clone();
    let s = TestServer::start_configured(
        t,
        Limits {
            max_complexity: 500,
            ..Limits::default()
        },
        move |state| {
            state.set_metrics(m);
        },
    )
    .await;
    let token = s.token(&f.owner).await;
    for _ in 0..2 {
        let q = "query Steps { sequenceSteps(first: 2) { nodes { id } } }";
        s.gql(&token, q, json!({})).await.data();
    }
    let res = s
        .gql(&token, "query Broken { sequenceStepz { id } }", json!({}))
        .await;
    assert!(res.body["errors"].is_array());
    let res = s
        .gql(
            &token,
            "query Huge { sequenceSteps(first: 100) { nodes { tasks(first: 100) { nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert!(res.body["errors"].is_array(), "{}", res.body);
    // More names than are counted by name.
    for i in 0..MAX_OPERATION_NAMES + 20 {
        let q = format!("query Made{i} {{ viewer {{ id }} }}");
        s.gql(&token, &q, json!({})).await.data();
    }
    let id = f.interval_shared.id;
    let res = s
        .api("GET", &format!("/sequences/{id}"), &token, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let text = metrics.render();
    let graphql = [
        ("http_request_method", "POST"),
        ("http_route", "/graphql"),
        ("http_response_status_code", "200"),
    ];
    let n = sample(
        &text,
        "http_server_request_duration_seconds_count",
        &graphql,
    )
    .unwrap();
    assert!(n >= (MAX_OPERATION_NAMES + 24) as f64, "{n}\n{text}");
    // The JSON:API's route is its template, never the id a client sent.
    assert!(
        text.contains("http_route=\"/api/v2/sequences/{id}\""),
        "{text}"
    );
    assert!(!text.contains(&format!("/sequences/{id}\"")), "{text}");
    let op = |name: &str, outcome: &str| {
        sample(
            &text,
            "graphql_server_operations_total",
            &[
                ("graphql_operation_type", "query"),
                ("graphql_operation_name", name),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(op("Steps", "ok"), Some(2.0), "{text}");
    assert_eq!(op("Broken", "validation_error"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "graphql_server_operations_total",
            &[
                ("graphql_operation_name", "Huge"),
                ("outcome", "refused_by_cost")
            ],
        ),
        Some(1.0),
        "{text}"
    );
    // Names past the cap count as `other`, and the series stop growing.
    let names: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("graphql_server_operations_total{"))
        .filter_map(|l| {
            l.split("graphql_operation_name=\"")
                .nth(1)?
                .split('"')
                .next()
        })
        .collect();
    assert!(names.len() <= MAX_OPERATION_NAMES + 1, "{}", names.len());
    assert!(op("other", "ok").unwrap() >= 20.0, "{text}");
    // What the cost check measured (every operation that parsed, the refused one too), and
    // body sizes by route.
    let costs = sample(&text, "graphql_server_operation_cost_count", &[]).unwrap();
    assert!(costs >= (MAX_OPERATION_NAMES + 23) as f64, "{costs}");
    let route = [("http_request_method", "POST"), ("http_route", "/graphql")];
    let sent = sample(&text, "http_server_request_body_size_bytes_count", &route).unwrap();
    let answered = sample(&text, "http_server_response_body_size_bytes_count", &route).unwrap();
    assert!(sent >= n && answered >= n - 1.0, "{sent} {answered} {n}");
    assert_eq!(
        sample(&text, "stepgraph_websocket_connections", &[]),
        Some(0.0)
    );
    // Statements per request, and the pool.
    assert!(sample(&text, "db_client_statements_per_request_count", &[]).unwrap() >= 4.0);
    // The test pools are of 8 connections (on PostgreSQL and MySQL, half in sqlx's pool and
    // half in the read pool), and the requests left at least one idle.
    let idle = sample(&text, "db_client_connection_count", &[("state", "idle")]).unwrap();
    assert!(idle >= 1.0, "{idle}");
    assert_eq!(sample(&text, "db_client_connection_max", &[]), Some(8.0));
    assert!(
        sample(
            &text,
            "http_server_active_requests",
            &[("http_request_method", "POST")]
        ) == Some(0.0),
        "{text}"
    );
    s.finish().await;
}

/// The database, loader, document, ingest and live series: statement durations by
/// operation and table, loader batch sizes, how documents came, ingested events by status,
/// running subscriptions and the change feed's lag.
#[tokio::test]
async fn statements_batches_documents_events_and_subscriptions_are_measured() {
    use std::time::Duration;
    use stepgraph::auth::tokens::{self, Scope};
    use stepgraph::service::steps;

    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let metrics = std::sync::Arc::new(Metrics::new(&t.db));
    let m = metrics.clone();
    let s = TestServer::start_configured(t, Limits::default(), move |state| {
        state.set_metrics(m);
    })
    .await;
    let token = s.token(&f.owner).await;
    let q = "{ sequences(first: 5) { nodes { name sequenceSteps(first: 2) { nodes { id } } } } }";
    s.gql(&token, q, json!({})).await.data();

    // A subscription running while a step is written: the gauge counts it, the feed's lag
    // is measured when the change is broadcast.
    let mut client = crate::live::Client::connect(&s.base, &token).await;
    client
        .subscribe(
            "1",
            "subscription { sequenceStepChanged { kind id } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sample(&metrics.render(), "stepgraph_subscriptions_active", &[]),
        Some(1.0)
    );
    let step = steps::create(
        &s.db.db,
        &f.owner,
        crate::live::new_step(f.interval_shared.id),
    )
    .await
    .unwrap();
    let heard = client
        .next(Duration::from_secs(10))
        .await
        .expect("a change");
    assert_eq!(
        heard["payload"]["data"]["sequenceStepChanged"]["kind"], "CREATED",
        "{heard}"
    );
    drop(client);

    // Events: one applied, then the same again (a duplicate), and one for no mailing.
    let ingest = tokens::create_with(&s.db.db, "user0@test.example", None, None, &[Scope::Ingest])
        .await
        .unwrap()
        .token;
    let mailing = stepgraph::service::mailings::create(
        &s.db.db,
        &f.admin,
        stepgraph::service::mailings::NewMailing {
            sequence_step_id: Some(step.id),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let event = |key: &str, mailing: i64| {
        json!({"idempotencyKey": key, "mailingId": mailing, "type": "opened",
               "occurredAt": "2026-11-02T10:00:00Z"})
    };
    for events in [
        json!({"events": [event("m-1", mailing)]}),
        json!({"events": [event("m-1", mailing), event("m-2", i64::MAX)]}),
    ] {
        let res = s
            .http
            .post(format!("{}/events/mailings", s.base))
            .bearer_auth(&ingest)
            .json(&events)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    // The socket's subscription ends with it.
    let mut running = None;
    for _ in 0..50 {
        running = sample(&metrics.render(), "stepgraph_subscriptions_active", &[]);
        if running == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(running, Some(0.0));

    let text = metrics.render();
    let selects = sample(
        &text,
        "db_client_operation_duration_seconds_count",
        &[
            ("db_operation_name", "SELECT"),
            ("db_collection_name", "sequence_steps"),
        ],
    );
    assert!(selects.is_some_and(|n| n >= 1.0), "{text}");
    assert!(
        sample(
            &text,
            "db_client_operation_duration_seconds_count",
            &[("db_operation_name", "INSERT")],
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Every table label is a table of the schema, never a made-up one.
    assert!(!text.contains("db_collection_name=\"other\""), "{text}");
    let pages = sample(
        &text,
        "stepgraph_loader_batch_size_count",
        &[("stepgraph_loader_kind", "pages")],
    );
    assert_eq!(pages, Some(1.0), "{text}");
    let keys = sample(
        &text,
        "stepgraph_loader_batch_size_sum",
        &[("stepgraph_loader_kind", "pages")],
    )
    .unwrap();
    assert!(
        keys >= 2.0,
        "the page batch read every sequence's steps at once: {keys}"
    );
    assert_eq!(
        sample(
            &text,
            "graphql_server_documents_total",
            &[("source", "ad_hoc")]
        ),
        Some(1.0),
        "{text}"
    );
    for (status, n) in [("applied", 1.0), ("duplicate", 1.0), ("rejected", 1.0)] {
        assert_eq!(
            sample(
                &text,
                "stepgraph_events_ingested_total",
                &[("status", status)]
            ),
            Some(n),
            "{status}: {text}"
        );
    }
    let lag = sample(&text, "stepgraph_change_feed_lag_seconds_count", &[]).unwrap();
    assert!(lag >= 1.0, "{text}");
    let lag_sum = sample(&text, "stepgraph_change_feed_lag_seconds_sum", &[]).unwrap();
    assert!(lag_sum < 60.0 * lag, "a lag of minutes: {lag_sum}");
    s.finish().await;
}
