//! The object types of the schema, one file per entity: its object type (wrapping the entity
//! model), its connection, and its filter and ordering inputs. Attributes resolve from the
//! model; relationships through [`crate::resolve`], naming a declaration of
//! [`stepgraph_domain::service::relations`]. Descriptions are the seed's wording where it has one.

mod call;
mod call_purpose;
mod mailing;
mod sequence;
mod sequence_step;
mod sequence_template;
mod task;
mod task_priority;
mod template;
mod user;

/// What every type file uses.
mod prelude {
    pub use async_graphql::{Context, ID, InputObject, Object, Result};

    pub use super::*;
    pub(crate) use crate::connection::connection;
    pub use crate::context::rc;
    pub use crate::fast::Fast;
    pub(crate) use crate::fast::attributes;
    pub(crate) use crate::inputs::order_input;
    pub use crate::inputs::*;
    pub use crate::resolve::{child_count, nested_connection, page, to_one, to_one_required};
    pub use crate::scalars::{self, Date, DateTime, id};
    pub use stepgraph_domain::auth::policy::{self, SequenceAccess};
    pub use stepgraph_domain::error::AppError;
    pub use stepgraph_domain::service::lists;
    pub use stepgraph_domain::service::relations as rel;
    pub use stepgraph_domain::service::steps::display_name;
}

use prelude::*;

pub use call::*;
pub use call_purpose::*;
pub use mailing::*;
pub use sequence::*;
pub use sequence_step::*;
pub use sequence_template::*;
pub use task::*;
pub use task_priority::*;
pub use template::*;
pub use user::*;
fn tags(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

async fn sequence_access(
    ctx: &Context<'_>,
    step: &entity::sequence_step::Model,
) -> Result<SequenceAccess> {
    // The same loader as `SequenceStep.sequence`: resolved at the same moment, one statement;
    // or what the root statement's join read for this (`joins::Joinable::READERS`).
    use crate::joins::ToOneField;
    let rel = &rel::STEP_SEQUENCE;
    let mask = || rel.target_columns(SequenceAccess::COLUMNS);
    let seq = crate::resolve::target(ctx, rel, step, mask).await?;
    Ok(SequenceAccess::from(&crate::resolve::required(
        rel, step, seq,
    )?))
}
