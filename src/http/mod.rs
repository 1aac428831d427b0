//! HTTP adapters: the GraphQL endpoint and the GraphiQL playground (the JSON:API surface is
//! [`crate::rest`]), and what every endpoint shares: the bearer token and the per-request
//! database handle that counts SQL statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use sea_orm::DatabaseConnection;

use crate::auth::Viewer;
use crate::auth::tokens::{self, Scope};
use crate::error::AppError;
use crate::server::AppState;

pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod hosts;
pub mod shed;
pub mod ws;

/// Why a request has no viewer.
pub enum AuthFailure {
    /// No usable token: answered with 401 and this message.
    Unauthenticated(&'static str),
    /// The token store failed (database down, ...).
    Failed(AppError),
}

/// The viewer behind the request's `Authorization: Bearer <token>` header, for the API.
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AuthFailure> {
    viewer_for(state, headers, Scope::Api).await
}

/// The viewer behind the bearer token, which must hold `scope` (else `Failed(Forbidden)`).
pub async fn viewer_for(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<Viewer, AuthFailure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthFailure::Unauthenticated(
            "missing Authorization header: send `Authorization: Bearer <token>`",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(AuthFailure::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ));
    };
    match tokens::authenticate_for(&state.db, token, scope, Some(state.feed.auth_cache())).await {
        Ok(viewer) => Ok(viewer),
        Err(AppError::Unauthenticated) => {
            Err(AuthFailure::Unauthenticated("unknown or revoked token"))
        }
        Err(err) => Err(AuthFailure::Failed(err)),
    }
}

/// Why a request body could not be read, in words for a client (never axum's own text): the
/// status, the error code and the message.
pub fn body_problem(
    rejection: &axum::extract::rejection::BytesRejection,
) -> (StatusCode, &'static str, &'static str) {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            status,
            "PAYLOAD_TOO_LARGE",
            "the request body is larger than this server accepts (STEPGRAPH_MAX_BODY_BYTES)",
        )
    } else {
        (status, "BAD_REQUEST", "the request body could not be read")
    }
}

/// A handle on the pool that counts the statements run through it (the `x-sql-statements`
/// response header, and the statement-count tests).
pub fn counted(db: &DatabaseConnection) -> (DatabaseConnection, Arc<AtomicUsize>) {
    let statements = Arc::new(AtomicUsize::new(0));
    let mut db = db.clone();
    let counter = statements.clone();
    db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(target: "stepgraph::sql", elapsed_us = info.elapsed.as_micros() as u64, sql = %info.statement.sql, "statement");
    });
    (db, statements)
}

/// The headers an error status implies, the same on both APIs: a 401 challenges for a bearer
/// token, a 503 says when to retry.
pub fn error_headers(status: StatusCode, headers: &mut HeaderMap) {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"stepgraph\""),
        );
    }
}
