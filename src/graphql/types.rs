//! The object types of the schema: each wraps an entity model and resolves its attributes and
//! relationships (through the request's loaders). Descriptions are the seed's wording where it
//! has one.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{
    call, call_purpose, mailing, sequence, sequence_step, sequence_template, task, task_priority,
    template, user,
};

use crate::auth::policy::{self, SequenceAccess};
use crate::graphql::connection::connection;
use crate::graphql::context::rc;
use crate::graphql::error::gql;
use crate::graphql::inputs::SequenceTemplateFilter;
use crate::graphql::resolve::{child_count, page, to_many, to_one, to_one_required};
use crate::graphql::scalars::{self, Date, id};
use crate::service::relations as rel;
use crate::service::steps::display_name;

connection!(
    SequenceStepConnection,
    SequenceStepEdge,
    SequenceStep,
    "sequence steps"
);
connection!(SequenceConnection, SequenceEdge, Sequence, "sequences");
connection!(
    SequenceTemplateConnection,
    SequenceTemplateEdge,
    SequenceTemplate,
    "sequence templates"
);
connection!(TemplateConnection, TemplateEdge, Template, "templates");
connection!(UserConnection, UserEdge, User, "users");
connection!(TaskConnection, TaskEdge, Task, "tasks");
connection!(CallConnection, CallEdge, Call, "calls");
connection!(MailingConnection, MailingEdge, Mailing, "mailings");
connection!(
    CallPurposeConnection,
    CallPurposeEdge,
    CallPurpose,
    "call purposes"
);

fn tags(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

async fn sequence_access(ctx: &Context<'_>, step: &sequence_step::Model) -> Result<SequenceAccess> {
    // The same loader as `SequenceStep.sequence`: resolved at the same moment, one statement.
    let seq: Sequence = to_one_required(ctx, &rel::STEP_SEQUENCE, step).await?;
    Ok(SequenceAccess::from(&seq.0))
}

pub struct SequenceStep(pub sequence_step::Model);

impl From<sequence_step::Model> for SequenceStep {
    fn from(model: sequence_step::Model) -> Self {
        Self(model)
    }
}

/// A descriptor of a single step within an automated sequence.
#[Object]
impl SequenceStep {
    /// The step's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The total count of bounced mailings during this sequence step.
    async fn bounce_count(&self) -> i32 {
        self.0.bounce_count
    }
    /// The total count of clicked mailings from this sequence step.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The date and time the sequence step was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date this step will activate; only applicable to date-based sequences.
    async fn date(&self) -> Option<Date> {
        self.0.date.map(Date)
    }
    /// The total count of delivered mailings from this sequence step.
    async fn deliver_count(&self) -> i32 {
        self.0.deliver_count
    }
    /// A human-readable display name that captures the step's type and order, such as
    /// "Step #2 (Manual email)".
    async fn display_name(&self) -> String {
        display_name(&self.0)
    }
    /// The total count of failed mailings from this sequence step.
    async fn failure_count(&self) -> i32 {
        self.0.failure_count
    }
    /// The interval (in seconds) until this step will activate; only applicable to
    /// interval-based sequences.
    async fn interval(&self) -> Option<i32> {
        self.0.interval
    }
    /// The total count of negative reply mailings from this sequence step.
    async fn negative_reply_count(&self) -> i32 {
        self.0.negative_reply_count
    }
    /// The total count of neutral reply mailings from this sequence step.
    async fn neutral_reply_count(&self) -> i32 {
        self.0.neutral_reply_count
    }
    /// The total count of opened mailings from this sequence step.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The total count of opted out mailings from this sequence step.
    async fn opt_out_count(&self) -> i32 {
        self.0.opt_out_count
    }
    /// The step's display order within its sequence (1-based, contiguous).
    async fn order(&self) -> i32 {
        self.0.order
    }
    /// The total count of positive reply mailings from this sequence step.
    async fn positive_reply_count(&self) -> i32 {
        self.0.positive_reply_count
    }
    /// The total count of replied mailings from this sequence step.
    async fn reply_count(&self) -> i32 {
        self.0.reply_count
    }
    /// The total count of scheduled mailings from this sequence step.
    async fn schedule_count(&self) -> i32 {
        self.0.schedule_count
    }
    /// The step's type: AUTO_EMAIL, MANUAL_EMAIL, CALL or TASK.
    async fn step_type(&self) -> scalars::StepType {
        self.0.step_type.into()
    }
    /// The optional interval (in seconds) from when tasks created by this sequence step are
    /// overdue until they are automatically skipped.
    async fn task_autoskip_delay(&self) -> Option<i32> {
        self.0.task_autoskip_delay
    }
    /// An optional note to associate with created tasks (at most 65,535 characters).
    async fn task_note(&self) -> Option<&str> {
        self.0.task_note.as_deref()
    }
    /// The date and time the sequence step was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The associated sequence.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Sequence> {
        to_one_required(ctx, &rel::STEP_SEQUENCE, &self.0).await
    }
    /// The creator of the sequence step.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::STEP_CREATOR, &self.0).await
    }
    /// The most recent updater of the sequence step.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::STEP_UPDATER, &self.0).await
    }
    /// The default call purpose associated with the sequence step.
    async fn call_purpose(&self, ctx: &Context<'_>) -> Result<Option<CallPurpose>> {
        to_one(ctx, &rel::STEP_CALL_PURPOSE, &self.0).await
    }
    /// The associated task priority.
    async fn task_priority(&self, ctx: &Context<'_>) -> Result<Option<TaskPriority>> {
        to_one(ctx, &rel::STEP_TASK_PRIORITY, &self.0).await
    }
    /// The sequence templates in use by this sequence step (its A/B variants).
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn sequence_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Only sequence templates matching this filter.")] filter: Option<
            SequenceTemplateFilter,
        >,
    ) -> Result<SequenceTemplateConnection> {
        let filter = filter
            .map(|f| f.into_service())
            .transpose()
            .map_err(gql)?
            .unwrap_or_default();
        let (page, total) = to_many(
            ctx,
            &rel::STEP_SEQUENCE_TEMPLATES,
            self.0.id,
            filter,
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(SequenceTemplateConnection::new(
            page,
            SequenceTemplate,
            total,
        ))
    }
    /// The tasks associated with the sequence step.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<TaskConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::STEP_TASKS,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(TaskConnection::new(page, Task, total))
    }
    /// The calls associated with the sequence step.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<CallConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::STEP_CALLS,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(CallConnection::new(page, Call, total))
    }
    /// The mailings associated with the sequence step.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn mailings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<MailingConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::STEP_MAILINGS,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(MailingConnection::new(page, Mailing, total))
    }
    /// Whether the current user may change this step (same rule as the update mutation).
    async fn can_write(&self, ctx: &Context<'_>) -> Result<bool> {
        let seq = sequence_access(ctx, &self.0).await?;
        Ok(policy::can_write_step(&rc(ctx)?.viewer, &seq))
    }
    /// Whether the current user may delete this step (same rule as the delete mutation).
    async fn can_delete(&self, ctx: &Context<'_>) -> Result<bool> {
        let seq = sequence_access(ctx, &self.0).await?;
        Ok(policy::can_delete_step(&rc(ctx)?.viewer, &seq))
    }
}

pub struct Sequence(pub sequence::Model);

impl From<sequence::Model> for Sequence {
    fn from(model: sequence::Model) -> Self {
        Self(model)
    }
}

/// An ordered series of steps that automates touches with prospects.
#[Object]
impl Sequence {
    /// The sequence's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The name or the sequence (at most 255 characters).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A custom description for the sequence (at most 1,024 characters).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Whether steps are scheduled by interval or by date.
    async fn sequence_type(&self) -> scalars::SequenceType {
        self.0.sequence_type.into()
    }
    /// Who besides the owner can see or edit the sequence.
    async fn share_type(&self) -> scalars::ShareType {
        self.0.share_type.into()
    }
    /// How intervals are counted.
    async fn schedule_interval_type(&self) -> Option<scalars::ScheduleIntervalType> {
        self.0.schedule_interval_type.map(Into::into)
    }
    /// Whether the sequence is active.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// When the sequence was last enabled; null while disabled.
    async fn enabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.enabled_at
    }
    /// Whether the sequence is locked (archived); a locked sequence's steps cannot change.
    async fn locked(&self) -> bool {
        self.0.locked
    }
    /// When the sequence was locked.
    async fn locked_at(&self) -> Option<DateTime<Utc>> {
        self.0.locked_at
    }
    /// When the sequence was last used.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// The maximum number of prospects that can be added (date-based sequences only).
    async fn max_activations(&self) -> Option<i32> {
        self.0.max_activations
    }
    /// What happens when a prospect replies to a mailing from this sequence.
    async fn primary_reply_action(&self) -> Option<scalars::ReplyAction> {
        self.0.primary_reply_action.map(Into::into)
    }
    /// How long (seconds) to pause after a reply, when the primary action is PAUSE.
    async fn primary_reply_pause_duration(&self) -> Option<i32> {
        self.0.primary_reply_pause_duration
    }
    /// What happens when a prospect replies from another address.
    async fn secondary_reply_action(&self) -> Option<scalars::ReplyAction> {
        self.0.secondary_reply_action.map(Into::into)
    }
    /// How long (seconds) to pause, when the secondary action is PAUSE.
    async fn secondary_reply_pause_duration(&self) -> Option<i32> {
        self.0.secondary_reply_pause_duration
    }
    /// The maximum number of prospects active in the sequence at once.
    async fn throttle_capacity(&self) -> Option<i32> {
        self.0.throttle_capacity
    }
    /// The maximum number of prospects added per day.
    async fn throttle_max_adds_per_day(&self) -> Option<i32> {
        self.0.throttle_max_adds_per_day
    }
    /// Whether throttling is paused.
    async fn throttle_paused(&self) -> bool {
        self.0.throttle_paused
    }
    /// When throttling was paused.
    async fn throttle_paused_at(&self) -> Option<DateTime<Utc>> {
        self.0.throttle_paused_at
    }
    /// Whether the sequence sends transactional (not marketing) emails.
    async fn transactional(&self) -> bool {
        self.0.transactional
    }
    /// Tags applied to the sequence.
    async fn tags(&self) -> Vec<String> {
        tags(&self.0.tags)
    }
    /// The date and time the sequence was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the sequence was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The owner of the sequence.
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        to_one_required(ctx, &rel::SEQUENCE_OWNER, &self.0).await
    }
    /// The creator of the sequence.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_CREATOR, &self.0).await
    }
    /// The most recent updater of the sequence.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_UPDATER, &self.0).await
    }
    /// The number of steps in the sequence.
    async fn sequence_step_count(&self, ctx: &Context<'_>) -> Result<i64> {
        child_count(ctx, &rel::SEQUENCE_STEP_COUNT, self.0.id).await
    }
    /// The steps of the sequence, in order.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn sequence_steps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<SequenceStepConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::SEQUENCE_STEPS,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(SequenceStepConnection::new(page, SequenceStep, total))
    }
    /// Whether the current user may add, change or reorder this sequence's steps.
    async fn can_write_steps(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(policy::can_write_step(
            &rc(ctx)?.viewer,
            &SequenceAccess::from(&self.0),
        ))
    }
    /// Whether the current user may delete this sequence's steps.
    async fn can_delete_steps(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(policy::can_delete_step(
            &rc(ctx)?.viewer,
            &SequenceAccess::from(&self.0),
        ))
    }
}

pub struct SequenceTemplate(pub sequence_template::Model);

impl From<sequence_template::Model> for SequenceTemplate {
    fn from(model: sequence_template::Model) -> Self {
        Self(model)
    }
}

/// An object used to track which templates are in use by which sequence steps (an A/B variant).
#[Object]
impl SequenceTemplate {
    /// The sequence template's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// Whether the template is sent as a reply in the previous thread, or as a new thread.
    async fn is_reply(&self) -> bool {
        self.0.is_reply
    }
    /// Whether this variant is active.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// When this variant was last enabled.
    async fn enabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.enabled_at
    }
    /// The total count of bounced mailings from this sequence template.
    async fn bounce_count(&self) -> i32 {
        self.0.bounce_count
    }
    /// The total count of clicked mailings from this sequence template.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The total count of delivered mailings from this sequence template.
    async fn deliver_count(&self) -> i32 {
        self.0.deliver_count
    }
    /// The total count of failed mailings from this sequence template.
    async fn failure_count(&self) -> i32 {
        self.0.failure_count
    }
    /// The total count of negative reply mailings from this sequence template.
    async fn negative_reply_count(&self) -> i32 {
        self.0.negative_reply_count
    }
    /// The total count of neutral reply mailings from this sequence template.
    async fn neutral_reply_count(&self) -> i32 {
        self.0.neutral_reply_count
    }
    /// The total count of opened mailings from this sequence template.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The total count of opted out mailings from this sequence template.
    async fn opt_out_count(&self) -> i32 {
        self.0.opt_out_count
    }
    /// The total count of positive reply mailings from this sequence template.
    async fn positive_reply_count(&self) -> i32 {
        self.0.positive_reply_count
    }
    /// The total count of replied mailings from this sequence template.
    async fn reply_count(&self) -> i32 {
        self.0.reply_count
    }
    /// The total count of scheduled mailings from this sequence template.
    async fn schedule_count(&self) -> i32 {
        self.0.schedule_count
    }
    /// The date and time the sequence template was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the sequence template was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The sequence step that uses the sequence template.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<SequenceStep> {
        to_one_required(ctx, &rel::SEQUENCE_TEMPLATE_STEP, &self.0).await
    }
    /// The template used (visible whenever the sequence template is).
    async fn template(&self, ctx: &Context<'_>) -> Result<Template> {
        to_one_required(ctx, &rel::SEQUENCE_TEMPLATE_TEMPLATE, &self.0).await
    }
    /// The creator of the sequence template.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_TEMPLATE_CREATOR, &self.0).await
    }
    /// The most recent updater of the sequence template.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::SEQUENCE_TEMPLATE_UPDATER, &self.0).await
    }
    /// The mailings sent with this variant.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn mailings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<MailingConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::SEQUENCE_TEMPLATE_MAILINGS,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(MailingConnection::new(page, Mailing, total))
    }
}

pub struct Template(pub template::Model);

impl From<template::Model> for Template {
    fn from(model: template::Model) -> Self {
        Self(model)
    }
}

/// Reusable email content.
#[Object]
impl Template {
    /// The template's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The name of the template (at most 225 characters).
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// The subject line of the email.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The body of the email, in HTML.
    async fn body_html(&self) -> Option<&str> {
        self.0.body_html.as_deref()
    }
    /// The body of the email as plain text (derived from bodyHtml).
    async fn body_text(&self) -> Option<&str> {
        self.0.body_text.as_deref()
    }
    /// Who besides the owner can see or use the template.
    async fn share_type(&self) -> scalars::ShareType {
        self.0.share_type.into()
    }
    /// Whether the template is archived.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// When the template was archived.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// Whether links in mailings from this template are tracked.
    async fn track_links(&self) -> bool {
        self.0.track_links
    }
    /// Whether opens of mailings from this template are tracked.
    async fn track_opens(&self) -> bool {
        self.0.track_opens
    }
    /// Default To recipients.
    async fn to_recipients(&self) -> Vec<String> {
        tags(&self.0.to_recipients)
    }
    /// Default Cc recipients.
    async fn cc_recipients(&self) -> Vec<String> {
        tags(&self.0.cc_recipients)
    }
    /// Default Bcc recipients.
    async fn bcc_recipients(&self) -> Vec<String> {
        tags(&self.0.bcc_recipients)
    }
    /// Tags applied to the template.
    async fn tags(&self) -> Vec<String> {
        tags(&self.0.tags)
    }
    /// When the template was last used.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// The date and time the template was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the template was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The owner of the template.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TEMPLATE_OWNER, &self.0).await
    }
    /// The creator of the template.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TEMPLATE_CREATOR, &self.0).await
    }
    /// The most recent updater of the template.
    async fn updater(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TEMPLATE_UPDATER, &self.0).await
    }
    /// The sequence steps using this template, as sequence templates.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn sequence_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<SequenceTemplateConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::TEMPLATE_SEQUENCE_TEMPLATES,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(SequenceTemplateConnection::new(
            page,
            SequenceTemplate,
            total,
        ))
    }
}

pub struct User(pub user::Model);

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self(model)
    }
}

/// A user of the organisation.
#[Object]
impl User {
    /// The user's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The email address of the user (cannot be changed through the API).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The first name of the user.
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// The last name of the user.
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// The full name of the user (derived from first and last name).
    async fn name(&self) -> String {
        [self.0.first_name.as_deref(), self.0.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// A short handle for the user.
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    /// The user's job title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// What the user may do.
    async fn role(&self) -> scalars::Role {
        self.0.role.into()
    }
    /// Whether the user is deactivated.
    async fn locked(&self) -> bool {
        self.0.locked
    }
    /// The date and time the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the user was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The sequences this user owns that you can see, by id.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn owned_sequences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<SequenceConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::USER_OWNED_SEQUENCES,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(SequenceConnection::new(page, Sequence, total))
    }
}

pub struct Task(pub task::Model);

impl From<task::Model> for Task {
    fn from(model: task::Model) -> Self {
        Self(model)
    }
}

/// A work item for a user, often created by a sequence step.
#[Object]
impl Task {
    /// The task's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The action type of the task.
    async fn action(&self) -> scalars::TaskAction {
        self.0.action.into()
    }
    /// The current state of the task.
    async fn state(&self) -> scalars::TaskState {
        self.0.state.into()
    }
    /// The type of task (for example sequence_step_call, manual).
    async fn task_type(&self) -> &str {
        &self.0.task_type
    }
    /// When the task is due.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// When the task is scheduled.
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at
    }
    /// When the task will be automatically skipped; null means never.
    async fn autoskip_at(&self) -> Option<DateTime<Utc>> {
        self.0.autoskip_at
    }
    /// Whether the task is completed.
    async fn completed(&self) -> bool {
        self.0.completed
    }
    /// When the task was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// An optional note for the task.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// When the task's state last changed.
    async fn state_changed_at(&self) -> Option<DateTime<Utc>> {
        self.0.state_changed_at
    }
    /// The date and time the task was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the task was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The sequence the task belongs to, if visible.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Option<Sequence>> {
        to_one(ctx, &rel::TASK_SEQUENCE, &self.0).await
    }
    /// The sequence step that created the task, if visible.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<Option<SequenceStep>> {
        to_one(ctx, &rel::TASK_STEP, &self.0).await
    }
    /// The task's priority.
    async fn task_priority(&self, ctx: &Context<'_>) -> Result<Option<TaskPriority>> {
        to_one(ctx, &rel::TASK_PRIORITY, &self.0).await
    }
    /// The owner of the task.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TASK_OWNER, &self.0).await
    }
    /// The creator of the task.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TASK_CREATOR, &self.0).await
    }
    /// The user who completed the task.
    async fn completer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::TASK_COMPLETER, &self.0).await
    }
}

pub struct Call(pub call::Model);

impl From<call::Model> for Call {
    fn from(model: call::Model) -> Self {
        Self(model)
    }
}

/// A logged phone call.
#[Object]
impl Call {
    /// The call's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The call direction from the user's point of view.
    async fn direction(&self) -> scalars::CallDirection {
        self.0.direction.into()
    }
    /// The call's outcome.
    async fn outcome(&self) -> Option<scalars::CallOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// The call's current state.
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    /// The action to take on the associated sequence.
    async fn sequence_action(&self) -> Option<&str> {
        self.0.sequence_action.as_deref()
    }
    /// How the call was placed (bridge or voip).
    async fn user_call_type(&self) -> Option<&str> {
        self.0.user_call_type.as_deref()
    }
    /// The phone number used to place the call.
    async fn from(&self) -> Option<&str> {
        self.0.from.as_deref()
    }
    /// The phone number that was called.
    async fn to(&self) -> Option<&str> {
        self.0.to.as_deref()
    }
    /// A custom note associated with the call.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The URL of the call's recording.
    async fn recording_url(&self) -> Option<&str> {
        self.0.recording_url.as_deref()
    }
    /// The URL of the call's voicemail recording.
    async fn voicemail_recording_url(&self) -> Option<&str> {
        self.0.voicemail_recording_url.as_deref()
    }
    /// The call's identifier at the vendor.
    async fn vendor_call_id(&self) -> Option<&str> {
        self.0.vendor_call_id.as_deref()
    }
    /// The vendor that placed the call.
    async fn external_vendor(&self) -> Option<&str> {
        self.0.external_vendor.as_deref()
    }
    /// Whether the call should be recorded.
    async fn should_record_call(&self) -> bool {
        self.0.should_record_call
    }
    /// When the call was dialed.
    async fn dialed_at(&self) -> Option<DateTime<Utc>> {
        self.0.dialed_at
    }
    /// When the call was answered.
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.answered_at
    }
    /// When the call was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When the call was returned.
    async fn returned_at(&self) -> Option<DateTime<Utc>> {
        self.0.returned_at
    }
    /// When the call's state last changed.
    async fn state_changed_at(&self) -> Option<DateTime<Utc>> {
        self.0.state_changed_at
    }
    /// The date and time the call record was created (not when the call happened).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the call was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The purpose of the call.
    async fn call_purpose(&self, ctx: &Context<'_>) -> Result<Option<CallPurpose>> {
        to_one(ctx, &rel::CALL_CALL_PURPOSE, &self.0).await
    }
    /// The sequence of the call, if visible.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Option<Sequence>> {
        to_one(ctx, &rel::CALL_SEQUENCE, &self.0).await
    }
    /// The sequence step of the call, if visible.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<Option<SequenceStep>> {
        to_one(ctx, &rel::CALL_STEP, &self.0).await
    }
    /// The task the call completed.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        to_one(ctx, &rel::CALL_TASK, &self.0).await
    }
    /// The user who made the call.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::CALL_USER, &self.0).await
    }
}

pub struct Mailing(pub mailing::Model);

impl From<mailing::Model> for Mailing {
    fn from(model: mailing::Model) -> Self {
        Self(model)
    }
}

/// A platform-related email.
#[Object]
impl Mailing {
    /// The mailing's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The current state of the mailing.
    async fn state(&self) -> scalars::MailingState {
        self.0.state.into()
    }
    /// The kind of mailing.
    async fn mailing_type(&self) -> Option<scalars::MailingType> {
        self.0.mailing_type.map(Into::into)
    }
    /// The subject line of the email.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The body of the email in HTML.
    async fn body_html(&self) -> Option<&str> {
        self.0.body_html.as_deref()
    }
    /// The body of the email as plain text.
    async fn body_text(&self) -> Option<&str> {
        self.0.body_text.as_deref()
    }
    /// The email address the mailing was sent from.
    async fn mailbox_address(&self) -> Option<&str> {
        self.0.mailbox_address.as_deref()
    }
    /// The Message-ID header of the sent email.
    async fn message_id(&self) -> Option<&str> {
        self.0.message_id.as_deref()
    }
    /// Why the mailing failed.
    async fn error_reason(&self) -> Option<&str> {
        self.0.error_reason.as_deref()
    }
    /// Whether links are tracked.
    async fn track_links(&self) -> bool {
        self.0.track_links
    }
    /// Whether opens are tracked.
    async fn track_opens(&self) -> bool {
        self.0.track_opens
    }
    /// The number of times the mailing was opened.
    async fn open_count(&self) -> i32 {
        self.0.open_count
    }
    /// The number of times a link in the mailing was clicked.
    async fn click_count(&self) -> i32 {
        self.0.click_count
    }
    /// The sentiment of the reply, when there is one.
    async fn reply_sentiment(&self) -> Option<scalars::ReplySentiment> {
        self.0.reply_sentiment.map(Into::into)
    }
    /// When the mailing was scheduled to be sent.
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at
    }
    /// When the mailing was delivered.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// When the mailing was first opened.
    async fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.0.opened_at
    }
    /// When a link in the mailing was most recently clicked.
    async fn clicked_at(&self) -> Option<DateTime<Utc>> {
        self.0.clicked_at
    }
    /// When the mailing was replied to.
    async fn replied_at(&self) -> Option<DateTime<Utc>> {
        self.0.replied_at
    }
    /// When the mailing bounced.
    async fn bounced_at(&self) -> Option<DateTime<Utc>> {
        self.0.bounced_at
    }
    /// When the recipient opted out.
    async fn unsubscribed_at(&self) -> Option<DateTime<Utc>> {
        self.0.unsubscribed_at
    }
    /// When the mailing was marked as spam.
    async fn marked_as_spam_at(&self) -> Option<DateTime<Utc>> {
        self.0.marked_as_spam_at
    }
    /// When the mailing's state last changed.
    async fn state_changed_at(&self) -> Option<DateTime<Utc>> {
        self.0.state_changed_at
    }
    /// The date and time the mailing was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the mailing was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The sequence of the mailing, if visible.
    async fn sequence(&self, ctx: &Context<'_>) -> Result<Option<Sequence>> {
        to_one(ctx, &rel::MAILING_SEQUENCE, &self.0).await
    }
    /// The sequence step of the mailing, if visible.
    async fn sequence_step(&self, ctx: &Context<'_>) -> Result<Option<SequenceStep>> {
        to_one(ctx, &rel::MAILING_STEP, &self.0).await
    }
    /// The sequence template (A/B variant) the mailing was sent with, if visible.
    async fn sequence_template(&self, ctx: &Context<'_>) -> Result<Option<SequenceTemplate>> {
        to_one(ctx, &rel::MAILING_SEQUENCE_TEMPLATE, &self.0).await
    }
    /// The template the mailing was sent from, if visible.
    async fn template(&self, ctx: &Context<'_>) -> Result<Option<Template>> {
        to_one(ctx, &rel::MAILING_TEMPLATE, &self.0).await
    }
    /// The task the mailing belongs to.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        to_one(ctx, &rel::MAILING_TASK, &self.0).await
    }
    /// The user who sent the mailing.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::MAILING_USER, &self.0).await
    }
}

pub struct CallPurpose(pub call_purpose::Model);

impl From<call_purpose::Model> for CallPurpose {
    fn from(model: call_purpose::Model) -> Self {
        Self(model)
    }
}

/// A ready-made call purpose that helps categorize call logs.
#[Object]
impl CallPurpose {
    /// The call purpose's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The name of the call purpose (for example "Initial Contact").
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The display order of the call purpose within the collection.
    async fn order(&self) -> Option<i32> {
        self.0.order
    }
    /// The date and time the call purpose was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the call purpose was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The creator of the call purpose.
    async fn creator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        to_one(ctx, &rel::CALL_PURPOSE_CREATOR, &self.0).await
    }
    /// The calls with this purpose.
    #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return the items after this cursor.")] after: Option<String>,
    ) -> Result<CallConnection> {
        let (page, total) = to_many(
            ctx,
            &rel::CALL_PURPOSE_CALLS,
            self.0.id,
            Default::default(),
            Vec::new(),
            page(first, after, None, None),
        )
        .await?;
        Ok(CallConnection::new(page, Call, total))
    }
}

pub struct TaskPriority(pub task_priority::Model);

impl From<task_priority::Model> for TaskPriority {
    fn from(model: task_priority::Model) -> Self {
        Self(model)
    }
}

/// A task priority of the organisation.
#[Object]
impl TaskPriority {
    /// The task priority's unique identifier.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The name of the priority (for example "High").
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The display color of the priority.
    async fn color(&self) -> Option<&str> {
        self.0.color.as_deref()
    }
    /// The weight of the priority; heavier priorities sort first.
    async fn weight(&self) -> i32 {
        self.0.weight
    }
    /// The date and time the task priority was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The date and time the task priority was last updated.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
