//! HTTP adapters: the GraphQL endpoint and the GraphiQL playground (the JSON:API surface is
//! [`crate::rest`]), and what every endpoint shares (the bearer token, the per-request
//! database handle that counts SQL statements: `stepgraph-web`, re-exported here).

use axum::http::HeaderMap;

use crate::AppState;
use crate::auth::Viewer;
use crate::auth::tokens::Scope;

pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod hosts;
pub mod metrics;
pub mod shed;
pub mod webhooks;
pub mod ws;

pub use stepgraph_web::{AuthFailure, Meter, body_problem, counted, error_headers};

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
    stepgraph_web::viewer_for(&state.db, state.feed.auth_cache(), headers, scope).await
}
