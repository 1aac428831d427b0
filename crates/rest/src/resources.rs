//! The ten resource types on the JSON:API wire: for each, its path, its attributes (Outreach's
//! names, wire enums such as `auto_email`), its relationships (the statics of
//! [`stepgraph_domain::service::relations`]) and its filters (`filter[attr]`, `filter[rel][attr]`, as the
//! seed allows them), filling the same service-layer filter structs GraphQL fills.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use entity::enums::{
    CallDirection, CallOutcome, MailingState, MailingType, ReplyAction, ReplySentiment, Role,
    ScheduleIntervalType, SequenceType, ShareType, StepType, TaskAction, TaskState,
};
use sea_orm::ActiveEnum;
use serde_json::{Value, json};

use crate::document::{
    ApiResource, Authorization, BoxFuture, Cx, FilterError, FilterField, Relationship, TypeInfo,
    apply_filter, relationship_infos,
};
use crate::params::{date_range, enums, flag, ids, int_range, strings, time_range};
use stepgraph_domain::auth::policy::{self, SequenceAccess};
use stepgraph_domain::error::AppResult;
use stepgraph_domain::service::lists::{
    self, CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities,
    Tasks, Templates, Users,
};
use stepgraph_domain::service::relations as rel;
use stepgraph_domain::service::resource;
use stepgraph_domain::service::steps::display_name;

/// Every type, for checking `fields[type]`.
pub fn all_types() -> [&'static TypeInfo; 10] {
    [
        Steps::info(),
        Sequences::info(),
        SequenceTemplates::info(),
        Templates::info(),
        Users::info(),
        Tasks::info(),
        Calls::info(),
        Mailings::info(),
        CallPurposes::info(),
        TaskPriorities::info(),
    ]
}

/// A value as an attribute on the wire.
trait Wire {
    fn wire(&self) -> Value;
}

macro_rules! wire_as_json {
    ($($t:ty),*) => { $( impl Wire for $t { fn wire(&self) -> Value { json!(self) } } )* };
}
wire_as_json!(i32, i64, bool, String, Value);

macro_rules! wire_enums {
    ($($t:ty),*) => { $( impl Wire for $t { fn wire(&self) -> Value { Value::String(self.to_value()) } } )* };
}
wire_enums!(
    CallDirection,
    CallOutcome,
    MailingState,
    MailingType,
    ReplyAction,
    ReplySentiment,
    Role,
    ScheduleIntervalType,
    SequenceType,
    ShareType,
    StepType,
    TaskAction,
    TaskState
);

impl Wire for DateTime<Utc> {
    /// As Outreach renders every date-time: UTC, exactly three fractional digits, `Z`
    /// (`2026-10-01T09:00:00.000Z`). Its clients parse with `%Y-%m-%dT%H:%M:%S.%fZ`, which
    /// refuses a value without the fraction. Stored microseconds are truncated, never rounded
    /// up, so `filter[updatedAt]=<a value read here>..inf` still matches the row it came from.
    fn wire(&self) -> Value {
        Value::String(self.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl Wire for NaiveDate {
    fn wire(&self) -> Value {
        Value::String(self.format("%Y-%m-%d").to_string())
    }
}

impl<T: Wire> Wire for Option<T> {
    fn wire(&self) -> Value {
        self.as_ref().map_or(Value::Null, Wire::wire)
    }
}

/// A type's relationships on the wire: every one declared for it in
/// [`stepgraph_domain::service::relations`] (called through `with_relations!`).
macro_rules! relationships {
    ($P:ident; $($kind:ident $S:ident),*) => {{
        static RELATIONSHIPS: &[Relationship<$P>] = &[$(Relationship::$kind(&rel::$S)),*];
        RELATIONSHIPS
    }};
}

/// The common part of every impl: the path, the attribute table, the relationships (as
/// declared in the domain) and the type description.
macro_rules! api_resource {
    ($R:ident, $plural:literal, |$m:ident| { $($name:literal => $value:expr),* $(,)? }) => {
        const PLURAL: &'static str = $plural;
        fn relationships() -> &'static [Relationship<Self>] {
            stepgraph_domain::with_relations!($R, relationships)
        }
        const ATTRIBUTES: &'static [&'static str] = &[$($name),*];
        fn attributes($m: &Self::Model) -> Vec<Value> {
            vec![$(Wire::wire(&$value)),*]
        }
        fn info() -> &'static TypeInfo {
            static INFO: TypeInfo = TypeInfo {
                name: <$R as resource::Resource>::NAME,
                attributes: &[$($name),*],
                filters: || {
                    <$R as ApiResource>::FILTERS
                        .iter()
                        .filter(|f| !matches!(f, FilterField::Refused(..)))
                        .map(FilterField::name)
                        .collect()
                },
                relationships: relationship_infos::<$R>,
            };
            &INFO
        }
    };
}

/// `filter[name]=value` into one field of the service filter, parsed by `$parse`.
macro_rules! attr {
    ($name:literal => $field:ident, $parse:expr) => {
        FilterField::Attr($name, |f, v| {
            f.$field = Some($parse(v)?);
            Ok(())
        })
    };
}

/// `filter[name][id]=1,2` into the service filter's list of related ids.
macro_rules! related {
    ($name:literal => $field:ident) => {
        FilterField::Related($name, |f| &mut f.$field)
    };
}

impl ApiResource for Steps {
    api_resource!(Steps, "sequenceSteps", |m| {
        "bounceCount" => m.bounce_count,
        "clickCount" => m.click_count,
        "createdAt" => m.created_at,
        "date" => m.date,
        "deliverCount" => m.deliver_count,
        "displayName" => display_name(m),
        "failureCount" => m.failure_count,
        "interval" => m.interval,
        "negativeReplyCount" => m.negative_reply_count,
        "neutralReplyCount" => m.neutral_reply_count,
        "openCount" => m.open_count,
        "optOutCount" => m.opt_out_count,
        "order" => m.order,
        "positiveReplyCount" => m.positive_reply_count,
        "replyCount" => m.reply_count,
        "scheduleCount" => m.schedule_count,
        "stepType" => m.step_type,
        "taskAutoskipDelay" => m.task_autoskip_delay,
        "taskNote" => m.task_note,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("stepType" => step_types, enums),
        attr!("order" => order, int_range),
        attr!("interval" => interval, int_range),
        attr!("date" => date, date_range),
        attr!("taskAutoskipDelay" => task_autoskip_delay, int_range),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        FilterField::Nested("sequence", |f, rest, v| {
            let s = f.sequence.get_or_insert_default();
            match rest {
                ["id"] => s.ids = Some(ids(v)?),
                ["enabledAt"] => s.enabled_at = Some(time_range(v)?),
                ["name"] => s.names = Some(strings(v)?),
                _ => {
                    return Err(FilterError::Invalid(
                        "filters sequences by id, enabledAt or name only".into(),
                    ));
                }
            }
            Ok(())
        }),
        FilterField::Nested("sequenceTemplates", |f, rest, v| {
            let st = f.sequence_templates.get_or_insert_default();
            match apply_filter(SequenceTemplates::FILTERS, st, rest, v) {
                Err(FilterError::Unknown) => Err(FilterError::Invalid(
                    "is not a filterable attribute of sequenceTemplates".into(),
                )),
                other => other,
            }
        }),
        related!("callPurpose" => call_purpose_ids),
        related!("calls" => call_ids),
        related!("creator" => creator_ids),
        related!("taskPriority" => task_priority_ids),
        related!("tasks" => task_ids),
        related!("updater" => updater_ids),
        FilterField::Refused(
            "mailings",
            "cannot be used: the mailings relationship is not a filter (as in Outreach)",
        ),
    ];

    /// A step's rights follow its sequence: one statement for the sequences of all the rows.
    fn authorization<'a>(
        cx: &'a Cx,
        rows: &'a [Self::Model],
    ) -> BoxFuture<'a, AppResult<Vec<Authorization>>> {
        Box::pin(async move {
            let mut ids: Vec<i64> = rows.iter().map(|r| r.sequence_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let sequences = resource::by_ids::<Sequences>(&cx.db, &cx.viewer, &ids).await?;
            Ok(rows
                .iter()
                .map(|r| {
                    sequences
                        .get(&r.sequence_id)
                        .map(|s| sequence_rights(cx, s))
                        .unwrap_or_default()
                })
                .collect())
        })
    }
}

/// The rights GraphQL's `canWrite` / `canDelete` give for a sequence and its steps.
fn sequence_rights(cx: &Cx, seq: &entity::sequence::Model) -> Authorization {
    let access = SequenceAccess::from(seq);
    Authorization {
        can_write: policy::can_write_step(&cx.viewer, &access),
        can_delete: policy::can_delete_step(&cx.viewer, &access),
    }
}

impl ApiResource for Sequences {
    api_resource!(Sequences, "sequences", |m| {
        "name" => m.name,
        "description" => m.description,
        "sequenceType" => m.sequence_type,
        "shareType" => m.share_type,
        "scheduleIntervalType" => m.schedule_interval_type,
        "enabled" => m.enabled,
        "enabledAt" => m.enabled_at,
        "locked" => m.locked,
        "lockedAt" => m.locked_at,
        "lastUsedAt" => m.last_used_at,
        "maxActivations" => m.max_activations,
        "primaryReplyAction" => m.primary_reply_action,
        "primaryReplyPauseDuration" => m.primary_reply_pause_duration,
        "secondaryReplyAction" => m.secondary_reply_action,
        "secondaryReplyPauseDuration" => m.secondary_reply_pause_duration,
        "throttleCapacity" => m.throttle_capacity,
        "throttleMaxAddsPerDay" => m.throttle_max_adds_per_day,
        "throttlePaused" => m.throttle_paused,
        "throttlePausedAt" => m.throttle_paused_at,
        "transactional" => m.transactional,
        "tags" => m.tags,
        "bounceCount" => m.bounce_count,
        "clickCount" => m.click_count,
        "deliverCount" => m.deliver_count,
        "failureCount" => m.failure_count,
        "negativeReplyCount" => m.negative_reply_count,
        "neutralReplyCount" => m.neutral_reply_count,
        "openCount" => m.open_count,
        "optOutCount" => m.opt_out_count,
        "positiveReplyCount" => m.positive_reply_count,
        "replyCount" => m.reply_count,
        "scheduleCount" => m.schedule_count,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("name" => names, strings),
        attr!("sequenceType" => sequence_types, enums),
        attr!("shareType" => share_types, enums),
        attr!("enabled" => enabled, flag),
        attr!("locked" => locked, flag),
        attr!("enabledAt" => enabled_at, time_range),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        related!("owner" => owner_ids),
    ];

    /// As GraphQL's `Sequence.canWrite` / `canDelete`: may the viewer change (delete) its steps.
    fn authorization<'a>(
        cx: &'a Cx,
        rows: &'a [Self::Model],
    ) -> BoxFuture<'a, AppResult<Vec<Authorization>>> {
        Box::pin(async move { Ok(rows.iter().map(|s| sequence_rights(cx, s)).collect()) })
    }
}

impl ApiResource for SequenceTemplates {
    api_resource!(SequenceTemplates, "sequenceTemplates", |m| {
        "isReply" => m.is_reply,
        "enabled" => m.enabled,
        "enabledAt" => m.enabled_at,
        "bounceCount" => m.bounce_count,
        "clickCount" => m.click_count,
        "deliverCount" => m.deliver_count,
        "failureCount" => m.failure_count,
        "negativeReplyCount" => m.negative_reply_count,
        "neutralReplyCount" => m.neutral_reply_count,
        "openCount" => m.open_count,
        "optOutCount" => m.opt_out_count,
        "positiveReplyCount" => m.positive_reply_count,
        "replyCount" => m.reply_count,
        "scheduleCount" => m.schedule_count,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("isReply" => is_reply, flag),
        attr!("enabled" => enabled, flag),
        attr!("enabledAt" => enabled_at, time_range),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        related!("template" => template_ids),
        related!("creator" => creator_ids),
        related!("sequenceStep" => sequence_step_ids),
    ];
}

impl ApiResource for Templates {
    api_resource!(Templates, "templates", |m| {
        "name" => m.name,
        "subject" => m.subject,
        "bodyHtml" => m.body_html,
        "bodyText" => m.body_text,
        "shareType" => m.share_type,
        "archived" => m.archived,
        "archivedAt" => m.archived_at,
        "trackLinks" => m.track_links,
        "trackOpens" => m.track_opens,
        "toRecipients" => m.to_recipients,
        "ccRecipients" => m.cc_recipients,
        "bccRecipients" => m.bcc_recipients,
        "tags" => m.tags,
        "lastUsedAt" => m.last_used_at,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("name" => names, strings),
        attr!("shareType" => share_types, enums),
        attr!("archived" => archived, flag),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        related!("owner" => owner_ids),
    ];
}

impl ApiResource for Users {
    api_resource!(Users, "users", |m| {
        "email" => m.email,
        "firstName" => m.first_name,
        "lastName" => m.last_name,
        "name" => lists::users::full_name(m),
        "username" => m.username,
        "title" => m.title,
        "role" => m.role,
        "locked" => m.locked,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("email" => emails, strings),
        attr!("role" => roles, enums),
        attr!("locked" => locked, flag),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
    ];
}

impl ApiResource for Tasks {
    api_resource!(Tasks, "tasks", |m| {
        "action" => m.action,
        "state" => m.state,
        "taskType" => m.task_type,
        "dueAt" => m.due_at,
        "scheduledAt" => m.scheduled_at,
        "autoskipAt" => m.autoskip_at,
        "completed" => m.completed,
        "completedAt" => m.completed_at,
        "note" => m.note,
        "stateChangedAt" => m.state_changed_at,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("state" => states, enums),
        attr!("action" => actions, enums),
        attr!("completed" => completed, flag),
        attr!("dueAt" => due_at, time_range),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        related!("sequence" => sequence_ids),
        related!("sequenceStep" => sequence_step_ids),
        related!("taskPriority" => task_priority_ids),
        related!("owner" => owner_ids),
    ];
}

impl ApiResource for Calls {
    api_resource!(Calls, "calls", |m| {
        "direction" => m.direction,
        "outcome" => m.outcome,
        "state" => m.state,
        "sequenceAction" => m.sequence_action,
        "userCallType" => m.user_call_type,
        "from" => m.from,
        "to" => m.to,
        "note" => m.note,
        "recordingUrl" => m.recording_url,
        "voicemailRecordingUrl" => m.voicemail_recording_url,
        "vendorCallId" => m.vendor_call_id,
        "externalVendor" => m.external_vendor,
        "shouldRecordCall" => m.should_record_call,
        "dialedAt" => m.dialed_at,
        "answeredAt" => m.answered_at,
        "completedAt" => m.completed_at,
        "returnedAt" => m.returned_at,
        "stateChangedAt" => m.state_changed_at,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("direction" => directions, enums),
        attr!("outcome" => outcomes, enums),
        attr!("dialedAt" => dialed_at, time_range),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        related!("callPurpose" => call_purpose_ids),
        related!("sequence" => sequence_ids),
        related!("sequenceStep" => sequence_step_ids),
        related!("task" => task_ids),
        related!("user" => user_ids),
    ];
}

impl ApiResource for Mailings {
    api_resource!(Mailings, "mailings", |m| {
        "state" => m.state,
        "mailingType" => m.mailing_type,
        "subject" => m.subject,
        "bodyHtml" => m.body_html,
        "bodyText" => m.body_text,
        "mailboxAddress" => m.mailbox_address,
        "messageId" => m.message_id,
        "errorReason" => m.error_reason,
        "trackLinks" => m.track_links,
        "trackOpens" => m.track_opens,
        "openCount" => m.open_count,
        "clickCount" => m.click_count,
        "replySentiment" => m.reply_sentiment,
        "scheduledAt" => m.scheduled_at,
        "deliveredAt" => m.delivered_at,
        "openedAt" => m.opened_at,
        "clickedAt" => m.clicked_at,
        "repliedAt" => m.replied_at,
        "bouncedAt" => m.bounced_at,
        "unsubscribedAt" => m.unsubscribed_at,
        "markedAsSpamAt" => m.marked_as_spam_at,
        "stateChangedAt" => m.state_changed_at,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("state" => states, enums),
        attr!("deliveredAt" => delivered_at, time_range),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
        related!("sequence" => sequence_ids),
        related!("sequenceStep" => sequence_step_ids),
        related!("sequenceTemplate" => sequence_template_ids),
        related!("template" => template_ids),
        related!("task" => task_ids),
        related!("user" => user_ids),
    ];
}

impl ApiResource for CallPurposes {
    api_resource!(CallPurposes, "callPurposes", |m| {
        "name" => m.name,
        "order" => m.order,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("name" => names, strings),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
    ];
}

impl ApiResource for TaskPriorities {
    api_resource!(TaskPriorities, "taskPriorities", |m| {
        "name" => m.name,
        "color" => m.color,
        "weight" => m.weight,
        "createdAt" => m.created_at,
        "updatedAt" => m.updated_at,
    });

    const FILTERS: &'static [FilterField<Self::Filter>] = &[
        attr!("id" => ids, ids),
        attr!("name" => names, strings),
        attr!("createdAt" => created_at, time_range),
        attr!("updatedAt" => updated_at, time_range),
    ];
}
