//! `POST /events/mailings`: mailing events from a mail provider or a sending pipeline, in
//! batches, applied by [`crate::service::mailings::ingest`].
//!
//! The body is `{"events": [{"idempotencyKey": "...", "mailingId": 123, "type": "opened",
//! "occurredAt": "2026-11-28T10:00:00Z", "sentiment": "positive"}]}` (sentiment only on
//! `replied`). The answer is 200 with one result per event, in order: `applied`, `duplicate`
//! (the key was applied before; nothing changed) or `rejected` with an `error` (`code`,
//! `message`, `fields`). A rejected event never stops the rest of its batch. The request as a
//! whole fails (with `{"error": ...}` and a 4xx/5xx status) only when it cannot be read or
//! authorised, or when the database is unavailable, and then nothing was applied.
//!
//! The token needs the `ingest` scope, and its user must be an admin unless the server runs
//! with `--ingest-members` (then a member's events apply only to mailings they can see).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::enums::{MailingEventType, ReplySentiment, Role};
use sea_orm::ActiveEnum;
use serde_json::{Map, Value, json};

use crate::SharedState;
use crate::auth::tokens::Scope;
use crate::error::{AppError, FieldError};
use crate::http::{AuthFailure, error_headers, viewer_for};
use crate::service::mailings::{self, EventOutcome, MAX_EVENTS_PER_BATCH, MailingEvent};

/// An error of the whole request, in this endpoint's format.
fn failure(status: u16, code: &str, message: impl Into<String>, fields: &[FieldError]) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (
        status,
        axum::Json(json!({ "error": error_body(code, &message.into(), fields) })),
    )
        .into_response();
    error_headers(status, res.headers_mut());
    res
}

fn error_body(code: &str, message: &str, fields: &[FieldError]) -> Value {
    let mut body = json!({ "code": code, "message": message });
    if !fields.is_empty() {
        body["fields"] = fields
            .iter()
            .map(|f| json!({ "field": f.field, "message": f.message }))
            .collect();
    }
    body
}

fn app_failure(err: &AppError) -> Response {
    err.log();
    failure(
        err.http_status(),
        err.code(),
        err.public_message(),
        err.field_errors(),
    )
}

/// One event of the body, or why it cannot be one (reported as its `rejected` result).
fn event_of(item: &Value) -> Result<MailingEvent, AppError> {
    let Some(obj) = item.as_object() else {
        return Err(AppError::Validation(vec![FieldError::new(
            "event",
            "must be an object",
        )]));
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if ![
            "idempotencyKey",
            "mailingId",
            "type",
            "occurredAt",
            "sentiment",
        ]
        .contains(&key.as_str())
        {
            errors.push(FieldError::new(key, "is not a member of a mailing event"));
        }
    }
    let key = required_str(obj, "idempotencyKey", &mut errors).map(str::to_owned);
    let mailing_id = match obj.get("mailingId") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|id| id > 0) => n.as_i64(),
        None | Some(Value::Null) => {
            errors.push(FieldError::new("mailingId", "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("mailingId", "must be a positive integer"));
            None
        }
    };
    let event_type = required_str(obj, "type", &mut errors).and_then(|t| {
        MailingEventType::try_from_value(&t.to_owned())
            .map_err(|_| {
                errors.push(FieldError::new(
                    "type",
                    "must be one of scheduled, delivered, opened, clicked, replied, bounced, failed, opted_out",
                ))
            })
            .ok()
    });
    let occurred_at = required_str(obj, "occurredAt", &mut errors).and_then(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                errors.push(FieldError::new(
                    "occurredAt",
                    "must be an RFC 3339 date-time like 2026-11-28T10:00:00Z",
                ))
            })
            .ok()
    });
    let sentiment = match obj.get("sentiment") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => ReplySentiment::try_from_value(s)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "sentiment",
                    "must be positive, neutral or negative",
                ))
            })
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("sentiment", "must be a string"));
            None
        }
    };
    match (key, mailing_id, event_type, occurred_at) {
        (Some(idempotency_key), Some(mailing_id), Some(event_type), Some(occurred_at))
            if errors.is_empty() =>
        {
            Ok(MailingEvent {
                idempotency_key,
                mailing_id,
                event_type,
                occurred_at,
                sentiment,
            })
        }
        _ => Err(AppError::Validation(errors)),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match obj.get(name) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(name, "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(name, "must be a string"));
            None
        }
    }
}

/// The handler.
pub async fn post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let viewer = match viewer_for(&state, &headers, Scope::Ingest).await {
        Ok(viewer) => viewer,
        Err(AuthFailure::Unauthenticated(message)) => {
            return failure(401, "UNAUTHENTICATED", message, &[]);
        }
        Err(AuthFailure::Failed(err)) => return app_failure(&err),
    };
    if viewer.role != Role::Admin && !state.ingest_members {
        return app_failure(&AppError::Forbidden(
            "mailing events are accepted from admins' tokens only on this server".into(),
        ));
    }
    // Viewers never write, whatever their token's scopes.
    if viewer.role == Role::Viewer {
        return app_failure(&AppError::Forbidden(
            "viewers cannot report mailing events".into(),
        ));
    }
    if !json {
        return failure(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the events as Content-Type: application/json",
            &[],
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let (status, code, message) = crate::http::body_problem(&rejection);
            return failure(status.as_u16(), code, message, &[]);
        }
    };
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(doc) => doc,
        Err(e) => {
            return failure(
                400,
                "BAD_REQUEST",
                format!("the body is not JSON: {e}"),
                &[],
            );
        }
    };
    let Some(items) = doc.get("events").and_then(Value::as_array) else {
        return failure(
            400,
            "BAD_REQUEST",
            "the body must be {\"events\": [...]}",
            &[],
        );
    };
    if items.len() > MAX_EVENTS_PER_BATCH {
        return failure(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("at most {MAX_EVENTS_PER_BATCH} events per request; split the batch"),
            &[],
        );
    }
    let keys: Vec<Value> = items
        .iter()
        .map(|item| item.get("idempotencyKey").cloned().unwrap_or(Value::Null))
        .collect();
    let events = items.iter().map(event_of).collect();
    let outcomes = match mailings::ingest(&state.db, &viewer, events).await {
        Ok(outcomes) => outcomes,
        Err(err) => return app_failure(&err),
    };
    if let Some(metrics) = &state.metrics {
        for outcome in &outcomes {
            metrics.event(match outcome {
                EventOutcome::Applied => "applied",
                EventOutcome::Duplicate => "duplicate",
                EventOutcome::Rejected(_) => "rejected",
            });
        }
    }
    let results: Vec<Value> = keys
        .into_iter()
        .zip(outcomes)
        .map(|(key, outcome)| match outcome {
            EventOutcome::Applied => json!({ "idempotencyKey": key, "status": "applied" }),
            EventOutcome::Duplicate => json!({ "idempotencyKey": key, "status": "duplicate" }),
            EventOutcome::Rejected(err) => json!({
                "idempotencyKey": key,
                "status": "rejected",
                "error": error_body(err.code(), &err.public_message(), err.field_errors()),
            }),
        })
        .collect();
    let mut res = (StatusCode::OK, axum::Json(json!({ "results": results }))).into_response();
    if let Some(replicas) = &state.replicas
        && let Some(position) = replicas.written(&headers).await
    {
        res.headers_mut()
            .insert(stepgraph_web::replicas::POSITION_HEADER, position);
    }
    res
}
