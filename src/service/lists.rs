//! Filtered, ordered, paginated lists of every resource, with visibility applied in SQL.
//!
//! Each resource has a filter struct (transport-agnostic), a sort-field enum whose variants
//! name every sortable scalar attribute, and `list`/`count` functions. Visibility comes from
//! [`crate::auth::policy`] and is part of the `WHERE` clause, so invisible rows are never
//! paged over or counted.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{Role, SequenceType, ShareType, StepType};
use entity::{
    call, call_purpose, sequence, sequence_step, sequence_template, task, task_priority, template,
    user,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};

use crate::auth::Viewer;
use crate::auth::policy;
use crate::error::AppResult;
use crate::service::filters::{Range, any_of, equals, within};
use crate::service::pagination::{
    self, Direction, Extras, KeyValue, Page, PageLimits, PageRequest, SortKey, coalesced,
};

/// A list request: filter, ordering and page.
#[derive(Debug, Clone)]
pub struct ListRequest<F, S> {
    pub filter: F,
    pub order_by: Vec<(S, Direction)>,
    pub page: PageRequest,
    pub limits: PageLimits,
    pub extras: Extras,
}

fn col(c: impl sea_orm::ColumnTrait) -> SimpleExpr {
    Expr::col((c.entity_name(), c))
}

/// Generates, for one resource module: the `Sort` enum of its sortable attributes (each with
/// its SQL expression and in-memory value), `ordering`, and `list`/`count` over the module's
/// `select(viewer, filter)`, which is where its filter and visibility live.
macro_rules! sort_keys {
    ($model:ty; $( $variant:ident => $name:literal, $expr:expr, $value:expr; )*) => {
        /// The sortable attributes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Sort { $( $variant, )* }

        impl Sort {
            pub fn key(self) -> &'static SortKey<$model> {
                match self { $( Sort::$variant => {
                    static KEY: SortKey<$model> = SortKey { name: $name, expr: $expr, value: $value };
                    &KEY
                } )* }
            }
        }

        /// The ordering for a request: the requested keys, then the id.
        pub fn ordering(order_by: &[(Sort, crate::service::pagination::Direction)]) -> crate::service::pagination::Ordering<$model> {
            crate::service::pagination::Ordering::new(
                order_by.iter().map(|(s, d)| (s.key(), *d)),
                Sort::Id.key(),
            )
        }

        /// One page of what the viewer can see of this list.
        pub async fn list(
            db: &impl ConnectionTrait,
            viewer: &Viewer,
            req: &ListRequest<Filter, Sort>,
        ) -> AppResult<Page<$model>> {
            let ordering = ordering(&req.order_by);
            pagination::fetch(db, select(viewer, &req.filter), &ordering, &req.page, req.limits, req.extras)
                .await
        }

        /// How many rows the viewer can see match the filter (ignoring pages).
        pub async fn count(db: &impl ConnectionTrait, viewer: &Viewer, f: &Filter) -> AppResult<u64> {
            Ok(select(viewer, f).count(db).await?)
        }
    };
}

fn int(v: i32) -> KeyValue {
    KeyValue::Int(i64::from(v))
}

/// Sequence steps.
pub mod steps {
    use super::*;
    use sequence_step::{Column as C, Model};

    sort_keys! { Model;
        Id => "ID", || col(C::Id), |m| KeyValue::Int(m.id);
        Order => "ORDER", || col(C::Order), |m| int(m.order);
        // "Step #<order> (<type>)": sorted by its number, as a person reads it (#2 before #10).
        DisplayName => "DISPLAY_NAME", || col(C::Order), |m| int(m.order);
        StepType => "STEP_TYPE", || col(C::StepType), |m| KeyValue::Str(step_type_value(m.step_type));
        Interval => "INTERVAL", || coalesced(col(C::Interval), -1), |m| int(m.interval.unwrap_or(-1));
        Date => "DATE", || coalesced(col(C::Date), min_date()), |m| KeyValue::Date(m.date.unwrap_or_else(min_date));
        TaskNote => "TASK_NOTE", || coalesced(col(C::TaskNote), ""), |m| KeyValue::Str(m.task_note.clone().unwrap_or_default());
        TaskAutoskipDelay => "TASK_AUTOSKIP_DELAY", || coalesced(col(C::TaskAutoskipDelay), -1), |m| int(m.task_autoskip_delay.unwrap_or(-1));
        CreatedAt => "CREATED_AT", || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
        BounceCount => "BOUNCE_COUNT", || col(C::BounceCount), |m| int(m.bounce_count);
        ClickCount => "CLICK_COUNT", || col(C::ClickCount), |m| int(m.click_count);
        DeliverCount => "DELIVER_COUNT", || col(C::DeliverCount), |m| int(m.deliver_count);
        FailureCount => "FAILURE_COUNT", || col(C::FailureCount), |m| int(m.failure_count);
        NegativeReplyCount => "NEGATIVE_REPLY_COUNT", || col(C::NegativeReplyCount), |m| int(m.negative_reply_count);
        NeutralReplyCount => "NEUTRAL_REPLY_COUNT", || col(C::NeutralReplyCount), |m| int(m.neutral_reply_count);
        OpenCount => "OPEN_COUNT", || col(C::OpenCount), |m| int(m.open_count);
        OptOutCount => "OPT_OUT_COUNT", || col(C::OptOutCount), |m| int(m.opt_out_count);
        PositiveReplyCount => "POSITIVE_REPLY_COUNT", || col(C::PositiveReplyCount), |m| int(m.positive_reply_count);
        ReplyCount => "REPLY_COUNT", || col(C::ReplyCount), |m| int(m.reply_count);
        ScheduleCount => "SCHEDULE_COUNT", || col(C::ScheduleCount), |m| int(m.schedule_count);
    }

    /// The sentinel below every real date, for sorting steps without one.
    pub fn min_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(1, 1, 1).expect("BUG: valid date")
    }

    fn step_type_value(t: StepType) -> String {
        use sea_orm::ActiveEnum;
        t.to_value()
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

    /// The filter as a condition on `sequence_steps` (visibility not included).
    pub fn condition(f: &Filter) -> Condition {
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
        if let Some(s) = &f.sequence {
            let mut inner = Condition::all();
            inner = any_of(inner, sequence::Column::Id, &s.ids);
            inner = within(inner, sequence::Column::EnabledAt, &s.enabled_at);
            inner = any_of(inner, sequence::Column::Name, &s.names);
            let ids = sequence::Entity::find()
                .select_only()
                .column(sequence::Column::Id)
                .filter(inner)
                .into_query();
            cond = cond.add(C::SequenceId.in_subquery(ids));
        }
        if let Some(st) = &f.sequence_templates {
            cond = cond.add(exists_child(
                sequence_template::Entity,
                sequence_template::Column::SequenceStepId,
                super::sequence_templates::condition(st),
            ));
        }
        if let Some(ids) = &f.call_ids {
            cond = cond.add(exists_child(
                call::Entity,
                call::Column::SequenceStepId,
                Condition::all().add(call::Column::Id.is_in(ids.iter().copied())),
            ));
        }
        if let Some(ids) = &f.task_ids {
            cond = cond.add(exists_child(
                task::Entity,
                task::Column::SequenceStepId,
                Condition::all().add(task::Column::Id.is_in(ids.iter().copied())),
            ));
        }
        cond
    }

    /// `EXISTS (SELECT 1 FROM child WHERE child.fk = sequence_steps.id AND ...)`.
    fn exists_child<E: EntityTrait>(
        entity: E,
        fk: impl ColumnTrait,
        cond: Condition,
    ) -> SimpleExpr {
        let mut sub = Query::select();
        sub.expr(Expr::value(1))
            .from(entity)
            .and_where(Expr::col((fk.entity_name(), fk)).equals((sequence_step::Entity, C::Id)))
            .cond_where(cond);
        Expr::exists(sub)
    }

    /// The visible steps matching a filter.
    pub fn select(viewer: &Viewer, f: &Filter) -> Select<sequence_step::Entity> {
        let mut cond = condition(f);
        if let Some(visible) = policy::visible_steps_condition(viewer) {
            cond = cond.add(visible);
        }
        sequence_step::Entity::find().filter(cond)
    }
}

/// Sequence templates (filters only: they are listed under their step or template).
pub mod sequence_templates {
    use super::*;
    use sequence_template::Column as C;

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
    }

    pub fn condition(f: &Filter) -> Condition {
        let mut cond = Condition::all();
        cond = any_of(cond, C::Id, &f.ids);
        cond = equals(cond, C::IsReply, &f.is_reply);
        cond = equals(cond, C::Enabled, &f.enabled);
        cond = within(cond, C::EnabledAt, &f.enabled_at);
        cond = within(cond, C::CreatedAt, &f.created_at);
        cond = within(cond, C::UpdatedAt, &f.updated_at);
        cond = any_of(cond, C::TemplateId, &f.template_ids);
        cond = any_of(cond, C::CreatorId, &f.creator_ids);
        cond
    }
}

/// Sequences.
pub mod sequences {
    use super::*;
    use sequence::{Column as C, Model};

    sort_keys! { Model;
        Id => "ID", || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", || col(C::Name), |m| KeyValue::Str(m.name.clone());
        CreatedAt => "CREATED_AT", || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
        EnabledAt => "ENABLED_AT", || coalesced(col(C::EnabledAt), epoch()), |m| KeyValue::Time(m.enabled_at.unwrap_or_else(epoch));
        LastUsedAt => "LAST_USED_AT", || coalesced(col(C::LastUsedAt), epoch()), |m| KeyValue::Time(m.last_used_at.unwrap_or_else(epoch));
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

    pub fn select(viewer: &Viewer, f: &Filter) -> Select<sequence::Entity> {
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
        if let Some(visible) = policy::visible_sequences_condition(viewer) {
            cond = cond.add(visible);
        }
        sequence::Entity::find().filter(cond)
    }
}

/// The earliest instant, below every stored timestamp; the sort sentinel for missing ones.
pub fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(0, 0).expect("BUG: epoch is valid")
}

/// Templates.
pub mod templates {
    use super::*;
    use template::{Column as C, Model};

    sort_keys! { Model;
        Id => "ID", || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", || coalesced(col(C::Name), ""), |m| KeyValue::Str(m.name.clone().unwrap_or_default());
        CreatedAt => "CREATED_AT", || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
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

    pub fn select(viewer: &Viewer, f: &Filter) -> Select<template::Entity> {
        let mut cond = Condition::all();
        cond = any_of(cond, C::Id, &f.ids);
        cond = any_of(cond, C::Name, &f.names);
        cond = any_of(cond, C::ShareType, &f.share_types);
        cond = equals(cond, C::Archived, &f.archived);
        cond = any_of(cond, C::OwnerId, &f.owner_ids);
        cond = within(cond, C::CreatedAt, &f.created_at);
        cond = within(cond, C::UpdatedAt, &f.updated_at);
        if let Some(visible) = policy::visible_templates_condition(viewer) {
            cond = cond.add(visible);
        }
        template::Entity::find().filter(cond)
    }
}

/// Users: every signed-in user can see the directory.
pub mod users {
    use super::*;
    use user::{Column as C, Model};

    sort_keys! { Model;
        Id => "ID", || col(C::Id), |m| KeyValue::Int(m.id);
        Email => "EMAIL", || col(C::Email), |m| KeyValue::Str(m.email.clone());
        FirstName => "FIRST_NAME", || coalesced(col(C::FirstName), ""), |m| KeyValue::Str(m.first_name.clone().unwrap_or_default());
        LastName => "LAST_NAME", || coalesced(col(C::LastName), ""), |m| KeyValue::Str(m.last_name.clone().unwrap_or_default());
        CreatedAt => "CREATED_AT", || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub emails: Option<Vec<String>>,
        pub roles: Option<Vec<Role>>,
        pub locked: Option<bool>,
    }

    /// Every signed-in user sees the whole directory.
    pub fn select(_viewer: &Viewer, f: &Filter) -> Select<user::Entity> {
        let mut cond = Condition::all();
        cond = any_of(cond, C::Id, &f.ids);
        cond = any_of(cond, C::Email, &f.emails);
        cond = any_of(cond, C::Role, &f.roles);
        cond = equals(cond, C::Locked, &f.locked);
        user::Entity::find().filter(cond)
    }
}

/// Call purposes: an organisation-wide list.
pub mod call_purposes {
    use super::*;
    use call_purpose::{Column as C, Model};

    sort_keys! { Model;
        Id => "ID", || col(C::Id), |m| KeyValue::Int(m.id);
        Name => "NAME", || col(C::Name), |m| KeyValue::Str(m.name.clone());
        Order => "ORDER", || coalesced(col(C::Order), -1), |m| int(m.order.unwrap_or(-1));
        CreatedAt => "CREATED_AT", || col(C::CreatedAt), |m| KeyValue::Time(m.created_at);
        UpdatedAt => "UPDATED_AT", || col(C::UpdatedAt), |m| KeyValue::Time(m.updated_at);
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Filter {
        pub ids: Option<Vec<i64>>,
        pub names: Option<Vec<String>>,
    }

    /// Every signed-in user sees the whole list.
    pub fn select(_viewer: &Viewer, f: &Filter) -> Select<call_purpose::Entity> {
        let mut cond = Condition::all();
        cond = any_of(cond, C::Id, &f.ids);
        cond = any_of(cond, C::Name, &f.names);
        call_purpose::Entity::find().filter(cond)
    }
}

/// Rows of `E` by id (its single-column primary key), restricted by `visible` (a condition
/// from [`crate::auth::policy`]), keyed by id. Missing and invisible ids are simply absent.
pub async fn by_ids<E>(
    db: &impl ConnectionTrait,
    ids: &[i64],
    visible: Condition,
) -> AppResult<std::collections::HashMap<i64, E::Model>>
where
    E: EntityTrait,
{
    use sea_orm::{Iterable, ModelTrait, PrimaryKeyToColumn};
    let pk = E::PrimaryKey::iter()
        .next()
        .expect("BUG: every entity has a primary key");
    let pk = pk.into_column();
    let rows = E::find()
        .filter(pk.is_in(ids.iter().copied()))
        .filter(visible)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.get(pk) {
            sea_orm::Value::BigInt(Some(id)) => Some((id, row)),
            _ => None,
        })
        .collect())
}

/// Task priorities, heaviest first (a short, fixed list: no paging).
pub async fn task_priorities(db: &impl ConnectionTrait) -> AppResult<Vec<task_priority::Model>> {
    Ok(task_priority::Entity::find()
        .order_by_desc(task_priority::Column::Weight)
        .order_by_asc(task_priority::Column::Id)
        .all(db)
        .await?)
}
