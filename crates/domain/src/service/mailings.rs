//! Mailing activity: creating mailings and applying mailing events, with the counters they
//! move.
//!
//! Invariant: every stored counter of a sequence, step or sequence template equals its
//! aggregate over the mailings ([`counters::RULES`]). Writes keep it by moving the counters in
//! the same transaction as the mailing, by exactly [`counters::delta`] of the mailing's
//! before and after states, so concurrent writers of different mailings compose.
//!
//! Events are idempotent: each carries its sender's key, stored in `mailing_events` under a
//! unique index on (submitter, key) and inserted with "on conflict do nothing" (keys are
//! scoped by the user who submits them, so one user can neither probe nor block another's), so a replayed event (the same
//! batch sent twice, or by eight clients at once) is `duplicate` and changes nothing. Rejected
//! events are not stored; the rest of their batch still lands.
//!
//! Applying an event does not depend on arrival order: a state timestamp keeps the earliest
//! time it was reached, the mailing's state follows the latest state-changing event (by
//! `occurredAt`), and a reply's sentiment is that of the first reply.
//!
//! Locks, in one order for every writer so concurrent writers queue rather than deadlock:
//! the sequences (by id, as step writes do), then the mailings (by id), then counter rows
//! (sequences, sequence templates, steps, each by id). SQLite has one writer at a time
//! (`BEGIN IMMEDIATE`). A deadlock or serialization failure reported anyway is retried.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use entity::enums::{ChangeKind, MailingEventType, MailingState, MailingType, ReplySentiment};
use entity::{mailing, mailing_event, sequence};
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use crate::auth::Viewer;
use crate::auth::policy::{self, SequenceAccess};
use crate::db::{begin_write, is_transient_conflict};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::changes::{self, Change};
use crate::service::counters;
use crate::service::lists::{Mailings, SequenceTemplates, Steps, Tasks, Templates, Users};
use crate::service::resource::{self, any_id};
use crate::service::steps;
use crate::time::now;

/// Events accepted in one request: the work of a batch is bounded before it starts.
pub const MAX_EVENTS_PER_BATCH: usize = 1000;
/// The longest idempotency key, in characters.
pub const MAX_KEY_CHARS: usize = 200;
/// How far in the future an event may claim to have happened (clock skew).
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);
/// How many times a batch is retried after a deadlock or serialization failure.
const RETRIES: usize = 3;

/// A mailing to create. The sequence follows from the step, and the step from the sequence
/// template, when they are not given.
#[derive(Debug, Clone, Default)]
pub struct NewMailing {
    pub subject: Option<String>,
    pub body_html: Option<String>,
    pub body_text: Option<String>,
    pub mailbox_address: Option<String>,
    pub mailing_type: Option<MailingType>,
    pub track_links: Option<bool>,
    pub track_opens: Option<bool>,
    /// When set, the mailing starts `scheduled` (and counts as scheduled); else `drafted`.
    pub scheduled_at: Option<DateTime<Utc>>,
    pub sequence_id: Option<i64>,
    pub sequence_step_id: Option<i64>,
    pub sequence_template_id: Option<i64>,
    pub template_id: Option<i64>,
    pub task_id: Option<i64>,
    /// The mailing's user; the viewer when absent. Only an admin may name someone else.
    pub user_id: Option<i64>,
}

/// One reported event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailingEvent {
    pub idempotency_key: String,
    pub mailing_id: i64,
    pub event_type: MailingEventType,
    pub occurred_at: DateTime<Utc>,
    /// Required for `replied`, refused for every other type.
    pub sentiment: Option<ReplySentiment>,
}

/// What became of one event.
#[derive(Debug)]
pub enum EventOutcome {
    Applied,
    /// An event with this key was applied before; nothing changed.
    Duplicate,
    /// Not applied, and not stored: a later event with the same key may still apply.
    Rejected(AppError),
}

fn too_long(field: &str, value: Option<&str>, max: usize, errors: &mut Vec<FieldError>) {
    if let Some(v) = value
        && v.chars().count() > max
    {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

/// Creates a mailing on behalf of `viewer`. A mailing in a sequence needs the right to change
/// that sequence's steps ([`policy::can_write_step`]); every row it links to must be visible.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewMailing,
) -> AppResult<mailing::Model> {
    crate::service::mirror::local_writes_allowed()?;
    let mut errors = Vec::new();
    too_long("subject", input.subject.as_deref(), 65_535, &mut errors);
    too_long(
        "mailboxAddress",
        input.mailbox_address.as_deref(),
        255,
        &mut errors,
    );
    if let Some(at) = input.scheduled_at {
        check_time("scheduledAt", at, &mut errors);
    }

    // Viewers never write; refused before any link is looked at, so the answer says nothing
    // about the rows named.
    if viewer.role == entity::enums::Role::Viewer {
        return Err(AppError::Forbidden("viewers cannot create mailings".into()));
    }
    let txn = begin_write(db).await?;
    // Links: the sequence template decides the step, the step the sequence.
    let mut step_id = input.sequence_step_id;
    let mut template_of_step = None;
    if let Some(id) = input.sequence_template_id {
        match resource::by_ids::<SequenceTemplates>(&txn, viewer, &[id])
            .await?
            .remove(&id)
        {
            Some(st) => {
                if step_id.is_some_and(|s| s != st.sequence_step_id) {
                    errors.push(FieldError::new(
                        "sequenceTemplateId",
                        format!(
                            "sequence template {id} belongs to step {}, not to step {}",
                            st.sequence_step_id,
                            step_id.unwrap_or_default()
                        ),
                    ));
                }
                step_id = Some(st.sequence_step_id);
                template_of_step = Some(st.id);
            }
            None => errors.push(FieldError::new(
                "sequenceTemplateId",
                format!("no sequence template with id {id}"),
            )),
        }
    }
    let mut sequence_id = input.sequence_id;
    if let Some(id) = step_id {
        match resource::by_ids::<Steps>(&txn, viewer, &[id])
            .await?
            .remove(&id)
        {
            Some(step) => {
                if sequence_id.is_some_and(|s| s != step.sequence_id) {
                    errors.push(FieldError::new(
                        "sequenceId",
                        format!("step {id} belongs to sequence {}", step.sequence_id),
                    ));
                }
                sequence_id = Some(step.sequence_id);
            }
            None => errors.push(FieldError::new(
                "sequenceStepId",
                format!("no sequence step with id {id}"),
            )),
        }
    }
    if let Some(id) = input.template_id
        && resource::by_ids::<Templates>(&txn, viewer, &[id])
            .await?
            .is_empty()
    {
        errors.push(FieldError::new(
            "templateId",
            format!("no template with id {id}"),
        ));
    }
    if let Some(id) = input.task_id
        && resource::by_ids::<Tasks>(&txn, viewer, &[id])
            .await?
            .is_empty()
    {
        errors.push(FieldError::new("taskId", format!("no task with id {id}")));
    }
    let user_id = input.user_id.unwrap_or(viewer.user_id);
    if user_id != viewer.user_id {
        if !policy::is_admin(viewer) {
            return Err(AppError::Forbidden(
                "only an admin may create a mailing for another user".into(),
            ));
        }
        if resource::by_ids::<Users>(&txn, viewer, &[user_id])
            .await?
            .is_empty()
        {
            errors.push(FieldError::new(
                "userId",
                format!("no user with id {user_id}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(id) = sequence_id
        && !resource::by_ids::<crate::service::lists::Sequences>(&txn, viewer, &[id])
            .await?
            .contains_key(&id)
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "sequenceId",
            format!("no sequence with id {id}"),
        )]));
    }
    // Every sequence a link leads to (the task's too) is locked, in id order, and must allow
    // the viewer to write it. The step and the sequence template already led to
    // `sequence_id` above (and were checked against it), so only the task is read again.
    let links = SequenceLinks {
        sequence: sequence_id,
        task: input.task_id,
        ..SequenceLinks::default()
    };
    let touched = touched_sequences(&txn, &[links]).await?.remove(0);
    let mut access = Vec::with_capacity(touched.len());
    for id in &touched {
        if let Some(seq) = steps::lock_sequence(&txn, *id).await? {
            access.push(SequenceAccess::from(&seq));
        }
    }
    if !policy::can_write_mailing(viewer, &access, user_id == viewer.user_id) {
        return Err(AppError::Forbidden(
            "the sequences this mailing's links lead to (through its sequence, step, sequence \
             template or task) do not allow you to add mailings to them (locked, read-only, \
             or not yours)"
                .into(),
        ));
    }
    let at = now();
    let state = if input.scheduled_at.is_some() {
        MailingState::Scheduled
    } else {
        MailingState::Drafted
    };
    let created = mailing::ActiveModel {
        state: Set(state),
        mailing_type: Set(Some(input.mailing_type.unwrap_or(if step_id.is_some() {
            MailingType::Sequence
        } else {
            MailingType::Single
        }))),
        subject: Set(input.subject),
        body_html: Set(input.body_html),
        body_text: Set(input.body_text),
        mailbox_address: Set(input.mailbox_address),
        message_id: Set(None),
        error_reason: Set(None),
        track_links: Set(input.track_links.unwrap_or(true)),
        track_opens: Set(input.track_opens.unwrap_or(true)),
        open_count: Set(0),
        click_count: Set(0),
        reply_sentiment: Set(None),
        scheduled_at: Set(input.scheduled_at),
        delivered_at: Set(None),
        opened_at: Set(None),
        clicked_at: Set(None),
        replied_at: Set(None),
        bounced_at: Set(None),
        unsubscribed_at: Set(None),
        marked_as_spam_at: Set(None),
        state_changed_at: Set(Some(input.scheduled_at.unwrap_or(at))),
        sequence_id: Set(sequence_id),
        sequence_step_id: Set(step_id),
        sequence_template_id: Set(template_of_step),
        template_id: Set(input.template_id),
        task_id: Set(input.task_id),
        user_id: Set(Some(user_id)),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut deltas = Deltas::default();
    deltas.add(&created, counters::tally([&created]));
    deltas.apply(&txn).await?;
    changes::commit(txn).await?;
    Ok(created)
}

/// The links of a mailing that lead to sequences.
#[derive(Debug, Clone, Copy, Default)]
struct SequenceLinks {
    sequence: Option<i64>,
    step: Option<i64>,
    sequence_template: Option<i64>,
    task: Option<i64>,
}

impl From<&mailing::Model> for SequenceLinks {
    fn from(m: &mailing::Model) -> Self {
        Self {
            sequence: m.sequence_id,
            step: m.sequence_step_id,
            sequence_template: m.sequence_template_id,
            task: m.task_id,
        }
    }
}

/// For each set of links, the ids of every sequence it touches: its sequence, its step's, its
/// sequence template's step's, and its task's (the task's sequence and its step's). Read
/// without visibility, since what is decided here is what may be written (the policy then
/// requires each to be visible and writable); three statements at most, whatever the number
/// of links.
async fn touched_sequences(
    txn: &(impl ConnectionTrait + 'static),
    links: &[SequenceLinks],
) -> Result<Vec<BTreeSet<i64>>, DbErr> {
    use entity::{sequence_step, sequence_template, task};
    let set = |ids: Vec<i64>| -> Vec<i64> {
        ids.into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let template_steps: HashMap<i64, i64> = columns_by_id::<sequence_template::Entity, _>(
        txn,
        [sequence_template::Column::SequenceStepId],
        sequence_template::Column::Id,
        set(links.iter().filter_map(|l| l.sequence_template).collect()),
    )
    .await?
    .into_iter()
    .collect();
    let task_links: HashMap<i64, (Option<i64>, Option<i64>)> =
        columns_by_id::<task::Entity, (i64, Option<i64>, Option<i64>)>(
            txn,
            [task::Column::SequenceId, task::Column::SequenceStepId],
            task::Column::Id,
            set(links.iter().filter_map(|l| l.task).collect()),
        )
        .await?
        .into_iter()
        .map(|(id, seq, step)| (id, (seq, step)))
        .collect();
    let steps_of = |l: &SequenceLinks| -> Vec<i64> {
        let mut steps: Vec<i64> = l.step.into_iter().collect();
        steps.extend(l.sequence_template.and_then(|t| template_steps.get(&t)));
        steps.extend(l.task.and_then(|t| task_links.get(&t)).and_then(|t| t.1));
        steps
    };
    let step_sequences: HashMap<i64, i64> = columns_by_id::<sequence_step::Entity, _>(
        txn,
        [sequence_step::Column::SequenceId],
        sequence_step::Column::Id,
        set(links.iter().flat_map(steps_of).collect()),
    )
    .await?
    .into_iter()
    .collect();
    Ok(links
        .iter()
        .map(|l| {
            let mut touched: BTreeSet<i64> = l.sequence.into_iter().collect();
            touched.extend(l.task.and_then(|t| task_links.get(&t)).and_then(|t| t.0));
            touched.extend(steps_of(l).iter().filter_map(|s| step_sequences.get(s)));
            touched
        })
        .collect())
}

/// `(id, columns...)` of the rows of `E` with these ids; no statement for no ids.
async fn columns_by_id<E, T>(
    txn: &(impl ConnectionTrait + 'static),
    columns: impl IntoIterator<Item = E::Column>,
    id: E::Column,
    ids: Vec<i64>,
) -> Result<Vec<T>, DbErr>
where
    E: EntityTrait,
    T: sea_orm::TryGetableMany,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    E::find()
        .select_only()
        .column(id)
        .columns(columns)
        .filter(id.is_in(ids))
        .into_tuple::<T>()
        .all(txn)
        .await
}

/// The earliest and latest instants an event or a schedule may carry: within the range every
/// backend stores exactly, and not in the future beyond clock skew.
fn check_time(field: &str, at: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    let earliest = DateTime::from_timestamp(86_400, 0).expect("BUG: a fixed instant is valid");
    if at < earliest {
        errors.push(FieldError::new(field, "must be after 1970-01-02"));
    } else if field == "occurredAt" && at > now() + MAX_FUTURE_SKEW {
        errors.push(FieldError::new(field, "must not be in the future"));
    } else if at.timestamp() >= 2_147_483_647 {
        errors.push(FieldError::new(field, "must be before 2038-01-19"));
    }
}

/// The rules an event must meet on its own, before any lookup.
pub fn validate(event: &MailingEvent) -> AppResult<()> {
    let mut errors = Vec::new();
    let key = event.idempotency_key.as_str();
    if key.trim().is_empty() {
        errors.push(FieldError::new("idempotencyKey", "must not be empty"));
    }
    too_long("idempotencyKey", Some(key), MAX_KEY_CHARS, &mut errors);
    check_time("occurredAt", event.occurred_at, &mut errors);
    match (event.event_type, event.sentiment) {
        (MailingEventType::Replied, None) => errors.push(FieldError::new(
            "sentiment",
            "a replied event needs a sentiment: positive, neutral or negative",
        )),
        (MailingEventType::Replied, Some(_)) | (_, None) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "sentiment",
            "only a replied event has a sentiment",
        )),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The mailing after an event; see the module documentation for why order does not matter.
pub fn apply(mailing: &mailing::Model, event: &MailingEvent) -> mailing::Model {
    let mut m = mailing.clone();
    let at = event.occurred_at;
    let earliest = |slot: Option<DateTime<Utc>>| Some(slot.map_or(at, |t| t.min(at)));
    let state = match event.event_type {
        MailingEventType::Scheduled => {
            m.scheduled_at = earliest(m.scheduled_at);
            Some(MailingState::Scheduled)
        }
        MailingEventType::Delivered => {
            m.delivered_at = earliest(m.delivered_at);
            Some(MailingState::Delivered)
        }
        MailingEventType::Opened => {
            m.opened_at = earliest(m.opened_at);
            m.open_count = m.open_count.saturating_add(1);
            Some(MailingState::Opened)
        }
        MailingEventType::Clicked => {
            m.clicked_at = earliest(m.clicked_at);
            m.click_count = m.click_count.saturating_add(1);
            None
        }
        MailingEventType::Replied => {
            if m.replied_at.is_none_or(|first| at < first) {
                m.reply_sentiment = event.sentiment;
            }
            m.replied_at = earliest(m.replied_at);
            Some(MailingState::Replied)
        }
        MailingEventType::Bounced => {
            m.bounced_at = earliest(m.bounced_at);
            Some(MailingState::Bounced)
        }
        MailingEventType::Failed => Some(MailingState::Failed),
        MailingEventType::OptedOut => {
            m.unsubscribed_at = earliest(m.unsubscribed_at);
            None
        }
    };
    if let Some(state) = state
        && m.state_changed_at.is_none_or(|last| at >= last)
    {
        m.state = state;
        m.state_changed_at = Some(at);
    }
    m
}

/// Counter changes gathered over a transaction, applied at its end in lock order.
#[derive(Default)]
struct Deltas {
    sequences: BTreeMap<i64, [i32; 11]>,
    sequence_templates: BTreeMap<i64, [i32; 11]>,
    steps: BTreeMap<i64, [i32; 11]>,
    /// The sequence of each step in `steps`, for the change feed.
    step_sequences: HashMap<i64, i64>,
}

impl Deltas {
    fn add(&mut self, m: &mailing::Model, delta: [i32; 11]) {
        if delta.iter().all(|d| *d == 0) {
            return;
        }
        if let (Some(step), Some(seq)) = (m.sequence_step_id, m.sequence_id) {
            self.step_sequences.insert(step, seq);
        }
        for (id, map) in [
            (m.sequence_id, &mut self.sequences),
            (m.sequence_template_id, &mut self.sequence_templates),
            (m.sequence_step_id, &mut self.steps),
        ] {
            if let Some(id) = id {
                let sum = map.entry(id).or_insert([0; 11]);
                for (s, d) in sum.iter_mut().zip(delta) {
                    *s += d;
                }
            }
        }
    }

    /// Moves the counters, and records the steps and sequences whose counters moved in the
    /// change feed (a counter moving is an update to subscribers).
    async fn apply(&self, db: &(impl ConnectionTrait + 'static)) -> Result<(), DbErr> {
        let mut feed = Vec::new();
        for (table, map) in [
            ("sequences", &self.sequences),
            ("sequence_templates", &self.sequence_templates),
            ("sequence_steps", &self.steps),
        ] {
            counters::add_many(db, table, map).await?;
            for (id, delta) in map {
                if delta.iter().all(|d| *d == 0) {
                    continue;
                }
                match table {
                    "sequences" => feed.push(Change::sequence(*id)),
                    "sequence_steps" => {
                        if let Some(seq) = self.step_sequences.get(id) {
                            feed.push(Change::step(ChangeKind::Updated, *id, *seq));
                        }
                    }
                    _ => {}
                }
            }
        }
        changes::record(db, &feed).await
    }
}

/// Applies a batch of events for `viewer` and says, in the same order, what became of each.
/// An event whose mailing does not exist, or which the viewer cannot see, is rejected as not
/// found (the two are indistinguishable, as everywhere). The whole batch is one transaction,
/// retried on a deadlock; an error here (the database gone) means nothing was applied.
pub async fn ingest(
    db: &DatabaseConnection,
    viewer: &Viewer,
    events: Vec<Result<MailingEvent, AppError>>,
) -> AppResult<Vec<EventOutcome>> {
    crate::service::mirror::local_writes_allowed()?;
    if events.len() > MAX_EVENTS_PER_BATCH {
        return Err(AppError::Validation(vec![FieldError::new(
            "events",
            format!("at most {MAX_EVENTS_PER_BATCH} events per request"),
        )]));
    }
    let events: Vec<Result<MailingEvent, AppError>> = events
        .into_iter()
        .map(|e| e.and_then(|e| validate(&e).map(|()| e)))
        .collect();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ingest_once(db, viewer, &events).await {
            Err(err) if attempt < RETRIES && is_transient_conflict(&err) => {
                tracing::debug!(attempt, error = %err, "mailing events: retrying after a lock conflict");
            }
            Err(err) => return Err(err.into()),
            Ok(outcomes) => {
                // The rejections of the input (validation) take their place in the answer.
                let mut applied = outcomes.into_iter();
                return Ok(events
                    .into_iter()
                    .map(|e| match e {
                        Err(err) => EventOutcome::Rejected(err),
                        Ok(_) => applied.next().expect("BUG: one outcome per valid event"),
                    })
                    .collect());
            }
        }
    }
}

/// One attempt: the outcomes of the valid events, in order.
async fn ingest_once(
    db: &DatabaseConnection,
    viewer: &Viewer,
    events: &[Result<MailingEvent, AppError>],
) -> Result<Vec<EventOutcome>, DbErr> {
    let valid: Vec<&MailingEvent> = events.iter().filter_map(|e| e.as_ref().ok()).collect();
    if valid.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = valid
        .iter()
        .map(|e| e.mailing_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let backend = db.get_database_backend();
    let txn = begin_write(db).await?;

    // Which sequences these mailings count towards, to lock them first (see the module doc).
    let visible = resource::and_visible::<Mailings>(
        viewer,
        Condition::all().add(any_id(backend, mailing::Column::Id, &ids)),
    );
    let sequence_ids: Vec<i64> = mailing::Entity::find()
        .select_only()
        .column(mailing::Column::SequenceId)
        .filter(visible.clone())
        .into_tuple::<Option<i64>>()
        .all(&txn)
        .await?
        .into_iter()
        .flatten()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !sequence_ids.is_empty() && backend != DbBackend::Sqlite {
        sequence::Entity::find()
            .select_only()
            .column(sequence::Column::Id)
            .filter(any_id(backend, sequence::Column::Id, &sequence_ids))
            .order_by_asc(sequence::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(&txn)
            .await?;
    }
    let mut mailings: HashMap<i64, (mailing::Model, mailing::Model)> = mailing::Entity::find()
        .filter(visible)
        .order_by_asc(mailing::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| (m.id, (m.clone(), m)))
        .collect();

    // A member reports events only for mailings they may write (every sequence a mailing's
    // links lead to writable by them); the others are refused, and their events not stored.
    let mut refused = BTreeSet::new();
    if !policy::is_admin(viewer) {
        let ids: Vec<i64> = mailings.keys().copied().collect();
        let links: Vec<SequenceLinks> = ids
            .iter()
            .map(|id| SequenceLinks::from(&mailings[id].0))
            .collect();
        let touched = touched_sequences(&txn, &links).await?;
        let all: Vec<i64> = touched
            .iter()
            .flatten()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let sequences: HashMap<i64, SequenceAccess> = if all.is_empty() {
            HashMap::new()
        } else {
            sequence::Entity::find()
                .filter(sequence::Column::Id.is_in(all))
                .all(&txn)
                .await?
                .iter()
                .map(|s| (s.id, SequenceAccess::from(s)))
                .collect()
        };
        for (id, touched) in ids.iter().zip(touched) {
            let access: Vec<SequenceAccess> = touched
                .iter()
                .filter_map(|s| sequences.get(s).copied())
                .collect();
            let own = mailings[id].0.user_id == Some(viewer.user_id);
            if !policy::can_write_mailing(viewer, &access, own) {
                refused.insert(*id);
                mailings.remove(id);
            }
        }
    }

    // Store every event whose mailing is there in one statement; the keys it inserted are
    // the events to apply, the rest are replays.
    let known: Vec<&MailingEvent> = valid
        .iter()
        .copied()
        .filter(|e| mailings.contains_key(&e.mailing_id))
        .collect();
    let mut inserted = record_events(&txn, viewer.user_id, &known, now()).await?;
    let mut replays = Vec::new();
    let mut outcomes = Vec::with_capacity(valid.len());
    for event in valid {
        if refused.contains(&event.mailing_id) {
            outcomes.push(EventOutcome::Rejected(AppError::Forbidden(format!(
                "you may not report events for mailing {}: a sequence it belongs to is locked, \
                 read-only or not yours",
                event.mailing_id
            ))));
            continue;
        }
        let Some((_, current)) = mailings.get_mut(&event.mailing_id) else {
            outcomes.push(EventOutcome::Rejected(AppError::not_found(
                "mailing",
                event.mailing_id,
            )));
            continue;
        };
        // A key inserted by this batch applies once: a repeat later in the batch is a replay.
        if inserted.remove(&event.idempotency_key) {
            *current = apply(current, event);
            outcomes.push(EventOutcome::Applied);
        } else {
            replays.push((outcomes.len(), event));
            outcomes.push(EventOutcome::Duplicate);
        }
    }
    // A replayed key must name the same event as the stored one.
    if !replays.is_empty() {
        let keys: Vec<&str> = replays
            .iter()
            .map(|(_, e)| e.idempotency_key.as_str())
            .collect();
        let stored: HashMap<String, mailing_event::Model> = mailing_event::Entity::find()
            .filter(mailing_event::Column::SubmittedBy.eq(viewer.user_id))
            .filter(mailing_event::Column::IdempotencyKey.is_in(keys))
            .all(&txn)
            .await?
            .into_iter()
            .map(|e| (e.idempotency_key.clone(), e))
            .collect();
        for (i, event) in replays {
            if stored.get(&event.idempotency_key).is_some_and(|s| {
                s.mailing_id != event.mailing_id || s.event_type != event.event_type
            }) {
                outcomes[i] = EventOutcome::Rejected(AppError::Conflict(format!(
                    "idempotency key {:?} was used for another event",
                    event.idempotency_key
                )));
            }
        }
    }
    let at = now();

    // One UPDATE per changed mailing, then the counters, in lock order.
    let mut deltas = Deltas::default();
    let mut changed: Vec<&(mailing::Model, mailing::Model)> = mailings
        .values()
        .filter(|(before, after)| before != after)
        .collect();
    changed.sort_by_key(|(before, _)| before.id);
    for (before, after) in &changed {
        deltas.add(before, counters::delta(before, after));
    }
    for chunk in changed.chunks(500) {
        update_mailings(&txn, chunk, at).await?;
    }
    deltas.apply(&txn).await?;
    changes::commit(txn).await?;
    Ok(outcomes)
}

/// Writes the new state of changed mailings in one UPDATE: each column that changed in some
/// row is `CASE WHEN id = .. THEN .. ELSE column END` over the rows' ids.
async fn update_mailings(
    txn: &(impl ConnectionTrait + 'static),
    rows: &[&(mailing::Model, mailing::Model)],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    use crate::db::{timestamp_param, timestamp_param_opt};
    use mailing::Column as C;
    use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
    use sea_orm::{ActiveEnum, Value};
    /// How a column's new value is read off a mailing.
    type Read<'a> = &'a dyn Fn(&mailing::Model) -> Value;
    let mut update = mailing::Entity::update_many();
    // A column's CASE over the rows where it changed; `None` when it changed nowhere.
    let column = |col: C, value: Read| -> Option<Expr> {
        let mut case = CaseStatement::new();
        let mut any = false;
        for (before, after) in rows {
            let v = value(after);
            if v != value(before) {
                case = case.case(
                    Expr::col((mailing::Entity, C::Id)).eq(after.id),
                    Expr::val(v),
                );
                any = true;
            }
        }
        any.then(|| case.finally(Expr::col((mailing::Entity, col))).into())
    };
    let columns: [(C, Read); 12] = [
        (C::State, &|m| m.state.to_value().into()),
        (C::StateChangedAt, &|m| {
            timestamp_param_opt(m.state_changed_at)
        }),
        (C::ScheduledAt, &|m| timestamp_param_opt(m.scheduled_at)),
        (C::DeliveredAt, &|m| timestamp_param_opt(m.delivered_at)),
        (C::OpenedAt, &|m| timestamp_param_opt(m.opened_at)),
        (C::ClickedAt, &|m| timestamp_param_opt(m.clicked_at)),
        (C::RepliedAt, &|m| timestamp_param_opt(m.replied_at)),
        (C::ReplySentiment, &|m| {
            m.reply_sentiment.map(|s| s.to_value()).into()
        }),
        (C::BouncedAt, &|m| timestamp_param_opt(m.bounced_at)),
        (C::UnsubscribedAt, &|m| {
            timestamp_param_opt(m.unsubscribed_at)
        }),
        (C::OpenCount, &|m| m.open_count.into()),
        (C::ClickCount, &|m| m.click_count.into()),
    ];
    for (col, value) in columns {
        if let Some(case) = column(col, value) {
            update = update.col_expr(col, case);
        }
    }
    let ids: Vec<i64> = rows.iter().map(|(before, _)| before.id).collect();
    update
        .col_expr(C::UpdatedAt, Expr::val(timestamp_param(at)))
        .filter(any_id(txn.get_database_backend(), C::Id, &ids))
        .exec(txn)
        .await?;
    Ok(())
}

/// Stores the events under their keys, in statements of up to 1,000 rows, skipping keys that
/// are already there; returns the keys it inserted.
async fn record_events(
    txn: &(impl ConnectionTrait + 'static),
    submitted_by: i64,
    events: &[&MailingEvent],
    at: DateTime<Utc>,
) -> Result<std::collections::HashSet<String>, DbErr> {
    use sea_orm::sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};
    let backend = txn.get_database_backend();
    let stamp = |t: DateTime<Utc>| crate::db::timestamp_param(t);
    let mut inserted = std::collections::HashSet::new();
    for chunk in events.chunks(1000) {
        let mut insert = Query::insert();
        insert.into_table(mailing_event::Entity).columns([
            mailing_event::Column::IdempotencyKey,
            mailing_event::Column::MailingId,
            mailing_event::Column::EventType,
            mailing_event::Column::Sentiment,
            mailing_event::Column::OccurredAt,
            mailing_event::Column::CreatedAt,
            mailing_event::Column::SubmittedBy,
        ]);
        for event in chunk {
            insert.values_panic([
                event.idempotency_key.clone().into(),
                event.mailing_id.into(),
                sea_orm::ActiveEnum::to_value(&event.event_type).into(),
                event
                    .sentiment
                    .map(|s| sea_orm::ActiveEnum::to_value(&s))
                    .into(),
                stamp(event.occurred_at).into(),
                stamp(at).into(),
                submitted_by.into(),
            ]);
        }
        // "Insert what is new, and say which": ON CONFLICT DO NOTHING on PostgreSQL and SQLite,
        // INSERT IGNORE on MariaDB (every value here is already validated, so nothing else can
        // be ignored; the mailings are locked, so their foreign keys hold); all three return
        // the rows they inserted, and a key repeated within the statement is inserted once.
        let (sql, values) = match backend {
            DbBackend::MySql => {
                let (sql, values) = insert.build(MysqlQueryBuilder);
                (sql.replacen("INSERT", "INSERT IGNORE", 1), values)
            }
            DbBackend::Postgres => {
                let (sql, values) = insert.build(PostgresQueryBuilder);
                (
                    format!("{sql} ON CONFLICT (submitted_by, idempotency_key) DO NOTHING"),
                    values,
                )
            }
            _ => {
                let (sql, values) = insert.build(SqliteQueryBuilder);
                (
                    format!("{sql} ON CONFLICT (submitted_by, idempotency_key) DO NOTHING"),
                    values,
                )
            }
        };
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!("{sql} RETURNING idempotency_key"),
                values,
            ))
            .await?;
        for row in rows {
            inserted.insert(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailing() -> mailing::Model {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        mailing::Model {
            id: 1,
            state: MailingState::Scheduled,
            mailing_type: None,
            subject: None,
            body_html: None,
            body_text: None,
            mailbox_address: None,
            message_id: None,
            error_reason: None,
            track_links: true,
            track_opens: true,
            open_count: 0,
            click_count: 0,
            reply_sentiment: None,
            scheduled_at: Some(at),
            delivered_at: None,
            opened_at: None,
            clicked_at: None,
            replied_at: None,
            bounced_at: None,
            unsubscribed_at: None,
            marked_as_spam_at: None,
            state_changed_at: Some(at),
            sequence_id: Some(1),
            sequence_step_id: Some(1),
            sequence_template_id: None,
            template_id: None,
            task_id: None,
            user_id: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn event(kind: MailingEventType, secs: i64, sentiment: Option<ReplySentiment>) -> MailingEvent {
        MailingEvent {
            idempotency_key: format!("{kind:?}-{secs}"),
            mailing_id: 1,
            event_type: kind,
            occurred_at: DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap(),
            sentiment,
        }
    }

    /// Every order of the same events gives the same mailing, so late or reordered delivery
    /// from a mail provider never changes a counter.
    #[test]
    fn events_commute() {
        use MailingEventType::*;
        let events = [
            event(Delivered, 10, None),
            event(Opened, 20, None),
            event(Opened, 25, None),
            event(Clicked, 30, None),
            event(Replied, 40, Some(ReplySentiment::Negative)),
            event(Replied, 35, Some(ReplySentiment::Positive)),
            event(Bounced, 5, None),
        ];
        let expected = events.iter().fold(mailing(), |m, e| apply(&m, e));
        assert_eq!(expected.state, MailingState::Replied);
        assert_eq!(expected.reply_sentiment, Some(ReplySentiment::Positive));
        assert_eq!(expected.open_count, 2);
        // Every rotation and the reverse order.
        for shift in 1..events.len() {
            let mut order = events.to_vec();
            order.rotate_left(shift);
            let m = order.iter().fold(mailing(), |m, e| apply(&m, e));
            assert_eq!(m, expected, "rotation {shift}");
        }
        let m = events.iter().rev().fold(mailing(), |m, e| apply(&m, e));
        assert_eq!(m, expected);
    }

    #[test]
    fn deltas_follow_the_rules() {
        let before = mailing();
        let after = apply(&before, &event(MailingEventType::Opened, 1, None));
        let d = counters::delta(&before, &after);
        let open = counters::RULES
            .iter()
            .position(|r| r.column == "open_count")
            .unwrap();
        assert_eq!(d[open], 1);
        assert_eq!(d.iter().sum::<i32>(), 1);
        // A second open moves the mailing's own count but no aggregate.
        let again = apply(&after, &event(MailingEventType::Opened, 2, None));
        assert_eq!(again.open_count, 2);
        assert_eq!(counters::delta(&after, &again), [0; 11]);
    }

    #[test]
    fn a_reply_needs_a_sentiment_and_only_a_reply_has_one() {
        let mut e = event(MailingEventType::Replied, 1, None);
        assert!(validate(&e).is_err());
        e.sentiment = Some(ReplySentiment::Neutral);
        assert!(validate(&e).is_ok());
        let e = event(MailingEventType::Opened, 1, Some(ReplySentiment::Neutral));
        assert!(validate(&e).is_err());
    }
}
