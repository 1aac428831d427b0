//! String-backed enums stored in `VARCHAR` columns.
//!
//! Every enum here has a matching `CHECK` constraint in the migration, so a row written by hand
//! with an unknown value is rejected by the database as well as by the type system.

use sea_orm::entity::prelude::*;

/// What a user may do; see the authorization policy in the server crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "member")]
    Member,
    #[sea_orm(string_value = "viewer")]
    Viewer,
}

/// Whether a sequence's steps are scheduled by interval or by calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SequenceType {
    #[sea_orm(string_value = "interval")]
    Interval,
    #[sea_orm(string_value = "date")]
    Date,
}

/// Who besides the owner can see or edit a sequence or template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ShareType {
    #[sea_orm(string_value = "private")]
    Private,
    #[sea_orm(string_value = "read_only")]
    ReadOnly,
    #[sea_orm(string_value = "shared")]
    Shared,
}

/// The kind of a sequence step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(255))")]
pub enum StepType {
    #[sea_orm(string_value = "auto_email")]
    AutoEmail,
    #[sea_orm(string_value = "manual_email")]
    ManualEmail,
    #[sea_orm(string_value = "call")]
    Call,
    #[sea_orm(string_value = "task")]
    Task,
}

/// How a sequence's step intervals are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ScheduleIntervalType {
    #[sea_orm(string_value = "calendar")]
    Calendar,
    #[sea_orm(string_value = "schedule")]
    Schedule,
}

/// What a sequence does with a prospect who replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ReplyAction {
    #[sea_orm(string_value = "finish")]
    Finish,
    #[sea_orm(string_value = "continue")]
    Continue,
    #[sea_orm(string_value = "pause")]
    Pause,
}

/// The delivery state of a mailing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MailingState {
    #[sea_orm(string_value = "bounced")]
    Bounced,
    #[sea_orm(string_value = "delivered")]
    Delivered,
    #[sea_orm(string_value = "delivering")]
    Delivering,
    #[sea_orm(string_value = "drafted")]
    Drafted,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "opened")]
    Opened,
    #[sea_orm(string_value = "placeholder")]
    Placeholder,
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "replied")]
    Replied,
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
}

/// The kind of a mailing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MailingType {
    #[sea_orm(string_value = "sequence")]
    Sequence,
    #[sea_orm(string_value = "single")]
    Single,
    #[sea_orm(string_value = "campaign")]
    Campaign,
}

/// The sentiment of a reply, which splits the reply counter into three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ReplySentiment {
    #[sea_orm(string_value = "positive")]
    Positive,
    #[sea_orm(string_value = "neutral")]
    Neutral,
    #[sea_orm(string_value = "negative")]
    Negative,
}

/// What a task asks its owner to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TaskAction {
    #[sea_orm(string_value = "action_item")]
    ActionItem,
    #[sea_orm(string_value = "call")]
    Call,
    #[sea_orm(string_value = "email")]
    Email,
    #[sea_orm(string_value = "in_person")]
    InPerson,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TaskState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "incomplete")]
    Incomplete,
    #[sea_orm(string_value = "complete")]
    Complete,
}

/// The direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CallDirection {
    #[sea_orm(string_value = "inbound")]
    Inbound,
    #[sea_orm(string_value = "outbound")]
    Outbound,
}

/// The outcome of a call (Outreach's capitalised values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CallOutcome {
    #[sea_orm(string_value = "Answered")]
    Answered,
    #[sea_orm(string_value = "Not Answered")]
    NotAnswered,
}

/// What happened to a mailing, as reported to the event ingest endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MailingEventType {
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "delivered")]
    Delivered,
    #[sea_orm(string_value = "opened")]
    Opened,
    #[sea_orm(string_value = "clicked")]
    Clicked,
    #[sea_orm(string_value = "replied")]
    Replied,
    #[sea_orm(string_value = "bounced")]
    Bounced,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "opted_out")]
    OptedOut,
}

/// What kind of row a change-feed entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ChangedEntity {
    #[sea_orm(string_value = "sequence_step")]
    SequenceStep,
    #[sea_orm(string_value = "sequence")]
    Sequence,
    #[sea_orm(string_value = "api_token")]
    ApiToken,
}

/// What happened to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ChangeKind {
    #[sea_orm(string_value = "created")]
    Created,
    #[sea_orm(string_value = "updated")]
    Updated,
    #[sea_orm(string_value = "deleted")]
    Deleted,
}
