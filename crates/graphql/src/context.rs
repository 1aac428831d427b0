//! What every resolver of one request can reach: the viewer, the request's (metered) database
//! handle and its loaders.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Context;
use entity::reads::Db;

use crate::executor::BatchQueue;
use crate::loaders::Loaders;
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::error::AppError;

pub struct RequestCtx {
    pub viewer: Viewer,
    pub db: Db,
    pub loaders: Arc<Loaders>,
    pub budget: Budget,
    /// Whether objects hand up their JSON text ([`crate::raw`]): set by a caller that writes
    /// the response with [`crate::raw::to_vec`].
    pub(crate) raw_json: bool,
}

impl RequestCtx {
    /// `batches` is where the request's loaders queue their batches (see
    /// [`crate::executor`]).
    pub fn new(viewer: Viewer, db: Db, batches: BatchQueue, budget: Budget) -> Self {
        let loaders = Arc::new(Loaders::new(&db, &viewer, batches, budget.clone()));
        Self {
            viewer,
            db,
            loaders,
            budget,
            raw_json: false,
        }
    }

    /// This context, its objects resolved to JSON text (see [`crate::raw`]); the response
    /// must then be written with [`crate::raw::to_vec`].
    pub fn raw_json(mut self) -> Self {
        self.raw_json = true;
        self
    }
}

/// The SQL statements a request may still run: every place that issues one (root lists,
/// counts, every loader batch) takes a ticket first, so a document that would run more
/// stops with QUERY_TOO_EXPENSIVE instead of running them all. Tickets are taken before the
/// statement starts, so siblings resolving at the same time cannot all slip under the limit.
#[derive(Clone)]
pub struct Budget {
    taken: Arc<AtomicUsize>,
    max: usize,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Self {
            taken: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Gives back every ticket: a subscription's budget is per change it delivers.
    pub fn reset(&self) {
        self.taken.store(0, Ordering::Relaxed);
    }

    /// Takes a ticket for one statement.
    pub fn check(&self) -> Result<(), AppError> {
        if self.taken.fetch_add(1, Ordering::Relaxed) >= self.max {
            Err(AppError::TooExpensive(format!(
                "the query needs more than {} SQL statements, the most one request may run (STEPGRAPH_MAX_STATEMENTS); ask for fewer aliases or connections",
                self.max
            )))
        } else {
            Ok(())
        }
    }
}

/// The request context; its absence is a wiring bug, reported as an internal error.
pub fn rc<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestCtx> {
    ctx.data::<RequestCtx>().map_err(|_| {
        crate::error::gql(AppError::Internal(anyhow::anyhow!(
            "BUG: request context missing from GraphQL request data"
        )))
    })
}
