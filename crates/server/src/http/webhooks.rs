//! `POST /webhooks/outreach`: Outreach's webhook deliveries, applied to the mirror.
//!
//! Served only when `STEPGRAPH_OUTREACH_WEBHOOK_SECRET` is set (404 otherwise). A delivery is
//! a JSON:API resource (`data`) with `meta.eventName` (`sequence.updated`,
//! `mailing.created`, `task.destroyed`, ...) and `meta.deliveredAt`. It is accepted only when
//! `Outreach-Webhook-Signature` is the hex HMAC-SHA256 of the raw body with the shared secret
//! (compared in constant time) and it was delivered within [`FRESH`] of now, so a captured
//! delivery cannot be replayed later. What it says is applied through
//! `service::mirror::apply_delivery`: only when it is at least as new as the stored row, so a
//! late or repeated delivery changes nothing, and never over the next pull, which stays the
//! authority (Outreach has no sequence-step webhook: steps come from the pull).
//!
//! Outreach gives up on a delivery after 5 s, so the work is bounded by [`DEADLINE`].

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::SharedState;
use crate::http::error_headers;
use crate::service::mirror::{self, Delivered, Kind, UpstreamRow};

/// How far `meta.deliveredAt` may be from now.
pub const FRESH: Duration = Duration::from_secs(300);
/// Answered within Outreach's 5 s delivery timeout.
const DEADLINE: Duration = Duration::from_secs(4);

type HmacSha256 = hmac::Hmac<sha2_v011::Sha256>;

fn answer(status: StatusCode, body: Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    if !status.is_success() {
        error_headers(status, res.headers_mut());
    }
    res
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    answer(
        status,
        json!({ "error": { "code": code, "message": message } }),
    )
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `body` under `secret`.
pub fn signed(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(tag) = hex(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The handler.
pub async fn post(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.outreach_webhook_secret.as_deref() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Outreach webhooks are not enabled on this server",
        );
    };
    let signature = headers
        .get("outreach-webhook-signature")
        .and_then(|v| v.to_str().ok());
    let Some(signature) = signature else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "no Outreach-Webhook-Signature header",
        );
    };
    if !signed(secret, &body, signature) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Outreach-Webhook-Signature does not match the body",
        );
    }
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the body is not JSON",
        );
    };
    let delivered = doc["meta"]["deliveredAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let fresh = delivered.is_some_and(|at| {
        Utc::now()
            .signed_duration_since(at)
            .abs()
            .to_std()
            .is_ok_and(|d| d <= FRESH)
    });
    if !fresh {
        return refuse(
            StatusCode::BAD_REQUEST,
            "STALE_DELIVERY",
            "meta.deliveredAt is missing or more than 5 minutes from now",
        );
    }
    let event = doc["meta"]["eventName"].as_str().unwrap_or_default();
    let (resource, action) = event.split_once('.').unwrap_or((event, ""));
    let Some(kind) = Kind::from_type(resource) else {
        // A resource we do not mirror (prospects, accounts, ...): acknowledged, so Outreach
        // does not retry it.
        return answer(StatusCode::OK, json!({ "result": "ignored" }));
    };
    if doc["data"]["type"].as_str() != Some(kind.type_name()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "data.type does not match meta.eventName",
        );
    }
    let row = match UpstreamRow::from_resource(&doc["data"]) {
        Ok(row) => row,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message),
    };
    let destroyed = action == "destroyed";
    let work = async {
        if !mirror::is_mirror(&state.db).await? {
            return Ok(None);
        }
        mirror::apply_delivery(&state.db, kind, &row, destroyed)
            .await
            .map(Some)
    };
    match tokio::time::timeout(DEADLINE, work).await {
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "the database did not answer in time; the next pull will bring the change",
        ),
        Ok(Err(err)) => {
            err.log();
            refuse(
                StatusCode::from_u16(err.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                err.code(),
                &err.public_message(),
            )
        }
        Ok(Ok(None)) => refuse(
            StatusCode::CONFLICT,
            "NOT_A_MIRROR",
            "this database does not mirror Outreach: run `stepgraph sync outreach` first",
        ),
        Ok(Ok(Some(result))) => {
            let result = match result {
                Delivered::Inserted => "inserted",
                Delivered::Updated => "updated",
                Delivered::Unchanged => "unchanged",
                Delivered::Stale => "stale",
                Delivered::Deleted => "deleted",
                Delivered::Skipped => "skipped",
            };
            answer(StatusCode::OK, json!({ "result": result }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        let tag = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(signed(b"Jefe", b"what do ya want for nothing?", tag));
        assert!(signed(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag.to_uppercase()
        ));
        assert!(!signed(b"Jefe", b"what do ya want for nothing!", tag));
        assert!(!signed(b"jefe", b"what do ya want for nothing?", tag));
        assert!(!signed(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..62]
        ));
        assert!(!signed(b"Jefe", b"what do ya want for nothing?", "zz"));
        assert!(!signed(b"Jefe", b"what do ya want for nothing?", ""));
    }
}
