//! Mirror mode (`stepgraph sync outreach`): a second stepgraph's /api/v2 stands in for
//! Outreach, and a tiny HTTP server in the test plays the parts stepgraph does not serve
//! (5xx, 429 and rate-limit headers, the OAuth token endpoint).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use entity::enums::{ChangeKind, ChangedEntity, Role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use stepgraph::service::mirror::Kind;
use stepgraph_outreach::{Auth, Client, Config, Options, Reconcile, Report, base_url, sync};

use crate::server::TestServer;
use crate::support::TestDb;

/// A stepgraph serving the demo data, and an admin's token for it.
async fn source() -> (TestServer, String) {
    let db = TestDb::new().await;
    stepgraph::seed::demo::load(&db.db).await.unwrap();
    let server = TestServer::start(db).await;
    let token = server.token_for_role(Role::Admin).await;
    (server, token)
}

fn client(base: &str, auth: Auth) -> Client {
    let mut config = Config::new(base_url(base).unwrap(), auth);
    config.backoff = Duration::from_millis(10);
    Client::new(config).unwrap()
}

fn options(page_size: u32, reconcile: Reconcile) -> Options {
    Options {
        page_size,
        reconcile,
    }
}

fn assert_nothing_skipped(report: &Report) {
    for (kind, applied, _) in &report.resources {
        assert!(
            applied.skipped.is_empty(),
            "{}: {:?}",
            kind.wire(),
            applied.skipped
        );
    }
}

/// What `kind` reports for one resource.
fn of(report: &Report, kind: Kind) -> (usize, usize, usize, usize) {
    let (_, a, deleted) = report
        .resources
        .iter()
        .find(|(k, _, _)| *k == kind)
        .unwrap();
    (a.inserted, a.updated, a.unchanged, *deleted)
}

fn strip_links(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("links");
            map.values_mut().for_each(strip_links);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_links),
        _ => {}
    }
}

/// Every resource of `kind` as `server`'s /api/v2 lists it, by id, without links (they name
/// the server).
async fn everything(server: &TestServer, token: &str, kind: Kind) -> BTreeMap<i64, Value> {
    let mut out = BTreeMap::new();
    let mut path = format!("/{}?page[size]=1000", kind.wire());
    loop {
        let api = server.api("GET", &path, token, None).await;
        assert_eq!(api.status, 200, "{path}: {}", api.body);
        for obj in api.body["data"].as_array().unwrap() {
            let mut obj = obj.clone();
            strip_links(&mut obj);
            out.insert(obj["id"].as_i64().unwrap(), obj);
        }
        match api.body["links"]["next"].as_str() {
            Some(next) => path = next.split_once("/api/v2").unwrap().1.to_string(),
            None => break,
        }
    }
    out
}

async fn assert_same(source: &TestServer, source_token: &str, mirror: &TestServer, token: &str) {
    for kind in Kind::ALL {
        let upstream = everything(source, source_token, kind).await;
        assert!(!upstream.is_empty(), "the demo has {}", kind.wire());
        let mirrored = everything(mirror, token, kind).await;
        assert_eq!(
            upstream.keys().collect::<Vec<_>>(),
            mirrored.keys().collect::<Vec<_>>(),
            "ids of {}",
            kind.wire()
        );
        for (id, row) in &upstream {
            assert_eq!(row, &mirrored[id], "{} {id}", kind.wire());
        }
    }
}

/// `PATCH /api/v2/sequenceSteps/{id}` with these attributes.
async fn patch_step(
    server: &TestServer,
    token: &str,
    id: i64,
    attributes: Value,
) -> crate::server::Api {
    server
        .api(
            "PATCH",
            &format!("/sequenceSteps/{id}"),
            token,
            Some(json!({ "data": { "type": "sequenceStep", "id": id, "attributes": attributes } })),
        )
        .await
}

/// A server on the mirror's database, and a token of its admin (a mirrored user).
async fn mirror_server(db: TestDb) -> (TestServer, String) {
    let server = TestServer::start(db).await;
    let token = server.token_for_role(Role::Admin).await;
    (server, token)
}

/// Serves the mirror's database, checks it answers as upstream does, and stops both.
async fn serve_and_compare(upstream: TestServer, up_token: &str, target: TestDb) {
    let (mirror, token) = mirror_server(target).await;
    assert_same(&upstream, up_token, &mirror, &token).await;
    mirror.finish().await;
    upstream.finish().await;
}

async fn feed_entries(db: &DatabaseConnection, kind: ChangeKind, row: i64) -> u64 {
    use entity::change_feed::{Column, Entity};
    Entity::find()
        .filter(Column::Entity.eq(ChangedEntity::SequenceStep))
        .filter(Column::Kind.eq(kind))
        .filter(Column::RowId.eq(row))
        .count(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_sync_then_incremental_ones_copy_the_source_row_for_row() {
    let (upstream, up_token) = source().await;
    let target = TestDb::new().await;
    let outreach = client(&upstream.base, Auth::AccessToken(up_token.clone()));
    let every_day = Reconcile::Every(Duration::from_secs(86_400));

    // Full: small pages, so every resource spans several and links.next is followed.
    let first = sync(&target.db, &outreach, &options(7, every_day))
        .await
        .unwrap();
    assert_nothing_skipped(&first);
    assert!(first.rows() > 100, "{first:?}");
    assert_eq!(first.written(), first.rows());
    assert_eq!(first.deleted(), 0);
    let requests = first.stats.requests;
    eprintln!(
        "full sync: {} rows, {} requests, {:.0} rows/s",
        first.rows(),
        requests,
        first.rows() as f64 / first.elapsed.as_secs_f64()
    );

    // Nothing changed upstream: nothing is written, and the feed hears nothing.
    let feed_before = entity::change_feed::Entity::find()
        .count(&target.db)
        .await
        .unwrap();
    let second = sync(&target.db, &outreach, &options(7, every_day))
        .await
        .unwrap();
    assert_eq!(second.written(), 0, "{second:?}");
    assert_eq!(second.deleted(), 0);
    assert_eq!(
        entity::change_feed::Entity::find()
            .count(&target.db)
            .await
            .unwrap(),
        feed_before
    );

    let target_db = target.db.clone();
    let (mirror, token) = mirror_server(target).await;
    assert_same(&upstream, &up_token, &mirror, &token).await;

    // Upstream changes: a step edited, a step created at the front (every later step of its
    // sequence moves down one), a step deleted.
    let steps = everything(&upstream, &up_token, Kind::SequenceSteps).await;
    let (&edited, step) = steps.iter().next().unwrap();
    let sequence = step["relationships"]["sequence"]["data"]["id"]
        .as_i64()
        .unwrap();
    let patch = patch_step(
        &upstream,
        &up_token,
        edited,
        json!({ "taskNote": "changed upstream" }),
    )
    .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let created = upstream
        .api(
            "POST",
            "/sequenceSteps",
            &up_token,
            Some(json!({ "data": { "type": "sequenceStep",
                "attributes": { "stepType": "task", "order": 1, "interval": 60 },
                "relationships": { "sequence": { "data": { "type": "sequence", "id": sequence } } } } })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.body["data"]["id"].as_i64().unwrap();
    let deleted = *steps.keys().last().unwrap();
    let delete = upstream
        .api(
            "DELETE",
            &format!("/sequenceSteps/{deleted}"),
            &up_token,
            None,
        )
        .await;
    assert_eq!(delete.status, 204, "{}", delete.body);

    // The incremental pull: a page or so per resource, not the whole account again.
    let outreach = client(&upstream.base, Auth::AccessToken(up_token.clone()));
    let third = sync(&target_db, &outreach, &options(7, every_day))
        .await
        .unwrap();
    assert_nothing_skipped(&third);
    let (inserted, updated, _, gone) = of(&third, Kind::SequenceSteps);
    assert_eq!((inserted, gone), (1, 0), "{third:?}");
    assert!(updated >= 1, "{third:?}");
    assert!(
        third.stats.requests < requests / 2,
        "{} requests after {requests}",
        third.stats.requests
    );
    // The deletion shows once ids are reconciled.
    let fourth = sync(&target_db, &outreach, &options(7, Reconcile::Now))
        .await
        .unwrap();
    assert_eq!(of(&fourth, Kind::SequenceSteps).3, 1, "{fourth:?}");
    assert_eq!(fourth.written(), 0, "{fourth:?}");
    assert_same(&upstream, &up_token, &mirror, &token).await;
    // Subscriptions hear of mirrored changes as of local ones: through the change feed.
    assert_eq!(
        feed_entries(&target_db, ChangeKind::Created, created).await,
        1
    );
    assert_eq!(
        feed_entries(&target_db, ChangeKind::Updated, edited).await,
        1
    );
    assert_eq!(
        feed_entries(&target_db, ChangeKind::Deleted, deleted).await,
        1
    );

    mirror.finish().await;
    upstream.finish().await;
}

#[tokio::test]
async fn a_sync_stopped_midway_resumes_where_it_stopped() {
    let (upstream, up_token) = source().await;
    let target = TestDb::new().await;
    let db = target.db.clone();
    let base = upstream.base.clone();
    let token = up_token.clone();
    let run = tokio::spawn(async move {
        let outreach = client(&base, Auth::AccessToken(token));
        sync(&db, &outreach, &options(2, Reconcile::Now)).await
    });
    // Stopped (like a `kill -9`: the task is dropped between two awaits) as soon as the first
    // page of sequences is committed.
    let started = Instant::now();
    loop {
        let sequences = stepgraph::service::mirror::checkpoint(&target.db, Kind::Sequences)
            .await
            .unwrap();
        if sequences.cursor.is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        !run.is_finished(),
        "the sync ended before it could be stopped"
    );
    run.abort();
    let _ = run.await;
    let users_before = entity::user::Entity::find()
        .count(&target.db)
        .await
        .unwrap();
    assert!(users_before > 0);

    let outreach = client(&upstream.base, Auth::AccessToken(up_token.clone()));
    let resumed = sync(&target.db, &outreach, &options(2, Reconcile::Now))
        .await
        .unwrap();
    assert_nothing_skipped(&resumed);
    // The users were all committed before the stop: none is written again.
    assert_eq!(of(&resumed, Kind::Users).0, 0, "{resumed:?}");
    assert_eq!(of(&resumed, Kind::Users).1, 0, "{resumed:?}");
    assert!(resumed.written() < resumed.rows());

    serve_and_compare(upstream, &up_token, target).await;
}

#[tokio::test]
async fn a_sync_refuses_a_database_with_local_rows() {
    let (upstream, up_token) = source().await;
    let target = TestDb::new().await;
    stepgraph::seed::demo::load(&target.db).await.unwrap();
    let outreach = client(&upstream.base, Auth::AccessToken(up_token));
    let err = sync(&target.db, &outreach, &Options::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not mirrored"), "{err}");
    target.finish().await;
    upstream.finish().await;
}

/// One scripted answer: status, headers, body.
type Answer = (u16, Vec<(&'static str, String)>, Value);

/// A stand-in for what stepgraph does not serve: `script` answers each request in turn.
async fn fake_upstream(
    script: Vec<Answer>,
) -> (String, Arc<AtomicU32>, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::http::{HeaderName, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let (c, s) = (calls.clone(), seen.clone());
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (calls, seen, script) = (c.clone(), s.clone(), script.clone());
        async move {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            seen.lock()
                .unwrap()
                .push(format!("{auth} {}", String::from_utf8_lossy(&body)));
            let i = calls.fetch_add(1, Ordering::SeqCst) as usize;
            let (status, headers, body) = script[i.min(script.len() - 1)].clone();
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response();
            for (name, value) in headers {
                response.headers_mut().insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_str(&value).unwrap(),
                );
            }
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, calls, seen)
}

fn epoch_in(seconds: u64) -> String {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + seconds)
        .to_string()
}

#[tokio::test]
async fn the_client_retries_5xx_waits_out_429_and_keeps_to_its_share_of_the_rate_limit() {
    let empty = json!({ "data": [], "links": {} });
    let (base, calls, _) = fake_upstream(vec![
        (503, vec![], json!({ "errors": [] })),
        (
            429,
            vec![("retry-after", "1".into())],
            json!({ "errors": [] }),
        ),
        // 6 of 10 used: more than the client's half, so it waits for the reset (2 s).
        (
            200,
            vec![
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "4".into()),
                ("x-ratelimit-reset", epoch_in(2)),
            ],
            empty.clone(),
        ),
        (200, vec![], empty.clone()),
    ])
    .await;
    let outreach = client(&base, Auth::AccessToken("t".into()));
    let url = outreach.url("users").unwrap();
    let started = Instant::now();
    outreach.get(&url).await.unwrap();
    let first = started.elapsed();
    assert!(first >= Duration::from_millis(950), "{first:?}");
    let stats = outreach.stats();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (3, 1, 1));
    let started = Instant::now();
    outreach.get(&url).await.unwrap();
    let paced = started.elapsed();
    eprintln!("429 waited {first:?}; the paced request waited {paced:?}");
    assert!(paced >= Duration::from_millis(900), "{paced:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_client_gives_up_on_a_persistent_5xx_and_never_follows_links_off_its_origin() {
    let (base, calls, _) = fake_upstream(vec![(502, vec![], json!({}))]).await;
    let outreach = client(&base, Auth::AccessToken("t".into()));
    let err = outreach
        .get(&outreach.url("users").unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("502"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    // links.next to another host: the token would go there; the sync stops instead.
    let (base, _, seen) = fake_upstream(vec![(
        200,
        vec![],
        json!({ "data": [], "links": { "next": "http://127.0.0.1:9/api/v2/users?page[after]=x" } }),
    )])
    .await;
    let target = TestDb::new().await;
    let outreach = client(&base, Auth::AccessToken("t0ken".into()));
    let err = sync(&target.db, &outreach, &Options::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refusing"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    target.finish().await;
}

/// A client that exchanges the refresh token `first` at `token_base`'s token endpoint, and
/// the URL of `users` on `base`.
fn refreshing_client(base: &str, token_base: &str) -> (Client, reqwest::Url) {
    let outreach = client(
        base,
        Auth::Refresh {
            client_id: "app".into(),
            client_secret: "s3cret".into(),
            refresh_token: "first".into(),
            token_url: format!("{token_base}/oauth/token"),
            redirect_uri: None,
        },
    );
    let url = outreach.url("users").unwrap();
    (outreach, url)
}

#[tokio::test]
async fn a_refresh_token_is_exchanged_and_renewed_on_a_401() {
    let (upstream, up_token) = source().await;
    // The token endpoint hands out the source's admin token twice (a rotated refresh token
    // the second time).
    let grant = |refresh: &str| {
        json!({ "access_token": up_token, "token_type": "bearer", "expires_in": 7200,
                "refresh_token": refresh })
    };
    let (token_url, calls, seen) = fake_upstream(vec![
        (200, vec![], grant("rotated")),
        (200, vec![], grant("rotated-again")),
    ])
    .await;
    let (outreach, url) = refreshing_client(&upstream.base, &token_url);
    outreach.get(&url).await.unwrap();
    outreach.get(&url).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the token is reused");
    let request = seen.lock().unwrap()[0].clone();
    for part in [
        "grant_type=refresh_token",
        "refresh_token=first",
        "client_id=app",
        "client_secret=s3cret",
    ] {
        assert!(request.contains(part), "{request}");
    }
    // Revoked upstream: the next request gets 401, the client refreshes (with the rotated
    // refresh token) and tries once more, which 401s again: an error, not a loop.
    for token in stepgraph::auth::tokens::list(&upstream.db.db)
        .await
        .unwrap()
    {
        stepgraph::auth::tokens::revoke(&upstream.db.db, &token.id.to_string())
            .await
            .unwrap();
    }
    let err = outreach.get(&url).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        seen.lock().unwrap()[1].contains("refresh_token=rotated"),
        "{:?}",
        seen.lock().unwrap()
    );
    upstream.finish().await;
}

fn sign(secret: &[u8], body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn outreach_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn signed_webhook_deliveries_apply_once_and_anything_else_is_refused() {
    use chrono::Utc;
    let (upstream, up_token) = source().await;
    let target = TestDb::new().await;
    let outreach = client(&upstream.base, Auth::AccessToken(up_token.clone()));
    sync(
        &target.db,
        &outreach,
        &options(100, Reconcile::Every(Duration::from_secs(86_400))),
    )
    .await
    .unwrap();
    let db = target.db.clone();
    let secret: &[u8] = b"whsec_test";
    let mirror = TestServer::start_configured(target, stepgraph::graphql::Limits::default(), |s| {
        s.outreach_webhook_secret = Some(Arc::from(secret))
    })
    .await;
    let deliver = |body: String, signature: Option<String>| {
        let mut req = mirror
            .http
            .post(format!("{}/webhooks/outreach", mirror.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            req = req.header("Outreach-Webhook-Signature", signature);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let sequences = everything(&upstream, &up_token, Kind::Sequences).await;
    let (&id, sequence) = sequences.iter().next().unwrap();
    let stored_name = || async {
        entity::sequence::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .name
    };
    let original = stored_name().await;
    let delivery =
        |name: &str, updated: chrono::DateTime<Utc>, delivered: chrono::DateTime<Utc>| {
            let mut data = sequence.clone();
            data["attributes"]["name"] = json!(name);
            data["attributes"]["updatedAt"] = json!(outreach_time(updated));
            json!({ "data": data, "meta": { "eventName": "sequence.updated",
                "deliveredAt": outreach_time(delivered) } })
            .to_string()
        };
    let now = Utc::now();
    let body = delivery("Renamed upstream", now, now);

    // Unsigned, or signed with another secret, or the body changed after signing: refused,
    // and nothing changes.
    assert_eq!(deliver(body.clone(), None).await.0, 401);
    assert_eq!(
        deliver(body.clone(), Some(sign(b"other", &body))).await.0,
        401
    );
    let tampered = body.replace("Renamed upstream", "Renamed by someone");
    assert_eq!(deliver(tampered, Some(sign(secret, &body))).await.0, 401);
    assert_eq!(stored_name().await, original);

    // Signed and fresh: applied once; the same delivery again changes nothing.
    let (status, answer) = deliver(body.clone(), Some(sign(secret, &body))).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("updated")),
        "{answer}"
    );
    assert_eq!(stored_name().await, "Renamed upstream");
    let (status, answer) = deliver(body.clone(), Some(sign(secret, &body))).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("unchanged")),
        "{answer}"
    );

    // A late delivery of an older state does not win over what is stored.
    let older = delivery("An older name", now - chrono::Duration::minutes(1), now);
    let (status, answer) = deliver(older.clone(), Some(sign(secret, &older))).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("stale")),
        "{answer}"
    );
    assert_eq!(stored_name().await, "Renamed upstream");

    // A replay of a delivery made long ago is refused, signed or not.
    let replay = delivery("Replayed", now, now - chrono::Duration::minutes(10));
    let (status, answer) = deliver(replay.clone(), Some(sign(secret, &replay))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "STALE_DELIVERY");
    assert_eq!(stored_name().await, "Renamed upstream");

    // A destroyed task disappears, once.
    let tasks = everything(&upstream, &up_token, Kind::Tasks).await;
    let (&task, data) = tasks.iter().next().unwrap();
    let destroyed = json!({ "data": data, "meta": { "eventName": "task.destroyed",
        "deliveredAt": outreach_time(Utc::now()) } })
    .to_string();
    let (status, answer) = deliver(destroyed.clone(), Some(sign(secret, &destroyed))).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("deleted")),
        "{answer}"
    );
    assert!(
        entity::task::Entity::find_by_id(task)
            .one(&db)
            .await
            .unwrap()
            .is_none()
    );
    let (_, answer) = deliver(destroyed.clone(), Some(sign(secret, &destroyed))).await;
    assert_eq!(answer["result"], "unchanged");

    // A resource we do not mirror is acknowledged and ignored.
    let prospect = json!({ "data": { "type": "prospect", "id": 1, "attributes": {} },
        "meta": { "eventName": "prospect.updated", "deliveredAt": outreach_time(Utc::now()) } })
    .to_string();
    let (status, answer) = deliver(prospect.clone(), Some(sign(secret, &prospect))).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("ignored")));

    mirror.finish().await;
    upstream.finish().await;
}

#[tokio::test]
async fn webhooks_are_off_without_a_secret() {
    let (server, _) = source().await;
    let res = server
        .http
        .post(format!("{}/webhooks/outreach", server.base))
        .header("Outreach-Webhook-Signature", "00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    server.finish().await;
}

#[tokio::test]
async fn steps_reordered_upstream_arrive_one_page_at_a_time_and_still_fit() {
    let (upstream, up_token) = source().await;
    let target = TestDb::new().await;
    let outreach = client(&upstream.base, Auth::AccessToken(up_token.clone()));
    let every_day = Reconcile::Every(Duration::from_secs(86_400));
    sync(&target.db, &outreach, &options(50, every_day))
        .await
        .unwrap();
    // The sequence with the most steps: its first step moves to the end (every other step
    // moves up one), then back.
    let steps = everything(&upstream, &up_token, Kind::SequenceSteps).await;
    let mut by_sequence: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for (id, step) in &steps {
        let seq = step["relationships"]["sequence"]["data"]["id"]
            .as_i64()
            .unwrap();
        let order = step["attributes"]["order"].as_i64().unwrap();
        by_sequence.entry(seq).or_default().push((order, *id));
    }
    let (_, mut sequence) = by_sequence
        .into_iter()
        .max_by_key(|(_, s)| s.len())
        .unwrap();
    sequence.sort();
    assert!(sequence.len() >= 3, "{sequence:?}");
    let (first, last) = (sequence[0].1, sequence.len());
    for (step, order) in [(first, last), (first, 1)] {
        let patch = patch_step(&upstream, &up_token, step, json!({ "order": order })).await;
        assert_eq!(patch.status, 200, "{}", patch.body);
        let report = sync(&target.db, &outreach, &options(1, every_day))
            .await
            .unwrap();
        assert_nothing_skipped(&report);
        assert!(of(&report, Kind::SequenceSteps).1 >= 2, "{report:?}");
    }
    serve_and_compare(upstream, &up_token, target).await;
}

#[tokio::test]
async fn step_writes_on_a_mirror_go_to_outreach_first_and_come_back_from_its_answer() {
    use stepgraph::service::upstream::Upstream;
    use stepgraph_outreach::OutreachWrites;
    let (upstream, up_token) = source().await;
    let target = TestDb::new().await;
    let outreach = Arc::new(client(&upstream.base, Auth::AccessToken(up_token.clone())));
    sync(
        &target.db,
        &outreach,
        &options(100, Reconcile::Every(Duration::from_secs(86_400))),
    )
    .await
    .unwrap();
    let writes: Arc<dyn Upstream> = Arc::new(OutreachWrites::new(outreach.clone()));
    let mirror = TestServer::start_configured(target, stepgraph::graphql::Limits::default(), |s| {
        s.upstream = Some(writes.clone())
    })
    .await;
    let token = mirror.token_for_role(Role::Admin).await;
    let steps = everything(&upstream, &up_token, Kind::SequenceSteps).await;
    let sequence = steps.values().next().unwrap()["relationships"]["sequence"]["data"]["id"]
        .as_i64()
        .unwrap();
    let both_agree = || async {
        assert_eq!(
            everything(&upstream, &up_token, Kind::SequenceSteps).await,
            everything(&mirror, &token, Kind::SequenceSteps).await
        );
    };

    // Created through the mirror's JSON:API: Outreach makes it (its id), the mirror holds
    // Outreach's answer, and the later steps of the sequence moved down on both.
    let created = mirror
        .api(
            "POST",
            "/sequenceSteps",
            &token,
            Some(json!({ "data": { "type": "sequenceStep",
                "attributes": { "stepType": "task", "order": 1, "interval": 60, "taskNote": "via the mirror" },
                "relationships": { "sequence": { "data": { "type": "sequence", "id": sequence } } } } })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["id"].as_i64().unwrap();
    let there = upstream
        .api("GET", &format!("/sequenceSteps/{id}"), &up_token, None)
        .await;
    assert_eq!(there.status, 200);
    assert_eq!(
        there.body["data"]["attributes"]["taskNote"],
        "via the mirror"
    );
    assert_eq!(there.body["data"]["attributes"]["order"], 1);
    both_agree().await;

    // Updated through the mirror's GraphQL.
    let updated = mirror
        .gql(
            &token,
            "mutation($id: ID!) { updateSequenceStep(id: $id, input: { order: 2, taskNote: \"moved\" }) { id order taskNote } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert_eq!(updated.data()["updateSequenceStep"]["order"], 2);
    let there = upstream
        .api("GET", &format!("/sequenceSteps/{id}"), &up_token, None)
        .await;
    assert_eq!(there.body["data"]["attributes"]["taskNote"], "moved");
    both_agree().await;

    // Outreach refuses (the sequence was locked there after the last sync): the mirror answers
    // Outreach's refusal and changes nothing.
    upstream
        .db
        .exec(&format!(
            "UPDATE sequences SET locked = TRUE WHERE id = {sequence}"
        ))
        .await
        .unwrap();
    let refused = patch_step(
        &mirror,
        &token,
        id,
        json!({ "taskNote": "refused upstream" }),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Outreach"),
        "{}",
        refused.body
    );
    let here = mirror
        .api("GET", &format!("/sequenceSteps/{id}"), &token, None)
        .await;
    assert_eq!(here.body["data"]["attributes"]["taskNote"], "moved");
    upstream
        .db
        .exec(&format!(
            "UPDATE sequences SET locked = FALSE WHERE id = {sequence}"
        ))
        .await
        .unwrap();

    // The mirror's own policy still decides first: a viewer's write never reaches Outreach.
    let viewer = mirror.token_for_role(Role::Viewer).await;
    let before = steps_count(&upstream).await;
    let denied = mirror
        .api("DELETE", &format!("/sequenceSteps/{id}"), &viewer, None)
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(steps_count(&upstream).await, before);

    // Deleted through the mirror: gone on both, the gap closed on both.
    let deleted = mirror
        .api("DELETE", &format!("/sequenceSteps/{id}"), &token, None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let gone = upstream
        .api("GET", &format!("/sequenceSteps/{id}"), &up_token, None)
        .await;
    assert_eq!(gone.status, 404);
    both_agree().await;

    mirror.finish().await;
    upstream.finish().await;
}

async fn steps_count(server: &TestServer) -> u64 {
    entity::sequence_step::Entity::find()
        .count(&server.db.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_access_token_is_renewed_before_it_expires() {
    let (upstream, up_token) = source().await;
    // Tokens that expire in 30 s: inside the client's one-minute margin, so every request
    // renews first.
    let grant = json!({ "access_token": up_token, "token_type": "bearer", "expires_in": 30 });
    let (token_url, calls, _) = fake_upstream(vec![(200, vec![], grant)]).await;
    let (outreach, url) = refreshing_client(&upstream.base, &token_url);
    outreach.get(&url).await.unwrap();
    outreach.get(&url).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(outreach.stats().refreshed, 2);
    upstream.finish().await;
}
