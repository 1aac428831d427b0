//! The load and the checks of the deployment test, `tests/deploy/run.sh`, which starts a
//! PostgreSQL primary and a streaming replica, three instances and HAProxy in front, then
//! runs this (ignored in the normal suite) while it kills one instance, drains another and
//! stops and restarts the replica.
//!
//! Through HAProxy, for `DEPLOY_SECS`: writers (one per step, each with its own token) update
//! their step's `taskNote` and read it back sending the `X-Commit-Position` they got, as a
//! client wrapper does; readers page through steps; a subscriber follows the writers' steps,
//! reconnecting whenever its socket closes and reading the steps again after each
//! (re)subscription. Then it checks: every answer is a 200 without errors, or a 503 (or a
//! GraphQL `SERVICE_UNAVAILABLE`) with `Retry-After`; no acknowledged write is lost; no read
//! misses its client's own earlier write; the subscriber ends with every step's last value;
//! and a token is cut off at the rate limit's count across the instances still up. It prints
//! the counts as one JSON line.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const UPDATE: &str = "mutation($id: ID!, $note: String!) { updateSequenceStep(id: $id, input: { taskNote: $note }) { id taskNote } }";
const READ: &str = "query($id: ID!) { sequenceStep(id: $id) { id taskNote updatedAt } }";
const LIST: &str =
    "{ sequenceSteps(first: 20) { nodes { id taskNote sequence { name } creator { name } } } }";
const TRACKED: &str = "query($ids: [ID!]!) { sequenceSteps(filter: { id: $ids }, first: 100) { nodes { id taskNote updatedAt } } }";
const CHANGES: &str = "subscription($ids: [ID!]!) { sequenceStepChanged(filter: { id: $ids }) { id kind node { taskNote updatedAt } } }";

#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<String, u64>,
    writes_acked: u64,
    reads_of_own_writes: u64,
    stale_reads: u64,
}

type Shared = Arc<Mutex<Tally>>;

/// One GraphQL request; the outcome's name (`200`, `503+retry-after`, `200+CODE+retry-after`,
/// `502`, `error: ...`), the body when it answered, and the commit position it gave.
async fn ask(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
    position: Option<&str>,
) -> (String, Option<Value>, Option<String>) {
    let mut req = http
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(position) = position {
        req = req.header("x-commit-position", position);
    }
    let res = match req.send().await {
        Ok(res) => res,
        Err(err) => return (format!("error: {err}"), None, None),
    };
    let status = res.status().as_u16();
    let retry = if res.headers().contains_key("retry-after") {
        "+retry-after"
    } else {
        ""
    };
    let position = res
        .headers()
        .get("x-commit-position")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = res.text().await.unwrap_or_default();
    let body: Option<Value> = serde_json::from_str(&text).ok();
    if status != 200 && status != 429 {
        eprintln!(
            "{status} from {url}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    let code = body
        .as_ref()
        .and_then(|b| b["errors"][0]["extensions"]["code"].as_str())
        .map(|c| format!("+{c}"))
        .unwrap_or_default();
    let outcome = if status == 200 && code.is_empty() {
        "200".to_string()
    } else {
        format!("{status}{code}{retry}")
    };
    (outcome, body, position)
}

fn count(tally: &Shared, outcome: &str) {
    *tally
        .lock()
        .unwrap()
        .outcomes
        .entry(outcome.to_string())
        .or_default() += 1;
}

/// A step's note and when it was written, the newer of two kept.
type Seen = HashMap<String, (String, String)>;

fn merge(seen: &mut Seen, id: &str, node: &Value) {
    let (Some(note), Some(at)) = (node["taskNote"].as_str(), node["updatedAt"].as_str()) else {
        return;
    };
    let entry = seen.entry(id.to_string()).or_default();
    if at >= entry.1.as_str() {
        *entry = (note.to_string(), at.to_string());
    }
}

/// Follows the tracked steps until `until`, reconnecting whenever the socket ends.
async fn subscriber(
    url: String,
    token: String,
    ids: Vec<String>,
    until: Instant,
    http: reqwest::Client,
    tally: Shared,
    mut ready: Option<tokio::sync::oneshot::Sender<()>>,
) -> (Seen, u64) {
    let mut seen = Seen::new();
    let mut connections = 0;
    while Instant::now() < until {
        let ws = format!("{}/graphql", url.replacen("http://", "ws://", 1));
        let mut request = ws.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let Ok(Ok((mut socket, _))) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(request),
        )
        .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        connections += 1;
        let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
        let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": CHANGES, "variables": {"ids": ids}}});
        if socket
            .send(Message::Text(init.to_string().into()))
            .await
            .is_err()
        {
            continue;
        }
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let Ok(Some(Ok(msg))) = tokio::time::timeout(left, socket.next()).await else {
                break;
            };
            let Message::Text(text) = msg else {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            match value["type"].as_str() {
                Some("connection_ack") => {
                    if socket
                        .send(Message::Text(subscribe.to_string().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    // What changed while not subscribed: read the steps again.
                    let (outcome, body, _) =
                        ask(&http, &url, &token, TRACKED, json!({ "ids": ids }), None).await;
                    count(&tally, &outcome);
                    if let Some(nodes) = body
                        .as_ref()
                        .and_then(|b| b["data"]["sequenceSteps"]["nodes"].as_array())
                    {
                        for node in nodes {
                            merge(&mut seen, node["id"].as_str().unwrap(), node);
                        }
                    }
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                }
                Some("ping") => {
                    let _ = socket
                        .send(Message::Text(json!({"type": "pong"}).to_string().into()))
                        .await;
                }
                Some("next") => {
                    let change = &value["payload"]["data"]["sequenceStepChanged"];
                    merge(&mut seen, change["id"].as_str().unwrap(), &change["node"]);
                }
                Some("error") | Some("complete") => break,
                _ => {}
            }
        }
    }
    (seen, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by tests/deploy/run.sh, against a primary, a replica, three instances and HAProxy"]
async fn under_load() {
    let env = |key: &str| std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set"));
    let url = env("DEPLOY_URL");
    let instances: Vec<String> = env("DEPLOY_INSTANCES")
        .split(',')
        .map(str::to_owned)
        .collect();
    let tokens: Vec<String> = env("DEPLOY_TOKENS").split(',').map(str::to_owned).collect();
    let steps: Vec<String> = env("DEPLOY_STEP_IDS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let limit_token = env("DEPLOY_LIMIT_TOKEN");
    let limit: u64 = env("DEPLOY_RATE_LIMIT").parse().unwrap();
    let secs: u64 = env("DEPLOY_SECS").parse().unwrap();
    let readers = 2;
    assert!(tokens.len() > steps.len() + readers, "a token per worker");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let tally: Shared = Arc::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);

    // Three subscribers, started one after another before the load: each sends two
    // requests through HAProxy's round robin (its WebSocket, then its first read), so they
    // land on three different instances, and the killed and the drained ones lose theirs.
    let mut subs = Vec::new();
    for _ in 0..3 {
        let (ready, subscribed) = tokio::sync::oneshot::channel();
        subs.push(tokio::spawn(subscriber(
            url.clone(),
            tokens[steps.len() + readers].clone(),
            steps.clone(),
            deadline + Duration::from_secs(4),
            http.clone(),
            tally.clone(),
            Some(ready),
        )));
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .expect("a subscriber subscribed")
            .unwrap();
    }
    let mut workers = Vec::new();
    for (w, id) in steps.iter().enumerate() {
        let (http, url, token, id, tally) = (
            http.clone(),
            url.clone(),
            tokens[w].clone(),
            id.clone(),
            tally.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut position: Option<String> = None;
            let mut acked = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let note = format!("deploy {w} {n}");
                let vars = json!({ "id": id, "note": note });
                let (outcome, _, at) =
                    ask(&http, &url, &token, UPDATE, vars, position.as_deref()).await;
                count(&tally, &outcome);
                if outcome == "200" {
                    acked = n;
                    position = at.or(position);
                    tally.lock().unwrap().writes_acked += 1;
                    let (outcome, body, _) = ask(
                        &http,
                        &url,
                        &token,
                        READ,
                        json!({ "id": id }),
                        position.as_deref(),
                    )
                    .await;
                    count(&tally, &outcome);
                    if outcome == "200" {
                        let read = body.unwrap()["data"]["sequenceStep"]["taskNote"].clone();
                        let mut t = tally.lock().unwrap();
                        t.reads_of_own_writes += 1;
                        if read != json!(note) {
                            t.stale_reads += 1;
                            eprintln!("stale read of step {id}: {read} after {note:?}");
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (id, token, acked, position)
        }));
    }
    for r in 0..readers {
        let (http, url, token, tally) = (
            http.clone(),
            url.clone(),
            tokens[steps.len() + r].clone(),
            tally.clone(),
        );
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let (outcome, _, _) = ask(&http, &url, &token, LIST, json!({}), None).await;
                count(&tally, &outcome);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (String::new(), token, 0, None)
        }));
    }
    let mut finals = Vec::new();
    for worker in workers {
        let (id, token, acked, position) = worker.await.unwrap();
        if !id.is_empty() {
            finals.push((id, token, acked, position));
        }
    }

    // No acknowledged write lost: each step holds its writer's last acknowledged note, or a
    // later one whose answer was lost on the way.
    let mut lost = 0;
    let mut last_notes = HashMap::new();
    for (w, (id, token, acked, position)) in finals.iter().enumerate() {
        let (outcome, body, _) = ask(
            &http,
            &url,
            token,
            READ,
            json!({ "id": id }),
            position.as_deref(),
        )
        .await;
        count(&tally, &outcome);
        assert_eq!(outcome, "200", "the final read of step {id}");
        let note = body.unwrap()["data"]["sequenceStep"]["taskNote"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let n: u64 = note
            .strip_prefix(&format!("deploy {w} "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if n < *acked {
            lost += 1;
            eprintln!("step {id}: {note:?} after the acknowledged note {acked}");
        }
        last_notes.insert(id.clone(), note);
    }
    let (mut gaps, mut connections) = (0, 0);
    for sub in subs {
        let (seen, connected) = sub.await.unwrap();
        connections += connected;
        for (id, note) in &last_notes {
            if seen.get(id).map(|s| &s.0) != Some(note) {
                gaps += 1;
                eprintln!(
                    "a subscriber ended with {:?} for step {id}, not {note:?}",
                    seen.get(id)
                );
            }
        }
    }

    // The shared rate limit: one token, round robin over the instances still up, is cut off
    // at the limit's count (plus what refills meanwhile).
    let limit_started = Instant::now();
    let mut allowed = 0u64;
    let mut refused_by = Vec::new();
    for i in 0..limit * 2 {
        let at = &instances[i as usize % instances.len()];
        let (outcome, _, _) = ask(
            &http,
            at,
            &limit_token,
            "{ viewer { id } }",
            json!({}),
            None,
        )
        .await;
        if outcome == "200" {
            allowed += 1;
        } else {
            assert!(outcome.starts_with("429"), "{outcome}");
            break;
        }
    }
    // Then every instance sees the same nearly empty bucket (with a bucket per instance,
    // each would still hold about half of the limit). One request refills every 60/limit s,
    // so a few may be allowed again meanwhile.
    for at in &instances {
        let res = http
            .post(format!("{at}/graphql"))
            .bearer_auth(&limit_token)
            .json(&json!({ "query": "{ viewer { id } }" }))
            .send()
            .await
            .unwrap();
        let remaining: u64 = res.headers()["ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        refused_by.push(json!({ "status": res.status().as_u16(), "remaining": remaining }));
    }
    let refill = (limit_started.elapsed().as_secs_f64() * limit as f64 / 60.0).ceil() as u64;

    let t = tally.lock().unwrap();
    let requests: u64 = t.outcomes.values().sum();
    let failed: BTreeMap<_, _> = t
        .outcomes
        .iter()
        .filter(|(o, _)| {
            !(o.as_str() == "200"
                || o.as_str() == "503+retry-after"
                || o.as_str() == "200+SERVICE_UNAVAILABLE+retry-after")
        })
        .collect();
    let summary = json!({
        "seconds": started.elapsed().as_secs_f64(),
        "requests": requests,
        "outcomes": t.outcomes,
        "writes_acknowledged": t.writes_acked,
        "writes_lost": lost,
        "reads_of_own_writes": t.reads_of_own_writes,
        "stale_reads": t.stale_reads,
        "subscription_connections": connections,
        "subscription_gaps": gaps,
        "rate_limit": { "limit": limit, "allowed": allowed, "refill_allowance": refill, "then": refused_by },
    });
    println!("DEPLOY {summary}");
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert_eq!(lost, 0, "lost writes");
    assert_eq!(t.stale_reads, 0, "stale reads");
    assert_eq!(gaps, 0, "a subscriber missed a step's last value");
    assert!(connections > 3, "no subscriber had to reconnect");
    assert!(t.writes_acked > 100, "the writers hardly wrote");
    assert!(
        (limit..=limit + refill).contains(&allowed),
        "the token was cut off after {allowed} requests, not {limit}"
    );
    assert!(
        refused_by
            .iter()
            .all(|o| o["remaining"].as_u64().unwrap() <= 5),
        "{refused_by:?}"
    );
}
