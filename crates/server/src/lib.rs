//! The HTTP server: routes, request logging, health checks and graceful shutdown.
//!
//! [`router`] builds the whole application from shared state, and [`run`] serves it on an
//! already-bound listener until a shutdown future resolves, so tests drive exactly what `main`
//! drives, on port 0.

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::graphql::Limits;

pub mod http;

// The crates the server stands on, under the names its modules use.
pub(crate) use stepgraph_domain::{auth, error, live, service, time};
pub(crate) use stepgraph_graphql as graphql;
pub(crate) use stepgraph_rest as rest;

/// What every request handler can reach. Cheap to clone: the connection is a pool handle and
/// the schema is reference-counted. Nothing here is per-user or mutable: the server is
/// stateless, so several instances can share one database.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// The connections the requests' reads on `db` run on (`entity::reads`); `None`: they go
    /// through `db`'s pool.
    pub reads: Option<std::sync::Arc<entity::reads::ReadPool>>,
    /// The schema, and its twin for requests already validated ([`graphql::schemas`]).
    pub schema: std::sync::Arc<graphql::schemas::Schemas>,
    /// Parsed documents by their text, shared by every request of this server.
    pub documents: std::sync::Arc<graphql::documents::Documents>,
    /// Trusted documents and the APQ store ([`graphql::persisted`]).
    pub persisted: std::sync::Arc<graphql::persisted::Persisted>,
    pub limits: Limits,
    /// The public base URL of JSON:API links (`https://api.example.com`); `None`: the
    /// request's `Host`.
    pub public_url: Option<String>,
    /// A token to pre-fill in GraphiQL's header editor (only in `--demo`).
    pub graphiql_token: Option<String>,
    /// Origins allowed to call the API from a browser (CORS); empty: same origin only,
    /// `*`: any origin. Tokens travel in the Authorization header, never in cookies, so no
    /// origin is ever granted credentials.
    pub cors_origins: Vec<String>,
    /// The in-flight bound and the per-token rate limit (see [`crate::http::shed`]).
    pub shedding: std::sync::Arc<http::shed::Shedding>,
    /// Accept mailing events from members' `ingest` tokens (default: admins only).
    pub ingest_members: bool,
    /// This server's change feed, which its subscriptions listen to.
    pub feed: std::sync::Arc<crate::live::Feed>,
    /// Open subscription (WebSocket) connections, bounded by `max_websockets`.
    pub websockets: std::sync::Arc<tokio::sync::Semaphore>,
    /// Turns true when the server shuts down, after the drain: open WebSockets close with
    /// 1012 (HTTP's graceful shutdown does not wait for upgraded connections).
    pub closing: tokio::sync::watch::Sender<bool>,
    /// True from the shutdown signal on: `/readyz` answers 503 while requests are still
    /// served for [`AppState::drain`].
    pub draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// How long to keep serving after the shutdown signal (`serve --drain-secs`).
    pub drain: std::time::Duration,
    /// The `Host` names answered (see [`http::hosts`]); resolved against the listener in
    /// [`run`].
    pub allowed_hosts: http::hosts::HostPolicy,
    /// The shared secret of Outreach's webhooks; `None`: `/webhooks/outreach` answers 404.
    pub outreach_webhook_secret: Option<std::sync::Arc<[u8]>>,
    /// Where step writes go first (`serve --mirror-outreach`): Outreach, through
    /// `service::upstream`; `None`: writes are local.
    pub upstream: Option<std::sync::Arc<dyn crate::service::upstream::Upstream>>,
    /// Read replicas (`serve --read-database-url`); `None`: every read is the primary's.
    pub replicas: Option<std::sync::Arc<stepgraph_web::replicas::Replicas>>,
    /// Prometheus metrics (`serve --metrics-listen`); `None`: nothing is recorded.
    pub metrics: Option<std::sync::Arc<http::metrics::Metrics>>,
    /// GraphQL requests that take at least this long are logged with their cost and slowest
    /// statement (`serve --slow-operation-ms`); `None`: no such log.
    pub slow_operation: Option<std::time::Duration>,
}

/// The state as handlers receive it: axum clones its state for every request, once per
/// layer and route it passes (about 35 times for a GraphQL request), so it is shared behind
/// one `Arc` rather than cloned field by field (strings, origin lists, a dozen reference
/// counts each time).
pub type SharedState = std::sync::Arc<AppState>;

impl AppState {
    pub fn new(db: DatabaseConnection, limits: Limits) -> Self {
        Self {
            feed: crate::live::Feed::start(db.clone(), limits.subscription_backlog.max(1)),
            reads: stepgraph_domain::db::read_pool(&db),
            db,
            schema: std::sync::Arc::new(graphql::schemas::Schemas::new(limits)),
            documents: Default::default(),
            persisted: Default::default(),
            limits,
            public_url: None,
            graphiql_token: None,
            cors_origins: Vec::new(),
            shedding: std::sync::Arc::new(http::shed::Shedding::new(
                limits.max_in_flight,
                limits.rate_limit_per_minute,
            )),
            ingest_members: false,
            websockets: std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_websockets)),
            closing: tokio::sync::watch::Sender::new(false),
            draining: Default::default(),
            drain: std::time::Duration::ZERO,
            allowed_hosts: http::hosts::HostPolicy::Auto(None),
            outreach_webhook_secret: None,
            upstream: None,
            replicas: None,
            metrics: None,
            slow_operation: None,
        }
    }
}

impl AppState {
    /// Records metrics into `metrics` from now on: requests, operations, and every statement
    /// run through [`AppState::db`] (and the handles counted from it).
    pub fn set_metrics(&mut self, metrics: std::sync::Arc<http::metrics::Metrics>) {
        metrics.watch_websockets(self.websockets.clone(), self.limits.max_websockets);
        if let Some(reads) = &self.reads {
            metrics.watch_read_pool(reads.clone());
        }
        if let Some(replicas) = &self.replicas {
            metrics.watch_replicas(replicas.clone());
        }
        self.db = stepgraph_web::observed(&self.db, Some(metrics.statement_hook().clone()));
        let m = metrics.clone();
        self.feed
            .observe_lag(std::sync::Arc::new(move |seconds| m.feed_lag(seconds)));
        // The pool's waits reach the process's first metrics (sqlx reports them through the
        // binary's log subscriber when `DbConfig::report_acquire` is on).
        let waits = metrics.connection_waits().clone();
        stepgraph_domain::db::observe_acquire(Box::new(move |seconds| waits.observe(seconds)));
        self.metrics = Some(metrics);
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let graphql = axum::routing::post(http::graphql::post)
        .get(http::ws::get)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes));
    let cors = cors_layer(&state.cors_origins);
    // The JSON:API comes with its state applied (a `Router<()>`, built in its own crate, so its
    // handlers are compiled there, not here).
    let rest = crate::rest::router(crate::rest::RestState {
        db: state.db.clone(),
        reads: state.reads.clone(),
        feed: state.feed.clone(),
        public_url: state.public_url.as_deref().map(Into::into),
        max_body_bytes: state.limits.max_body_bytes,
        max_list_items: state.limits.max_list_items,
        timeout_secs: state.limits.timeout_secs,
        upstream: state.upstream.clone(),
        replicas: state.replicas.clone(),
        statement_hook: state.metrics.as_ref().map(|m| m.statement_hook().clone()),
    });
    let state: SharedState = std::sync::Arc::new(state);
    // The APIs sit behind load shedding; the playground and health checks do not.
    let apis = Router::new()
        .route("/graphql", graphql)
        .route(
            "/events/mailings",
            axum::routing::post(http::events::post)
                .layer(DefaultBodyLimit::max(state.limits.max_body_bytes)),
        )
        .with_state(state.clone())
        .merge(rest)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::shed::shed,
        ));
    let router = Router::new()
        .route("/graphiql", get(http::graphiql::page))
        .route("/graphiql/assets/{file}", get(http::graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/webhooks/outreach",
            axum::routing::post(http::webhooks::post)
                .layer(DefaultBodyLimit::max(state.limits.max_body_bytes)),
        )
        .with_state(state.clone())
        .merge(apis)
        .route_layer(middleware::from_fn(http::metrics::tag_route))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::hosts::check,
        ))
        .layer(middleware::from_fn(catch_panic))
        .layer(middleware::from_fn_with_state(state, log_request));
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// The CORS policy for the configured origins: GET, POST, PATCH and DELETE with the Authorization and
/// Content-Type headers, no credentials. Invalid origins are skipped with a warning.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    use axum::http::{HeaderValue, Method, header};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| match HeaderValue::from_str(o.trim()) {
                Ok(v) => Some(v),
                Err(_) => {
                    tracing::warn!(origin = %o, "ignoring an invalid CORS origin");
                    None
                }
            })
            .collect();
        AllowOrigin::list(list)
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::HeaderName::from_static(stepgraph_web::replicas::POSITION_HEADER),
            ])
            .expose_headers([
                header::HeaderName::from_static("x-sql-statements"),
                header::HeaderName::from_static(stepgraph_web::replicas::POSITION_HEADER),
                header::HeaderName::from_static("ratelimit-limit"),
                header::HeaderName::from_static("ratelimit-remaining"),
                header::HeaderName::from_static("ratelimit-reset"),
                header::HeaderName::from_static("x-ratelimit-limit"),
                header::HeaderName::from_static("x-ratelimit-remaining"),
                header::HeaderName::from_static("x-ratelimit-reset"),
                header::RETRY_AFTER,
                header::LOCATION,
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// One structured log line per request: method, path (never the query string, which may hold
/// a GET query), status, latency and the SQL statements it ran. No headers, so no tokens.
///
/// The same figures go to the metrics when they are on, with the route's template (see
/// [`http::metrics`]).
async fn log_request(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let request_size = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let label = http::metrics::method_label(&method);
    let active = state.metrics.as_ref().map(|m| m.active(label));
    if let Some(active) = &active {
        active.inc();
    }
    // Health checks are not traced: a load balancer asks every few seconds.
    let spans = if path == "/healthz" || path == "/readyz" {
        stepgraph_web::trace::RequestSpans::none()
    } else {
        stepgraph_web::trace::request_span(&method, &path, req.headers())
    };
    let res = if spans.server.is_none() {
        next.run(req).await
    } else {
        // The server span innermost: it is the current span below, the parent of what the
        // request makes; the log's span around it names its ids on the log's lines.
        let traced = tracing::Instrument::instrument(next.run(req), spans.server.clone());
        tracing::Instrument::instrument(traced, spans.log.clone()).await
    };
    let span = &spans.server;
    let elapsed = started.elapsed();
    let route = res.extensions().get::<axum::extract::MatchedPath>();
    let statements = res
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let status = res.status().as_u16();
    stepgraph_web::trace::finish_request(span, &method, route.map(|r| r.as_str()), status);
    if let (Some(metrics), Some(active)) = (&state.metrics, active) {
        active.dec();
        let response_size = axum::body::HttpBody::size_hint(res.body()).exact();
        metrics.request(
            label,
            route.map(|r| r.as_str()),
            status,
            elapsed.as_secs_f64(),
            statements,
            (request_size, response_size),
        );
    }
    // Inside the request's log span when traced, so the line carries its trace and span ids.
    spans.log.in_scope(|| {
        tracing::info!(
            %method,
            path,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            sql_statements = statements,
            "request"
        )
    });
    res
}

/// A request whose handling panicked is answered 500, logged and counted like any other,
/// instead of its connection being dropped without an answer (hyper's behaviour: a client
/// saw a reset and a load balancer a dead server). The panic's message goes to the log only.
async fn catch_panic(req: Request, next: Next) -> Response {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(res) => res,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = message, "a request panicked; answered 500");
            http::graphql::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal error",
            )
        }
    }
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and the server is not shutting down; 503 otherwise, so a load
/// balancer stops routing here.
async fn readyz(State(state): State<SharedState>) -> (StatusCode, &'static str) {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut state = state;
    state.allowed_hosts = state.allowed_hosts.resolve(listener.local_addr()?);
    let closing = state.closing.clone();
    let draining = state.draining.clone();
    let drain = state.drain;
    let websockets = (state.websockets.clone(), state.limits.max_websockets);
    // Why `into_make_service`: served as it is, a `Router` converts itself again for every
    // connection (`with_state(())`, cloning each route: about 40,000 instructions), while the
    // made service converts once and hands each connection a clone of an `Arc`.
    axum::serve(listener, router(state).into_make_service())
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Draining: readiness fails at once, so a load balancer stops sending new
            // requests, while this one still serves what arrives during the grace period.
            draining.store(true, std::sync::atomic::Ordering::Relaxed);
            if !drain.is_zero() {
                tracing::info!(
                    drain_secs = drain.as_secs(),
                    "draining: /readyz answers 503; serving until the grace period ends"
                );
                tokio::time::sleep(drain).await;
            }
            closing.send_replace(true);
        })
        .await?;
    // Upgraded connections are not waited for by the graceful shutdown above: wait until each
    // socket has sent its close frame (a socket gives its permit back when its task ends, at
    // most a second after `closing`), else the process could exit first and the client would
    // see a reset instead of 1012.
    let (sockets, max) = websockets;
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(std::time::Duration::from_secs(3), sockets.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutting down with WebSockets still open");
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A handler that panics gets its request answered 500, and the server goes on.
    #[tokio::test]
    async fn a_panicking_handler_is_answered_500() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async { std::hint::black_box(None::<&'static str>).expect("boom") }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(middleware::from_fn(catch_panic));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        for (path, status) in [("/boom", "500"), ("/fine", "200"), ("/boom", "500")] {
            let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            socket.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            socket.read_to_string(&mut answer).await.unwrap();
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status}")),
                "{path}: {answer}"
            );
            if status == "500" {
                assert!(answer.contains("INTERNAL_SERVER_ERROR"), "{answer}");
                assert!(
                    !answer.contains("boom"),
                    "the panic stays in the log: {answer}"
                );
            }
        }
    }
}
