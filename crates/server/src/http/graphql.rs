//! `POST /graphql` and `GET /graphql`: authentication, request limits, per-request context.
//!
//! A hand-written handler rather than async-graphql-axum's stock service, because the stock
//! service runs mutations over GET, accepts any content type, applies no body limit and
//! accepts batches of any size (see shared/reference/hardening-notes.md). Here:
//! - every operation needs a valid bearer token (401 with `WWW-Authenticate: Bearer`);
//! - POST takes JSON only (415 otherwise), at most `max_body_bytes` (413), and batches of at
//!   most `max_batch` operations (400);
//! - GET runs queries only (405 for a mutation);
//! - each request gets its own loaders and a database handle that counts its SQL statements,
//!   reported in the `x-sql-statements` response header;
//! - a request that runs longer than the timeout is answered with 503.

use std::time::Duration;

use async_graphql::BatchResponse;
use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Viewer;
use crate::auth::tokens::Scope;
use crate::graphql::RequestCtx;
use crate::graphql::context::Budget;
use crate::graphql::cost;
use crate::graphql::executor::{BatchQueue, Drive};
use crate::graphql::persisted::{Refusal, Source};
use crate::http::AuthFailure;
use crate::http::metrics::Outcome;
use crate::{AppState, SharedState};

/// A GraphQL-shaped error body with a status of our choosing.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    let mut res = (status, axum::Json(body)).into_response();
    crate::http::error_headers(status, res.headers_mut());
    res
}

/// The viewer behind the request's bearer token, or the GraphQL-shaped error response.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Viewer, Response> {
    Ok(authenticate_scoped(state, headers).await?.0)
}

/// As [`authenticate`], and whether the token may send ad-hoc documents where only trusted
/// ones run (the `adhoc` scope).
async fn authenticate_scoped(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Viewer, bool), Response> {
    let found =
        stepgraph_web::viewer_scoped(&state.db, state.feed.auth_cache(), headers, Scope::Api).await;
    match found {
        Ok((viewer, scopes)) => Ok((viewer, scopes.contains(Scope::AdHoc))),
        Err(AuthFailure::Unauthenticated(msg)) => Err(error_response(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            msg,
        )),
        Err(AuthFailure::Failed(err)) => {
            err.log();
            let status = StatusCode::from_u16(err.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(error_response(status, err.code(), &err.public_message()))
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false)
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as Content-Type: application/json",
        );
    }
    let (viewer, ad_hoc) = match authenticate_scoped(&state, &headers).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let (status, code, message) = crate::http::body_problem(&rejection);
            return error_response(status, code, message);
        }
    };
    // One operation, or a list of them (a batch): told apart by the first byte, so the body
    // is deserialised once, straight into its type.
    let is_batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if is_batch {
        serde_json::from_slice::<Vec<Wire>>(&body)
    } else {
        serde_json::from_slice::<Wire>(&body).map(|one| vec![one])
    };
    let Ok(operations) = parsed else {
        return error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", &bad_body(&body));
    };
    let size = operations.len();
    if size == 0 || size > state.limits.max_batch {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &format!(
                "a batch must hold between 1 and {} operations",
                state.limits.max_batch
            ),
        );
    }
    let requests = operations
        .into_iter()
        .map(|op| op.settle(&state, ad_hoc))
        .collect();
    execute(&state, viewer, &headers, !is_batch, requests).await
}

/// One operation as sent: async-graphql's request fields, and the `documentId` of a trusted
/// document (GraphQL over HTTP's persisted documents), which async-graphql does not know.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: async_graphql::Variables,
    #[serde(default)]
    extensions: async_graphql::Extensions,
    #[serde(default)]
    document_id: Option<String>,
}

impl Wire {
    /// The request to run, its document settled from a persisted document or refused
    /// ([`crate::graphql::persisted`]) before anything parses it.
    fn settle(self, state: &AppState, ad_hoc: bool) -> Result<async_graphql::Request, Refusal> {
        let mut request = async_graphql::Request::new(self.query.unwrap_or_default());
        request.operation_name = self.operation_name;
        request.variables = self.variables;
        request.extensions = self.extensions;
        let source = state
            .persisted
            .resolve(&mut request, self.document_id.as_deref(), ad_hoc);
        if let Some(metrics) = &state.metrics {
            metrics.document(match source {
                Ok(Source::AdHoc) => "ad_hoc",
                Ok(Source::Apq) => "apq",
                Ok(Source::Trusted) => "trusted",
                Err(_) => "refused",
            });
        }
        source?;
        Ok(request)
    }

    /// `GET /graphql`'s query string: `query`, `operationName`, `variables` and `extensions`
    /// (JSON), `documentId`.
    fn from_query_string(raw: &str) -> Result<Self, String> {
        let mut wire = Wire::default();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            match &*key {
                "query" => wire.query = Some(value.into_owned()),
                "operationName" => wire.operation_name = Some(value.into_owned()),
                "documentId" => wire.document_id = Some(value.into_owned()),
                "variables" => {
                    wire.variables = serde_json::from_str(&value)
                        .map_err(|e| format!("`variables` is not a JSON object: {e}"))?;
                }
                "extensions" => {
                    wire.extensions = serde_json::from_str(&value)
                        .map_err(|e| format!("`extensions` is not a JSON object: {e}"))?;
                }
                _ => {}
            }
        }
        Ok(wire)
    }
}

/// Why a body is not a GraphQL request, in the client's terms (serde's own message for an
/// untagged enum names our Rust types).
fn bad_body(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Err(err) => format!(
            "the body is not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        ),
        Ok(_) => "the body must be a GraphQL request, {\"query\": \"...\", \"variables\": {...}, \
                  \"operationName\": \"...\"}, or a list of them; `query` must be a string and \
                  `variables` an object"
            .into(),
    }
}

/// `GET /graphql?query=...`: queries only.
pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (viewer, ad_hoc) = match authenticate_scoped(&state, &headers).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let request = match Wire::from_query_string(query.as_deref().unwrap_or("")) {
        Ok(wire) => wire.settle(&state, ad_hoc),
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("bad query string: {err}"),
            );
        }
    };
    // A persisted document is known only now: GET refuses it too when it is a mutation.
    if request.as_ref().is_ok_and(|r| is_mutation(&state, r)) {
        let mut res = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "mutations must be sent with POST",
        );
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    execute(&state, viewer, &headers, true, vec![request]).await
}

/// One operation of a request as it was answered: the response, its document (when it
/// parsed and passed the cost check) and the operation name it asked for.
type Answered = (
    async_graphql::Response,
    Option<std::sync::Arc<async_graphql::parser::types::ExecutableDocument>>,
    Option<String>,
);

/// The slow-operation log line (`serve --slow-operation-ms`): which operations, what the cost
/// check measured them at, how many statements they ran and the slowest of those (its SQL has
/// placeholders, never a bound value).
fn log_slow(
    responses: &[Answered],
    complexity: usize,
    elapsed: Duration,
    meter: &crate::http::Meter,
) {
    let operations: Vec<&str> = responses
        .iter()
        .map(|(_, doc, name)| {
            cost::operation_name(doc.as_deref(), name.as_deref()).unwrap_or("(anonymous)")
        })
        .collect();
    let (slowest, sql) = meter.slowest();
    tracing::warn!(
        operations = operations.join(","),
        complexity,
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        sql_statements = meter.statements(),
        slowest_statement_ms = slowest.as_secs_f64() * 1000.0,
        slowest_statement = sql.as_deref().unwrap_or(""),
        "slow operation"
    );
}

/// Counts one operation: its type and name as the document says (`unknown` when it did not
/// parse or names no such operation).
fn record(
    metrics: &crate::http::metrics::Metrics,
    doc: Option<&async_graphql::parser::types::ExecutableDocument>,
    operation: Option<&str>,
    outcome: Outcome,
) {
    let kind = doc
        .and_then(|d| cost::operation_type(d, operation))
        .unwrap_or("unknown");
    metrics.operation(kind, cost::operation_name(doc, operation), outcome);
}

/// Whether the operation a request would run is a mutation (unparseable documents are left
/// to the executor, which reports them properly).
fn is_mutation(state: &AppState, request: &async_graphql::Request) -> bool {
    // Parsed once: the document is kept, and the executor's `Documents::parse` finds it.
    let Some(doc) = state.documents.document(&request.query) else {
        return false;
    };
    let doc = &*doc;
    match request.operation_name.as_deref() {
        // Without a name, any mutation in the document counts: GET never runs one.
        None => doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation),
        name => crate::graphql::cost::selected_operation(doc, name)
            .is_some_and(|op| op.node.ty == OperationType::Mutation),
    }
}

async fn execute(
    state: &AppState,
    viewer: Viewer,
    headers: &HeaderMap,
    single: bool,
    requests: Vec<Result<async_graphql::Request, Refusal>>,
) -> Response {
    // Queries read from a replica when there are any (with read-your-writes); a request with
    // a mutation runs wholly on the primary.
    let writes = requests
        .iter()
        .any(|r| r.as_ref().is_ok_and(|r| is_mutation(state, r)));
    let reader = match &state.replicas {
        Some(replicas) if !writes => match replicas.reader(headers).await {
            Ok(reader) => Some(reader),
            Err(bad) => {
                return error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", &bad.to_string());
            }
        },
        _ => None,
    };
    // A read on a replica is kept to run again on the primary if the replica fails under it
    // (stopped, restarting): a read is safe to repeat, and the client never sees the failure.
    let again: Option<Vec<_>> = reader
        .as_ref()
        .filter(|r| r.on_replica())
        .map(|_| requests.iter().map(copy_request).collect());
    let db = reader.as_ref().map_or(&state.db, |r| &r.db);
    let reads = stepgraph_web::replicas::Reader::read_pool(reader.as_ref(), state.reads.as_ref());
    let (mut res, unavailable) =
        execute_on(state, viewer, headers, single, requests, db, reads).await;
    if unavailable
        && let (Some(replicas), Some(reader), Some(again)) = (&state.replicas, &reader, again)
    {
        replicas.failed(reader);
        let reads = state.reads.as_ref();
        res = execute_on(state, viewer, headers, single, again, &state.db, reads)
            .await
            .0;
    }
    // Where a later read must have caught up to, to see this request's writes.
    if writes
        && let Some(replicas) = &state.replicas
        && let Some(position) = replicas.written(headers).await
    {
        res.headers_mut()
            .insert(stepgraph_web::replicas::POSITION_HEADER, position);
    }
    res
}

/// A request as it arrived, before it ran (async-graphql's `Request` is not `Clone`: it
/// carries the data the run adds, which this one has none of yet).
fn copy_request(
    request: &Result<async_graphql::Request, Refusal>,
) -> Result<async_graphql::Request, Refusal> {
    let request = request.as_ref().map_err(Clone::clone)?;
    let mut copy = async_graphql::Request::new(request.query.clone());
    copy.operation_name = request.operation_name.clone();
    copy.variables = request.variables.clone();
    copy.extensions = request.extensions.clone();
    Ok(copy)
}

/// Runs the requests on `db`; the response, and whether the database was unreachable for
/// part of it.
async fn execute_on(
    state: &AppState,
    viewer: Viewer,
    headers: &HeaderMap,
    single: bool,
    requests: Vec<Result<async_graphql::Request, Refusal>>,
    db: &sea_orm::DatabaseConnection,
    reads: Option<&std::sync::Arc<entity::reads::ReadPool>>,
) -> (Response, bool) {
    let started = std::time::Instant::now();
    let slow = state.slow_operation;
    let (db, meter) = crate::http::counted(
        db,
        reads,
        slow.is_some(),
        state.metrics.as_ref().map(|m| m.statement_hook()),
    );
    let budget = Budget::new(state.limits.max_statements);
    let schemas = state.schema.clone();
    let metrics = state.metrics.clone();
    let documents = state.documents.clone();
    let limits = state.limits;
    let upstream = state
        .upstream
        .clone()
        .map(crate::graphql::mutation::UpstreamWrites);
    // Parsing, the cost check and execution all run inside the timeout; the request and its
    // loaders' batches run in this task (see `graphql::executor`), so a client that
    // disconnects drops its work, and the timeout stops all of it.
    let batches =
        BatchQueue::default().observed(state.metrics.as_ref().map(|m| m.batch_hook().clone()));
    let queue = batches.clone();
    let run = async move {
        let mut out = Vec::with_capacity(requests.len());
        let mut spent = cost::Spent::default();
        for request in requests {
            let mut request = match request {
                Ok(request) => request,
                Err(refusal) => {
                    out.push((refusal.into_response(), None, None));
                    continue;
                }
            };
            let operation = request.operation_name.clone();
            // A document that does not parse is left to the executor, which reports it.
            let doc = documents.parse(&mut request);
            let span = crate::graphql::trace::operation_span(
                doc.as_deref(),
                operation.as_deref(),
                &request.query,
            );
            if let Some(doc) = &doc
                && let Err(refusal) = cost::check(
                    doc,
                    operation.as_deref(),
                    &request.variables,
                    cost::shape(),
                    &limits,
                )
                .and_then(|complexity| {
                    if let Some(m) = &metrics {
                        m.cost(complexity);
                    }
                    spent.charge(complexity, &limits)
                })
            {
                if let Some(m) = &metrics {
                    record(m, Some(doc), operation.as_deref(), Outcome::RefusedByCost);
                }
                crate::graphql::trace::operation_failed(&span);
                out.push((refusal.into_response(), None, operation));
                continue;
            }
            // Objects come back as JSON text, written out by `raw::to_vec` below.
            let ctx = RequestCtx::new(viewer, db.clone(), queue.clone(), budget.clone()).raw_json();
            let mut request = request.data(ctx);
            if let Some(upstream) = &upstream {
                request = request.data(upstream.clone());
            }
            // A request like one that ran without error is not validated again.
            let key = schemas.key(&request);
            let response = tracing::Instrument::instrument(
                crate::graphql::execute(schemas.for_key(key), request),
                span.clone(),
            )
            .await;
            if !response.errors.is_empty() {
                crate::graphql::trace::operation_failed(&span);
            }
            if let Some(key) = key
                && response.errors.is_empty()
            {
                schemas.remember(key);
            }
            if let Some(m) = &metrics {
                let outcome = if response.errors.is_empty() {
                    Outcome::Ok
                } else if response.data == async_graphql::Value::Null
                    && response.errors.iter().all(|e| e.path.is_empty())
                {
                    Outcome::ValidationError
                } else {
                    Outcome::FieldError
                };
                record(m, doc.as_deref(), operation.as_deref(), outcome);
            }
            out.push((response, doc, operation));
        }
        (out, spent.total())
    };
    let run = Drive::new(run, batches);
    let timeout = Duration::from_secs(state.limits.timeout_secs);
    let (mut responses, complexity) = match tokio::time::timeout(timeout, run).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(
                timeout_secs = state.limits.timeout_secs,
                "GraphQL request timed out"
            );
            let res = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "the request took too long and was stopped; try a smaller query",
            );
            return (res, false);
        }
    };
    for (r, doc, operation) in &mut responses {
        if let Some(doc) = doc {
            crate::graphql::response_order::restore(&mut r.data, doc, operation.as_deref());
        }
    }
    if let Some(threshold) = slow
        && started.elapsed() >= threshold
    {
        log_slow(&responses, complexity, started.elapsed(), &meter);
    }
    let mut response = if single {
        BatchResponse::Single(responses.pop().map(|(r, _, _)| r).unwrap_or_default())
    } else {
        BatchResponse::Batch(responses.into_iter().map(|(r, _, _)| r).collect())
    };
    add_codes(&mut response);
    let unavailable = responses_mut(&mut response).iter().any(|r| {
        r.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| *c == async_graphql::Value::from("SERVICE_UNAVAILABLE"))
        })
    });
    let wants_graphql_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/graphql-response+json"));
    let content_type = if wants_graphql_json {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    // GraphQL over HTTP: a client that accepts application/graphql-response+json is told a
    // request error (a document that does not parse or validate, variables that do not fit,
    // a document over a limit: nothing ran) with 400 and no `data` entry. With
    // application/json every well-formed request is 200, as that media type's clients expect.
    let request_error = wants_graphql_json
        && matches!(&response, BatchResponse::Single(r)
            if r.data == async_graphql::Value::Null
                && !r.errors.is_empty()
                && r.errors.iter().all(|e| e.path.is_empty()));
    let status = if request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let serialised = if request_error {
        serde_json::to_value(&response).and_then(|mut json| {
            if let Some(obj) = json.as_object_mut() {
                obj.remove("data");
            }
            serde_json::to_vec(&json)
        })
    } else {
        crate::graphql::raw::to_vec(&response)
    };
    let body = match serialised {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise a GraphQL response");
            let res = error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal error",
            );
            return (res, false);
        }
    };
    let mut res = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&meter.statements().to_string()) {
        res.headers_mut().insert("x-sql-statements", v);
    }
    // The database was unreachable for part of the answer: tell the client when to retry.
    if unavailable {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    (res, unavailable)
}

/// The responses of a single or batched request.
fn responses_mut(response: &mut BatchResponse) -> Vec<&mut async_graphql::Response> {
    match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(list) => list.iter_mut().collect(),
    }
}

/// Errors raised by async-graphql itself (parsing, validation, limits, argument coercion)
/// carry no code; give them one so every error a client sees has `extensions.code`.
fn add_codes(response: &mut BatchResponse) {
    for r in responses_mut(response) {
        for err in &mut r.errors {
            let has_code = err
                .extensions
                .as_ref()
                .is_some_and(|e| e.get("code").is_some());
            if !has_code {
                // Values that do not fit an argument's type (in the document or in the
                // variables) are the client's input; anything else the executor rejects
                // before running is a malformed or over-limit document.
                let bad_value = err.message.starts_with("Invalid value for argument")
                    || err.message.starts_with("Failed to parse");
                let code = if bad_value || !err.path.is_empty() {
                    "BAD_USER_INPUT"
                } else {
                    "GRAPHQL_VALIDATION_FAILED"
                };
                err.extensions
                    .get_or_insert_with(Default::default)
                    .set("code", code);
            }
        }
    }
}
