//! The root mutation fields: thin adapters over the service layer's step rules.

use async_graphql::{Context, ID, Object, Result};

use crate::context::rc;
use crate::error::gql;
use crate::inputs::{CreateSequenceStepInput, UpdateSequenceStepInput};
use crate::scalars::{id, parse_id};
use crate::types::SequenceStep;
use stepgraph_domain::service::steps;
use stepgraph_domain::service::upstream::Upstream;

/// Request data: where step writes go first on a server that mirrors Outreach
/// (`service::upstream`); absent elsewhere.
#[derive(Clone)]
pub struct UpstreamWrites(pub std::sync::Arc<dyn Upstream>);

fn upstream<'a>(ctx: &'a Context<'_>) -> Option<&'a dyn Upstream> {
    ctx.data_opt::<UpstreamWrites>().map(|u| &*u.0)
}

#[derive(Default)]
pub struct Mutation;

/// Changes to sequence steps.
#[Object]
impl Mutation {
    /// Creates a step: appended without `order`, inserted (shifting later steps) with it.
    async fn create_sequence_step(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new step.")] input: CreateSequenceStepInput,
    ) -> Result<SequenceStep> {
        let rc = rc(ctx)?;
        let input = input.into_service().map_err(gql)?;
        Ok(SequenceStep::from(
            steps::create_via(&rc.db, &rc.viewer, input, upstream(ctx))
                .await
                .map_err(gql)?,
        ))
    }

    /// Updates a step: fields left out stay as they are, `null` clears a field, and a new
    /// `order` moves the step.
    async fn update_sequence_step(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The step to change.")] id: ID,
        #[graphql(desc = "The changes.")] input: UpdateSequenceStepInput,
    ) -> Result<SequenceStep> {
        let rc = rc(ctx)?;
        let step_id = parse_id("id", &id).map_err(gql)?;
        let changes = input.into_service().map_err(gql)?;
        Ok(SequenceStep::from(
            steps::update_via(&rc.db, &rc.viewer, step_id, changes, upstream(ctx))
                .await
                .map_err(gql)?,
        ))
    }

    /// Deletes a step and closes the gap in its sequence's order; returns the deleted id.
    /// (Beyond the Outreach API; allowed where `canDelete` is true.)
    async fn delete_sequence_step(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The step to delete.")] step: ID,
        #[graphql(
            desc = "The `updatedAt` you last read; if the step changed since, nothing is deleted and the error is CONFLICT."
        )]
        expected_updated_at: Option<crate::scalars::DateTime>,
    ) -> Result<ID> {
        let rc = rc(ctx)?;
        let step_id = parse_id("id", &step).map_err(gql)?;
        let deleted = steps::delete_via(
            &rc.db,
            &rc.viewer,
            step_id,
            expected_updated_at.map(|t| t.0),
            upstream(ctx),
        )
        .await;
        Ok(id(deleted.map_err(gql)?))
    }
}
