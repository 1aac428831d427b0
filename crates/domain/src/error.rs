//! The one application error type, [`AppError`], and its mapping to client-facing codes.
//!
//! Error policy:
//! - The service layer and everything request-facing return `AppError`.
//! - Each variant knows its GraphQL `extensions.code` ([`AppError::code`]) and HTTP status
//!   ([`AppError::http_status`]); the GraphQL and REST adapters only translate, never decide.
//! - `Internal` wraps anything unexpected (database errors above all). Its cause is logged with
//!   [`AppError::log`]; clients only ever see the generic message of [`AppError::public_message`].
//! - `anyhow` is for the CLI and start-up, never for a request path.

use std::fmt;

use sea_orm::{DbErr, SqlErr};

/// A field that failed validation and why. `field` is the input name a client sent
/// (camelCase, as in the GraphQL input and the JSON:API attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid bearer token.
    #[error("authentication required: send a valid bearer token")]
    Unauthenticated,
    /// The viewer can see the resource but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist or the viewer cannot see it (the two are indistinguishable).
    #[error("{resource} {id} was not found")]
    NotFound { resource: &'static str, id: String },
    /// Bad input; nothing was changed.
    #[error("{}", validation_message(.0))]
    Validation(Vec<FieldError>),
    /// The request would cost more than a limit allows (SQL statements, say).
    #[error("{0}")]
    TooExpensive(String),
    /// The request is valid but collides with the current state (a uniqueness rule, say).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached right now; the request may be retried.
    #[error("the service is temporarily unavailable, retry shortly")]
    Unavailable(#[source] DbErr),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn validation_message(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    format!("invalid input: {}", parts.join("; "))
}

impl AppError {
    pub fn not_found(resource: &'static str, id: impl fmt::Display) -> Self {
        Self::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The stable GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Validation(_) => "BAD_USER_INPUT",
            Self::TooExpensive(_) => "QUERY_TOO_EXPENSIVE",
            Self::Conflict(_) => "CONFLICT",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The HTTP status the REST surface answers with (422 for validation, as Outreach does).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound { .. } => 404,
            Self::Validation(_) => 422,
            Self::TooExpensive(_) => 400,
            Self::Conflict(_) => 409,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// What a client may be told. Internal causes never appear here.
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// Field errors of a validation failure, empty otherwise.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(errors) => errors,
            _ => &[],
        }
    }

    /// Logs server-side failures with their whole cause chain; client errors are not logged
    /// as errors because they are the client's business.
    pub fn log(&self) {
        match self {
            Self::Internal(err) => tracing::error!(error = ?err, "internal error"),
            Self::Unavailable(err) => tracing::warn!(error = %err, "database unavailable"),
            _ => {}
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                return Self::Conflict("the change collides with an existing record".into());
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Self::Conflict("the change refers to or removes a record in use".into());
            }
            _ => {}
        }
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Internal(anyhow::Error::new(err))
        }
    }
}

/// Connection-level failures are retryable, not bugs: the pool is exhausted or closed, the
/// connection broke (I/O), or the server is going away or refusing connections (PostgreSQL
/// SQLSTATE classes 08 and 57P, MySQL's "server has gone away" 2006 and "lost connection"
/// 2013). Each pooled connection surfaces one such error when PostgreSQL restarts.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
            Sqlx::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code == "2006"
                    || code == "2013"
            }),
            _ => false,
        },
        _ => false,
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = AppError::from(DbErr::Custom("secret table xyz exploded".into()));
        assert_eq!(err.code(), "INTERNAL_SERVER_ERROR");
        assert_eq!(err.http_status(), 500);
        assert!(!err.public_message().contains("xyz"));
    }

    #[test]
    fn lost_connections_are_retryable() {
        use std::sync::Arc;
        let io =
            sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let err = AppError::from(DbErr::Query(sea_orm::RuntimeErr::SqlxError(Arc::new(io))));
        assert_eq!(err.code(), "SERVICE_UNAVAILABLE");
        assert_eq!(err.http_status(), 503);
        let timeout = sea_orm::sqlx::Error::PoolTimedOut;
        let err = AppError::from(DbErr::Exec(sea_orm::RuntimeErr::SqlxError(Arc::new(
            timeout,
        ))));
        assert_eq!(err.http_status(), 503);
    }

    #[test]
    fn validation_names_every_field() {
        let err = AppError::Validation(vec![
            FieldError::new("order", "must be at least 1"),
            FieldError::new("taskNote", "is too long"),
        ]);
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert_eq!(err.http_status(), 422);
        let msg = err.public_message();
        assert!(
            msg.contains("order: must be at least 1") && msg.contains("taskNote"),
            "{msg}"
        );
        assert_eq!(err.field_errors().len(), 2);
    }
}
