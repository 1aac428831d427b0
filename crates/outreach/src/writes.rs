//! Step writes passed through to Outreach ([`stepgraph_domain::service::upstream`]): the
//! request Outreach's API v2 takes for each, and its answer, or its refusal as our typed
//! error.

use entity::sequence_step;
use reqwest::{Method, StatusCode};
use sea_orm::DbErr;
use serde_json::{Map, Value as Json, json};
use stepgraph_domain::error::{AppError, FieldError};
use stepgraph_domain::service::Patch;
use stepgraph_domain::service::mirror::UpstreamRow;
use stepgraph_domain::service::steps::{NewStep, StepChanges};
use stepgraph_domain::service::upstream::{Upstream, UpstreamFuture, Written};

use crate::client::first_error;
use crate::{Client, SyncError, rows, with_query};

/// Outreach, as the place step writes go first.
pub struct OutreachWrites {
    client: std::sync::Arc<Client>,
}

impl OutreachWrites {
    /// Shares the client (its token and rate-limit window) with the sync.
    pub fn new(client: std::sync::Arc<Client>) -> Self {
        Self { client }
    }

    /// Sends a write; a refusal becomes the error both APIs answer with.
    async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Json, AppError> {
        let url = self.client.url(path).map_err(unavailable)?;
        let (status, answer) = self
            .client
            .send(method.clone(), &url, body)
            .await
            .map_err(unavailable)?;
        if status.is_success() {
            return Ok(answer);
        }
        Err(refusal(status, &answer, path))
    }

    /// The steps of a sequence as Outreach has them now.
    async fn steps_of(&self, sequence_id: i64) -> Result<Vec<UpstreamRow>, AppError> {
        let id = sequence_id.to_string();
        let mut url = with_query(
            self.client.url("sequenceSteps").map_err(unavailable)?,
            &[
                ("filter[sequence][id]", id.as_str()),
                ("page[size]", "1000"),
            ],
        );
        let mut out = Vec::new();
        loop {
            let doc = self.client.get(&url).await.map_err(unavailable)?;
            out.extend(rows(&doc).map_err(unavailable)?);
            match doc["links"]["next"].as_str() {
                Some(next) => url = self.client.same_origin(next).map_err(unavailable)?,
                None => break,
            }
        }
        Ok(out)
    }
}

impl Upstream for OutreachWrites {
    fn create_step<'a>(&'a self, input: &'a NewStep) -> UpstreamFuture<'a, Written> {
        Box::pin(async move {
            let mut attributes = Map::new();
            attributes.insert("stepType".into(), json!(enum_value(&input.step_type)));
            put(&mut attributes, "order", input.order.map(Json::from));
            put(&mut attributes, "interval", input.interval.map(Json::from));
            put(
                &mut attributes,
                "date",
                input.date.map(|d| json!(d.format("%Y-%m-%d").to_string())),
            );
            put(
                &mut attributes,
                "taskNote",
                input.task_note.clone().map(Json::from),
            );
            put(
                &mut attributes,
                "taskAutoskipDelay",
                input.task_autoskip_delay.map(Json::from),
            );
            let mut relationships = Map::new();
            relationships.insert("sequence".into(), link("sequence", Some(input.sequence_id)));
            if let Some(id) = input.call_purpose_id {
                relationships.insert("callPurpose".into(), link("callPurpose", Some(id)));
            }
            if let Some(id) = input.task_priority_id {
                relationships.insert("taskPriority".into(), link("taskPriority", Some(id)));
            }
            let body = json!({ "data": { "type": "sequenceStep",
                "attributes": attributes, "relationships": relationships } });
            let answer = self
                .write(Method::POST, "sequenceSteps", Some(&body))
                .await?;
            let created = UpstreamRow::from_resource(&answer["data"])
                .map_err(|e| unavailable(SyncError::Upstream(e)))?;
            Ok(Written {
                id: created.id,
                steps: self.steps_of(input.sequence_id).await?,
            })
        })
    }

    fn update_step<'a>(
        &'a self,
        step: &'a sequence_step::Model,
        changes: &'a StepChanges,
    ) -> UpstreamFuture<'a, Written> {
        Box::pin(async move {
            let mut attributes = Map::new();
            patch(&mut attributes, "stepType", &changes.step_type, |t| {
                json!(enum_value(t))
            });
            patch(&mut attributes, "order", &changes.order, |v| json!(v));
            patch(&mut attributes, "interval", &changes.interval, |v| json!(v));
            patch(&mut attributes, "date", &changes.date, |d| {
                json!(d.format("%Y-%m-%d").to_string())
            });
            patch(&mut attributes, "taskNote", &changes.task_note, |v| {
                json!(v)
            });
            patch(
                &mut attributes,
                "taskAutoskipDelay",
                &changes.task_autoskip_delay,
                |v| json!(v),
            );
            let mut relationships = Map::new();
            for (name, value) in [
                ("callPurpose", &changes.call_purpose_id),
                ("taskPriority", &changes.task_priority_id),
            ] {
                match value {
                    Patch::Keep => {}
                    Patch::Clear => {
                        relationships.insert(name.into(), json!({ "data": null }));
                    }
                    Patch::Set(id) => {
                        relationships.insert(name.into(), link(name, Some(*id)));
                    }
                }
            }
            let body = json!({ "data": { "type": "sequenceStep", "id": step.id,
                "attributes": attributes, "relationships": relationships } });
            let path = format!("sequenceSteps/{}", step.id);
            self.write(Method::PATCH, &path, Some(&body)).await?;
            Ok(Written {
                id: step.id,
                steps: self.steps_of(step.sequence_id).await?,
            })
        })
    }

    fn delete_step<'a>(&'a self, step: &'a sequence_step::Model) -> UpstreamFuture<'a, Written> {
        Box::pin(async move {
            let path = format!("sequenceSteps/{}", step.id);
            self.write(Method::DELETE, &path, None).await?;
            Ok(Written {
                id: step.id,
                steps: self.steps_of(step.sequence_id).await?,
            })
        })
    }
}

fn enum_value<E: sea_orm::ActiveEnum<Value = String>>(e: &E) -> String {
    e.to_value()
}

fn put(map: &mut Map<String, Json>, key: &str, value: Option<Json>) {
    if let Some(value) = value {
        map.insert(key.into(), value);
    }
}

fn patch<T>(map: &mut Map<String, Json>, key: &str, value: &Patch<T>, f: impl Fn(&T) -> Json) {
    match value {
        Patch::Keep => {}
        Patch::Clear => {
            map.insert(key.into(), Json::Null);
        }
        Patch::Set(v) => {
            map.insert(key.into(), f(v));
        }
    }
}

fn link(ty: &str, id: Option<i64>) -> Json {
    match id {
        Some(id) => json!({ "data": { "type": ty, "id": id } }),
        None => json!({ "data": null }),
    }
}

/// Outreach could not be asked, or kept failing: the write may be retried.
fn unavailable(err: SyncError) -> AppError {
    tracing::warn!(error = %err, "a write passed through to Outreach failed");
    AppError::Unavailable(DbErr::Custom(format!("Outreach: {err}")))
}

/// Outreach's refusal as our error: what it says about the input is the client's to read.
fn refusal(status: StatusCode, answer: &Json, path: &str) -> AppError {
    let said = first_error(answer);
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = answer["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| {
                            let pointer = e["source"]["pointer"]
                                .as_str()
                                .or(e["source"]["parameter"].as_str())
                                .unwrap_or("sequenceStep");
                            let field = pointer.rsplit('/').next().unwrap_or(pointer);
                            let detail = e["detail"]
                                .as_str()
                                .or(e["title"].as_str())
                                .unwrap_or("refused by Outreach");
                            FieldError::new(field, format!("Outreach: {detail}"))
                        })
                        .collect::<Vec<_>>()
                })
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| {
                    vec![FieldError::new("sequenceStep", format!("Outreach: {said}"))]
                });
            AppError::Validation(errors)
        }
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
            AppError::Forbidden(format!("Outreach refused the change: {said}"))
        }
        StatusCode::NOT_FOUND => {
            AppError::not_found("sequenceStep", path.rsplit('/').next().unwrap_or(path))
        }
        StatusCode::CONFLICT => AppError::Conflict(format!("Outreach: {said}")),
        s => unavailable(SyncError::Upstream(format!("{path}: {s}: {said}"))),
    }
}
