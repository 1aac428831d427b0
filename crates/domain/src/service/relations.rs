//! Every relationship of the graph, declared once.
//!
//! A relationship is a value: [`ToOne`] (the parent holds the foreign key) or [`ToMany`] (the
//! children hold it). Its parent and target are [`Resource`]s, so the target's visibility rule
//! comes with it: loading a relationship ([`crate::service::children`], the by-id loaders),
//! counting it and filtering by it ([`ToOne::matches`], [`ToMany::exists`]) all apply
//! `Target::visible` in SQL, and there is no way to reach a row through a relationship
//! without it. The GraphQL and JSON:API adapters name these statics; each also keys the
//! relationship's per-request loader by its `name`.
//!
//! Names are `Parent.field` as the GraphQL schema spells them (Outreach's relationship names).

use std::marker::PhantomData;

use entity::{
    call, call_purpose, mailing, sequence, sequence_step, sequence_template, task, template,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use call::Column as CallCol;
use mailing::Column as MailCol;
use sequence::Column as SeqCol;
use sequence_step::Column as StepCol;
use sequence_template::Column as StCol;
use task::Column as TaskCol;
use template::Column as TplCol;

use crate::auth::Viewer;
use crate::service::lists::{
    CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities, Tasks,
    Templates, Users, steps,
};
use crate::service::pagination::Direction;
use crate::service::resource::{Resource, and_visible};

/// A to-one relationship: `P.fk` names a row of `T`.
pub struct ToOne<P: Resource, T: Resource> {
    pub name: &'static str,
    /// The foreign-key column on the parent's table.
    pub fk: <P::Entity as EntityTrait>::Column,
    /// The foreign key of a parent row (`None` when not set).
    pub key: fn(&P::Model) -> Option<i64>,
    marker: PhantomData<fn() -> (P, T)>,
}

impl<P: Resource, T: Resource> ToOne<P, T> {
    pub const fn new(
        name: &'static str,
        fk: <P::Entity as EntityTrait>::Column,
        key: fn(&P::Model) -> Option<i64>,
    ) -> Self {
        Self {
            name,
            fk,
            key,
            marker: PhantomData,
        }
    }

    /// A condition on the parent: its target is visible and meets `cond`.
    pub fn matches(&self, viewer: &Viewer, cond: Condition) -> SimpleExpr {
        let targets = T::Entity::find()
            .select_only()
            .column(T::id_column())
            .filter(and_visible::<T>(viewer, cond))
            .into_query();
        self.fk.in_subquery(targets)
    }
}

/// A to-many relationship: rows of `C` whose `fk` names a row of `P`.
pub struct ToMany<P: Resource, C: Resource> {
    pub name: &'static str,
    /// The foreign-key column on the children's table.
    pub fk: <C::Entity as EntityTrait>::Column,
    /// The parent a child row belongs to.
    pub parent_of: fn(&C::Model) -> Option<i64>,
    /// The order of a page when the client asks for none (the id always breaks ties).
    pub default_order: &'static [(C::Sort, Direction)],
    marker: PhantomData<fn() -> P>,
}

impl<P: Resource, C: Resource> ToMany<P, C> {
    pub const fn new(
        name: &'static str,
        fk: <C::Entity as EntityTrait>::Column,
        parent_of: fn(&C::Model) -> Option<i64>,
        default_order: &'static [(C::Sort, Direction)],
    ) -> Self {
        Self {
            name,
            fk,
            parent_of,
            default_order,
            marker: PhantomData,
        }
    }

    /// A condition on the parent: it has a visible child meeting `cond` (`EXISTS`).
    pub fn exists(&self, viewer: &Viewer, cond: Condition) -> SimpleExpr {
        let mut sub = Query::select();
        sub.expr(Expr::value(1))
            .from(C::Entity::default())
            .and_where(
                Expr::col((self.fk.entity_name(), self.fk))
                    .equals((P::Entity::default(), P::id_column())),
            )
            .cond_where(and_visible::<C>(viewer, cond));
        Expr::exists(sub)
    }
}

type Rel1<P, T> = ToOne<P, T>;
type RelN<P, C> = ToMany<P, C>;

// --- SequenceStep --------------------------------------------------------------------------
pub static STEP_SEQUENCE: Rel1<Steps, Sequences> = ToOne::new(
    "SequenceStep.sequence",
    StepCol::SequenceId,
    |m: &sequence_step::Model| Some(m.sequence_id),
);
pub static STEP_CREATOR: Rel1<Steps, Users> = ToOne::new(
    "SequenceStep.creator",
    StepCol::CreatorId,
    |m: &sequence_step::Model| m.creator_id,
);
pub static STEP_UPDATER: Rel1<Steps, Users> = ToOne::new(
    "SequenceStep.updater",
    StepCol::UpdaterId,
    |m: &sequence_step::Model| m.updater_id,
);
pub static STEP_CALL_PURPOSE: Rel1<Steps, CallPurposes> = ToOne::new(
    "SequenceStep.callPurpose",
    StepCol::CallPurposeId,
    |m: &sequence_step::Model| m.call_purpose_id,
);
pub static STEP_TASK_PRIORITY: Rel1<Steps, TaskPriorities> = ToOne::new(
    "SequenceStep.taskPriority",
    StepCol::TaskPriorityId,
    |m: &sequence_step::Model| m.task_priority_id,
);
pub static STEP_SEQUENCE_TEMPLATES: RelN<Steps, SequenceTemplates> = ToMany::new(
    "SequenceStep.sequenceTemplates",
    sequence_template::Column::SequenceStepId,
    |m: &sequence_template::Model| Some(m.sequence_step_id),
    &[],
);
pub static STEP_TASKS: RelN<Steps, Tasks> = ToMany::new(
    "SequenceStep.tasks",
    task::Column::SequenceStepId,
    |m: &task::Model| m.sequence_step_id,
    &[],
);
pub static STEP_CALLS: RelN<Steps, Calls> = ToMany::new(
    "SequenceStep.calls",
    call::Column::SequenceStepId,
    |m: &call::Model| m.sequence_step_id,
    &[],
);
pub static STEP_MAILINGS: RelN<Steps, Mailings> = ToMany::new(
    "SequenceStep.mailings",
    mailing::Column::SequenceStepId,
    |m: &mailing::Model| m.sequence_step_id,
    &[],
);

// --- Sequence ------------------------------------------------------------------------------
pub static SEQUENCE_OWNER: Rel1<Sequences, Users> =
    ToOne::new("Sequence.owner", SeqCol::OwnerId, |m: &sequence::Model| {
        Some(m.owner_id)
    });
pub static SEQUENCE_CREATOR: Rel1<Sequences, Users> = ToOne::new(
    "Sequence.creator",
    SeqCol::CreatorId,
    |m: &sequence::Model| m.creator_id,
);
pub static SEQUENCE_UPDATER: Rel1<Sequences, Users> = ToOne::new(
    "Sequence.updater",
    SeqCol::UpdaterId,
    |m: &sequence::Model| m.updater_id,
);
pub static SEQUENCE_STEPS: RelN<Sequences, Steps> = ToMany::new(
    "Sequence.sequenceSteps",
    StepCol::SequenceId,
    |m: &sequence_step::Model| Some(m.sequence_id),
    &[(steps::Sort::Order, Direction::Asc)],
);
/// `Sequence.sequenceStepCount`: the same children as [`SEQUENCE_STEPS`], counted by a loader
/// of its own (a field of its own is a batch of its own, see `graphql::loaders`).
pub static SEQUENCE_STEP_COUNT: RelN<Sequences, Steps> = ToMany::new(
    "Sequence.sequenceStepCount",
    StepCol::SequenceId,
    |m: &sequence_step::Model| Some(m.sequence_id),
    &[],
);
pub static SEQUENCE_TASKS: RelN<Sequences, Tasks> = ToMany::new(
    "Sequence.tasks",
    TaskCol::SequenceId,
    |m: &task::Model| m.sequence_id,
    &[],
);
pub static SEQUENCE_CALLS: RelN<Sequences, Calls> = ToMany::new(
    "Sequence.calls",
    CallCol::SequenceId,
    |m: &call::Model| m.sequence_id,
    &[],
);
pub static SEQUENCE_MAILINGS: RelN<Sequences, Mailings> = ToMany::new(
    "Sequence.mailings",
    MailCol::SequenceId,
    |m: &mailing::Model| m.sequence_id,
    &[],
);

// --- SequenceTemplate ----------------------------------------------------------------------
pub static SEQUENCE_TEMPLATE_STEP: Rel1<SequenceTemplates, Steps> = ToOne::new(
    "SequenceTemplate.sequenceStep",
    StCol::SequenceStepId,
    |m: &sequence_template::Model| Some(m.sequence_step_id),
);
pub static SEQUENCE_TEMPLATE_TEMPLATE: Rel1<SequenceTemplates, Templates> = ToOne::new(
    "SequenceTemplate.template",
    StCol::TemplateId,
    |m: &sequence_template::Model| Some(m.template_id),
);
pub static SEQUENCE_TEMPLATE_CREATOR: Rel1<SequenceTemplates, Users> = ToOne::new(
    "SequenceTemplate.creator",
    StCol::CreatorId,
    |m: &sequence_template::Model| m.creator_id,
);
pub static SEQUENCE_TEMPLATE_UPDATER: Rel1<SequenceTemplates, Users> = ToOne::new(
    "SequenceTemplate.updater",
    StCol::UpdaterId,
    |m: &sequence_template::Model| m.updater_id,
);
pub static SEQUENCE_TEMPLATE_MAILINGS: RelN<SequenceTemplates, Mailings> = ToMany::new(
    "SequenceTemplate.mailings",
    mailing::Column::SequenceTemplateId,
    |m: &mailing::Model| m.sequence_template_id,
    &[],
);

// --- Template ------------------------------------------------------------------------------
pub static TEMPLATE_OWNER: Rel1<Templates, Users> =
    ToOne::new("Template.owner", TplCol::OwnerId, |m: &template::Model| {
        m.owner_id
    });
pub static TEMPLATE_CREATOR: Rel1<Templates, Users> = ToOne::new(
    "Template.creator",
    TplCol::CreatorId,
    |m: &template::Model| m.creator_id,
);
pub static TEMPLATE_UPDATER: Rel1<Templates, Users> = ToOne::new(
    "Template.updater",
    TplCol::UpdaterId,
    |m: &template::Model| m.updater_id,
);
pub static TEMPLATE_SEQUENCE_TEMPLATES: RelN<Templates, SequenceTemplates> = ToMany::new(
    "Template.sequenceTemplates",
    StCol::TemplateId,
    |m: &sequence_template::Model| Some(m.template_id),
    &[],
);
pub static TEMPLATE_MAILINGS: RelN<Templates, Mailings> = ToMany::new(
    "Template.mailings",
    MailCol::TemplateId,
    |m: &mailing::Model| m.template_id,
    &[],
);

// --- User ----------------------------------------------------------------------------------
pub static USER_OWNED_SEQUENCES: RelN<Users, Sequences> = ToMany::new(
    "User.ownedSequences",
    SeqCol::OwnerId,
    |m: &sequence::Model| Some(m.owner_id),
    &[],
);
pub static USER_OWNED_TEMPLATES: RelN<Users, Templates> = ToMany::new(
    "User.ownedTemplates",
    TplCol::OwnerId,
    |m: &template::Model| m.owner_id,
    &[],
);
pub static USER_OWNED_TASKS: RelN<Users, Tasks> = ToMany::new(
    "User.ownedTasks",
    TaskCol::OwnerId,
    |m: &task::Model| m.owner_id,
    &[],
);
pub static USER_CALLS: RelN<Users, Calls> = ToMany::new(
    "User.calls",
    CallCol::UserId,
    |m: &call::Model| m.user_id,
    &[],
);
pub static USER_MAILINGS: RelN<Users, Mailings> = ToMany::new(
    "User.mailings",
    MailCol::UserId,
    |m: &mailing::Model| m.user_id,
    &[],
);

pub static USER_CREATED_STEPS: RelN<Users, Steps> = ToMany::new(
    "User.createdSequenceSteps",
    StepCol::CreatorId,
    |m: &sequence_step::Model| m.creator_id,
    &[],
);
pub static USER_UPDATED_STEPS: RelN<Users, Steps> = ToMany::new(
    "User.updatedSequenceSteps",
    StepCol::UpdaterId,
    |m: &sequence_step::Model| m.updater_id,
    &[],
);
pub static USER_CREATED_SEQUENCES: RelN<Users, Sequences> = ToMany::new(
    "User.createdSequences",
    SeqCol::CreatorId,
    |m: &sequence::Model| m.creator_id,
    &[],
);
pub static USER_UPDATED_SEQUENCES: RelN<Users, Sequences> = ToMany::new(
    "User.updatedSequences",
    SeqCol::UpdaterId,
    |m: &sequence::Model| m.updater_id,
    &[],
);
pub static USER_CREATED_SEQUENCE_TEMPLATES: RelN<Users, SequenceTemplates> = ToMany::new(
    "User.createdSequenceTemplates",
    StCol::CreatorId,
    |m: &sequence_template::Model| m.creator_id,
    &[],
);
pub static USER_UPDATED_SEQUENCE_TEMPLATES: RelN<Users, SequenceTemplates> = ToMany::new(
    "User.updatedSequenceTemplates",
    StCol::UpdaterId,
    |m: &sequence_template::Model| m.updater_id,
    &[],
);
pub static USER_CREATED_TEMPLATES: RelN<Users, Templates> = ToMany::new(
    "User.createdTemplates",
    TplCol::CreatorId,
    |m: &template::Model| m.creator_id,
    &[],
);
pub static USER_UPDATED_TEMPLATES: RelN<Users, Templates> = ToMany::new(
    "User.updatedTemplates",
    TplCol::UpdaterId,
    |m: &template::Model| m.updater_id,
    &[],
);
pub static USER_CREATED_TASKS: RelN<Users, Tasks> = ToMany::new(
    "User.createdTasks",
    TaskCol::CreatorId,
    |m: &task::Model| m.creator_id,
    &[],
);
pub static USER_COMPLETED_TASKS: RelN<Users, Tasks> = ToMany::new(
    "User.completedTasks",
    TaskCol::CompleterId,
    |m: &task::Model| m.completer_id,
    &[],
);
pub static USER_CREATED_CALL_PURPOSES: RelN<Users, CallPurposes> = ToMany::new(
    "User.createdCallPurposes",
    call_purpose::Column::CreatorId,
    |m: &call_purpose::Model| m.creator_id,
    &[],
);

// --- Task ----------------------------------------------------------------------------------
pub static TASK_SEQUENCE: Rel1<Tasks, Sequences> =
    ToOne::new("Task.sequence", TaskCol::SequenceId, |m: &task::Model| {
        m.sequence_id
    });
pub static TASK_STEP: Rel1<Tasks, Steps> = ToOne::new(
    "Task.sequenceStep",
    TaskCol::SequenceStepId,
    |m: &task::Model| m.sequence_step_id,
);
pub static TASK_PRIORITY: Rel1<Tasks, TaskPriorities> = ToOne::new(
    "Task.taskPriority",
    TaskCol::TaskPriorityId,
    |m: &task::Model| m.task_priority_id,
);
pub static TASK_OWNER: Rel1<Tasks, Users> =
    ToOne::new("Task.owner", TaskCol::OwnerId, |m: &task::Model| m.owner_id);
pub static TASK_CREATOR: Rel1<Tasks, Users> =
    ToOne::new("Task.creator", TaskCol::CreatorId, |m: &task::Model| {
        m.creator_id
    });
pub static TASK_COMPLETER: Rel1<Tasks, Users> =
    ToOne::new("Task.completer", TaskCol::CompleterId, |m: &task::Model| {
        m.completer_id
    });
pub static TASK_CALLS: RelN<Tasks, Calls> = ToMany::new(
    "Task.calls",
    CallCol::TaskId,
    |m: &call::Model| m.task_id,
    &[],
);
pub static TASK_MAILINGS: RelN<Tasks, Mailings> = ToMany::new(
    "Task.mailings",
    MailCol::TaskId,
    |m: &mailing::Model| m.task_id,
    &[],
);

// --- Call ----------------------------------------------------------------------------------
pub static CALL_CALL_PURPOSE: Rel1<Calls, CallPurposes> = ToOne::new(
    "Call.callPurpose",
    CallCol::CallPurposeId,
    |m: &call::Model| m.call_purpose_id,
);
pub static CALL_SEQUENCE: Rel1<Calls, Sequences> =
    ToOne::new("Call.sequence", CallCol::SequenceId, |m: &call::Model| {
        m.sequence_id
    });
pub static CALL_STEP: Rel1<Calls, Steps> = ToOne::new(
    "Call.sequenceStep",
    CallCol::SequenceStepId,
    |m: &call::Model| m.sequence_step_id,
);
pub static CALL_TASK: Rel1<Calls, Tasks> =
    ToOne::new("Call.task", CallCol::TaskId, |m: &call::Model| m.task_id);
pub static CALL_USER: Rel1<Calls, Users> =
    ToOne::new("Call.user", CallCol::UserId, |m: &call::Model| m.user_id);

// --- Mailing -------------------------------------------------------------------------------
pub static MAILING_SEQUENCE: Rel1<Mailings, Sequences> = ToOne::new(
    "Mailing.sequence",
    MailCol::SequenceId,
    |m: &mailing::Model| m.sequence_id,
);
pub static MAILING_STEP: Rel1<Mailings, Steps> = ToOne::new(
    "Mailing.sequenceStep",
    MailCol::SequenceStepId,
    |m: &mailing::Model| m.sequence_step_id,
);
pub static MAILING_SEQUENCE_TEMPLATE: Rel1<Mailings, SequenceTemplates> = ToOne::new(
    "Mailing.sequenceTemplate",
    MailCol::SequenceTemplateId,
    |m: &mailing::Model| m.sequence_template_id,
);
pub static MAILING_TEMPLATE: Rel1<Mailings, Templates> = ToOne::new(
    "Mailing.template",
    MailCol::TemplateId,
    |m: &mailing::Model| m.template_id,
);
pub static MAILING_TASK: Rel1<Mailings, Tasks> =
    ToOne::new("Mailing.task", MailCol::TaskId, |m: &mailing::Model| {
        m.task_id
    });
pub static MAILING_USER: Rel1<Mailings, Users> =
    ToOne::new("Mailing.user", MailCol::UserId, |m: &mailing::Model| {
        m.user_id
    });

// --- CallPurpose ---------------------------------------------------------------------------
pub static CALL_PURPOSE_CREATOR: Rel1<CallPurposes, Users> = ToOne::new(
    "CallPurpose.creator",
    call_purpose::Column::CreatorId,
    |m: &call_purpose::Model| m.creator_id,
);
pub static CALL_PURPOSE_CALLS: RelN<CallPurposes, Calls> = ToMany::new(
    "CallPurpose.calls",
    CallCol::CallPurposeId,
    |m: &call::Model| m.call_purpose_id,
    &[],
);
pub static CALL_PURPOSE_STEPS: RelN<CallPurposes, Steps> = ToMany::new(
    "CallPurpose.sequenceSteps",
    StepCol::CallPurposeId,
    |m: &sequence_step::Model| m.call_purpose_id,
    &[],
);

// --- TaskPriority --------------------------------------------------------------------------
pub static TASK_PRIORITY_STEPS: RelN<TaskPriorities, Steps> = ToMany::new(
    "TaskPriority.sequenceSteps",
    StepCol::TaskPriorityId,
    |m: &sequence_step::Model| m.task_priority_id,
    &[],
);
pub static TASK_PRIORITY_TASKS: RelN<TaskPriorities, Tasks> = ToMany::new(
    "TaskPriority.tasks",
    TaskCol::TaskPriorityId,
    |m: &task::Model| m.task_priority_id,
    &[],
);
