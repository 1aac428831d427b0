//! The HTTP server: routes, request logging, health checks and graceful shutdown.
//!
//! [`router`] builds the whole application from shared state, and [`run`] serves it on an
//! already-bound listener until a shutdown future resolves, so tests drive exactly what `main`
//! drives, on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use entity::user;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use tokio::net::TcpListener;

use crate::auth::tokens;
use crate::graphql::{self, AppSchema, Limits};
use crate::http;
use crate::seed::demo;

/// What every request handler can reach. Cheap to clone: the connection is a pool handle and
/// the schema is reference-counted. Nothing here is per-user or mutable: the server is
/// stateless, so several instances can share one database.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub limits: Limits,
    /// A token to pre-fill in GraphiQL's header editor (only in `--demo`).
    pub graphiql_token: Option<String>,
    /// Single-threaded runtimes, one per core, that execute GraphQL requests (see
    /// `http::graphql::execute` for why).
    pub request_pool: tokio_util::task::LocalPoolHandle,
}

impl AppState {
    pub fn new(db: DatabaseConnection, limits: Limits) -> Self {
        Self {
            db,
            schema: graphql::build_schema(limits),
            limits,
            graphiql_token: None,
            request_pool: tokio_util::task::LocalPoolHandle::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        }
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let graphql = axum::routing::post(http::graphql::post)
        .get(http::graphql::get)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes));
    Router::new()
        .route("/graphql", graphql)
        .route("/graphiql", get(http::graphiql::page))
        .route("/graphiql/assets/{file}", get(http::graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One structured log line per request: method, path (never the query string, which may hold
/// a GET query), status, latency and the SQL statements it ran. No headers, so no tokens.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let statements = res
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    tracing::info!(
        %method,
        path,
        status = res.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        sql_statements = statements,
        "request"
    );
    res
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers; 503 otherwise, so a load balancer stops routing here.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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

/// `stepgraph serve`: optional demo data, then serve until a signal.
pub async fn serve(
    db: DatabaseConnection,
    listen: SocketAddr,
    limits: Limits,
    demo_data: bool,
) -> anyhow::Result<()> {
    let mut state = AppState::new(db, limits);
    if demo_data {
        state.graphiql_token = prepare_demo(&state.db).await?;
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, graphiql_offline = http::graphiql::offline(), "listening");
    println!("stepgraph is listening on http://{addr}");
    println!("  GraphiQL: http://{addr}/graphiql   GraphQL: http://{addr}/graphql");
    println!("  health:   http://{addr}/healthz    readiness: http://{addr}/readyz");
    run(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// Loads the demo data into an empty database and prints one fresh token per role. Returns
/// the member's token, to pre-fill in GraphiQL.
async fn prepare_demo(db: &DatabaseConnection) -> anyhow::Result<Option<String>> {
    if user::Entity::find().count(db).await? > 0 {
        println!("the database already has data; --demo loads nothing and creates no tokens");
        return Ok(None);
    }
    let counts = demo::load(db).await?;
    println!("loaded demo data: {counts}");
    println!("one token per role (each shown once):");
    let mut prefill = None;
    for (email, role) in demo::DEMO_USERS {
        let issued = tokens::create(db, email, Some("demo".into())).await?;
        let role = format!("{role:?}").to_lowercase();
        println!(
            "  {role:<7} {email:<26} Authorization: Bearer {}",
            issued.token
        );
        if prefill.is_none() && role == "member" {
            prefill = Some(issued.token);
        }
    }
    Ok(prefill)
}
