//! `POST`, `PATCH` and `DELETE` of `sequenceSteps`, and `POST` of `mailings`: JSON:API write
//! bodies into [`stepgraph_domain::service::steps`] and [`stepgraph_domain::service::mailings`] inputs.
//!
//! A body is `{"data": {"type": "sequenceStep", "attributes": {...}, "relationships":
//! {"sequence": {"data": {"type": "sequence", "id": 1}}, ...}}}`. Only the writable
//! attributes (`stepType`, `order`, `interval`, `date`, `taskNote`, `taskAutoskipDelay`) and
//! relationships (`sequence` on create, `callPurpose`, `taskPriority`) are taken; a read-only
//! or unknown member is refused with a pointer to it, never dropped. Absent leaves a value
//! alone, `null` clears it (`{"data": null}` for a relationship). Every problem in a body is
//! reported at once; the service then validates against the data, in one transaction.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{MailingType, StepType};
use sea_orm::ActiveEnum;
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use crate::RestState;
use crate::document::{self, ApiResource};
use crate::error::{ApiError, MEDIA_TYPE, Origin};
use crate::params::Route;
use crate::{path_id, prepare};
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::service::Patch;
use stepgraph_domain::service::lists::{Mailings, Steps};
use stepgraph_domain::service::mailings::{self, NewMailing};
use stepgraph_domain::service::resource::Resource;
use stepgraph_domain::service::steps::{self, NewStep, StepChanges};

const WRITABLE: [&str; 6] = [
    "stepType",
    "order",
    "interval",
    "date",
    "taskNote",
    "taskAutoskipDelay",
];

/// What a body asks to change.
#[derive(Default)]
struct Input {
    step_type: Patch<StepType>,
    order: Patch<i32>,
    interval: Patch<i32>,
    date: Patch<NaiveDate>,
    task_note: Patch<String>,
    task_autoskip_delay: Patch<i32>,
    sequence: Patch<i64>,
    call_purpose: Patch<i64>,
    task_priority: Patch<i64>,
}

/// Problems found in a body: (pointer, detail).
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push((pointer.into(), detail.into()));
    }

    fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Pointers {
                status: 422,
                problems: self.0,
            })
        }
    }
}

/// 415 unless the body is declared as JSON:API (no media type parameters).
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(MEDIA_TYPE));
    if ok {
        Ok(())
    } else {
        Err(ApiError::plain(
            415,
            format!("Expected Content-Type header to be {MEDIA_TYPE}"),
        ))
    }
}

/// The body, or why it could not be read (413 past the body limit) as a JSON:API error.
fn read(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let (status, _, message) = stepgraph_web::body_problem(&rejection);
        ApiError::plain(status.as_u16(), message)
    })
}

fn bad_body_id() -> ApiError {
    ApiError::pointer(
        400,
        "/data/id",
        "must be the resource's id: an integer (as a number or a string)",
    )
}

/// The `data` object of a write body, checked for its type (409 on a mismatch, as JSON:API
/// says).
fn data_of(body: &[u8], name: &str) -> Result<Map<String, Value>, ApiError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::pointer(400, "", format!("the body is not JSON: {e}")))?;
    let Some(Value::Object(data)) = doc.get("data") else {
        return Err(ApiError::pointer(
            400,
            "/data",
            "the body must be a document with a data object",
        ));
    };
    match data.get("type") {
        Some(Value::String(t)) if t == name => Ok(data.clone()),
        Some(Value::String(t)) => Err(ApiError::pointer(
            409,
            "/data/type",
            format!("is {t:?}; this collection holds {name}"),
        )),
        _ => Err(ApiError::pointer(
            400,
            "/data/type",
            format!("is required and must be {name:?}"),
        )),
    }
}

fn int(p: &mut Problems, name: &str, value: &Value) -> Patch<i32> {
    match value {
        Value::Null => Patch::Clear,
        v => match v.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(n) => Patch::Set(n),
            None => {
                p.add(
                    format!("/data/attributes/{name}"),
                    "must be a whole number (32-bit)",
                );
                Patch::Keep
            }
        },
    }
}

/// A relationship's `{"data": {"type": T, "id": N}}` or `{"data": null}`; ids may be numbers
/// (as Outreach sends them) or numeric strings (as JSON:API sends them).
fn linkage(p: &mut Problems, name: &str, target: &str, value: &Value) -> Patch<i64> {
    let pointer = format!("/data/relationships/{name}");
    let Some(data) = value.as_object().and_then(|o| o.get("data")) else {
        p.add(pointer, "must be an object with data");
        return Patch::Keep;
    };
    if data.is_null() {
        return Patch::Clear;
    }
    let ty = data.get("type").and_then(Value::as_str);
    let id = match data.get("id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        _ => None,
    };
    match (ty, id) {
        (Some(t), Some(id)) if t == target && id > 0 => Patch::Set(id),
        (Some(t), _) if t != target => {
            p.add(
                format!("{pointer}/data/type"),
                format!("must be {target:?}"),
            );
            Patch::Keep
        }
        _ => {
            p.add(
                format!("{pointer}/data"),
                format!("must be {{\"type\": {target:?}, \"id\": <id>}} or null"),
            );
            Patch::Keep
        }
    }
}

/// Refuses members a resource object cannot have.
fn check_members(p: &mut Problems, data: &Map<String, Value>) {
    for key in data.keys() {
        if !["type", "id", "attributes", "relationships", "meta", "links"].contains(&key.as_str()) {
            p.add(
                format!("/data/{key}"),
                "is not a member of a resource object",
            );
        }
    }
}

/// Reads a body's attributes and relationships, refusing what cannot be written.
fn input_of(data: &Map<String, Value>) -> Result<Input, ApiError> {
    let mut p = Problems::default();
    let mut input = Input::default();
    check_members(&mut p, data);
    match data.get("attributes") {
        None => {}
        Some(Value::Object(attributes)) => {
            for (name, value) in attributes {
                let pointer = format!("/data/attributes/{name}");
                match name.as_str() {
                    "stepType" => {
                        input.step_type = match value {
                            Value::Null => Patch::Clear,
                            Value::String(s) => match StepType::try_from_value(s) {
                                Ok(t) => Patch::Set(t),
                                Err(_) => {
                                    p.add(
                                        pointer,
                                        "must be one of auto_email, manual_email, call, task",
                                    );
                                    Patch::Keep
                                }
                            },
                            _ => {
                                p.add(pointer, "must be a string");
                                Patch::Keep
                            }
                        }
                    }
                    "order" => input.order = int(&mut p, name, value),
                    "interval" => input.interval = int(&mut p, name, value),
                    "taskAutoskipDelay" => input.task_autoskip_delay = int(&mut p, name, value),
                    "date" => {
                        input.date = match value {
                            Value::Null => Patch::Clear,
                            Value::String(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                                Ok(d) => Patch::Set(d),
                                Err(_) => {
                                    p.add(pointer, "must be a date like 2026-12-31");
                                    Patch::Keep
                                }
                            },
                            _ => {
                                p.add(pointer, "must be a date string like 2026-12-31");
                                Patch::Keep
                            }
                        }
                    }
                    "taskNote" => {
                        input.task_note = match value {
                            Value::Null => Patch::Clear,
                            Value::String(s) => Patch::Set(s.clone()),
                            _ => {
                                p.add(pointer, "must be a string");
                                Patch::Keep
                            }
                        }
                    }
                    other if Steps::ATTRIBUTES.contains(&other) => p.add(
                        pointer,
                        format!(
                            "is read-only (set by the server); writable attributes are {}",
                            WRITABLE.join(", ")
                        ),
                    ),
                    _ => p.add(pointer, "is not an attribute of sequenceStep"),
                }
            }
        }
        Some(_) => p.add("/data/attributes", "must be an object"),
    }
    match data.get("relationships") {
        None => {}
        Some(Value::Object(relationships)) => {
            for (name, value) in relationships {
                let pointer = format!("/data/relationships/{name}");
                match name.as_str() {
                    "sequence" => input.sequence = linkage(&mut p, name, "sequence", value),
                    "callPurpose" => {
                        input.call_purpose = linkage(&mut p, name, "callPurpose", value)
                    }
                    "taskPriority" => {
                        input.task_priority = linkage(&mut p, name, "taskPriority", value)
                    }
                    "creator" | "updater" => p.add(pointer, "is read-only (set by the server)"),
                    "calls" | "mailings" | "sequenceTemplates" | "tasks" => p.add(
                        pointer,
                        "cannot be changed through a step (its members point at the step)",
                    ),
                    _ => p.add(pointer, "is not a relationship of sequenceStep"),
                }
            }
        }
        Some(_) => p.add("/data/relationships", "must be an object"),
    }
    p.into_result()?;
    Ok(input)
}

/// A service-layer failure of a write: its fields point into the body.
fn from_service(err: stepgraph_domain::error::AppError) -> ApiError {
    ApiError::App(err, Origin::Body)
}

/// A `POST` to a collection: checks the body (JSON:API media type, the collection's type, no
/// client id), lets `create` read the `data` object and call the service, then answers 201
/// with the created resource and its `Location`.
async fn post_created<R, F, Fut>(
    state: RestState,
    headers: HeaderMap,
    raw: Option<String>,
    body: Result<Bytes, BytesRejection>,
    create: F,
) -> Response
where
    R: ApiResource,
    F: FnOnce(Map<String, Value>, DatabaseConnection, Viewer) -> Fut,
    Fut: std::future::Future<Output = Result<R::Model, ApiError>>,
{
    let req = match prepare(&state, &headers, raw, Route::Write).await {
        Ok(req) => req,
        Err(err) => return err.into_response(),
    };
    let mut location = None;
    let mut res = req
        .answer(async {
            check_content_type(&headers)?;
            let data = data_of(&read(body)?, R::NAME)?;
            if data.contains_key("id") {
                return Err(ApiError::pointer(
                    403,
                    "/data/id",
                    "client-generated ids are not supported: leave id out",
                ));
            }
            let created = create(data, req.cx.db.connection().clone(), req.cx.viewer).await?;
            location = Some(format!("{}/{}/{}", req.cx.base, R::PLURAL, R::id(&created)));
            let doc = document::single_of::<R>(&req.cx, created, &req.params).await?;
            Ok((StatusCode::CREATED, doc))
        })
        .await;
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `POST /sequenceSteps`: 201 with the created step and its `Location`.
pub async fn create(
    State(state): State<RestState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let upstream = state.upstream.clone();
    post_created::<Steps, _, _>(state, headers, raw, body, async move |data, db, viewer| {
        let input = input_of(&data)?;
        let mut p = Problems::default();
        let sequence_id = match input.sequence {
            Patch::Set(id) => id,
            _ => {
                p.add(
                    "/data/relationships/sequence",
                    "is required: the sequence the step belongs to",
                );
                0
            }
        };
        let step_type = match input.step_type {
            Patch::Set(t) => Some(t),
            _ => {
                p.add("/data/attributes/stepType", "is required");
                None
            }
        };
        p.into_result()?;
        let step_type = step_type.expect("checked above");
        let new = NewStep {
            sequence_id,
            step_type,
            order: input.order.apply(None),
            interval: input.interval.apply(None),
            date: input.date.apply(None),
            task_note: input.task_note.apply(None),
            task_autoskip_delay: input.task_autoskip_delay.apply(None),
            call_purpose_id: input.call_purpose.apply(None),
            task_priority_id: input.task_priority.apply(None),
        };
        steps::create_via(&db, &viewer, new, upstream.as_deref())
            .await
            .map_err(from_service)
    })
    .await
}

/// `PATCH /sequenceSteps/{id}`: a partial update; 200 with the step.
pub async fn update(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = match prepare(&state, &headers, raw, Route::Write).await {
        Ok(req) => req,
        Err(err) => return err.into_response(),
    };
    req.answer(async {
        let id = path_id::<Steps>(&id)?;
        check_content_type(&headers)?;
        let data = data_of(&read(body)?, Steps::NAME)?;
        // An id that is not an integer the URL could hold (`13.0`, a number past 64 bits,
        // `true`) is refused, never read as if no id were sent.
        let body_id = match data.get("id") {
            None => None,
            Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(bad_body_id)?),
            Some(Value::String(s)) => Some(s.parse::<i64>().map_err(|_| bad_body_id())?),
            Some(_) => return Err(bad_body_id()),
        };
        if body_id.is_some_and(|b| b != id) {
            return Err(ApiError::pointer(
                409,
                "/data/id",
                format!("does not match the id in the URL ({id})"),
            ));
        }
        let input = input_of(&data)?;
        // A step never moves to another sequence; naming its own sequence is fine (clients
        // often send back what they read).
        match input.sequence {
            Patch::Keep => {}
            Patch::Set(seq) => {
                let step = steps::get(&req.cx.db, &req.cx.viewer, id).await?;
                if step.sequence_id != seq {
                    return Err(ApiError::pointer(
                        422,
                        "/data/relationships/sequence",
                        "cannot change: a step stays in the sequence it was created in",
                    ));
                }
            }
            Patch::Clear => {
                return Err(ApiError::pointer(
                    422,
                    "/data/relationships/sequence",
                    "cannot be cleared: every step belongs to a sequence",
                ));
            }
        }
        let changes = StepChanges {
            step_type: input.step_type,
            order: input.order,
            interval: input.interval,
            date: input.date,
            task_note: input.task_note,
            task_autoskip_delay: input.task_autoskip_delay,
            call_purpose_id: input.call_purpose,
            task_priority_id: input.task_priority,
            expected_updated_at: None,
        };
        let step = steps::update_via(
            &req.cx.db,
            &req.cx.viewer,
            id,
            changes,
            state.upstream.as_deref(),
        )
        .await
        .map_err(from_service)?;
        let doc = document::single_of::<Steps>(&req.cx, step, &req.params).await?;
        Ok((StatusCode::OK, doc))
    })
    .await
}

/// `DELETE /sequenceSteps/{id}`: 204, and the later steps move up.
pub async fn delete(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let req = match prepare(&state, &headers, raw, Route::Write).await {
        Ok(req) => req,
        Err(err) => return err.into_response(),
    };
    let mut res = req
        .answer(async {
            let id = path_id::<Steps>(&id)?;
            steps::delete_via(
                &req.cx.db,
                &req.cx.viewer,
                id,
                None,
                state.upstream.as_deref(),
            )
            .await
            .map_err(from_service)?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        })
        .await;
    if res.status() == StatusCode::NO_CONTENT {
        *res.body_mut() = axum::body::Body::empty();
        res.headers_mut().remove(header::CONTENT_TYPE);
    }
    res
}

/// The attributes a client may set on a new mailing; the rest are the server's (state,
/// counters, event timestamps) and move with mailing events.
const MAILING_WRITABLE: [&str; 8] = [
    "subject",
    "bodyHtml",
    "bodyText",
    "mailboxAddress",
    "mailingType",
    "trackLinks",
    "trackOpens",
    "scheduledAt",
];

fn text(p: &mut Problems, name: &str, value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => {
            p.add(format!("/data/attributes/{name}"), "must be a string");
            None
        }
    }
}

fn flag(p: &mut Problems, name: &str, value: &Value) -> Option<bool> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        _ => {
            p.add(format!("/data/attributes/{name}"), "must be true or false");
            None
        }
    }
}

/// Reads a new mailing's body, refusing what cannot be written.
fn mailing_of(data: &Map<String, Value>) -> Result<NewMailing, ApiError> {
    let mut p = Problems::default();
    let mut m = NewMailing::default();
    check_members(&mut p, data);
    match data.get("attributes") {
        None => {}
        Some(Value::Object(attributes)) => {
            for (name, value) in attributes {
                let pointer = format!("/data/attributes/{name}");
                match name.as_str() {
                    "subject" => m.subject = text(&mut p, name, value),
                    "bodyHtml" => m.body_html = text(&mut p, name, value),
                    "bodyText" => m.body_text = text(&mut p, name, value),
                    "mailboxAddress" => m.mailbox_address = text(&mut p, name, value),
                    "trackLinks" => m.track_links = flag(&mut p, name, value),
                    "trackOpens" => m.track_opens = flag(&mut p, name, value),
                    "mailingType" => {
                        m.mailing_type = match text(&mut p, name, value) {
                            None => None,
                            Some(s) => match MailingType::try_from_value(&s) {
                                Ok(t) => Some(t),
                                Err(_) => {
                                    p.add(pointer, "must be one of sequence, single, campaign");
                                    None
                                }
                            },
                        }
                    }
                    "scheduledAt" => {
                        m.scheduled_at = match text(&mut p, name, value) {
                            None => None,
                            Some(s) => match DateTime::parse_from_rfc3339(&s) {
                                Ok(t) => Some(t.with_timezone(&Utc)),
                                Err(_) => {
                                    p.add(pointer, "must be a date-time like 2026-12-31T09:00:00Z");
                                    None
                                }
                            },
                        }
                    }
                    other if Mailings::ATTRIBUTES.contains(&other) => p.add(
                        pointer,
                        format!(
                            "is read-only (set by the server and by mailing events); writable attributes are {}",
                            MAILING_WRITABLE.join(", ")
                        ),
                    ),
                    _ => p.add(pointer, "is not an attribute of mailing"),
                }
            }
        }
        Some(_) => p.add("/data/attributes", "must be an object"),
    }
    match data.get("relationships") {
        None => {}
        Some(Value::Object(relationships)) => {
            for (name, value) in relationships {
                let target = match name.as_str() {
                    "sequence" => &mut m.sequence_id,
                    "sequenceStep" => &mut m.sequence_step_id,
                    "sequenceTemplate" => &mut m.sequence_template_id,
                    "template" => &mut m.template_id,
                    "task" => &mut m.task_id,
                    "user" => &mut m.user_id,
                    _ => {
                        p.add(
                            format!("/data/relationships/{name}"),
                            "is not a relationship of mailing",
                        );
                        continue;
                    }
                };
                *target = linkage(&mut p, name, name, value).apply(None);
            }
        }
        Some(_) => p.add("/data/relationships", "must be an object"),
    }
    p.into_result()?;
    Ok(m)
}

/// `POST /mailings`: 201 with the created mailing and its `Location`. Its counters move in
/// the same transaction (a mailing created with `scheduledAt` counts as scheduled).
pub async fn create_mailing(
    State(state): State<RestState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    post_created::<Mailings, _, _>(state, headers, raw, body, async |data, db, viewer| {
        let input = mailing_of(&data)?;
        mailings::create(&db, &viewer, input)
            .await
            .map_err(from_service)
    })
    .await
}
