//! The resources of the model: for each entity its filter (transport-agnostic), its sort keys
//! and its [`Resource`] impl, whose `visible` is the entity's rule from
//! [`crate::auth::policy`]. The generic list, count and lookup functions are in
//! [`crate::service::resource`]; relationships are declared in [`crate::service::relations`].

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{
    CallDirection, CallOutcome, MailingState, Role, SequenceType, ShareType, StepType, TaskAction,
    TaskState,
};
use entity::{
    call, call_purpose, mailing, sequence, sequence_step, sequence_template, task, task_priority,
    template, user,
};
use sea_orm::sea_query::{Condition, Expr, SimpleExpr};
use sea_orm::{ActiveEnum, ColumnTrait};

use crate::auth::Viewer;
use crate::auth::policy::{self, Visible};
use crate::db::timestamp_param;
use crate::service::filters::{Range, any_of, equals, within};
use crate::service::pagination::{KeyKind, KeyValue, SortField, SortKey, coalesced};
use crate::service::relations as rel;
use crate::service::resource::Resource;

pub use call_purposes::CallPurposes;
pub use calls::Calls;
pub use mailings::Mailings;
pub use sequence_templates::SequenceTemplates;
pub use sequences::Sequences;
pub use steps::Steps;
pub use task_priorities::TaskPriorities;
pub use tasks::Tasks;
pub use templates::Templates;
pub use users::Users;

fn col(c: impl sea_orm::ColumnTrait) -> SimpleExpr {
    Expr::col((c.entity_name(), c))
}

/// Declares the sortable attributes of one resource module: the `Sort` enum (its variants are
/// the API's sort fields; `Id` is required, it breaks every tie) with each key's SQL expression
/// and in-memory value. A table, nothing more: the module's `Resource` impl points at it.
macro_rules! sort_keys {
    ($model:ty; $( $variant:ident => $name:literal, $kind:ident, $expr:expr, $value:expr; )*) => {
        /// The sortable attributes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Sort { $( $variant, )* }

        impl SortField for Sort {
            type Model = $model;
            const ID: Self = Sort::Id;
            const ALL: &'static [Self] = &[ $( Sort::$variant, )* ];
            fn key(self) -> &'static SortKey<$model> {
                match self { $( Sort::$variant => {
                    static KEY: SortKey<$model> = SortKey { name: $name, kind: KeyKind::$kind, expr: $expr, value: $value };
                    &KEY
                } )* }
            }
        }
    };
}

fn int(v: i32) -> KeyValue {
    KeyValue::Int(i64::from(v))
}

fn enum_value<E: ActiveEnum<Value = String>>(e: E) -> KeyValue {
    KeyValue::Str(e.to_value())
}

/// The earliest instant, below every stored timestamp; the sort sentinel for missing ones.
pub fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(0, 0).expect("BUG: epoch is valid")
}

/// `fk IN (ids)` for a filter by related ids: the related rows themselves are not read, so
/// nothing about them is revealed.
fn ids_condition(column: impl ColumnTrait, ids: &[i64]) -> Condition {
    Condition::all().add(column.is_in(ids.iter().copied()))
}

/// A filter by the ids of a to-one relationship's target (`filter[sequence][id]=2`): matches
/// only through targets the viewer can see, so a hidden row's id matches exactly what a
/// missing id does (nothing), and no count, page or timing tells a hidden link from an unset
/// one. The foreign key alone is compared, with no sub-select, where that cannot differ: for a
/// target this viewer sees whatever it is (users, call purposes, task priorities; every row
/// for an admin), and for a relationship whose target the policy shows whenever it shows the
/// parent ([`rel::ToOne::shown`]): every row this condition is asked of has passed the
/// parent's own visibility, so its target is visible too (PostgreSQL planned the sub-select
/// as one more index scan per statement: Q4's filter by sequence, docs/PERFORMANCE.md).
fn through<P: Resource, T: Resource>(
    cond: Condition,
    viewer: &Viewer,
    rel: &rel::ToOne<P, T>,
    ids: &Option<Vec<i64>>,
) -> Condition {
    match ids {
        None => cond,
        Some(_) if rel.shown || T::visible(viewer).is_none() => any_of(cond, rel.fk, ids),
        Some(ids) => cond.add(rel.matches(viewer, ids_condition(T::id_column(), ids))),
    }
}

/// Sequence steps.
pub mod steps {
    use super::*;
    use sequence_step::{Column as C, Model};

    /// The step resource.
    pub struct Steps;

    impl Resource for Steps {
        type Entity = sequence_step::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "sequenceStep";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::steps(viewer)
        }
        fn condition(viewer: &Viewer, f: &Filter) -> Condition {
            condition(viewer, f)
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Order => "ORDER", Int, || col(C::Order), |m| int(m.order);
        // "Step #<order> (<type>)": sorted by its number, as a person reads it (#2 before #10).
        DisplayName => "DISPLAY_NAME", Int, || col(C::Order), |m| int(m.order);
        StepType => "STEP_TYPE", Str, || col(C::StepType), |m| enum_value(m.step_type);
        Interval => "INTERVAL", Int, || coalesced(col(C::Interval), -1), |m| int(m.interval.unwrap_or(-1));
        Date => "DATE", Date, || coalesced(col(C::Date), min_date()), |m| KeyValue::Date(m.date.unwrap_or_else(min_date));
        TaskNote => "TASK_NOTE", Str, || coalesced(col(C::TaskNote), ""), |m| KeyValue::Str(m.task_note.clone().unwrap_or_default());
        TaskAutoskipDelay => "TASK_AUTOSKIP_DELAY", Int, || coalesced(col(C::TaskAutoskipDelay), -1), |m| int(m.task_autoskip_delay.unwrap_or(-1));
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
        BounceCount => "BOUNCE_COUNT", Int, || col(C::BounceCount), |m| int(m.bounce_count);
        ClickCount => "CLICK_COUNT", Int, || col(C::ClickCount), |m| int(m.click_count);
        DeliverCount => "DELIVER_COUNT", Int, || col(C::DeliverCount), |m| int(m.deliver_count);
        FailureCount => "FAILURE_COUNT", Int, || col(C::FailureCount), |m| int(m.failure_count);
        NegativeReplyCount => "NEGATIVE_REPLY_COUNT", Int, || col(C::NegativeReplyCount), |m| int(m.negative_reply_count);
        NeutralReplyCount => "NEUTRAL_REPLY_COUNT", Int, || col(C::NeutralReplyCount), |m| int(m.neutral_reply_count);
        OpenCount => "OPEN_COUNT", Int, || col(C::OpenCount), |m| int(m.open_count);
        OptOutCount => "OPT_OUT_COUNT", Int, || col(C::OptOutCount), |m| int(m.opt_out_count);
        PositiveReplyCount => "POSITIVE_REPLY_COUNT", Int, || col(C::PositiveReplyCount), |m| int(m.positive_reply_count);
        ReplyCount => "REPLY_COUNT", Int, || col(C::ReplyCount), |m| int(m.reply_count);
        ScheduleCount => "SCHEDULE_COUNT", Int, || col(C::ScheduleCount), |m| int(m.schedule_count);
    }

    /// The sentinel below every real date, for sorting steps without one.
    pub fn min_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(1, 1, 1).expect("BUG: valid date")
    }

    /// Filters on the step's sequence (the seed allows id, enabledAt and name).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct SequenceRef {
        pub ids: Option<Vec<i64>>,
        pub enabled_at: Option<Range<DateTime<Utc>>>,
        pub names: Option<Vec<String>>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub step_types: Option<Vec<StepType>>,
        pub order: Option<Range<i32>>,
        pub interval: Option<Range<i32>>,
        pub date: Option<Range<NaiveDate>>,
        pub task_autoskip_delay: Option<Range<i32>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
        pub sequence: Option<SequenceRef>,
        pub sequence_templates: Option<super::sequence_templates::Filter>,
        pub call_purpose_ids: Option<Vec<i64>>,
        pub call_ids: Option<Vec<i64>>,
        pub creator_ids: Option<Vec<i64>>,
        pub task_priority_ids: Option<Vec<i64>>,
        pub task_ids: Option<Vec<i64>>,
        pub updater_ids: Option<Vec<i64>>,
    }

    /// The filter as a condition on `sequence_steps`. Filters over a relationship go through
    /// its declaration, which applies the related rows' visibility.
    pub fn condition(viewer: &Viewer, f: &Filter) -> Condition {
        let mut cond = Condition::all();
        cond = any_of(cond, C::Id, &f.ids);
        cond = any_of(cond, C::StepType, &f.step_types);
        cond = within(cond, C::Order, &f.order);
        cond = within(cond, C::Interval, &f.interval);
        cond = within(cond, C::Date, &f.date);
        cond = within(cond, C::TaskAutoskipDelay, &f.task_autoskip_delay);
        cond = within(cond, C::CreatedAt, &f.created_at);
        cond = within(cond, C::UpdatedAt, &f.updated_at);
        cond = any_of(cond, C::CallPurposeId, &f.call_purpose_ids);
        cond = any_of(cond, C::CreatorId, &f.creator_ids);
        cond = any_of(cond, C::TaskPriorityId, &f.task_priority_ids);
        cond = any_of(cond, C::UpdaterId, &f.updater_ids);
        if let Some(s) = f
            .sequence
            .as_ref()
            .filter(|s| s.enabled_at.is_none() && s.names.is_none())
        {
            // By id alone: see `through`.
            cond = through(cond, viewer, &rel::STEP_SEQUENCE, &s.ids);
        } else if let Some(s) = &f.sequence {
            let mut inner = Condition::all();
            inner = any_of(inner, sequence::Column::Id, &s.ids);
            inner = within(inner, sequence::Column::EnabledAt, &s.enabled_at);
            inner = any_of(inner, sequence::Column::Name, &s.names);
            cond = cond.add(rel::STEP_SEQUENCE.matches(viewer, inner));
        }
        if let Some(st) = &f.sequence_templates {
            let inner = super::sequence_templates::condition(viewer, st);
            cond = cond.add(rel::STEP_SEQUENCE_TEMPLATES.exists(viewer, inner));
        }
        if let Some(ids) = &f.call_ids {
            let inner = ids_condition(call::Column::Id, ids);
            cond = cond.add(rel::STEP_CALLS.exists(viewer, inner));
        }
        if let Some(ids) = &f.task_ids {
            let inner = ids_condition(task::Column::Id, ids);
            cond = cond.add(rel::STEP_TASKS.exists(viewer, inner));
        }
        cond
    }
}

/// Sequence templates: a step's use of a template (its A/B variants).
pub mod sequence_templates {
    use super::*;
    use sequence_template::{Column as C, Model};

    /// The sequence-template resource.
    pub struct SequenceTemplates;

    impl Resource for SequenceTemplates {
        type Entity = sequence_template::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "sequenceTemplate";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::sequence_templates(viewer)
        }
        fn condition(viewer: &Viewer, f: &Filter) -> Condition {
            condition(viewer, f)
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        EnabledAt => "ENABLED_AT", Time, || coalesced(col(C::EnabledAt), timestamp_param(epoch())), |m| KeyValue::Time(m.enabled_at.unwrap_or_else(epoch));
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
        OpenCount => "OPEN_COUNT", Int, || col(C::OpenCount), |m| int(m.open_count);
        ClickCount => "CLICK_COUNT", Int, || col(C::ClickCount), |m| int(m.click_count);
        ReplyCount => "REPLY_COUNT", Int, || col(C::ReplyCount), |m| int(m.reply_count);
    }

    /// Any filterable attribute of a sequence template.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub is_reply: Option<bool>,
        pub enabled: Option<bool>,
        pub enabled_at: Option<Range<DateTime<Utc>>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
        pub template_ids: Option<Vec<i64>>,
        pub creator_ids: Option<Vec<i64>>,
        pub sequence_step_ids: Option<Vec<i64>>,
    }

    pub fn condition(viewer: &Viewer, f: &Filter) -> Condition {
        let mut cond = Condition::all();
        cond = any_of(cond, C::Id, &f.ids);
        cond = equals(cond, C::IsReply, &f.is_reply);
        cond = equals(cond, C::Enabled, &f.enabled);
        cond = within(cond, C::EnabledAt, &f.enabled_at);
        cond = within(cond, C::CreatedAt, &f.created_at);
        cond = within(cond, C::UpdatedAt, &f.updated_at);
        cond = through(
            cond,
            viewer,
            &rel::SEQUENCE_TEMPLATE_TEMPLATE,
            &f.template_ids,
        );
        cond = any_of(cond, C::CreatorId, &f.creator_ids);
        cond = through(
            cond,
            viewer,
            &rel::SEQUENCE_TEMPLATE_STEP,
            &f.sequence_step_ids,
        );
        cond
    }
}

/// Sequences.
pub mod sequences {
    use super::*;
    use sequence::{Column as C, Model};

    /// The sequence resource.
    pub struct Sequences;

    impl Resource for Sequences {
        type Entity = sequence::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "sequence";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::sequences(viewer)
        }
        fn condition(_viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::Name, &f.names);
            cond = any_of(cond, C::SequenceType, &f.sequence_types);
            cond = any_of(cond, C::ShareType, &f.share_types);
            cond = equals(cond, C::Enabled, &f.enabled);
            cond = equals(cond, C::Locked, &f.locked);
            cond = within(cond, C::EnabledAt, &f.enabled_at);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond = any_of(cond, C::OwnerId, &f.owner_ids);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", Str, || col(C::Name), |m| KeyValue::Str(m.name.clone());
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
        EnabledAt => "ENABLED_AT", Time, || coalesced(col(C::EnabledAt), timestamp_param(epoch())), |m| KeyValue::Time(m.enabled_at.unwrap_or_else(epoch));
        LastUsedAt => "LAST_USED_AT", Time, || coalesced(col(C::LastUsedAt), timestamp_param(epoch())), |m| KeyValue::Time(m.last_used_at.unwrap_or_else(epoch));
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub names: Option<Vec<String>>,
        pub sequence_types: Option<Vec<SequenceType>>,
        pub share_types: Option<Vec<ShareType>>,
        pub enabled: Option<bool>,
        pub locked: Option<bool>,
        pub enabled_at: Option<Range<DateTime<Utc>>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
        pub owner_ids: Option<Vec<i64>>,
    }
}

/// Templates.
pub mod templates {
    use super::*;
    use template::{Column as C, Model};

    /// The template resource.
    pub struct Templates;

    impl Resource for Templates {
        type Entity = template::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "template";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::templates(viewer)
        }
        fn condition(_viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::Name, &f.names);
            cond = any_of(cond, C::ShareType, &f.share_types);
            cond = equals(cond, C::Archived, &f.archived);
            cond = any_of(cond, C::OwnerId, &f.owner_ids);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", Str, || coalesced(col(C::Name), ""), |m| KeyValue::Str(m.name.clone().unwrap_or_default());
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub names: Option<Vec<String>>,
        pub share_types: Option<Vec<ShareType>>,
        pub archived: Option<bool>,
        pub owner_ids: Option<Vec<i64>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
    }
}

/// Users: every signed-in user can see the directory.
pub mod users {
    use super::*;
    use user::{Column as C, Model};

    /// The user resource.
    pub struct Users;

    impl Resource for Users {
        type Entity = user::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "user";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::everyone(viewer)
        }
        fn condition(_viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::Email, &f.emails);
            cond = any_of(cond, C::Role, &f.roles);
            cond = equals(cond, C::Locked, &f.locked);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Email => "EMAIL", Str, || col(C::Email), |m| KeyValue::Str(m.email.clone());
        FirstName => "FIRST_NAME", Str, || coalesced(col(C::FirstName), ""), |m| KeyValue::Str(m.first_name.clone().unwrap_or_default());
        LastName => "LAST_NAME", Str, || coalesced(col(C::LastName), ""), |m| KeyValue::Str(m.last_name.clone().unwrap_or_default());
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    /// The full name: first and last name, whichever are set.
    pub fn full_name(m: &Model) -> String {
        [m.first_name.as_deref(), m.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub emails: Option<Vec<String>>,
        pub roles: Option<Vec<Role>>,
        pub locked: Option<bool>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
    }
}

/// Call purposes: an organisation-wide list.
pub mod call_purposes {
    use super::*;
    use call_purpose::{Column as C, Model};

    /// The call-purpose resource.
    pub struct CallPurposes;

    impl Resource for CallPurposes {
        type Entity = call_purpose::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "callPurpose";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::everyone(viewer)
        }
        fn condition(_viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::Name, &f.names);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", Str, || col(C::Name), |m| KeyValue::Str(m.name.clone());
        Order => "ORDER", Int, || coalesced(col(C::Order), -1), |m| int(m.order.unwrap_or(-1));
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub names: Option<Vec<String>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
    }
}

/// Task priorities: an organisation-wide list.
pub mod task_priorities {
    use super::*;
    use task_priority::{Column as C, Model};

    /// The task-priority resource.
    pub struct TaskPriorities;

    impl Resource for TaskPriorities {
        type Entity = task_priority::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "taskPriority";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::everyone(viewer)
        }
        fn condition(_viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::Name, &f.names);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", Str, || col(C::Name), |m| KeyValue::Str(m.name.clone());
        Weight => "WEIGHT", Int, || col(C::Weight), |m| int(m.weight);
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub names: Option<Vec<String>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
    }
}

/// Tasks.
pub mod tasks {
    use super::*;
    use task::{Column as C, Model};

    /// The task resource.
    pub struct Tasks;

    impl Resource for Tasks {
        type Entity = task::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "task";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::tasks(viewer)
        }
        fn condition(viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::State, &f.states);
            cond = any_of(cond, C::Action, &f.actions);
            cond = equals(cond, C::Completed, &f.completed);
            cond = within(cond, C::DueAt, &f.due_at);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond = through(cond, viewer, &rel::TASK_SEQUENCE, &f.sequence_ids);
            cond = through(cond, viewer, &rel::TASK_STEP, &f.sequence_step_ids);
            cond = any_of(cond, C::TaskPriorityId, &f.task_priority_ids);
            cond = any_of(cond, C::OwnerId, &f.owner_ids);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        State => "STATE", Str, || col(C::State), |m| enum_value(m.state);
        Action => "ACTION", Str, || col(C::Action), |m| enum_value(m.action);
        DueAt => "DUE_AT", Time, || coalesced(col(C::DueAt), timestamp_param(epoch())), |m| KeyValue::Time(m.due_at.unwrap_or_else(epoch));
        ScheduledAt => "SCHEDULED_AT", Time, || coalesced(col(C::ScheduledAt), timestamp_param(epoch())), |m| KeyValue::Time(m.scheduled_at.unwrap_or_else(epoch));
        CompletedAt => "COMPLETED_AT", Time, || coalesced(col(C::CompletedAt), timestamp_param(epoch())), |m| KeyValue::Time(m.completed_at.unwrap_or_else(epoch));
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub states: Option<Vec<TaskState>>,
        pub actions: Option<Vec<TaskAction>>,
        pub completed: Option<bool>,
        pub due_at: Option<Range<DateTime<Utc>>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
        pub sequence_ids: Option<Vec<i64>>,
        pub sequence_step_ids: Option<Vec<i64>>,
        pub task_priority_ids: Option<Vec<i64>>,
        pub owner_ids: Option<Vec<i64>>,
    }
}

/// Calls.
pub mod calls {
    use super::*;
    use call::{Column as C, Model};

    /// The call resource.
    pub struct Calls;

    impl Resource for Calls {
        type Entity = call::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "call";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::calls(viewer)
        }
        fn condition(viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::Direction, &f.directions);
            cond = any_of(cond, C::Outcome, &f.outcomes);
            cond = within(cond, C::DialedAt, &f.dialed_at);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond = any_of(cond, C::CallPurposeId, &f.call_purpose_ids);
            cond = through(cond, viewer, &rel::CALL_SEQUENCE, &f.sequence_ids);
            cond = through(cond, viewer, &rel::CALL_STEP, &f.sequence_step_ids);
            cond = through(cond, viewer, &rel::CALL_TASK, &f.task_ids);
            cond = any_of(cond, C::UserId, &f.user_ids);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        Direction => "DIRECTION", Str, || col(C::Direction), |m| enum_value(m.direction);
        DialedAt => "DIALED_AT", Time, || coalesced(col(C::DialedAt), timestamp_param(epoch())), |m| KeyValue::Time(m.dialed_at.unwrap_or_else(epoch));
        CompletedAt => "COMPLETED_AT", Time, || coalesced(col(C::CompletedAt), timestamp_param(epoch())), |m| KeyValue::Time(m.completed_at.unwrap_or_else(epoch));
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub directions: Option<Vec<CallDirection>>,
        pub outcomes: Option<Vec<CallOutcome>>,
        pub dialed_at: Option<Range<DateTime<Utc>>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
        pub call_purpose_ids: Option<Vec<i64>>,
        pub sequence_ids: Option<Vec<i64>>,
        pub sequence_step_ids: Option<Vec<i64>>,
        pub task_ids: Option<Vec<i64>>,
        pub user_ids: Option<Vec<i64>>,
    }
}

/// Mailings.
pub mod mailings {
    use super::*;
    use mailing::{Column as C, Model};

    /// The mailing resource.
    pub struct Mailings;

    impl Resource for Mailings {
        type Entity = mailing::Entity;
        type Model = Model;
        type Filter = Filter;
        type Sort = Sort;
        const NAME: &'static str = "mailing";
        fn id(row: &Model) -> i64 {
            row.id
        }
        fn visible(viewer: &Viewer) -> Visible {
            policy::mailings(viewer)
        }
        fn condition(viewer: &Viewer, f: &Filter) -> Condition {
            let mut cond = Condition::all();
            cond = any_of(cond, C::Id, &f.ids);
            cond = any_of(cond, C::State, &f.states);
            cond = within(cond, C::DeliveredAt, &f.delivered_at);
            cond = within(cond, C::CreatedAt, &f.created_at);
            cond = within(cond, C::UpdatedAt, &f.updated_at);
            cond = through(cond, viewer, &rel::MAILING_SEQUENCE, &f.sequence_ids);
            cond = through(cond, viewer, &rel::MAILING_STEP, &f.sequence_step_ids);
            cond = through(
                cond,
                viewer,
                &rel::MAILING_SEQUENCE_TEMPLATE,
                &f.sequence_template_ids,
            );
            cond = through(cond, viewer, &rel::MAILING_TEMPLATE, &f.template_ids);
            cond = through(cond, viewer, &rel::MAILING_TASK, &f.task_ids);
            cond = any_of(cond, C::UserId, &f.user_ids);
            cond
        }
    }

    sort_keys! { Model;
        Id => "ID", Int, || col(C::Id), |m| KeyValue::Int(m.id);
        State => "STATE", Str, || col(C::State), |m| enum_value(m.state);
        DeliveredAt => "DELIVERED_AT", Time, || coalesced(col(C::DeliveredAt), timestamp_param(epoch())), |m| KeyValue::Time(m.delivered_at.unwrap_or_else(epoch));
        OpenCount => "OPEN_COUNT", Int, || col(C::OpenCount), |m| int(m.open_count);
        ClickCount => "CLICK_COUNT", Int, || col(C::ClickCount), |m| int(m.click_count);
        CreatedAt => "CREATED_AT", Time, || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", Time, || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub states: Option<Vec<MailingState>>,
        pub delivered_at: Option<Range<DateTime<Utc>>>,
        pub created_at: Option<Range<DateTime<Utc>>>,
        pub updated_at: Option<Range<DateTime<Utc>>>,
        pub sequence_ids: Option<Vec<i64>>,
        pub sequence_step_ids: Option<Vec<i64>>,
        pub sequence_template_ids: Option<Vec<i64>>,
        pub template_ids: Option<Vec<i64>>,
        pub task_ids: Option<Vec<i64>>,
        pub user_ids: Option<Vec<i64>>,
    }
}
