//! Load test of the live path: many open subscriptions, then a burst of mailing events;
//! reports ingest throughput and delivery latency. Driven by `bench/live.sh`, which starts the
//! server and passes its address and tokens.
//!
//! ```text
//! cargo run --release --example live_load -- --url http://127.0.0.1:8080 --token <admin api token> \
//!     --ingest-token <admin ingest token> [--subscribers 1000] [--watchers 10] [--events 10000] \
//!     [--batch 100] [--server-pid PID]
//! ```
//!
//! Each of `--subscribers` connections holds `sequenceChanged(id: X)` for one sequence whose
//! mailings get events; `--watchers` more hold `sequenceStepChanged` for every step (a
//! dashboard). Events are grouped so all events of a sequence are in one batch; a change's
//! delivery latency is the time from just before its batch was posted to its arrival at the
//! subscriber. Events are chosen so each moves a counter (the mailing's first unset event).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Args {
    url: String,
    token: String,
    ingest_token: String,
    subscribers: usize,
    watchers: usize,
    events: usize,
    batch: usize,
    server_pid: Option<u32>,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        token: String::new(),
        ingest_token: String::new(),
        subscribers: 1000,
        watchers: 10,
        events: 10_000,
        batch: 100,
        server_pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("a value after each flag");
        match flag.as_str() {
            "--url" => a.url = value(),
            "--token" => a.token = value(),
            "--ingest-token" => a.ingest_token = value(),
            "--subscribers" => a.subscribers = value().parse().unwrap(),
            "--watchers" => a.watchers = value().parse().unwrap(),
            "--events" => a.events = value().parse().unwrap(),
            "--batch" => a.batch = value().parse().unwrap(),
            "--server-pid" => a.server_pid = Some(value().parse().unwrap()),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.url.is_empty() && !a.token.is_empty() && !a.ingest_token.is_empty());
    a
}

/// Resident and peak memory of a process, in MB (from /proc).
fn rss_mb(pid: Option<u32>) -> (u64, u64) {
    let Some(pid) = pid else { return (0, 0) };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Mailing {
    id: i64,
    sequence: i64,
    event: &'static str,
}

/// Mailings with an event that moves a counter, from the API, until `want` are found.
async fn mailings(http: &reqwest::Client, a: &Args, want: usize) -> Vec<Mailing> {
    let query = "query($after: String) { mailings(first: 100, after: $after) { nodes { id sequence { id } deliveredAt openedAt clickedAt repliedAt bouncedAt unsubscribedAt } pageInfo { endCursor hasNextPage } } }";
    let mut out = Vec::new();
    let mut after = Value::Null;
    while out.len() < want {
        let body: Value = http
            .post(format!("{}/graphql", a.url))
            .bearer_auth(&a.token)
            .json(&json!({"query": query, "variables": {"after": after}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = &body["data"]["mailings"];
        for m in page["nodes"].as_array().expect("mailings") {
            let Some(sequence) = m["sequence"]["id"].as_str() else {
                continue;
            };
            let event = [
                ("deliveredAt", "delivered"),
                ("openedAt", "opened"),
                ("clickedAt", "clicked"),
                ("repliedAt", "replied"),
                ("bouncedAt", "bounced"),
                ("unsubscribedAt", "opted_out"),
            ]
            .into_iter()
            .find(|(field, _)| m[*field].is_null())
            .map(|(_, event)| event);
            if let Some(event) = event {
                out.push(Mailing {
                    id: m["id"].as_str().unwrap().parse().unwrap(),
                    sequence: sequence.parse().unwrap(),
                    event,
                });
            }
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    out.truncate(want);
    out
}

type Arrivals = Arc<Mutex<Vec<(i64, Instant)>>>;

/// Opens a subscription on its own connection; returns once it is acknowledged. Arrivals are
/// recorded as (key, instant): the sequence id, or the step id for watchers.
async fn subscribe(a: &Args, query: String, key_path: &'static [&'static str], arrivals: Arrivals) {
    let url = format!("{}/graphql", a.url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", a.token)}})))
        .await
        .unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "connection_ack" {
                break;
            }
            panic!("not acknowledged: {v}");
        }
    }
    ws.send(send(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query}}),
    ))
    .await
    .unwrap();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            let at = Instant::now();
            let v: Value = serde_json::from_str(&t).unwrap();
            match v["type"].as_str() {
                Some("next") => {
                    let mut node = &v["payload"]["data"];
                    for key in key_path {
                        node = &node[*key];
                    }
                    if let Some(id) = node.as_str().and_then(|s| s.parse().ok()) {
                        arrivals.lock().await.push((id, at));
                    } else {
                        eprintln!("unexpected message: {v}");
                    }
                }
                Some("ping") => {
                    let _ = ws.send(send(json!({"type": "pong"}))).await;
                }
                Some("complete") | Some("error") => {
                    eprintln!("subscription ended: {v}");
                    break;
                }
                _ => {}
            }
        }
    });
}

fn percentiles(mut ms: Vec<f64>) -> String {
    if ms.is_empty() {
        return "none".into();
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    format!(
        "n={} p50={:.1} p90={:.1} p99={:.1} max={:.1} ms",
        ms.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        ms[ms.len() - 1]
    )
}

#[tokio::main]
async fn main() {
    let a = args();
    let http = reqwest::Client::new();
    let chosen = mailings(&http, &a, a.events).await;
    assert!(
        !chosen.is_empty(),
        "no mailing left whose events would move a counter"
    );
    // Group by sequence; batches hold whole sequences.
    let mut by_sequence: Vec<(i64, Vec<&Mailing>)> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for m in &chosen {
        let i = *index.entry(m.sequence).or_insert_with(|| {
            by_sequence.push((m.sequence, Vec::new()));
            by_sequence.len() - 1
        });
        by_sequence[i].1.push(m);
    }
    let mut batches: Vec<Vec<&Mailing>> = vec![Vec::new()];
    let mut batch_of: HashMap<i64, usize> = HashMap::new();
    for (sequence, ms) in &by_sequence {
        if batches.last().unwrap().len() + ms.len() > a.batch && !batches.last().unwrap().is_empty()
        {
            batches.push(Vec::new());
        }
        batch_of.insert(*sequence, batches.len() - 1);
        batches.last_mut().unwrap().extend(ms.iter().copied());
    }
    println!(
        "{} events on {} mailings of {} sequences, in {} batches",
        chosen.len(),
        chosen.len(),
        by_sequence.len(),
        batches.len()
    );

    let (rss0, _) = rss_mb(a.server_pid);
    let seq_arrivals: Arrivals = Arc::default();
    let step_arrivals: Arrivals = Arc::default();
    let started = Instant::now();
    let mut watched = Vec::new();
    for i in 0..a.subscribers {
        let (sequence, _) = by_sequence[i % by_sequence.len()];
        watched.push(sequence);
        subscribe(
            &a,
            format!("subscription {{ sequenceChanged(id: \"{sequence}\") {{ kind id node {{ openCount replyCount }} }} }}"),
            &["sequenceChanged", "id"],
            seq_arrivals.clone(),
        )
        .await;
    }
    for _ in 0..a.watchers {
        subscribe(
            &a,
            "subscription { sequenceStepChanged { kind id node { sequence { id } openCount } } }"
                .into(),
            &["sequenceStepChanged", "node", "sequence", "id"],
            step_arrivals.clone(),
        )
        .await;
    }
    // Give the last subscriptions time to reach the feed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_subscribed, _) = rss_mb(a.server_pid);
    println!(
        "{} subscriptions open in {:.1} s; server RSS {} MB before, {} MB with them",
        a.subscribers + a.watchers,
        started.elapsed().as_secs_f64(),
        rss0,
        rss_subscribed
    );

    // The burst: batches back to back.
    let run = format!("{}", std::process::id()) + &format!("{}", started.elapsed().as_nanos());
    let mut sent_at = Vec::new();
    let mut answered_at = Vec::new();
    let burst = Instant::now();
    for (b, batch) in batches.iter().enumerate() {
        let events: Vec<Value> = batch
            .iter()
            .map(|m| {
                let mut e = json!({"idempotencyKey": format!("load-{run}-{}", m.id), "mailingId": m.id, "type": m.event, "occurredAt": "2026-11-20T10:00:00Z"});
                if m.event == "replied" {
                    e["sentiment"] = json!("positive");
                }
                e
            })
            .collect();
        sent_at.push(Instant::now());
        let res = http
            .post(format!("{}/events/mailings", a.url))
            .bearer_auth(&a.ingest_token)
            .json(&json!({ "events": events }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "batch {b}");
        let body: Value = res.json().await.unwrap();
        let applied = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "applied")
            .count();
        assert_eq!(applied, batch.len(), "batch {b}: {body}");
        answered_at.push(Instant::now());
    }
    let ingest = burst.elapsed();
    println!(
        "ingest: {} events in {:.2} s = {:.0} events/s ({} per request)",
        chosen.len(),
        ingest.as_secs_f64(),
        chosen.len() as f64 / ingest.as_secs_f64(),
        a.batch
    );

    // Wait for every expected delivery (or 30 s).
    let expected_seq = a.subscribers;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = seq_arrivals.lock().await.len();
        if got >= expected_seq || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_after, hwm) = rss_mb(a.server_pid);
    // From just before the batch was posted (includes applying it), and from its answer
    // (the commit; a change may even arrive before the answer: counted as 0).
    let latency = |arrivals: &[(i64, Instant)], from: &[Instant]| {
        arrivals
            .iter()
            .filter_map(|(seq, at)| {
                let b = *batch_of.get(seq)?;
                Some(at.saturating_duration_since(from[b]).as_secs_f64() * 1000.0)
            })
            .collect::<Vec<_>>()
    };
    let seq = seq_arrivals.lock().await.clone();
    let steps = step_arrivals.lock().await.clone();
    let reached = watched
        .iter()
        .filter(|s| seq.iter().any(|(id, _)| id == *s))
        .count();
    println!(
        "sequence subscribers: {reached} of {} received their sequence's change",
        a.subscribers
    );
    println!(
        "  latency from the post:   {}",
        percentiles(latency(&seq, &sent_at))
    );
    println!(
        "  latency from the answer: {}",
        percentiles(latency(&seq, &answered_at))
    );
    println!(
        "step watchers ({}): {} changes received",
        a.watchers,
        steps.len()
    );
    println!(
        "  latency from the post:   {}",
        percentiles(latency(&steps, &sent_at))
    );
    println!(
        "  latency from the answer: {}",
        percentiles(latency(&steps, &answered_at))
    );
    println!("server RSS after the burst: {rss_after} MB (peak {hwm} MB)");
    if reached < a.subscribers {
        std::process::exit(1);
    }
}
