//! What every resolver of one request can reach: the viewer, the request's (metered) database
//! handle and its loaders.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::graphql::executor::BatchQueue;
use crate::graphql::loaders::Loaders;

pub struct RequestCtx {
    pub viewer: Viewer,
    pub db: DatabaseConnection,
    pub loaders: Arc<Loaders>,
}

impl RequestCtx {
    /// `batches` is where the request's loaders queue their batches (see
    /// [`crate::graphql::executor`]).
    pub fn new(viewer: Viewer, db: DatabaseConnection, batches: BatchQueue) -> Self {
        let loaders = Arc::new(Loaders::new(&db, &viewer, batches));
        Self {
            viewer,
            db,
            loaders,
        }
    }
}

/// The request context; its absence is a wiring bug, reported as an internal error.
pub fn rc<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestCtx> {
    ctx.data::<RequestCtx>().map_err(|_| {
        crate::graphql::error::gql(AppError::Internal(anyhow::anyhow!(
            "BUG: request context missing from GraphQL request data"
        )))
    })
}
