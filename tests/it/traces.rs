//! OpenTelemetry traces, end to end: the binary, configured by `OTEL_*` variables only, sends
//! its spans over OTLP/HTTP to a receiver in this test, which decodes them with the official
//! protobuf definitions (`opentelemetry-proto`, generated from open-telemetry/opentelemetry-
//! proto) and checks the tree (request, operation, loader batch, SQL statement), the
//! attributes, that no secret is in any of it, and that the log line of the request names
//! the same trace.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::cli::{Cli, free_port, stop_with_stderr, wait_ready};

/// Every export request the receiver was sent.
type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// An OTLP/HTTP receiver on a free port: `POST /v1/traces` with a protobuf body.
async fn receiver() -> (u16, Received) {
    use axum::routing::post;
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body)
                    .expect("an OTLP export request in protobuf");
                store.lock().unwrap().push(request);
                (
                    [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attr(span, key) {
        Some(AnyValue::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn attr_int(span: &Span, key: &str) -> Option<i64> {
    match attr(span, key) {
        Some(AnyValue::IntValue(n)) => Some(*n),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans of one trace received so far.
fn spans_of(received: &Received, trace_id: &str) -> Vec<Span> {
    received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter(|s| hex(&s.trace_id) == trace_id)
        .cloned()
        .collect()
}

/// The spans of one trace, once the server span of `path` arrived (the exporter sends every
/// 100 ms here).
async fn trace_of(received: &Received, trace_id: &str, path: &str) -> Vec<Span> {
    for _ in 0..100 {
        let spans = spans_of(received, trace_id);
        if spans.iter().any(|s| attr_str(s, "url.path") == Some(path)) {
            // The server span ends last; the others were queued before it.
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no server span for {path} in trace {trace_id}");
}

fn spawn_traced(cli: &Cli, port: u16, otlp: u16) -> std::process::Child {
    spawn_traced_with(cli, port, otlp, &[], "100")
}

/// [`spawn_traced`] with global arguments and the exporter's delay (ms) between batches.
fn spawn_traced_with(
    cli: &Cli,
    port: u16,
    otlp: u16,
    global: &[&str],
    delay_ms: &str,
) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
        .args([
            "--database-url",
            &cli.url(),
            "--log",
            "info",
            "--log-format",
            "json",
        ])
        .args(global)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("DATABASE_URL")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp}"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", delay_ms)
        .env("OTEL_SERVICE_NAME", "stepgraph-under-test")
        .env("OTEL_TRACES_SAMPLER", "parentbased_always_on")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port);
    child
}

/// A query for two sequences' names, in the caller's trace `traceparent`.
async fn two_sequences(
    http: &reqwest::Client,
    port: u16,
    token: &str,
    traceparent: &str,
) -> reqwest::Response {
    http.post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        .header("traceparent", traceparent)
        .json(&serde_json::json!({ "query": "{ sequences(first: 2) { nodes { name } } }" }))
        .send()
        .await
        .unwrap()
}

/// On one worker thread (the current-thread scheduler, where nothing drives the runtime once
/// `main` stops driving it), the spans still queued at SIGTERM are sent before the process
/// exits: the exporter batches once a minute here, so only the shutdown's flush sends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_thread_the_last_spans_are_sent_at_shutdown() {
    let cli = Cli::new();
    let token = cli.demo_token("ada.admin@example.com");
    let (otlp, received) = receiver().await;
    let port = free_port();
    let child = spawn_traced_with(&cli, port, otlp, &["--worker-threads", "1"], "60000");
    let trace_id = "5cf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let res = two_sequences(&reqwest::Client::new(), port, &token, &traceparent).await;
    assert_eq!(res.status(), 200);
    assert!(
        spans_of(&received, trace_id).is_empty(),
        "nothing sent before the shutdown"
    );
    let started = std::time::Instant::now();
    let stderr = tokio::task::spawn_blocking(move || stop_with_stderr(child))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the server took {:?} to stop: {stderr}",
        started.elapsed()
    );
    let spans = spans_of(&received, trace_id);
    assert!(
        spans
            .iter()
            .any(|s| attr_str(s, "url.path") == Some("/graphql")),
        "the request's server span was sent at shutdown: {} spans; {stderr}",
        spans.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_request_is_traced_from_the_request_down_to_each_statement() {
    let cli = Cli::new();
    let token = cli.demo_token("ada.admin@example.com");
    let (otlp, received) = receiver().await;
    let port = free_port();
    let child = spawn_traced(&cli, port, otlp);

    // The caller's trace: the server span must continue it.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let literal = "LiteralSecret-8c1d";
    let variable = "VariableSecret-51e0";
    let query = format!(
        "query Traced($id: ID!) {{
           sequences(first: 3) {{ nodes {{ name owner {{ name }} sequenceSteps(first: 2) {{ nodes {{ id }} }} }} }}
           byLiteral: node(id: \"{literal}\") {{ __typename }}
           byVariable: node(id: $id) {{ __typename }}
         }}"
    );
    let http = reqwest::Client::new();
    let res = http
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&serde_json::json!({ "query": query, "variables": { "id": variable } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["data"]["sequences"]["nodes"][0]["name"].is_string(),
        "{body}"
    );

    // A caller's trace that was not sampled (flags 00): the parent-based sampler leaves the
    // request out, and no span of it is made or sent.
    let unsampled = "11111111111111111111111111111111";
    let traceparent = format!("00-{unsampled}-2222222222222222-00");
    let res = two_sequences(&http, port, &token, &traceparent).await;
    assert_eq!(res.status(), 200);

    // A JSON:API request in a trace of its own.
    let rest_trace = "0af7651916cd43dd8448eb211c80319c";
    let res = http
        .get(format!(
            "http://127.0.0.1:{port}/api/v2/sequenceSteps?page[size]=2"
        ))
        .bearer_auth(&token)
        .header(
            "traceparent",
            format!("00-{rest_trace}-b7ad6b7169203331-01"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The event ingest, in a third trace; its idempotency key is a bound value.
    let ingest = cli
        .ok(&[
            "token",
            "create",
            "--user",
            "ada.admin@example.com",
            "--scopes",
            "ingest",
        ])
        .trim()
        .to_string();
    let ingest_trace = "5c2a1e9f3b7d4a6c8e0f1a2b3c4d5e6f";
    let key = "IdempotencySecret-77aa";
    let res = http
        .post(format!("http://127.0.0.1:{port}/events/mailings"))
        .bearer_auth(&ingest)
        .header(
            "traceparent",
            format!("00-{ingest_trace}-a1b2c3d4e5f60718-01"),
        )
        .json(&serde_json::json!({ "events": [{
            "idempotencyKey": key, "mailingId": 1, "type": "opened",
            "occurredAt": "2026-11-02T10:00:00Z"
        }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let spans = trace_of(&received, trace_id, "/graphql").await;
    let rest_spans = trace_of(&received, rest_trace, "/api/v2/sequenceSteps").await;
    let ingest_spans = trace_of(&received, ingest_trace, "/events/mailings").await;
    let stderr = stop_with_stderr(child);

    let by_id: HashMap<Vec<u8>, &Span> = spans.iter().map(|s| (s.span_id.clone(), s)).collect();
    let children = |parent: &Span| -> Vec<&Span> {
        spans
            .iter()
            .filter(|s| s.parent_span_id == parent.span_id)
            .collect()
    };
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();

    // The tree as received (`cargo test --test it traces:: -- --nocapture` shows it).
    fn print_tree(spans: &[Span], at: &Span, depth: usize) {
        let attrs: Vec<String> = at
            .attributes
            .iter()
            .filter(|kv| !kv.key.starts_with("db.query") && kv.key != "graphql.document")
            .map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(AnyValue::StringValue(v)) => format!("{}={v}", kv.key),
                    Some(AnyValue::IntValue(v)) => format!("{}={v}", kv.key),
                    other => format!("{}={other:?}", kv.key),
                },
            )
            .collect();
        println!("{}{}  [{}]", "  ".repeat(depth), at.name, attrs.join(" "));
        for child in spans.iter().filter(|s| s.parent_span_id == at.span_id) {
            print_tree(spans, child, depth + 1);
        }
    }

    // The server span continues the caller's trace.
    let server = spans
        .iter()
        .find(|s| attr_str(s, "url.path") == Some("/graphql"))
        .unwrap();
    print_tree(&spans, server, 0);
    assert_eq!(hex(&server.parent_span_id), caller_span);
    assert_eq!(server.name, "POST /graphql", "{names:?}");
    assert_eq!(server.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(attr_str(server, "http.route"), Some("/graphql"));
    assert_eq!(attr_str(server, "http.request.method"), Some("POST"));
    assert_eq!(attr_int(server, "http.response.status_code"), Some(200));

    // The operation, named and attributed as the GraphQL conventions say.
    let operation = children(server)
        .into_iter()
        .find(|s| attr_str(s, "graphql.operation.type").is_some())
        .unwrap_or_else(|| panic!("an operation span under the server span: {names:?}"));
    assert_eq!(operation.name, "query Traced");
    assert_eq!(attr_str(operation, "graphql.operation.type"), Some("query"));
    assert_eq!(
        attr_str(operation, "graphql.operation.name"),
        Some("Traced")
    );
    let document = attr_str(operation, "graphql.document").unwrap();
    assert!(
        document.starts_with("query Traced($id:ID!){sequences(first:0){nodes{name owner{name}"),
        "{document}"
    );
    assert!(document.contains("byLiteral:node(id:\"\")"), "{document}");

    // Loader batches and relationship pages under the operation, each statement under the
    // batch or page that ran it.
    let under = |s: &Span, ancestor: &Span| {
        let mut at = s;
        while let Some(parent) = by_id.get(&at.parent_span_id) {
            if parent.span_id == ancestor.span_id {
                return true;
            }
            at = parent;
        }
        false
    };
    let under_operation = |s: &Span| under(s, operation);
    let batches: Vec<&Span> = spans
        .iter()
        .filter(|s| attr_str(s, "stepgraph.loader").is_some())
        .collect();
    assert!(!batches.is_empty(), "loader batches: {names:?}");
    assert!(batches.iter().all(|b| under_operation(b)), "{names:?}");
    let page = spans
        .iter()
        .find(|s| attr_str(s, "stepgraph.relationship") == Some("Sequence.sequenceSteps"))
        .unwrap_or_else(|| panic!("a page of Sequence.sequenceSteps: {names:?}"));
    assert_eq!(page.name, "page Sequence.sequenceSteps");
    assert_eq!(attr_int(page, "stepgraph.parents"), Some(3));
    let pages_batch = by_id[&page.parent_span_id];
    assert_eq!(pages_batch.name, "pages Sequence.sequenceSteps");
    assert_eq!(attr_int(pages_batch, "stepgraph.batch.size"), Some(3));

    let statements: Vec<&Span> = spans
        .iter()
        .filter(|s| attr_str(s, "db.system.name").is_some())
        .collect();
    assert!(statements.len() >= 2, "{names:?}");
    for statement in &statements {
        assert_eq!(statement.kind, 3, "SPAN_KIND_CLIENT");
        assert_eq!(attr_str(statement, "db.system.name"), Some("sqlite"));
        let sql = attr_str(statement, "db.query.text").unwrap();
        let op = attr_str(statement, "db.operation.name").unwrap();
        assert!(sql.to_uppercase().starts_with(op), "{op} {sql}");
        assert!(statement.start_time_unix_nano <= statement.end_time_unix_nano);
        // The token's lookup runs before the operation, under the request.
        assert!(under(statement, server), "{}", statement.name);
    }
    assert!(
        statements
            .iter()
            .any(|s| s.name == "SELECT api_tokens" && s.parent_span_id == server.span_id),
        "{names:?}"
    );
    let page_statement = children(page)
        .into_iter()
        .find(|s| attr_str(s, "db.query.text").is_some())
        .unwrap_or_else(|| panic!("the page's statement: {names:?}"));
    assert_eq!(
        attr_str(page_statement, "db.collection.name"),
        Some("sequence_steps")
    );
    assert_eq!(page_statement.name, "SELECT sequence_steps");
    // The root list's statement sits right under the operation.
    assert!(
        children(operation)
            .iter()
            .any(|s| attr_str(s, "db.collection.name") == Some("sequences")),
        "{names:?}"
    );

    // The JSON:API request and the ingest: each a server span named by its route, with its
    // statements right under it.
    for (spans, path, name, table) in [
        (
            &rest_spans,
            "/api/v2/sequenceSteps",
            "GET /api/v2/sequenceSteps",
            "sequence_steps",
        ),
        (
            &ingest_spans,
            "/events/mailings",
            "POST /events/mailings",
            "mailing_events",
        ),
    ] {
        let server = spans
            .iter()
            .find(|s| attr_str(s, "url.path") == Some(path))
            .unwrap();
        assert_eq!(server.name, name);
        assert!(
            spans.iter().any(|s| s.parent_span_id == server.span_id
                && attr_str(s, "db.collection.name") == Some(table)),
            "{:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }

    // Nothing secret anywhere in what was sent: no token, no literal, no variable value, no
    // bound value.
    let everything = format!("{:?}", received.lock().unwrap());
    for secret in [
        token.as_str(),
        ingest.as_str(),
        literal,
        variable,
        key,
        "Bearer",
    ] {
        assert!(!everything.contains(secret), "{secret} was exported");
    }
    let unsampled_spans = spans_of(&received, unsampled).len();
    assert_eq!(
        unsampled_spans, 0,
        "the unsampled request's spans were sent"
    );
    // The service is named by OTEL_SERVICE_NAME.
    assert!(everything.contains("stepgraph-under-test"));

    // The request's log line names its trace and its server span.
    let line = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "request" && l["fields"]["path"] == "/graphql")
        .unwrap_or_else(|| panic!("the request's log line in {stderr}"));
    assert_eq!(line["span"]["trace_id"], trace_id, "{line}");
    assert_eq!(line["span"]["span_id"], hex(&server.span_id), "{line}");
}

/// Only OTLP over HTTP with protobuf is built in: asking for another transport stops the
/// server at startup with a clear message, rather than running without the traces asked for.
#[test]
fn an_unsupported_otlp_protocol_is_refused_at_startup() {
    let cli = Cli::new();
    let out = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
        .args(["--database-url", &cli.url(), "migrate", "status"])
        .env_remove("DATABASE_URL")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported")
            && stderr.contains("http/protobuf"),
        "{stderr}"
    );
    // Without an endpoint the same setting changes nothing: traces are off.
    let out = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
        .args(["--database-url", &cli.url(), "migrate", "status"])
        .env_remove("DATABASE_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}
