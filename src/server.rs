//! The HTTP server: routes, health checks and graceful shutdown.
//!
//! [`router`] builds the whole application from shared state, and [`run`] serves it on an
//! already-bound listener until a shutdown future resolves, so tests drive exactly what `main`
//! drives, on port 0.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use entity::user;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use tokio::net::TcpListener;

use crate::auth::tokens;
use crate::seed::demo;

/// What every request handler can reach. Cheap to clone: the connection is a pool handle.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
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
    demo_data: bool,
) -> anyhow::Result<()> {
    if demo_data {
        prepare_demo(&db).await?;
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    println!("stepgraph is listening on http://{addr} (health: /healthz, readiness: /readyz)");
    run(listener, AppState { db }, shutdown_signal()).await?;
    Ok(())
}

/// Loads the demo data into an empty database and prints one fresh token per role.
async fn prepare_demo(db: &DatabaseConnection) -> anyhow::Result<()> {
    if user::Entity::find().count(db).await? > 0 {
        println!("the database already has data; --demo loads nothing and creates no tokens");
        return Ok(());
    }
    let counts = demo::load(db).await?;
    println!("loaded demo data: {counts}");
    for (email, role) in demo::DEMO_USERS {
        let issued = tokens::create(db, email, Some("demo".into())).await?;
        println!(
            "  {:<7} {email:<26} Authorization: Bearer {}",
            format!("{role:?}").to_lowercase(),
            issued.token
        );
    }
    Ok(())
}
