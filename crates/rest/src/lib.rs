//! The JSON:API adapter: Outreach's API v2 under `/api/v2`.
//!
//! `sequenceSteps` can be listed, read, created, updated and deleted; the nine related types
//! (sequences, sequenceTemplates, templates, users, tasks, calls, mailings, callPurposes,
//! taskPriorities) can be listed and read, so that `include` and relationship links resolve.
//! Every resource has `/{type}/{id}/{relationship}` related-resource links.
//!
//! Like the GraphQL adapter this one only translates: query parameters into the service
//! layer's filters, orderings and pages ([`params`], [`resources`]), rows into documents
//! ([`document`]), write bodies into [`stepgraph_domain::service::steps`] inputs ([`write`]), and
//! [`stepgraph_domain::error::AppError`] into JSON:API errors ([`error`]). Visibility, validation and
//! SQL are the service layer's, so both APIs answer alike.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::sea_query::Condition;
use serde_json::Value;

use stepgraph_domain::auth::tokens::Scope;
use stepgraph_domain::live::Feed;
use stepgraph_web::AuthFailure;

/// What the JSON:API needs of the server: the pool, the change feed (for its authentication
/// cache) and its own limits. Cheap to clone (handles and numbers).
#[derive(Clone)]
pub struct RestState {
    pub db: sea_orm::DatabaseConnection,
    /// The read pool of `db` (`entity::reads`), for the requests it serves.
    pub reads: Option<Arc<entity::reads::ReadPool>>,
    pub feed: Arc<Feed>,
    /// The public base URL of links (`https://api.example.com`); `None`: the request's `Host`.
    pub public_url: Option<Arc<str>>,
    /// The request body limit, in bytes.
    pub max_body_bytes: usize,
    /// Values one filter may list.
    pub max_list_items: usize,
    /// Longest a request may run before it is answered with 503.
    pub timeout_secs: u64,
    /// Where step writes go first on a mirror of Outreach (`service::upstream`).
    pub upstream: Option<Arc<dyn stepgraph_domain::service::upstream::Upstream>>,
    /// Where each statement's duration goes (the server's metrics, when on).
    pub statement_hook: Option<stepgraph_web::StatementHook>,
    /// Read replicas: `GET`s read there (`stepgraph_web::replicas`).
    pub replicas: Option<Arc<stepgraph_web::replicas::Replicas>>,
}
use stepgraph_domain::service::lists::{
    CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities, Tasks,
    Templates, Users,
};

pub mod document;
pub mod error;
pub mod params;
pub mod resources;
pub mod write;

use document::{ApiResource, Cx, INCLUDE_BUDGET};
use error::{ApiError, MEDIA_TYPE};
use params::{Params, Route};

/// The routes under `/api/v2`.
/// The JSON:API's routes under `/api/v2`, with their state applied. Not generic over the
/// server's state on purpose: its handlers are then compiled in this crate, once.
pub fn router(state: RestState) -> Router {
    let steps = Steps::PLURAL;
    let api = Router::new()
        .route(&format!("/{steps}"), get(list::<Steps>).post(write::create))
        .route(
            &format!("/{steps}/{{id}}"),
            get(show::<Steps>)
                .patch(write::update)
                .delete(write::delete),
        )
        .route(
            &format!("/{steps}/{{id}}/{{relationship}}"),
            get(related::<Steps>),
        );
    let api = read_only::<Sequences>(api);
    let api = read_only::<SequenceTemplates>(api);
    let api = read_only::<Templates>(api);
    let api = read_only::<Users>(api);
    let api = read_only::<Tasks>(api);
    let api = read_only::<Calls>(api);
    // Mailings can be created too; their events arrive at `/events/mailings`.
    let api = read_only::<Mailings>(api).route(
        &format!("/{}", Mailings::PLURAL),
        axum::routing::post(write::create_mailing),
    );
    let api = read_only::<CallPurposes>(api);
    let api = read_only::<TaskPriorities>(api);
    let api = api
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes));
    Router::new().nest("/api/v2", api).with_state(state)
}

fn read_only<R: ApiResource>(api: Router<RestState>) -> Router<RestState> {
    let plural = R::PLURAL;
    api.route(&format!("/{plural}"), get(list::<R>))
        .route(&format!("/{plural}/{{id}}"), get(show::<R>))
        .route(
            &format!("/{plural}/{{id}}/{{relationship}}"),
            get(related::<R>),
        )
}

async fn no_route() -> Response {
    ApiError::plain(404, "no such resource type or path under /api/v2").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::plain(
        405,
        "this method is not allowed here: only sequenceSteps can be created, updated and deleted",
    )
    .into_response()
}

/// A request that passed authentication and parameter checks.
pub struct Prepared {
    pub cx: Cx,
    pub params: Params,
    statements: Arc<stepgraph_web::Meter>,
    timeout: Duration,
    /// Reads: where they run; writes: the replicas to give the commit position for.
    replicas: Option<(
        Arc<stepgraph_web::replicas::Replicas>,
        Option<stepgraph_web::replicas::Reader>,
    )>,
    headers: HeaderMap,
}

/// Authenticates, checks `Accept`, parses and checks the query string.
pub async fn prepare(
    state: &RestState,
    headers: &HeaderMap,
    raw: Option<String>,
    route: Route,
) -> Result<Prepared, ApiError> {
    prepare_on(state, headers, raw, route, false).await
}

/// [`prepare`]; `primary`: a read runs on the primary even when there are replicas.
async fn prepare_on(
    state: &RestState,
    headers: &HeaderMap,
    raw: Option<String>,
    route: Route,
    primary: bool,
) -> Result<Prepared, ApiError> {
    check_accept(headers)?;
    let viewer =
        match stepgraph_web::viewer_for(&state.db, state.feed.auth_cache(), headers, Scope::Api)
            .await
        {
            Ok(viewer) => viewer,
            Err(AuthFailure::Unauthenticated(msg)) => return Err(ApiError::plain(401, msg)),
            Err(AuthFailure::Failed(err)) => return Err(err.into()),
        };
    let params = params::parse(raw.as_deref(), route, state.max_list_items)?;
    document::check_fields(&resources::all_types(), &params.fields)?;
    let reader = match (&state.replicas, route) {
        (Some(replicas), Route::Collection | Route::Single) if !primary => Some(
            replicas
                .reader(headers)
                .await
                .map_err(|bad| ApiError::plain(400, bad.to_string()))?,
        ),
        _ => None,
    };
    let base = reader.as_ref().map_or(&state.db, |r| &r.db);
    let reads = stepgraph_web::replicas::Reader::read_pool(reader.as_ref(), state.reads.as_ref());
    let (db, statements) =
        stepgraph_web::counted(base, reads, false, state.statement_hook.as_ref());
    Ok(Prepared {
        cx: Cx {
            db,
            viewer,
            base: format!("{}/api/v2", public_base(state, headers)),
            fields: params.fields.clone(),
            authorization_meta: params.authorization_meta,
            budget: AtomicUsize::new(INCLUDE_BUDGET),
        },
        params,
        statements,
        timeout: Duration::from_secs(state.timeout_secs),
        replicas: state.replicas.clone().map(|r| (r, reader)),
        headers: if state.replicas.is_some() {
            headers.clone()
        } else {
            HeaderMap::new()
        },
    })
}

impl Prepared {
    /// Runs the work within the request timeout and answers with its document.
    pub async fn answer(
        &self,
        work: impl Future<Output = Result<(StatusCode, Value), ApiError>>,
    ) -> Response {
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::plain(
                503,
                "the request took too long and was stopped; ask for a smaller page or fewer includes",
            )),
        };
        let mut res = match result {
            Ok((status, body)) => error::document(status, &body),
            Err(err) => err.into_response(),
        };
        let n = self.statements.statements();
        if let Ok(v) = HeaderValue::from_str(&n.to_string()) {
            res.headers_mut().insert("x-sql-statements", v);
        }
        match &self.replicas {
            // A write: where a later read must have caught up to, to see it.
            Some((replicas, None)) if res.status().is_success() => {
                if let Some(position) = replicas.written(&self.headers).await {
                    res.headers_mut()
                        .insert(stepgraph_web::replicas::POSITION_HEADER, position);
                }
            }
            _ => {}
        }
        res
    }
}

/// The scheme and host that links start with: the configured public URL, or else the
/// request's `Host` (only when it looks like a host name, so a forged header cannot inject
/// anything into links).
fn public_base(state: &RestState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// 406 when the client accepts JSON:API only with media type parameters (JSON:API 1.0) and
/// nothing else this server could send.
fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ranges: Vec<&str> = accept.split(',').map(str::trim).collect();
    let fits = ranges.iter().any(|r| {
        let ty = r.split(';').next().unwrap_or("").trim();
        match ty {
            "*/*" | "application/*" | "application/json" => true,
            MEDIA_TYPE => {
                !r.contains(';') || r.split(';').skip(1).all(|p| p.trim().starts_with("q="))
            }
            _ => false,
        }
    });
    if fits || !accept.contains(MEDIA_TYPE) {
        Ok(())
    } else {
        Err(ApiError::plain(
            406,
            format!("send Accept: {MEDIA_TYPE} (without media type parameters)"),
        ))
    }
}

/// A path id: a positive integer, else the resource does not exist.
pub fn path_id<R: ApiResource>(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::plain(404, format!("{} {text:?} was not found", R::NAME)))
}

/// What a read does with its prepared request.
type ReadWork<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<(StatusCode, Value), ApiError>> + Send + 'a>>;

/// A `GET`: prepared and answered; when it ran on a replica that failed under it (stopped,
/// restarting), prepared again on the primary and answered from there: a read is safe to
/// repeat, and the client never sees the replica's failure.
async fn read(
    state: &RestState,
    headers: &HeaderMap,
    raw: Option<String>,
    route: Route,
    work: impl for<'a> Fn(&'a Prepared) -> ReadWork<'a>,
) -> Response {
    let req = match prepare_on(state, headers, raw.clone(), route, false).await {
        Ok(req) => req,
        Err(err) => return err.into_response(),
    };
    let res = req.answer(work(&req)).await;
    if res.status() != StatusCode::SERVICE_UNAVAILABLE {
        return res;
    }
    let Some((replicas, Some(reader))) = &req.replicas else {
        return res;
    };
    if !reader.on_replica() {
        return res;
    }
    replicas.failed(reader);
    match prepare_on(state, headers, raw, route, true).await {
        Ok(again) => again.answer(work(&again)).await,
        Err(err) => err.into_response(),
    }
}

/// `GET /{type}`.
async fn list<R: ApiResource>(
    State(state): State<RestState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    read(&state, &headers, raw, Route::Collection, |req| {
        Box::pin(async move {
            let doc =
                document::collection::<R>(&req.cx, &req.params, Condition::all(), &[], R::PLURAL)
                    .await?;
            Ok((StatusCode::OK, doc))
        })
    })
    .await
}

/// `GET /{type}/{id}`.
async fn show<R: ApiResource>(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    read(&state, &headers, raw, Route::Single, |req| {
        let id = id.clone();
        Box::pin(async move {
            let id = path_id::<R>(&id)?;
            Ok((
                StatusCode::OK,
                document::single::<R>(&req.cx, id, &req.params).await?,
            ))
        })
    })
    .await
}

/// `GET /{type}/{id}/{relationship}`: the related resource (to-one) or a collection of them
/// (to-many, with the collection's parameters).
async fn related<R: ApiResource>(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path((id, relationship)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    read(&state, &headers, raw, Route::Collection, |req| {
        let (id, relationship) = (id.clone(), relationship.clone());
        Box::pin(async move {
            let id = path_id::<R>(&id)?;
            Ok((
                StatusCode::OK,
                document::related::<R>(&req.cx, id, &relationship, &req.params).await?,
            ))
        })
    })
    .await
}
