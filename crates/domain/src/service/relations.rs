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
//!
//! A relationship is declared once, in the [`relations!`] table at the bottom: that makes its
//! static, puts it in [`ALL`] (which a test walks: each must be a field of its parent in the
//! GraphQL schema and a relationship of its parent on the JSON:API) and in its parent's list
//! that [`with_relations!`](crate::with_relations) hands to an adapter, so the JSON:API's
//! relationships, includes and related links follow from the declaration alone. Whether the
//! policy shows a to-one target whenever it shows the parent is part of the declaration
//! ([`ToOne::shown_with_parent`]): GraphQL makes such a field non-null and the JSON:API shows
//! its linkage without a visibility statement.

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
    /// The policy shows the target whenever it shows the parent (and the key is NOT NULL).
    pub shown: bool,
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
            shown: false,
            marker: PhantomData,
        }
    }

    /// Declares that the policy shows the target whenever it shows the parent, and that the
    /// key is never unset: GraphQL's field is then non-null (`to_one_required`) and the
    /// JSON:API shows the linkage without checking the target. `tests/it/visibility.rs`
    /// walks every such field as every kind of viewer.
    pub const fn shown_with_parent(mut self) -> Self {
        self.shown = true;
        self
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

/// A declared relationship, whatever its types: what the tests and the adapters' checks read.
pub trait Declared: Sync {
    /// `Parent.field`.
    fn name(&self) -> &'static str;
    /// The parent's type name ([`Resource::NAME`]).
    fn parent(&self) -> &'static str;
    /// The target's (or children's) type name.
    fn target(&self) -> &'static str;
    /// `Some(shown_with_parent)` for a to-one, `None` for a to-many.
    fn to_one(&self) -> Option<bool>;
    /// A to-one's foreign-key column on the parent's table (`sequence_id`).
    fn fk_column(&self) -> Option<&'static str>;
    /// The table of the target (or children).
    fn target_table(&self) -> &'static str;
    /// The field: `sequence` for `SequenceStep.sequence`.
    fn field(&self) -> &'static str {
        // By the last dot's position (a byte search): a to-one field written in place looks
        // its relationship up by this on every row (`rsplit` cost ten times as much).
        let name = self.name();
        name.rfind('.').map_or(name, |dot| &name[dot + 1..])
    }
}

impl<P: Resource, T: Resource> Declared for ToOne<P, T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn parent(&self) -> &'static str {
        P::NAME
    }
    fn target(&self) -> &'static str {
        T::NAME
    }
    fn to_one(&self) -> Option<bool> {
        Some(self.shown)
    }
    fn fk_column(&self) -> Option<&'static str> {
        Some(sea_orm::IdenStatic::as_str(&self.fk))
    }
    fn target_table(&self) -> &'static str {
        sea_orm::EntityName::table_name(&T::Entity::default())
    }
}

impl<P: Resource, C: Resource> Declared for ToMany<P, C> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn parent(&self) -> &'static str {
        P::NAME
    }
    fn target(&self) -> &'static str {
        C::NAME
    }
    fn to_one(&self) -> Option<bool> {
        None
    }
    fn fk_column(&self) -> Option<&'static str> {
        None
    }
    fn target_table(&self) -> &'static str {
        sea_orm::EntityName::table_name(&C::Entity::default())
    }
}

/// The table of relationships. Each entry, under its parent's resource,
/// `one NAME: Target(name, fk, key)` or `many NAME: Child(name, fk, parent_of, default_order)`
/// (the arguments of [`ToOne::new`] / [`ToMany::new`], the closures typed by the parent), makes
/// `pub static NAME`, an entry of [`ALL`] and an entry of `with_relations!(Parent, ..)`.
/// `$d` is a literal `$`, for the exported macro's own variables.
macro_rules! relations {
    ($d:tt $(
        $P:ident {
            $($kind:ident $S:ident: $T:ident($($arg:expr),* $(,)?) $(.$method:ident())*;)*
        }
    )*) => {
        $($(
            pub static $S: relations!(@type $kind $P $T) =
                <relations!(@type $kind $P $T)>::new($($arg),*)$(.$method())*;
        )*)*

        /// Every declared relationship, for the checks that each is exposed on both APIs.
        pub static ALL: &[&dyn Declared] = &[$($(&$S),*),*];

        /// Calls `$callback!(Parent; one NAME, many NAME, ...)` with the relationships of
        /// `Parent` (a resource of [`crate::service::lists`]), as declared in
        /// `service::relations`: how an adapter builds its per-type list.
        #[macro_export]
        macro_rules! with_relations {
            $(($P, $d callback:ident) => { $d callback!($P; $($kind $S),*) };)*
        }
    };
    (@type one $P:ident $T:ident) => { ToOne<$P, $T> };
    (@type many $P:ident $T:ident) => { ToMany<$P, $T> };
}

/// `Sequence.sequenceStepCount`: the same children as [`SEQUENCE_STEPS`], counted by a loader
/// of its own (a field of its own is a batch of its own, see `graphql::loaders`). Not a
/// relationship of its own on either API, so not in the table.
pub static SEQUENCE_STEP_COUNT: ToMany<Sequences, Steps> = ToMany::new(
    "Sequence.sequenceStepCount",
    StepCol::SequenceId,
    |m: &sequence_step::Model| Some(m.sequence_id),
    &[],
);

relations! {
    $
    Steps {
        one STEP_SEQUENCE: Sequences(
            "SequenceStep.sequence",
            StepCol::SequenceId,
            |m| Some(m.sequence_id),
        ).shown_with_parent();
        one STEP_CREATOR: Users("SequenceStep.creator", StepCol::CreatorId, |m| m.creator_id);
        one STEP_UPDATER: Users("SequenceStep.updater", StepCol::UpdaterId, |m| m.updater_id);
        one STEP_CALL_PURPOSE: CallPurposes(
            "SequenceStep.callPurpose",
            StepCol::CallPurposeId,
            |m| m.call_purpose_id,
        );
        one STEP_TASK_PRIORITY: TaskPriorities(
            "SequenceStep.taskPriority",
            StepCol::TaskPriorityId,
            |m| m.task_priority_id,
        );
        many STEP_SEQUENCE_TEMPLATES: SequenceTemplates(
            "SequenceStep.sequenceTemplates",
            sequence_template::Column::SequenceStepId,
            |m| Some(m.sequence_step_id),
            &[],
        );
        many STEP_TASKS: Tasks(
            "SequenceStep.tasks",
            task::Column::SequenceStepId,
            |m| m.sequence_step_id,
            &[],
        );
        many STEP_CALLS: Calls(
            "SequenceStep.calls",
            call::Column::SequenceStepId,
            |m| m.sequence_step_id,
            &[],
        );
        many STEP_MAILINGS: Mailings(
            "SequenceStep.mailings",
            mailing::Column::SequenceStepId,
            |m| m.sequence_step_id,
            &[],
        );
    }
    Sequences {
        one SEQUENCE_OWNER: Users(
            "Sequence.owner",
            SeqCol::OwnerId,
            |m| Some(m.owner_id),
        ).shown_with_parent();
        one SEQUENCE_CREATOR: Users("Sequence.creator", SeqCol::CreatorId, |m| m.creator_id);
        one SEQUENCE_UPDATER: Users("Sequence.updater", SeqCol::UpdaterId, |m| m.updater_id);
        many SEQUENCE_STEPS: Steps(
            "Sequence.sequenceSteps",
            StepCol::SequenceId,
            |m| Some(m.sequence_id),
            &[(steps::Sort::Order, Direction::Asc)],
        );
        many SEQUENCE_TASKS: Tasks("Sequence.tasks", TaskCol::SequenceId, |m| m.sequence_id, &[]);
        many SEQUENCE_CALLS: Calls("Sequence.calls", CallCol::SequenceId, |m| m.sequence_id, &[]);
        many SEQUENCE_MAILINGS: Mailings(
            "Sequence.mailings",
            MailCol::SequenceId,
            |m| m.sequence_id,
            &[],
        );
    }
    SequenceTemplates {
        one SEQUENCE_TEMPLATE_STEP: Steps(
            "SequenceTemplate.sequenceStep",
            StCol::SequenceStepId,
            |m| Some(m.sequence_step_id),
        ).shown_with_parent();
        one SEQUENCE_TEMPLATE_TEMPLATE: Templates(
            "SequenceTemplate.template",
            StCol::TemplateId,
            |m| Some(m.template_id),
        ).shown_with_parent();
        one SEQUENCE_TEMPLATE_CREATOR: Users(
            "SequenceTemplate.creator",
            StCol::CreatorId,
            |m| m.creator_id,
        );
        one SEQUENCE_TEMPLATE_UPDATER: Users(
            "SequenceTemplate.updater",
            StCol::UpdaterId,
            |m| m.updater_id,
        );
        many SEQUENCE_TEMPLATE_MAILINGS: Mailings(
            "SequenceTemplate.mailings",
            mailing::Column::SequenceTemplateId,
            |m| m.sequence_template_id,
            &[],
        );
    }
    Templates {
        one TEMPLATE_OWNER: Users("Template.owner", TplCol::OwnerId, |m| m.owner_id);
        one TEMPLATE_CREATOR: Users("Template.creator", TplCol::CreatorId, |m| m.creator_id);
        one TEMPLATE_UPDATER: Users("Template.updater", TplCol::UpdaterId, |m| m.updater_id);
        many TEMPLATE_SEQUENCE_TEMPLATES: SequenceTemplates(
            "Template.sequenceTemplates",
            StCol::TemplateId,
            |m| Some(m.template_id),
            &[],
        );
        many TEMPLATE_MAILINGS: Mailings(
            "Template.mailings",
            MailCol::TemplateId,
            |m| m.template_id,
            &[],
        );
    }
    Users {
        many USER_OWNED_SEQUENCES: Sequences(
            "User.ownedSequences",
            SeqCol::OwnerId,
            |m| Some(m.owner_id),
            &[],
        );
        many USER_OWNED_TEMPLATES: Templates(
            "User.ownedTemplates",
            TplCol::OwnerId,
            |m| m.owner_id,
            &[],
        );
        many USER_OWNED_TASKS: Tasks("User.ownedTasks", TaskCol::OwnerId, |m| m.owner_id, &[]);
        many USER_CALLS: Calls("User.calls", CallCol::UserId, |m| m.user_id, &[]);
        many USER_MAILINGS: Mailings("User.mailings", MailCol::UserId, |m| m.user_id, &[]);
        many USER_CREATED_STEPS: Steps(
            "User.createdSequenceSteps",
            StepCol::CreatorId,
            |m| m.creator_id,
            &[],
        );
        many USER_UPDATED_STEPS: Steps(
            "User.updatedSequenceSteps",
            StepCol::UpdaterId,
            |m| m.updater_id,
            &[],
        );
        many USER_CREATED_SEQUENCES: Sequences(
            "User.createdSequences",
            SeqCol::CreatorId,
            |m| m.creator_id,
            &[],
        );
        many USER_UPDATED_SEQUENCES: Sequences(
            "User.updatedSequences",
            SeqCol::UpdaterId,
            |m| m.updater_id,
            &[],
        );
        many USER_CREATED_SEQUENCE_TEMPLATES: SequenceTemplates(
            "User.createdSequenceTemplates",
            StCol::CreatorId,
            |m| m.creator_id,
            &[],
        );
        many USER_UPDATED_SEQUENCE_TEMPLATES: SequenceTemplates(
            "User.updatedSequenceTemplates",
            StCol::UpdaterId,
            |m| m.updater_id,
            &[],
        );
        many USER_CREATED_TEMPLATES: Templates(
            "User.createdTemplates",
            TplCol::CreatorId,
            |m| m.creator_id,
            &[],
        );
        many USER_UPDATED_TEMPLATES: Templates(
            "User.updatedTemplates",
            TplCol::UpdaterId,
            |m| m.updater_id,
            &[],
        );
        many USER_CREATED_TASKS: Tasks(
            "User.createdTasks",
            TaskCol::CreatorId,
            |m| m.creator_id,
            &[],
        );
        many USER_COMPLETED_TASKS: Tasks(
            "User.completedTasks",
            TaskCol::CompleterId,
            |m| m.completer_id,
            &[],
        );
        many USER_CREATED_CALL_PURPOSES: CallPurposes(
            "User.createdCallPurposes",
            call_purpose::Column::CreatorId,
            |m| m.creator_id,
            &[],
        );
    }
    Tasks {
        one TASK_SEQUENCE: Sequences("Task.sequence", TaskCol::SequenceId, |m| m.sequence_id);
        one TASK_STEP: Steps("Task.sequenceStep", TaskCol::SequenceStepId, |m| m.sequence_step_id);
        one TASK_PRIORITY: TaskPriorities(
            "Task.taskPriority",
            TaskCol::TaskPriorityId,
            |m| m.task_priority_id,
        );
        one TASK_OWNER: Users("Task.owner", TaskCol::OwnerId, |m| m.owner_id);
        one TASK_CREATOR: Users("Task.creator", TaskCol::CreatorId, |m| m.creator_id);
        one TASK_COMPLETER: Users("Task.completer", TaskCol::CompleterId, |m| m.completer_id);
        many TASK_CALLS: Calls("Task.calls", CallCol::TaskId, |m| m.task_id, &[]);
        many TASK_MAILINGS: Mailings("Task.mailings", MailCol::TaskId, |m| m.task_id, &[]);
    }
    Calls {
        one CALL_CALL_PURPOSE: CallPurposes(
            "Call.callPurpose",
            CallCol::CallPurposeId,
            |m| m.call_purpose_id,
        );
        one CALL_SEQUENCE: Sequences("Call.sequence", CallCol::SequenceId, |m| m.sequence_id);
        one CALL_STEP: Steps("Call.sequenceStep", CallCol::SequenceStepId, |m| m.sequence_step_id);
        one CALL_TASK: Tasks("Call.task", CallCol::TaskId, |m| m.task_id);
        one CALL_USER: Users("Call.user", CallCol::UserId, |m| m.user_id);
    }
    Mailings {
        one MAILING_SEQUENCE: Sequences("Mailing.sequence", MailCol::SequenceId, |m| m.sequence_id);
        one MAILING_STEP: Steps(
            "Mailing.sequenceStep",
            MailCol::SequenceStepId,
            |m| m.sequence_step_id,
        );
        one MAILING_SEQUENCE_TEMPLATE: SequenceTemplates(
            "Mailing.sequenceTemplate",
            MailCol::SequenceTemplateId,
            |m| m.sequence_template_id,
        );
        one MAILING_TEMPLATE: Templates("Mailing.template", MailCol::TemplateId, |m| m.template_id);
        one MAILING_TASK: Tasks("Mailing.task", MailCol::TaskId, |m| m.task_id);
        one MAILING_USER: Users("Mailing.user", MailCol::UserId, |m| m.user_id);
    }
    CallPurposes {
        one CALL_PURPOSE_CREATOR: Users(
            "CallPurpose.creator",
            call_purpose::Column::CreatorId,
            |m| m.creator_id,
        );
        many CALL_PURPOSE_CALLS: Calls(
            "CallPurpose.calls",
            CallCol::CallPurposeId,
            |m| m.call_purpose_id,
            &[],
        );
        many CALL_PURPOSE_STEPS: Steps(
            "CallPurpose.sequenceSteps",
            StepCol::CallPurposeId,
            |m| m.call_purpose_id,
            &[],
        );
    }
    TaskPriorities {
        many TASK_PRIORITY_STEPS: Steps(
            "TaskPriority.sequenceSteps",
            StepCol::TaskPriorityId,
            |m| m.task_priority_id,
            &[],
        );
        many TASK_PRIORITY_TASKS: Tasks(
            "TaskPriority.tasks",
            TaskCol::TaskPriorityId,
            |m| m.task_priority_id,
            &[],
        );
    }
}
