//! Writes passed through to Outreach: on a server that mirrors an Outreach account (and holds
//! credentials for it), creating, updating and deleting a sequence step is sent to Outreach
//! first and applied here from Outreach's answer, so the mirror never holds a write Outreach
//! refused.
//!
//! [`crate::service::steps`] runs every check it runs for a local write (validation, the
//! policy's `canWrite` / `canDelete`, `expectedUpdatedAt`) in a transaction that writes
//! nothing, ends it (no lock is held while Outreach answers), then calls the [`Upstream`]. Its
//! answer carries the step as Outreach now has it and every step of its sequence (an insert,
//! a move or a deletion shifts the others' orders upstream), which [`crate::service::mirror`]
//! writes as it writes a pulled page. Outreach's refusals arrive as [`AppError`]s (422 as
//! validation errors, 403, 404, 409), so both APIs answer them as they answer their own.
//!
//! The implementation lives with the HTTP client (`stepgraph-outreach`); the domain knows only
//! this trait.

use std::future::Future;
use std::pin::Pin;

use entity::sequence_step;
use sea_orm::DatabaseConnection;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::service::lists::Steps;
use crate::service::mirror::{self, Kind, UpstreamRow};
use crate::service::resource;
use crate::service::steps::{NewStep, StepChanges};

/// A boxed future of the upstream's answer.
pub type UpstreamFuture<'a, T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send + 'a>>;

/// What Outreach answered to a write.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The written step's id (Outreach's; for a deletion, the deleted one).
    pub id: i64,
    /// The steps of the step's sequence as Outreach has them after the write.
    pub steps: Vec<UpstreamRow>,
}

/// Where step writes go first.
pub trait Upstream: Send + Sync {
    fn create_step<'a>(&'a self, input: &'a NewStep) -> UpstreamFuture<'a, Written>;
    fn update_step<'a>(
        &'a self,
        step: &'a sequence_step::Model,
        changes: &'a StepChanges,
    ) -> UpstreamFuture<'a, Written>;
    fn delete_step<'a>(&'a self, step: &'a sequence_step::Model) -> UpstreamFuture<'a, Written>;
}

/// Applies Outreach's answer to a create or an update and returns the step as the viewer now
/// sees it.
pub(crate) async fn applied(
    db: &DatabaseConnection,
    viewer: &Viewer,
    written: Written,
) -> AppResult<sequence_step::Model> {
    apply_steps(db, &written).await?;
    resource::get::<Steps>(db, viewer, written.id).await
}

/// Applies Outreach's answer to a deletion.
pub(crate) async fn removed(db: &DatabaseConnection, written: Written) -> AppResult<i64> {
    mirror::remove(db, Kind::SequenceSteps, written.id).await?;
    apply_steps(db, &written).await?;
    Ok(written.id)
}

async fn apply_steps(db: &DatabaseConnection, written: &Written) -> AppResult<()> {
    let applied = mirror::apply_page(db, Kind::SequenceSteps, &written.steps, None).await?;
    if let Some((id, reason)) = applied.skipped.first() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "Outreach's answer for sequence step {id} could not be mirrored: {reason}"
        )));
    }
    Ok(())
}
