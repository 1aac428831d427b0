//! Read replicas (`serve --read-database-url`, PostgreSQL): where reads and writes go, the
//! commit position a write answers with, and a read that must see a position the replica
//! has not replayed. A second database stands in for the replica here, holding different
//! names, so where a read went shows in what it answers; `tests/deploy/` runs a real
//! streaming replica, with its replay paused and resumed.

use std::time::Duration;

use serde_json::{Value, json};
use stepgraph::graphql::Limits;
use stepgraph_web::replicas::{Lsn, POSITION_HEADER, Replicas};

use crate::server::TestServer;
use crate::support::{TestDb, fixture};

const NAME: &str = "query($id: ID!) { sequence(id: $id) { name } }";

#[tokio::test]
async fn queries_read_from_a_replica_writes_go_to_the_primary() {
    let t = TestDb::new().await;
    if t.backend() != sea_orm::DbBackend::Postgres {
        t.finish().await;
        return;
    }
    let f = fixture(&t.db).await;
    let replica = TestDb::new().await;
    fixture(&replica.db).await;
    replica
        .exec("UPDATE sequences SET name = 'on the replica'")
        .await
        .unwrap();
    let replica_db = replica.db.clone();
    let metrics = std::sync::Arc::new(stepgraph::http::metrics::Metrics::new(&t.db));
    let m = metrics.clone();
    let s = TestServer::start_configured(t, Limits::default(), move |state| {
        state.replicas = Some(Replicas::start(
            state.db.clone(),
            vec![("replica".into(), replica_db)],
            Duration::from_secs(5),
            Duration::from_millis(50),
        ));
        state.set_metrics(m);
    })
    .await;
    let token = s.token(&f.owner).await;
    let id = f.interval_shared.id.to_string();
    let name = async |position: Option<&str>| {
        let mut req = s
            .http
            .post(format!("{}/graphql", s.base))
            .bearer_auth(&token)
            .json(&json!({ "query": NAME, "variables": { "id": id } }));
        if let Some(position) = position {
            req = req.header(POSITION_HEADER, position);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        (status, body)
    };
    // Reads go to the replica from the monitor's first look on.
    let mut seen = None;
    for _ in 0..40 {
        let (_, body) = name(None).await;
        seen = Some(body["data"]["sequence"]["name"].clone());
        if seen == Some(json!("on the replica")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(json!("on the replica")));

    // A mutation runs on the primary and answers with its commit position.
    let res = s
        .http
        .post(format!("{}/graphql", s.base))
        .bearer_auth(&token)
        .json(&json!({
            "query": "mutation($input: CreateSequenceStepInput!) { createSequenceStep(input: $input) { id sequence { name } } }",
            "variables": { "input": { "sequenceId": id, "stepType": "TASK", "interval": 60 } },
        }))
        .send()
        .await
        .unwrap();
    let position = res.headers()[POSITION_HEADER].to_str().unwrap().to_owned();
    assert!(Lsn::parse(&position).is_some(), "{position}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["data"]["createSequenceStep"]["sequence"]["name"],
        "shared"
    );

    // A position no replica has replayed: the read waits, then reads from the primary.
    let (status, body) = name(Some("FFFFFFFF/0")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["sequence"]["name"], "shared", "{body}");
    // The metrics say where reads went and how the replica is.
    let text = metrics.render();
    let value = |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{series} in\n{text}"))
    };
    assert_eq!(value("stepgraph_replica_usable{replica=\"replica\"}"), 1.0);
    assert!(value("stepgraph_replica_lag_seconds{replica=\"replica\"}") < 5.0);
    assert!(value("stepgraph_reads_total{read=\"replica\"}") >= 1.0);
    assert_eq!(value("stepgraph_reads_total{read=\"primary_behind\"}"), 1.0);
    // Not a position: refused, in GraphQL's error shape.
    let (status, body) = name(Some("yesterday")).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("X-Commit-Position"),
        "{body}"
    );

    // The JSON:API: GETs read from the replica, with the same rules; writes answer with
    // their position.
    let get = async |position: Option<&str>| {
        let mut req = s
            .http
            .get(format!("{}/api/v2/sequences/{id}", s.base))
            .bearer_auth(&token);
        if let Some(position) = position {
            req = req.header(POSITION_HEADER, position);
        }
        TestServer::read_api(req.send().await.unwrap()).await
    };
    let res = get(None).await;
    assert_eq!(res.body["data"]["attributes"]["name"], "on the replica");
    let res = get(Some("FFFFFFFF/0")).await;
    assert_eq!(res.body["data"]["attributes"]["name"], "shared");
    let res = get(Some("1/2/3")).await;
    assert_eq!(res.status, 400, "{}", res.body);
    let res = s
        .http
        .post(format!("{}/api/v2/sequenceSteps", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.api+json")
        .body(
            json!({ "data": { "type": "sequenceStep",
                "attributes": { "stepType": "task", "interval": 60 },
                "relationships": { "sequence": { "data": { "type": "sequence", "id": id.parse::<i64>().unwrap() } } } } })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let later = res.headers()[POSITION_HEADER].to_str().unwrap();
    assert!(
        Lsn::parse(later) >= Lsn::parse(&position),
        "{later} {position}"
    );

    // The replica goes away under the reads: they are answered from the primary, without an
    // error (a read that failed on it runs again there; later ones skip it).
    let (_, body) = name(None).await;
    assert_eq!(body["data"]["sequence"]["name"], "on the replica");
    let gone: String = {
        use sea_orm::ConnectionTrait;
        let row = replica
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT current_database()",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    };
    s.db.exec(&format!(
        "ALTER DATABASE \"{gone}\" ALLOW_CONNECTIONS false"
    ))
    .await
    .unwrap();
    s.db.exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{gone}'"
    ))
    .await
    .unwrap();
    for _ in 0..3 {
        let (status, body) = name(None).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["sequence"]["name"], "shared", "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        let res = get(None).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["data"]["attributes"]["name"], "shared");
    }
    s.db.exec(&format!("ALTER DATABASE \"{gone}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    s.finish().await;
    replica.finish().await;
}
