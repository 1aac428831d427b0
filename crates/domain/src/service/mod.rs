//! The service layer: the rules of the model, shared by the GraphQL and JSON:API adapters.
//!
//! Boundary: nothing under `service` imports async-graphql, axum or any wire type. Inputs are
//! plain Rust structs that the adapters fill from their own wire formats; outputs are entity
//! models; failures are [`crate::error::AppError`]. Every write is one transaction.

pub mod changes;
pub mod children;
pub mod counters;
pub mod filters;
pub mod joins;
pub mod lists;
pub mod mailings;
pub mod mirror;
pub mod pagination;
pub mod rate_limits;
pub mod relations;
pub mod resource;
pub mod steps;
pub mod upstream;

/// A change to one field of a partial update: the three states a JSON or GraphQL client can
/// express (field absent, field `null`, field set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Absent: leave the stored value alone.
    #[default]
    Keep,
    /// Explicit `null`: clear the value (an error for a field that cannot be empty).
    Clear,
    /// A new value.
    Set(T),
}

impl<T> Patch<T> {
    /// Applies the change to the current value.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(value) => Some(value),
        }
    }

    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears; use [`Patch::Keep`] for "absent".
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Clear, Patch::Set)
    }
}
