//! Enums and scalars of the schema, mapped onto the entity enums.
//!
//! Enum values are SCREAMING_SNAKE in GraphQL (`AUTO_EMAIL`) and stored in the database as
//! Outreach's lower-case strings (`auto_email`); `remote` derives the conversions both ways.

use async_graphql::{Enum, ID, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;
use entity::enums;

use crate::error::AppError;

macro_rules! remote_enum {
    ($(#[$doc:meta])* $name:ident = $remote:literal { $( $(#[$vdoc:meta])* $variant:ident ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[graphql(remote = $remote)]
        pub enum $name { $( $(#[$vdoc])* $variant ),* }
    };
}

remote_enum!(
    /// The step's type.
    StepType = "enums::StepType" {
        /// An email sent automatically.
        AutoEmail,
        /// An email the user reviews and sends.
        ManualEmail,
        /// A phone call.
        Call,
        /// A generic task.
        Task,
    }
);
remote_enum!(
    /// A user's role: admins may do anything, members write where sharing allows, viewers only read.
    Role = "enums::Role" { Admin, Member, Viewer }
);
remote_enum!(
    /// Whether a sequence schedules its steps by interval or by calendar date.
    SequenceType = "enums::SequenceType" { Interval, Date }
);
remote_enum!(
    /// Who besides the owner may see (read only) or also edit (shared).
    ShareType = "enums::ShareType" { Private, ReadOnly, Shared }
);
remote_enum!(
    /// How a sequence counts intervals: calendar days or the sender's schedule.
    ScheduleIntervalType = "enums::ScheduleIntervalType" { Calendar, Schedule }
);
remote_enum!(
    /// What a sequence does when a prospect replies.
    ReplyAction = "enums::ReplyAction" { Finish, Continue, Pause }
);
remote_enum!(
    /// The delivery state of a mailing.
    MailingState = "enums::MailingState" {
        Bounced, Delivered, Delivering, Drafted, Failed, Opened, Placeholder, Queued, Replied, Scheduled,
    }
);
remote_enum!(
    /// The kind of a mailing.
    MailingType = "enums::MailingType" { Sequence, Single, Campaign }
);
remote_enum!(
    /// The sentiment of a reply.
    ReplySentiment = "enums::ReplySentiment" { Positive, Neutral, Negative }
);
remote_enum!(
    /// What a task asks its owner to do.
    TaskAction = "enums::TaskAction" { ActionItem, Call, Email, InPerson }
);
remote_enum!(
    /// The state of a task.
    TaskState = "enums::TaskState" { Pending, Incomplete, Complete }
);
remote_enum!(
    /// The direction of a call.
    CallDirection = "enums::CallDirection" { Inbound, Outbound }
);
remote_enum!(
    /// The outcome of a call.
    CallOutcome = "enums::CallOutcome" { Answered, NotAnswered }
);

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl From<OrderDirection> for crate::service::pagination::Direction {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => Self::Asc,
            OrderDirection::Desc => Self::Desc,
        }
    }
}

/// A calendar date without time, as `YYYY-MM-DD` (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date without time, as `YYYY-MM-DD` (ISO 8601).
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!("{s:?} is not a date like 2026-12-31"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An id as the API shows it.
pub fn id(n: i64) -> ID {
    ID(n.to_string())
}

/// Parses a client's id; `field` names the argument in the error.
pub fn parse_id(field: &str, id: &ID) -> Result<i64, AppError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid(field, format!("{:?} is not an id", id.as_str())))
}

/// Parses a list of ids.
pub fn parse_ids(field: &str, ids: &[ID]) -> Result<Vec<i64>, AppError> {
    ids.iter().map(|i| parse_id(field, i)).collect()
}
