//! Input types: filters, orderings and mutation inputs, each converted into the service
//! layer's own types (so validation lives in one place).

use async_graphql::{Enum, ID, InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::graphql::scalars::{self, Date, OrderDirection, parse_id, parse_ids};
use crate::service::Patch;
use crate::service::filters::Range;
use crate::service::lists;
use crate::service::pagination::Direction;
use crate::service::steps::{NewStep, StepChanges};

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
    pub min: Option<DateTime<Utc>>,
    /// The latest instant included.
    pub max: Option<DateTime<Utc>>,
}

fn int_range(field: &str, r: Option<IntRange>) -> Result<Option<Range<i32>>, AppError> {
    r.map(|r| range(field, r.min, r.max)).transpose()
}

fn date_range(
    field: &str,
    r: Option<DateRange>,
) -> Result<Option<Range<chrono::NaiveDate>>, AppError> {
    r.map(|r| range(field, r.min.map(|d| d.0), r.max.map(|d| d.0)))
        .transpose()
}

fn time_range(
    field: &str,
    r: Option<DateTimeRange>,
) -> Result<Option<Range<DateTime<Utc>>>, AppError> {
    r.map(|r| range(field, r.min, r.max)).transpose()
}

fn range<T: PartialOrd>(field: &str, min: Option<T>, max: Option<T>) -> Result<Range<T>, AppError> {
    if let (Some(a), Some(b)) = (&min, &max)
        && a > b
    {
        return Err(AppError::invalid(field, "min must not be greater than max"));
    }
    Ok(Range { min, max })
}

fn ids(field: &str, f: Option<IdFilter>) -> Result<Option<Vec<i64>>, AppError> {
    f.map(|f| parse_ids(field, &f.id)).transpose()
}

fn id_list(field: &str, v: Option<Vec<ID>>) -> Result<Option<Vec<i64>>, AppError> {
    v.map(|v| parse_ids(field, &v)).transpose()
}

/// Filters a step by its sequence (the attributes the seed allows: id, enabledAt, name).
#[derive(InputObject, Clone, Debug)]
pub struct SequenceRefFilter {
    /// Any of these sequence ids.
    pub id: Option<Vec<ID>>,
    /// Sequences enabled within this range.
    pub enabled_at: Option<DateTimeRange>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
}

/// Filters sequence templates by any of their filterable attributes.
#[derive(InputObject, Clone, Debug, Default)]
pub struct SequenceTemplateFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Sent as a reply, or as a new thread.
    pub is_reply: Option<bool>,
    /// Active or not.
    pub enabled: Option<bool>,
    /// Enabled within this range.
    pub enabled_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// Using any of these templates.
    pub template: Option<IdFilter>,
    /// Created by any of these users.
    pub creator: Option<IdFilter>,
}

impl SequenceTemplateFilter {
    pub fn into_service(self) -> Result<lists::sequence_templates::Filter, AppError> {
        Ok(lists::sequence_templates::Filter {
            ids: id_list("sequenceTemplates.id", self.id)?,
            is_reply: self.is_reply,
            enabled: self.enabled,
            enabled_at: time_range("sequenceTemplates.enabledAt", self.enabled_at)?,
            created_at: time_range("sequenceTemplates.createdAt", self.created_at)?,
            updated_at: time_range("sequenceTemplates.updatedAt", self.updated_at)?,
            template_ids: ids("sequenceTemplates.template.id", self.template)?,
            creator_ids: ids("sequenceTemplates.creator.id", self.creator)?,
        })
    }
}

/// Filters steps. A list matches any of its values (OR); the fields all apply (AND); ranges
/// include both ends. (Mailings cannot be used as a filter, as in Outreach.)
#[derive(InputObject, Clone, Debug, Default)]
pub struct SequenceStepFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these step types.
    pub step_type: Option<Vec<scalars::StepType>>,
    /// Order within this range.
    pub order: Option<IntRange>,
    /// Interval (seconds) within this range.
    pub interval: Option<IntRange>,
    /// Date within this range.
    pub date: Option<DateRange>,
    /// Autoskip delay (seconds) within this range.
    pub task_autoskip_delay: Option<IntRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// By the step's sequence: id, enabledAt or name.
    pub sequence: Option<SequenceRefFilter>,
    /// Steps having at least one sequence template matching this filter.
    pub sequence_templates: Option<SequenceTemplateFilter>,
    /// By call purpose id.
    pub call_purpose: Option<IdFilter>,
    /// Steps having at least one of these calls.
    pub calls: Option<IdFilter>,
    /// By creator id.
    pub creator: Option<IdFilter>,
    /// By task priority id.
    pub task_priority: Option<IdFilter>,
    /// Steps having at least one of these tasks.
    pub tasks: Option<IdFilter>,
    /// By updater id.
    pub updater: Option<IdFilter>,
}

impl SequenceStepFilter {
    pub fn into_service(self) -> Result<lists::steps::Filter, AppError> {
        Ok(lists::steps::Filter {
            ids: id_list("filter.id", self.id)?,
            step_types: self
                .step_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            order: int_range("filter.order", self.order)?,
            interval: int_range("filter.interval", self.interval)?,
            date: date_range("filter.date", self.date)?,
            task_autoskip_delay: int_range("filter.taskAutoskipDelay", self.task_autoskip_delay)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            sequence: self
                .sequence
                .map(|s| -> Result<_, AppError> {
                    Ok(lists::steps::SequenceRef {
                        ids: id_list("filter.sequence.id", s.id)?,
                        enabled_at: time_range("filter.sequence.enabledAt", s.enabled_at)?,
                        names: s.name,
                    })
                })
                .transpose()?,
            sequence_templates: self
                .sequence_templates
                .map(|f| f.into_service())
                .transpose()?,
            call_purpose_ids: ids("filter.callPurpose.id", self.call_purpose)?,
            call_ids: ids("filter.calls.id", self.calls)?,
            creator_ids: ids("filter.creator.id", self.creator)?,
            task_priority_ids: ids("filter.taskPriority.id", self.task_priority)?,
            task_ids: ids("filter.tasks.id", self.tasks)?,
            updater_ids: ids("filter.updater.id", self.updater)?,
        })
    }
}

macro_rules! order_input {
    ($(#[$doc:meta])* $input:ident, $field:ident, $sort:path { $( $(#[$vdoc:meta])* $variant:ident ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $field { $( $(#[$vdoc])* $variant ),* }

        impl From<$field> for $sort {
            fn from(f: $field) -> Self {
                match f { $( $field::$variant => <$sort>::$variant ),* }
            }
        }

        /// One key of an ordering; later keys break ties of earlier ones, and the id always
        /// breaks the last tie.
        #[derive(InputObject, Clone, Copy, Debug)]
        pub struct $input {
            /// The attribute to sort by.
            pub field: $field,
            /// The direction, ascending by default.
            #[graphql(default)]
            pub direction: OrderDirection,
        }

        impl $input {
            pub fn to_service(list: &Option<Vec<$input>>) -> Vec<($sort, Direction)> {
                list.iter().flatten().map(|o| (o.field.into(), o.direction.into())).collect()
            }
        }
    };
}

order_input!(
    /// The attributes steps can be sorted by.
    SequenceStepOrder, SequenceStepOrderField, lists::steps::Sort {
        Id, Order,
        /// By the number in the display name ("Step #2" before "Step #10"), like ORDER.
        DisplayName,
        StepType, Interval, Date, TaskNote, TaskAutoskipDelay, CreatedAt, UpdatedAt,
        BounceCount, ClickCount, DeliverCount, FailureCount, NegativeReplyCount, NeutralReplyCount,
        OpenCount, OptOutCount, PositiveReplyCount, ReplyCount, ScheduleCount,
    }
);
order_input!(
    /// The attributes sequences can be sorted by.
    SequenceOrder, SequenceOrderField, lists::sequences::Sort {
        Id, Name, CreatedAt, UpdatedAt, EnabledAt, LastUsedAt,
    }
);
order_input!(
    /// The attributes templates can be sorted by.
    TemplateOrder, TemplateOrderField, lists::templates::Sort { Id, Name, CreatedAt, UpdatedAt }
);
order_input!(
    /// The attributes users can be sorted by.
    UserOrder, UserOrderField, lists::users::Sort { Id, Email, FirstName, LastName, CreatedAt, UpdatedAt }
);
order_input!(
    /// The attributes call purposes can be sorted by.
    CallPurposeOrder, CallPurposeOrderField, lists::call_purposes::Sort { Id, Name, Order, CreatedAt, UpdatedAt }
);

/// Filters sequences.
#[derive(InputObject, Clone, Debug, Default)]
pub struct SequenceFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
    /// Any of these sequence types.
    pub sequence_type: Option<Vec<scalars::SequenceType>>,
    /// Any of these share types.
    pub share_type: Option<Vec<scalars::ShareType>>,
    /// Enabled or not.
    pub enabled: Option<bool>,
    /// Locked (archived) or not.
    pub locked: Option<bool>,
    /// Enabled within this range.
    pub enabled_at: Option<DateTimeRange>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
    /// Owned by any of these users.
    pub owner: Option<IdFilter>,
}

impl SequenceFilter {
    pub fn into_service(self) -> Result<lists::sequences::Filter, AppError> {
        Ok(lists::sequences::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
            sequence_types: self
                .sequence_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            share_types: self
                .share_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            enabled: self.enabled,
            locked: self.locked,
            enabled_at: time_range("filter.enabledAt", self.enabled_at)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
            owner_ids: ids("filter.owner.id", self.owner)?,
        })
    }
}

/// Filters templates.
#[derive(InputObject, Clone, Debug, Default)]
pub struct TemplateFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
    /// Any of these share types.
    pub share_type: Option<Vec<scalars::ShareType>>,
    /// Archived or not.
    pub archived: Option<bool>,
    /// Owned by any of these users.
    pub owner: Option<IdFilter>,
    /// Created within this range.
    pub created_at: Option<DateTimeRange>,
    /// Updated within this range.
    pub updated_at: Option<DateTimeRange>,
}

impl TemplateFilter {
    pub fn into_service(self) -> Result<lists::templates::Filter, AppError> {
        Ok(lists::templates::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
            share_types: self
                .share_type
                .map(|v| v.into_iter().map(Into::into).collect()),
            archived: self.archived,
            owner_ids: ids("filter.owner.id", self.owner)?,
            created_at: time_range("filter.createdAt", self.created_at)?,
            updated_at: time_range("filter.updatedAt", self.updated_at)?,
        })
    }
}

/// Filters users.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UserFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these email addresses.
    pub email: Option<Vec<String>>,
    /// Any of these roles.
    pub role: Option<Vec<scalars::Role>>,
    /// Deactivated or not.
    pub locked: Option<bool>,
}

impl UserFilter {
    pub fn into_service(self) -> Result<lists::users::Filter, AppError> {
        Ok(lists::users::Filter {
            ids: id_list("filter.id", self.id)?,
            emails: self.email,
            roles: self.role.map(|v| v.into_iter().map(Into::into).collect()),
            locked: self.locked,
        })
    }
}

/// Filters call purposes.
#[derive(InputObject, Clone, Debug, Default)]
pub struct CallPurposeFilter {
    /// Any of these ids.
    pub id: Option<Vec<ID>>,
    /// Any of these exact names.
    pub name: Option<Vec<String>>,
}

impl CallPurposeFilter {
    pub fn into_service(self) -> Result<lists::call_purposes::Filter, AppError> {
        Ok(lists::call_purposes::Filter {
            ids: id_list("filter.id", self.id)?,
            names: self.name,
        })
    }
}

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
    pub expected_updated_at: Option<DateTime<Utc>>,
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
            expected_updated_at: self.expected_updated_at,
        })
    }
}
