//! Enums and scalars of the schema, mapped onto the entity enums.
//!
//! Enum values are SCREAMING_SNAKE in GraphQL (`AUTO_EMAIL`) and stored in the database as
//! Outreach's lower-case strings (`auto_email`); `remote` derives the conversions both ways.

use async_graphql::{Enum, ID, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;
use entity::enums;

use stepgraph_domain::error::AppError;

macro_rules! remote_enum {
    ($(#[$doc:meta])* $name:ident = $remote:literal { $( $(#[$vdoc:meta])* $variant:ident ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[graphql(remote = $remote)]
        pub enum $name { $( $(#[$vdoc])* $variant ),* }

        impl crate::raw::Json for $name {
            fn json(&self, out: &mut Vec<u8>) {
                crate::raw::enum_json(self, out);
            }
        }
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

/// An enum whose values the reference documents but the database stores as free strings (the
/// columns predate a check constraint): each variant with its stored spelling. A stored value
/// outside the documented set is answered as null and logged, never guessed.
macro_rules! stored_string_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $stored:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vdoc])* $variant ),* }

        impl crate::raw::Json for $name {
            fn json(&self, out: &mut Vec<u8>) {
                crate::raw::enum_json(self, out);
            }
        }

        impl $name {
            /// The variant stored as `value`, if it is one of the documented values.
            pub fn from_stored(value: &str) -> Option<Self> {
                let found = match value { $( $stored => Some(Self::$variant), )* _ => None };
                if found.is_none() {
                    tracing::warn!(
                        value,
                        "stored {} outside the documented values",
                        stringify!($name)
                    );
                }
                found
            }
        }
    };
}

stored_string_enum!(
    /// What a call did to the prospect's place in the sequence.
    CallSequenceAction {
        /// Move on to the next step.
        Advance = "Advance",
        /// Finish the sequence.
        Finish = "Finish",
        /// Finish the sequence: no reply.
        FinishNoReply = "Finish - No Reply",
        /// Finish the sequence: the prospect replied.
        FinishReplied = "Finish - Replied",
    }
);
stored_string_enum!(
    /// How a call was placed.
    UserCallType {
        /// Through a bridge (the user's own phone is called first).
        Bridge = "bridge",
        /// Over voice over IP.
        Voip = "voip",
    }
);
stored_string_enum!(
    /// Why a task exists.
    TaskType {
        /// A follow-up the user set for themselves.
        FollowUp = "follow_up",
        /// Created by hand (every task created through the API).
        Manual = "manual",
        /// Follow up on a mailing without a reply.
        NoReply = "no_reply",
        /// Follow up on an opened sequence mailing.
        SequenceOpen = "sequence_open",
        /// Follow up on a clicked sequence mailing.
        SequenceClick = "sequence_click",
        /// A call step of a sequence.
        SequenceStepCall = "sequence_step_call",
        /// A manual email step of a sequence.
        SequenceStepEmail = "sequence_step_email",
        /// A LinkedIn step: interact with a post.
        SequenceStepLinkedinInteractWithPost = "sequence_step_linkedin_interact_with_post",
        /// A LinkedIn step of another kind.
        SequenceStepLinkedinOther = "sequence_step_linkedin_other",
        /// A LinkedIn step: send a connection request.
        SequenceStepLinkedinSendConnectionRequest = "sequence_step_linkedin_send_connection_request",
        /// A LinkedIn step: send a message.
        SequenceStepLinkedinSendMessage = "sequence_step_linkedin_send_message",
        /// A LinkedIn step: view the profile.
        SequenceStepLinkedinViewProfile = "sequence_step_linkedin_view_profile",
        /// An SMS step of a sequence.
        SequenceStepSms = "sequence_step_sms",
        /// A task step of a sequence.
        SequenceStepTask = "sequence_step_task",
        /// A general touch point.
        Touch = "touch",
    }
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

impl From<OrderDirection> for stepgraph_domain::service::pagination::Direction {
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

/// An instant, as an RFC 3339 date-time string in UTC with up to microsecond precision
/// (`2026-11-28T09:30:00Z`, `2026-11-28T09:30:00.123456Z`). Input may carry any offset; it is
/// converted to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

/// An instant, as an RFC 3339 date-time string in UTC (`2026-11-28T09:30:00Z`); input may
/// carry any offset and is converted to UTC.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&chrono::Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "{s:?} is not an RFC 3339 date-time like 2026-11-28T09:30:00Z"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
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
