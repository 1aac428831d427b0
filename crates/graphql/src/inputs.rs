//! Input types: filters, orderings and mutation inputs, each converted into the service
//! layer's own types (so validation lives in one place).

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};

use crate::scalars::{self, Date, parse_id, parse_ids};
use stepgraph_domain::error::AppError;
use stepgraph_domain::service::Patch;
use stepgraph_domain::service::filters::Range;
use stepgraph_domain::service::pagination::Direction;
use stepgraph_domain::service::steps::{NewStep, StepChanges};

/// Matches a related resource by id (a list matches any of them).
#[derive(InputObject, Clone, Debug)]
pub struct IdFilter {
    /// Any of these ids.
    pub id: Vec<ID>,
}

/// An inclusive integer range; leave an end out to keep it open.
#[derive(InputObject, Clone, Debug)]
pub struct IntRange {
    /// The smallest value included.
    pub min: Option<i32>,
    /// The largest value included.
    pub max: Option<i32>,
}

/// An inclusive date range; leave an end out to keep it open.
#[derive(InputObject, Clone, Debug)]
pub struct DateRange {
    /// The earliest date included.
    pub min: Option<Date>,
    /// The latest date included.
    pub max: Option<Date>,
}

/// An inclusive date-time range; leave an end out to keep it open.
#[derive(InputObject, Clone, Debug)]
pub struct DateTimeRange {
    /// The earliest instant included.
    pub min: Option<scalars::DateTime>,
    /// The latest instant included.
    pub max: Option<scalars::DateTime>,
}

pub(crate) fn int_range(field: &str, r: Option<IntRange>) -> Result<Option<Range<i32>>, AppError> {
    r.map(|r| range(field, r.min, r.max)).transpose()
}

pub(crate) fn date_range(
    field: &str,
    r: Option<DateRange>,
) -> Result<Option<Range<chrono::NaiveDate>>, AppError> {
    r.map(|r| range(field, r.min.map(|d| d.0), r.max.map(|d| d.0)))
        .transpose()
}

pub(crate) fn time_range(
    field: &str,
    r: Option<DateTimeRange>,
) -> Result<Option<Range<DateTime<Utc>>>, AppError> {
    r.map(|r| range(field, r.min.map(|t| t.0), r.max.map(|t| t.0)))
        .transpose()
}

fn range<T: PartialOrd>(field: &str, min: Option<T>, max: Option<T>) -> Result<Range<T>, AppError> {
    if let (Some(a), Some(b)) = (&min, &max)
        && a > b
    {
        return Err(AppError::invalid(field, "min must not be greater than max"));
    }
    Ok(Range { min, max })
}

pub(crate) fn ids(field: &str, f: Option<IdFilter>) -> Result<Option<Vec<i64>>, AppError> {
    f.map(|f| parse_ids(field, &f.id)).transpose()
}

pub(crate) fn id_list(field: &str, v: Option<Vec<ID>>) -> Result<Option<Vec<i64>>, AppError> {
    v.map(|v| parse_ids(field, &v)).transpose()
}

/// A filter input of the schema: converted (and checked) into its resource's service filter.
pub trait FilterInput: Default {
    type Service;
    fn into_service(self) -> Result<Self::Service, AppError>;
}

/// An ordering input of the schema: one key of a resource's ordering.
pub trait OrderInput: Sized {
    type Sort;
    fn to_service(list: &Option<Vec<Self>>) -> Vec<(Self::Sort, Direction)>;
}

/// Declares an ordering input: the enum of sortable fields (mapped onto the service's `Sort`)
/// and the `{ field, direction }` input.
macro_rules! order_input {
    ($(#[$doc:meta])* $input:ident, $field:ident, $sort:path { $( $(#[$vdoc:meta])* $variant:ident ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $field { $( $(#[$vdoc])* $variant ),* }

        impl From<$field> for $sort {
            fn from(f: $field) -> Self {
                match f { $( $field::$variant => <$sort>::$variant ),* }
            }
        }

        /// One key of an ordering; later keys break ties of earlier ones, and the id always
        /// breaks the last tie.
        #[derive(async_graphql::InputObject, Clone, Copy, Debug)]
        pub struct $input {
            /// The attribute to sort by.
            pub field: $field,
            /// The direction, ascending by default.
            #[graphql(default)]
            pub direction: $crate::scalars::OrderDirection,
        }

        impl $crate::inputs::OrderInput for $input {
            type Sort = $sort;
            fn to_service(list: &Option<Vec<$input>>) -> Vec<($sort, ::stepgraph_domain::service::pagination::Direction)> {
                list.iter().flatten().map(|o| (o.field.into(), o.direction.into())).collect()
            }
        }
    };
}
pub(crate) use order_input;

/// A new step. Without `order` it is appended; with `order` it is inserted there and later
/// steps move down.
#[derive(InputObject, Clone, Debug)]
pub struct CreateSequenceStepInput {
    /// The sequence to add the step to (it cannot change later).
    pub sequence_id: ID,
    /// The step's type.
    pub step_type: scalars::StepType,
    /// The position (1 = first); at most the number of steps + 1.
    pub order: Option<i32>,
    /// Seconds until the step activates; required for interval-based sequences, refused otherwise.
    pub interval: Option<i32>,
    /// The day the step activates; required for date-based sequences, refused otherwise.
    pub date: Option<Date>,
    /// A note for the tasks the step creates (at most 65,535 characters).
    pub task_note: Option<String>,
    /// Seconds from when the step's tasks are overdue until they are skipped.
    pub task_autoskip_delay: Option<i32>,
    /// The default call purpose.
    pub call_purpose_id: Option<ID>,
    /// The task priority.
    pub task_priority_id: Option<ID>,
}

impl CreateSequenceStepInput {
    pub fn into_service(self) -> Result<NewStep, AppError> {
        Ok(NewStep {
            sequence_id: parse_id("sequenceId", &self.sequence_id)?,
            step_type: self.step_type.into(),
            order: self.order,
            interval: self.interval,
            date: self.date.map(|d| d.0),
            task_note: self.task_note,
            task_autoskip_delay: self.task_autoskip_delay,
            call_purpose_id: self
                .call_purpose_id
                .map(|i| parse_id("callPurposeId", &i))
                .transpose()?,
            task_priority_id: self
                .task_priority_id
                .map(|i| parse_id("taskPriorityId", &i))
                .transpose()?,
        })
    }
}

/// Changes to a step: a field left out stays as it is; `null` clears it.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateSequenceStepInput {
    /// The step's type.
    pub step_type: MaybeUndefined<scalars::StepType>,
    /// Move the step to this position; the steps in between shift.
    pub order: MaybeUndefined<i32>,
    /// Seconds until the step activates (interval-based sequences).
    pub interval: MaybeUndefined<i32>,
    /// The day the step activates (date-based sequences).
    pub date: MaybeUndefined<Date>,
    /// A note for the tasks the step creates (at most 65,535 characters).
    pub task_note: MaybeUndefined<String>,
    /// Seconds from when the step's tasks are overdue until they are skipped.
    pub task_autoskip_delay: MaybeUndefined<i32>,
    /// The default call purpose.
    pub call_purpose_id: MaybeUndefined<ID>,
    /// The task priority.
    pub task_priority_id: MaybeUndefined<ID>,
    /// The `updatedAt` you last read. If the step has changed since, the update fails with
    /// CONFLICT and changes nothing (protection against lost updates).
    pub expected_updated_at: Option<scalars::DateTime>,
}

fn patch<T, U>(
    v: MaybeUndefined<T>,
    f: impl FnOnce(T) -> Result<U, AppError>,
) -> Result<Patch<U>, AppError> {
    Ok(match v {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(f(v)?),
    })
}

impl UpdateSequenceStepInput {
    pub fn into_service(self) -> Result<StepChanges, AppError> {
        Ok(StepChanges {
            step_type: patch(self.step_type, |t| Ok(t.into()))?,
            order: patch(self.order, Ok)?,
            interval: patch(self.interval, Ok)?,
            date: patch(self.date, |d| Ok(d.0))?,
            task_note: patch(self.task_note, Ok)?,
            task_autoskip_delay: patch(self.task_autoskip_delay, Ok)?,
            call_purpose_id: patch(self.call_purpose_id, |i| parse_id("callPurposeId", &i))?,
            task_priority_id: patch(self.task_priority_id, |i| parse_id("taskPriorityId", &i))?,
            expected_updated_at: self.expected_updated_at.map(|t| t.0),
        })
    }
}
