//! Seed data: the hand-written demo data set ([`demo`]) and sized, deterministic data for
//! benchmarks ([`sized`]).
//!
//! Both build plain entity models in memory with explicit ids (allocated after the largest id
//! already in each table), compute the step and sequence-template counters with the same rules
//! as [`crate::service::counters`], and write everything in one transaction with multi-row
//! `INSERT`s. Explicit ids let children reference parents without reading ids back, which is
//! what makes 100,000 steps load in seconds.

pub mod demo;
pub mod rng;
pub mod sized;

use chrono::{DateTime, Duration, Utc};
use entity::enums::{MailingState, MailingType, ReplySentiment};
use entity::{
    call, call_purpose, mailing, sequence, sequence_step, sequence_template, task, task_priority,
    template, user,
};
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, Iterable, Statement, TransactionSession, TransactionTrait,
};

use crate::service::counters;

/// Everything one seed run writes, in memory.
#[derive(Default)]
pub struct Dataset {
    pub users: Vec<user::Model>,
    pub call_purposes: Vec<call_purpose::Model>,
    pub task_priorities: Vec<task_priority::Model>,
    pub templates: Vec<template::Model>,
    pub sequences: Vec<sequence::Model>,
    pub steps: Vec<sequence_step::Model>,
    pub sequence_templates: Vec<sequence_template::Model>,
    pub tasks: Vec<task::Model>,
    pub calls: Vec<call::Model>,
    pub mailings: Vec<mailing::Model>,
}

/// How many rows of each kind a seed run wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedCounts {
    pub users: usize,
    pub sequences: usize,
    pub steps: usize,
    pub templates: usize,
    pub sequence_templates: usize,
    pub tasks: usize,
    pub calls: usize,
    pub mailings: usize,
}

impl SeedCounts {
    fn add(&mut self, d: &Dataset) {
        self.users += d.users.len();
        self.sequences += d.sequences.len();
        self.steps += d.steps.len();
        self.templates += d.templates.len();
        self.sequence_templates += d.sequence_templates.len();
        self.tasks += d.tasks.len();
        self.calls += d.calls.len();
        self.mailings += d.mailings.len();
    }
}

impl std::fmt::Display for SeedCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} sequences, {} steps, {} templates, {} sequence templates, {} tasks, \
             {} calls, {} mailings",
            self.users,
            self.sequences,
            self.steps,
            self.templates,
            self.sequence_templates,
            self.tasks,
            self.calls,
            self.mailings
        )
    }
}

/// The next free id of every table, read once at the start of a seed run.
#[derive(Debug, Clone, Copy)]
pub struct IdAlloc {
    pub user: i64,
    pub call_purpose: i64,
    pub task_priority: i64,
    pub template: i64,
    pub sequence: i64,
    pub step: i64,
    pub sequence_template: i64,
    pub task: i64,
    pub call: i64,
    pub mailing: i64,
}

async fn next_id<E: EntityTrait>(
    db: &(impl ConnectionTrait + 'static),
    entity: E,
) -> Result<i64, DbErr> {
    let stmt = Query::select()
        .expr(Func::coalesce([
            Func::max(Expr::col("id")).into(),
            Expr::value(0i64),
        ]))
        .from(entity)
        .to_owned();
    let row = db.query_one(&stmt).await?;
    let max: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(max + 1)
}

impl IdAlloc {
    pub async fn read(db: &(impl ConnectionTrait + 'static)) -> Result<Self, DbErr> {
        Ok(Self {
            user: next_id(db, user::Entity).await?,
            call_purpose: next_id(db, call_purpose::Entity).await?,
            task_priority: next_id(db, task_priority::Entity).await?,
            template: next_id(db, template::Entity).await?,
            sequence: next_id(db, sequence::Entity).await?,
            step: next_id(db, sequence_step::Entity).await?,
            sequence_template: next_id(db, sequence_template::Entity).await?,
            task: next_id(db, task::Entity).await?,
            call: next_id(db, call::Entity).await?,
            mailing: next_id(db, mailing::Entity).await?,
        })
    }
}

/// Fills in the stored counters of sequences, steps and sequence templates from the data
/// set's mailings.
pub fn fill_counters(data: &mut Dataset) {
    use std::collections::HashMap;
    let mut by_step: HashMap<i64, Vec<&mailing::Model>> = HashMap::new();
    let mut by_variant: HashMap<i64, Vec<&mailing::Model>> = HashMap::new();
    let mut by_sequence: HashMap<i64, Vec<&mailing::Model>> = HashMap::new();
    for m in &data.mailings {
        if let Some(id) = m.sequence_id {
            by_sequence.entry(id).or_default().push(m);
        }
        if let Some(id) = m.sequence_step_id {
            by_step.entry(id).or_default().push(m);
        }
        if let Some(id) = m.sequence_template_id {
            by_variant.entry(id).or_default().push(m);
        }
    }
    for step in &mut data.steps {
        let c = counters::tally(by_step.get(&step.id).into_iter().flatten().copied());
        [
            step.bounce_count,
            step.click_count,
            step.deliver_count,
            step.failure_count,
            step.negative_reply_count,
            step.neutral_reply_count,
            step.open_count,
            step.opt_out_count,
            step.positive_reply_count,
            step.reply_count,
            step.schedule_count,
        ] = c;
    }
    for seq in &mut data.sequences {
        let c = counters::tally(by_sequence.get(&seq.id).into_iter().flatten().copied());
        [
            seq.bounce_count,
            seq.click_count,
            seq.deliver_count,
            seq.failure_count,
            seq.negative_reply_count,
            seq.neutral_reply_count,
            seq.open_count,
            seq.opt_out_count,
            seq.positive_reply_count,
            seq.reply_count,
            seq.schedule_count,
        ] = c;
    }
    for st in &mut data.sequence_templates {
        let c = counters::tally(by_variant.get(&st.id).into_iter().flatten().copied());
        [
            st.bounce_count,
            st.click_count,
            st.deliver_count,
            st.failure_count,
            st.negative_reply_count,
            st.neutral_reply_count,
            st.open_count,
            st.opt_out_count,
            st.positive_reply_count,
            st.reply_count,
            st.schedule_count,
        ] = c;
    }
}

/// SQLite allows 32,766 bound parameters per statement, PostgreSQL and MySQL 65,535; batches
/// stay under the smallest.
const MAX_PARAMS: usize = 30_000;

async fn insert_all<A>(
    db: &(impl ConnectionTrait + 'static),
    rows: Vec<<A::Entity as EntityTrait>::Model>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    let per_batch = (MAX_PARAMS / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows
            .by_ref()
            .take(per_batch)
            .map(IntoActiveModel::into_active_model)
            .collect();
        <A::Entity as EntityTrait>::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Writes a data set, parents before children.
pub async fn write(db: &(impl ConnectionTrait + 'static), data: Dataset) -> Result<(), DbErr> {
    insert_all::<user::ActiveModel>(db, data.users).await?;
    insert_all::<call_purpose::ActiveModel>(db, data.call_purposes).await?;
    insert_all::<task_priority::ActiveModel>(db, data.task_priorities).await?;
    insert_all::<template::ActiveModel>(db, data.templates).await?;
    insert_all::<sequence::ActiveModel>(db, data.sequences).await?;
    insert_all::<sequence_step::ActiveModel>(db, data.steps).await?;
    insert_all::<sequence_template::ActiveModel>(db, data.sequence_templates).await?;
    insert_all::<task::ActiveModel>(db, data.tasks).await?;
    insert_all::<call::ActiveModel>(db, data.calls).await?;
    insert_all::<mailing::ActiveModel>(db, data.mailings).await?;
    Ok(())
}

/// Every table a seed writes to.
const SEEDED_TABLES: [&str; 10] = [
    "users",
    "call_purposes",
    "task_priorities",
    "templates",
    "sequences",
    "sequence_steps",
    "sequence_templates",
    "tasks",
    "calls",
    "mailings",
];

/// PostgreSQL's serial sequences do not move when ids are inserted explicitly; move them past
/// the largest id so the server's own inserts do not collide. (SQLite and MySQL do this
/// themselves.)
pub async fn sync_id_sequences(db: &(impl ConnectionTrait + 'static)) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for table in SEEDED_TABLES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1), \
             (SELECT COUNT(*) > 0 FROM {table}))"
        );
        db.execute_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await?;
    }
    Ok(())
}

/// Runs `build` for successive chunks inside one transaction and writes each chunk, so memory
/// stays bounded however large the data set.
pub async fn run_chunked<C, F>(db: &C, mut build: F) -> Result<SeedCounts, DbErr>
where
    C: ConnectionTrait + TransactionTrait + 'static,
    C::Transaction: 'static,
    F: FnMut(&mut IdAlloc) -> Option<Dataset>,
{
    let txn = db.begin().await?;
    let mut ids = IdAlloc::read(&txn).await?;
    let mut total = SeedCounts::default();
    while let Some(mut chunk) = build(&mut ids) {
        fill_counters(&mut chunk);
        total.add(&chunk);
        write(&txn, chunk).await?;
    }
    sync_id_sequences(&txn).await?;
    txn.commit().await?;
    analyze(db).await?;
    Ok(total)
}

/// Refreshes the planner's statistics after a bulk load. Without them a fresh PostgreSQL
/// database plans the first queries as if the tables were empty (measured: the two-level
/// benchmark query took twice as long until autovacuum caught up).
async fn analyze(db: &(impl ConnectionTrait + 'static)) -> Result<(), DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::MySql => format!("ANALYZE TABLE {}", SEEDED_TABLES.join(", ")),
        _ => "ANALYZE".to_string(),
    };
    db.execute_unprepared(&sql).await?;
    Ok(())
}

/// Fields of a mailing that depend on where it came from.
pub struct MailingOrigin {
    pub sequence_id: i64,
    pub sequence_step_id: i64,
    pub sequence_template_id: Option<i64>,
    pub template_id: Option<i64>,
    /// The task the mailing was sent for (manual emails are sent from a task).
    pub task_id: Option<i64>,
    pub user_id: Option<i64>,
}

/// A mailing in `state` whose timestamps tell a consistent story: a replied mailing was also
/// scheduled, delivered and opened; a bounced one was scheduled and bounced; and so on.
pub fn mailing_in_state(
    id: i64,
    state: MailingState,
    sentiment: Option<ReplySentiment>,
    opted_out: bool,
    clicked: bool,
    at: DateTime<Utc>,
    origin: &MailingOrigin,
) -> mailing::Model {
    use MailingState::*;
    let minutes = |n: i64| Some(at + Duration::minutes(n));
    let scheduled = !matches!(state, Drafted | Placeholder | Queued);
    let delivered = matches!(state, Delivered | Opened | Replied);
    let opened = matches!(state, Opened | Replied);
    let replied = state == Replied;
    let clicked = clicked && opened;
    let opted_out = opted_out && delivered;
    mailing::Model {
        id,
        state,
        mailing_type: Some(MailingType::Sequence),
        subject: Some(format!("Mailing {id}")),
        body_html: Some(format!("<p>Hello from mailing {id}.</p>")),
        body_text: Some(format!("Hello from mailing {id}.")),
        mailbox_address: Some("outbound@example.com".into()),
        message_id: scheduled.then(|| format!("<m{id}@mail.example.com>")),
        error_reason: (state == Failed).then(|| "SMTP 550: mailbox unavailable".into()),
        track_links: true,
        track_opens: true,
        open_count: if opened { 1 + (id % 3) as i32 } else { 0 },
        click_count: i32::from(clicked),
        reply_sentiment: if replied {
            sentiment.or(Some(ReplySentiment::Neutral))
        } else {
            None
        },
        scheduled_at: if scheduled { minutes(0) } else { None },
        delivered_at: if delivered { minutes(5) } else { None },
        opened_at: if opened { minutes(60) } else { None },
        clicked_at: if clicked { minutes(65) } else { None },
        replied_at: if replied { minutes(240) } else { None },
        bounced_at: if state == Bounced { minutes(6) } else { None },
        unsubscribed_at: if opted_out { minutes(120) } else { None },
        marked_as_spam_at: None,
        state_changed_at: Some(at),
        sequence_id: Some(origin.sequence_id),
        sequence_step_id: Some(origin.sequence_step_id),
        sequence_template_id: origin.sequence_template_id,
        template_id: origin.template_id,
        task_id: origin.task_id,
        user_id: origin.user_id,
        created_at: at,
        updated_at: at,
    }
}

/// A sequence with zeroed counters (they are filled in by [`fill_counters`]), not enabled,
/// locked or throttled, without tags or reply actions: callers set what differs with
/// `sequence::Model { enabled: true, ..seed::sequence(..) }`.
pub fn sequence(
    id: i64,
    name: String,
    sequence_type: entity::enums::SequenceType,
    share_type: entity::enums::ShareType,
    owner_id: i64,
    at: DateTime<Utc>,
) -> entity::sequence::Model {
    entity::sequence::Model {
        id,
        name,
        description: None,
        sequence_type,
        share_type,
        schedule_interval_type: None,
        enabled: false,
        enabled_at: None,
        locked: false,
        locked_at: None,
        last_used_at: None,
        max_activations: None,
        primary_reply_action: None,
        primary_reply_pause_duration: None,
        secondary_reply_action: None,
        secondary_reply_pause_duration: None,
        throttle_capacity: None,
        throttle_max_adds_per_day: None,
        throttle_paused: false,
        throttle_paused_at: None,
        transactional: false,
        tags: serde_json::json!([]),
        bounce_count: 0,
        click_count: 0,
        deliver_count: 0,
        failure_count: 0,
        negative_reply_count: 0,
        neutral_reply_count: 0,
        open_count: 0,
        opt_out_count: 0,
        positive_reply_count: 0,
        reply_count: 0,
        schedule_count: 0,
        owner_id,
        creator_id: Some(owner_id),
        updater_id: Some(owner_id),
        created_at: at,
        updated_at: at,
    }
}

/// A step with zeroed counters (they are filled in by [`fill_counters`]).
#[allow(clippy::too_many_arguments)]
pub fn step(
    id: i64,
    sequence_id: i64,
    step_type: entity::enums::StepType,
    order: i32,
    interval: Option<i32>,
    date: Option<chrono::NaiveDate>,
    task_note: Option<String>,
    creator_id: i64,
    at: DateTime<Utc>,
) -> sequence_step::Model {
    sequence_step::Model {
        id,
        sequence_id,
        step_type,
        order,
        interval,
        date,
        task_note,
        task_autoskip_delay: None,
        call_purpose_id: None,
        task_priority_id: None,
        creator_id: Some(creator_id),
        updater_id: Some(creator_id),
        bounce_count: 0,
        click_count: 0,
        deliver_count: 0,
        failure_count: 0,
        negative_reply_count: 0,
        neutral_reply_count: 0,
        open_count: 0,
        opt_out_count: 0,
        positive_reply_count: 0,
        reply_count: 0,
        schedule_count: 0,
        created_at: at,
        updated_at: at,
    }
}

/// A sequence template (A/B variant) with zeroed counters.
pub fn variant(
    id: i64,
    step_id: i64,
    template_id: i64,
    creator_id: i64,
    at: DateTime<Utc>,
) -> sequence_template::Model {
    sequence_template::Model {
        id,
        sequence_step_id: step_id,
        template_id,
        is_reply: false,
        enabled: true,
        enabled_at: Some(at),
        creator_id: Some(creator_id),
        updater_id: Some(creator_id),
        bounce_count: 0,
        click_count: 0,
        deliver_count: 0,
        failure_count: 0,
        negative_reply_count: 0,
        neutral_reply_count: 0,
        open_count: 0,
        opt_out_count: 0,
        positive_reply_count: 0,
        reply_count: 0,
        schedule_count: 0,
        created_at: at,
        updated_at: at,
    }
}
