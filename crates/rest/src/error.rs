//! JSON:API error documents: `{"errors": [{id, status, title, detail, source}]}`.
//!
//! [`ApiError`] is the REST adapter's view of a failure: a query parameter (with
//! `source.parameter`), a part of the body (with `source.pointer`), or an [`AppError`] from the
//! service layer, whose HTTP status it keeps ([`AppError::http_status`]) and whose field
//! errors it points at the parameter or body member the client sent. Internal causes never
//! reach the client: they are logged and answered with the generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use stepgraph_domain::error::AppError;

/// The JSON:API media type, required on request bodies and sent on every response.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// Where the fields named by a service-layer validation error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The query string (`first` is `page[size]`, `after` is `page[after]`, ...).
    Query,
    /// A write's body (`order` is `/data/attributes/order`, `sequenceId` is
    /// `/data/relationships/sequence`).
    Body,
}

#[derive(Debug)]
pub enum ApiError {
    Parameter {
        status: u16,
        parameter: String,
        detail: String,
    },
    Pointer {
        status: u16,
        pointer: String,
        detail: String,
    },
    /// Several problems in a body, reported at once.
    Pointers {
        status: u16,
        problems: Vec<(String, String)>,
    },
    App(AppError, Origin),
    Plain {
        status: u16,
        detail: String,
    },
}

impl ApiError {
    pub fn parameter(status: u16, parameter: &str, detail: impl Into<String>) -> Self {
        Self::Parameter {
            status,
            parameter: parameter.to_string(),
            detail: detail.into(),
        }
    }

    pub fn pointer(status: u16, pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Pointer {
            status,
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    pub fn plain(status: u16, detail: impl Into<String>) -> Self {
        Self::Plain {
            status,
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Parameter { status, .. }
            | Self::Pointer { status, .. }
            | Self::Pointers { status, .. }
            | Self::Plain { status, .. } => *status,
            Self::App(err, _) => err.http_status(),
        }
    }

    /// The error objects of the document.
    fn objects(&self) -> Vec<Value> {
        let status = self.status();
        match self {
            Self::Parameter {
                parameter, detail, ..
            } => vec![object(
                status,
                &format!("{parameter} {detail}"),
                Some(("parameter", parameter)),
            )],
            Self::Pointer {
                pointer, detail, ..
            } => vec![object(status, detail, Some(("pointer", pointer)))],
            Self::Pointers { problems, .. } => problems
                .iter()
                .map(|(pointer, detail)| object(status, detail, Some(("pointer", pointer))))
                .collect(),
            Self::Plain { detail, .. } => vec![object(status, detail, None)],
            Self::App(err, origin) => {
                err.log();
                let fields = err.field_errors();
                if fields.is_empty() {
                    return vec![object(status, &err.public_message(), None)];
                }
                fields
                    .iter()
                    .map(|f| {
                        let detail = format!("{}: {}", f.field, f.message);
                        match origin {
                            Origin::Query => {
                                let parameter = query_parameter(&f.field);
                                object(status, &detail, Some(("parameter", &parameter)))
                            }
                            Origin::Body => {
                                let pointer = body_pointer(&f.field);
                                object(status, &detail, Some(("pointer", &pointer)))
                            }
                        }
                    })
                    .collect()
            }
        }
    }
}

impl From<AppError> for ApiError {
    /// A service error on a read: its fields are query parameters.
    fn from(err: AppError) -> Self {
        Self::App(err, Origin::Query)
    }
}

/// The query parameter a service-layer field stands for.
fn query_parameter(field: &str) -> String {
    match field {
        "first" | "last" => "page[size]".into(),
        "after" => "page[after]".into(),
        "before" => "page[before]".into(),
        other => format!("filter[{other}]"),
    }
}

/// The body member a service-layer field stands for: `xxxId` is the relationship `xxx`.
pub fn body_pointer(field: &str) -> String {
    match field.strip_suffix("Id") {
        Some(rel) if !rel.is_empty() => format!("/data/relationships/{rel}"),
        _ => format!("/data/attributes/{field}"),
    }
}

/// A camelCase code for each status, as Outreach's error ids are.
fn code(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "resourceNotFound",
        405 => "methodNotAllowed",
        406 => "notAcceptable",
        409 => "conflict",
        413 => "payloadTooLarge",
        415 => "unsupportedMediaType",
        421 => "misdirectedRequest",
        422 => "validationError",
        429 => "rateLimitExceeded",
        503 => "serviceUnavailable",
        _ => "internalServerError",
    }
}

fn object(status: u16, detail: &str, source: Option<(&str, &str)>) -> Value {
    let title = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut obj = Map::new();
    obj.insert("id".into(), json!(code(status)));
    obj.insert("status".into(), json!(status.to_string()));
    obj.insert("title".into(), json!(title));
    obj.insert("detail".into(), json!(detail));
    if let Some((kind, at)) = source {
        obj.insert("source".into(), json!({ kind: at }));
    }
    Value::Object(obj)
}

/// A response with the JSON:API media type.
pub fn document(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut res = (status, bytes).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = document(status, &json!({ "errors": self.objects() }));
        stepgraph_web::error_headers(status, res.headers_mut());
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_fields_point_at_what_the_client_sent() {
        assert_eq!(body_pointer("order"), "/data/attributes/order");
        assert_eq!(body_pointer("sequenceId"), "/data/relationships/sequence");
        assert_eq!(
            body_pointer("callPurposeId"),
            "/data/relationships/callPurpose"
        );
        assert_eq!(query_parameter("after"), "page[after]");
    }

    #[test]
    fn internal_errors_stay_generic() {
        let err = ApiError::from(AppError::Internal(anyhow::anyhow!("secret xyz")));
        let body = serde_json::to_string(&err.objects()).unwrap();
        assert!(!body.contains("xyz"), "{body}");
        assert_eq!(err.status(), 500);
    }
}
