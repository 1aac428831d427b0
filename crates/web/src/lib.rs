//! What every HTTP adapter shares, below all of them (the JSON:API, the GraphQL endpoint, the
//! ingest endpoint and the server): the bearer token and the viewer behind it, the
//! per-request database handle that counts SQL statements, the headers an error status
//! implies, and the words for a body that could not be read.
//!
//! Boundary: axum's types and the domain only; no adapter's wire format.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use entity::reads::{Db, ReadPool};
use sea_orm::DatabaseConnection;
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::auth::tokens::{self, AuthCache, Scope};
use stepgraph_domain::error::AppError;

pub mod replicas;
pub mod trace;

/// Why a request has no viewer.
pub enum AuthFailure {
    /// No usable token: answered with 401 and this message.
    Unauthenticated(&'static str),
    /// The token store failed (database down, ...).
    Failed(AppError),
}

/// The token of an `Authorization` value, `Bearer <token>` (the scheme as RFC 6750 spells it,
/// or in lower case); the HTTP header and a WebSocket's `connection_init` payload both carry
/// it this way.
pub fn strip_bearer(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// The token of an `Authorization: Bearer <token>` header, or why there is none.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthFailure::Unauthenticated(
            "missing Authorization header: send `Authorization: Bearer <token>`",
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(strip_bearer)
        .ok_or(AuthFailure::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ))
}

/// The request's bearer token, hashed (SHA-256): the key of what is kept per token (rate
/// limit buckets, write positions), never the token itself.
pub fn bearer_key(headers: &HeaderMap) -> Option<[u8; 32]> {
    use sha2::Digest;
    let token = bearer(headers).ok()?;
    Some(sha2::Sha256::digest(token.as_bytes()).into())
}

/// The viewer behind the request's bearer token, which must hold `scope` (else
/// `Failed(Forbidden)`), through the server's authentication cache.
pub async fn viewer_for(
    db: &DatabaseConnection,
    cache: &AuthCache,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<Viewer, AuthFailure> {
    Ok(viewer_scoped(db, cache, headers, scope).await?.0)
}

/// As [`viewer_for`], with every scope the token holds.
pub async fn viewer_scoped(
    db: &DatabaseConnection,
    cache: &AuthCache,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<(Viewer, tokens::Scopes), AuthFailure> {
    let token = bearer(headers)?;
    match tokens::authenticate_scoped(db, token, scope, Some(cache)).await {
        Ok(found) => Ok(found),
        Err(AppError::Unauthenticated)
            if stepgraph_domain::auth::oidc::installed().is_some()
                && stepgraph_domain::auth::oidc::looks_like_jwt(token) =>
        {
            Err(AuthFailure::Unauthenticated(
                "the identity provider's token did not verify (signature, issuer, audience, expiry) or its user is locked",
            ))
        }
        Err(AppError::Unauthenticated) => {
            Err(AuthFailure::Unauthenticated("unknown or revoked token"))
        }
        Err(err) => Err(AuthFailure::Failed(err)),
    }
}

/// What a request's statements cost: how many ran, and the slowest (when asked to keep it).
#[derive(Default)]
pub struct Meter {
    /// Statements run through the handle (the `x-sql-statements` response header).
    pub statements: AtomicUsize,
    /// The longest a statement took, in microseconds.
    slowest_us: AtomicU64,
    /// That statement's SQL (placeholders, never the bound values), when kept.
    slowest_sql: Mutex<Option<String>>,
}

impl Meter {
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::Relaxed)
    }

    /// The slowest statement: how long it took and its SQL (when [`counted`] kept it).
    pub fn slowest(&self) -> (Duration, Option<String>) {
        let sql = self
            .slowest_sql
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (
            Duration::from_micros(self.slowest_us.load(Ordering::Relaxed)),
            sql,
        )
    }
}

/// Sees every statement after it ran, with its SQL (placeholders, never values), how long it
/// took and whether it failed: the metrics' statement-duration histogram, when they are on.
pub type StatementHook = Arc<dyn Fn(&str, Duration, bool) + Send + Sync>;

/// A handle on the pool that counts the statements run through it (the `x-sql-statements`
/// response header, and the statement-count tests) and notes the slowest; its SQL text is
/// kept only with `keep_slowest` (the slow-operation log), since copying it costs. Each
/// statement also goes to `hook` and, when traced, becomes a span. Its reads run on `reads`
/// (the server's read pool, `entity::reads`) when given, counted the same way.
pub fn counted(
    db: &DatabaseConnection,
    reads: Option<&Arc<ReadPool>>,
    keep_slowest: bool,
    hook: Option<&StatementHook>,
) -> (Db, Arc<Meter>) {
    let meter = Arc::new(Meter::default());
    let mut db = db.clone();
    let m = meter.clone();
    let hook = hook.cloned();
    let system = trace::system_name(db.get_database_backend());
    let callback: entity::reads::Meter = Arc::new(move |info| {
        m.statements.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(info.elapsed.as_micros()).unwrap_or(u64::MAX);
        if m.slowest_us.fetch_max(us, Ordering::Relaxed) < us && keep_slowest {
            *m.slowest_sql.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(info.statement.sql.clone());
        }
        tracing::trace!(target: "stepgraph::sql", elapsed_us = us, sql = %info.statement.sql, "statement");
        report(hook.as_ref(), system, info);
    });
    let on_pool = callback.clone();
    db.set_metric_callback(move |info| on_pool(info));
    (Db::new(db, reads.cloned(), Some(callback)), meter)
}

/// What every observed statement goes to besides its count: the hook (metrics) and, when
/// traced, a span.
fn report(hook: Option<&StatementHook>, system: &'static str, info: &sea_orm::metric::Info<'_>) {
    if let Some(hook) = hook {
        hook(&info.statement.sql, info.elapsed, info.failed);
    }
    trace::statement(system, &info.statement.sql, info.elapsed, info.failed);
}

/// A handle on the pool whose statements go to `hook` and, when traced, become spans of the
/// current trace: for the paths that do not count theirs with [`counted`] (the event ingest,
/// webhooks, subscriptions); the pool itself when neither is on.
pub fn observed(db: &DatabaseConnection, hook: Option<StatementHook>) -> DatabaseConnection {
    let mut db = db.clone();
    if trace::on() || hook.is_some() {
        let system = trace::system_name(db.get_database_backend());
        db.set_metric_callback(move |info| report(hook.as_ref(), system, info));
    }
    db
}

/// The headers an error status implies, the same on every API: a 401 challenges for a bearer
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
