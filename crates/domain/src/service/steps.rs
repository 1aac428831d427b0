//! The sequence-step rules: create, update, delete and read, with ordering and validation.
//!
//! Invariants kept here:
//! - Within a sequence, `order` runs 1..n with no gaps and no duplicates, under any number of
//!   concurrent writers. Each write locks its sequence row first (`SELECT .. FOR UPDATE` on
//!   PostgreSQL and MySQL; `BEGIN IMMEDIATE` on SQLite, which has one writer at a time), so
//!   writers of one sequence queue up, and the unique `(sequence_id, order)` index backs it.
//! - Orders shift through negative values (`o -> -(o + d) -> o + d`), because a plain
//!   `SET order = order + 1` would collide with that unique index half-way through on
//!   PostgreSQL and MySQL, which check uniqueness row by row.
//! - A step of an interval-based sequence has an `interval` and no `date`; a step of a
//!   date-based sequence has a `date` and no `interval`.
//! - `displayName`, timestamps, creator, updater and counters are the server's, never input.
//! - A failed write changes nothing: validation happens inside the transaction, before the
//!   first statement that writes, and any error rolls the transaction back.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{SequenceType, StepType};
use entity::{call_purpose, sequence, sequence_step, task_priority};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use crate::auth::Viewer;
use crate::auth::policy::{self, SequenceAccess};
use crate::db::begin_write;
use crate::error::{AppError, AppResult, FieldError};
use crate::service::Patch;
use crate::service::changes::{self, Change};
use crate::service::lists::Steps;
use crate::service::resource;
use crate::service::upstream::Upstream;
use crate::time::now;
use entity::enums::ChangeKind;

/// The longest `taskNote` accepted, in characters.
pub const TASK_NOTE_MAX_CHARS: usize = 65_535;

/// A new step. `order: None` appends; `Some(k)` inserts at `k` and shifts later steps down.
#[derive(Debug, Clone)]
pub struct NewStep {
    pub sequence_id: i64,
    pub step_type: StepType,
    pub order: Option<i32>,
    pub interval: Option<i32>,
    pub date: Option<NaiveDate>,
    pub task_note: Option<String>,
    pub task_autoskip_delay: Option<i32>,
    pub call_purpose_id: Option<i64>,
    pub task_priority_id: Option<i64>,
}

/// A partial update. The sequence of a step never changes.
#[derive(Debug, Clone, Default)]
pub struct StepChanges {
    pub step_type: Patch<StepType>,
    pub order: Patch<i32>,
    pub interval: Patch<i32>,
    pub date: Patch<NaiveDate>,
    pub task_note: Patch<String>,
    pub task_autoskip_delay: Patch<i32>,
    pub call_purpose_id: Patch<i64>,
    pub task_priority_id: Patch<i64>,
    /// Optimistic concurrency: the `updatedAt` the client last read. When the step has changed
    /// since, the update fails with CONFLICT and changes nothing.
    pub expected_updated_at: Option<DateTime<Utc>>,
}

/// Fails with CONFLICT when the step changed after the client read it.
fn check_unmodified(step: &sequence_step::Model, expected: Option<DateTime<Utc>>) -> AppResult<()> {
    match expected {
        Some(at) if at != step.updated_at => Err(AppError::Conflict(format!(
            "sequence step {} was changed at {} after you read it (expectedUpdatedAt {}); read it again and retry",
            step.id,
            step.updated_at.to_rfc3339(),
            at.to_rfc3339()
        ))),
        _ => Ok(()),
    }
}

/// The human label of a step type, as used in `displayName`.
pub fn step_type_label(step_type: StepType) -> &'static str {
    match step_type {
        StepType::AutoEmail => "Auto email",
        StepType::ManualEmail => "Manual email",
        StepType::Call => "Call",
        StepType::Task => "Task",
    }
}

/// `Step #<order> (<label>)`, derived on read and never stored.
pub fn display_name(step: &sequence_step::Model) -> String {
    format!("Step #{} ({})", step.order, step_type_label(step.step_type))
}

/// Reads a step the viewer can see; an invisible step is reported exactly like a missing one.
pub async fn get(
    db: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    id: i64,
) -> AppResult<sequence_step::Model> {
    resource::get::<Steps>(db, viewer, id).await
}

/// Creates a step, appending it or inserting it at the requested order.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewStep,
) -> AppResult<sequence_step::Model> {
    create_via(db, viewer, input, None).await
}

/// [`create`], passed through to `upstream` when there is one
/// ([`crate::service::upstream`]).
pub async fn create_via(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewStep,
    upstream: Option<&dyn Upstream>,
) -> AppResult<sequence_step::Model> {
    if upstream.is_none() {
        crate::service::mirror::local_writes_allowed()?;
    }
    let mut errors = Vec::new();
    check_order(input.order, &mut errors);
    check_non_negative("interval", input.interval, &mut errors);
    check_non_negative("taskAutoskipDelay", input.task_autoskip_delay, &mut errors);
    check_task_note(input.task_note.as_deref(), &mut errors);

    let txn = begin_write(db).await?;
    let seq = lock_sequence(&txn, input.sequence_id).await?;
    let seq = match seq {
        Some(seq) if policy::can_see(viewer, &SequenceAccess::from(&seq)) => seq,
        _ => {
            return Err(AppError::invalid(
                "sequenceId",
                format!("no sequence with id {}", input.sequence_id),
            ));
        }
    };
    if !policy::can_write_step(viewer, &SequenceAccess::from(&seq)) {
        return Err(AppError::Forbidden(write_denied(&seq)));
    }
    check_schedule(seq.sequence_type, input.interval, input.date, &mut errors);
    check_references(
        &txn,
        input.call_purpose_id,
        input.task_priority_id,
        &mut errors,
    )
    .await?;
    let count = step_count(&txn, seq.id).await?;
    check_order_fits(input.order, count + 1, count, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(upstream) = upstream {
        // The checks above only read: end the transaction before Outreach is asked.
        drop(txn);
        let written = upstream.create_step(&input).await?;
        return crate::service::upstream::applied(db, viewer, written).await;
    }

    let at = now();
    let order = input.order.unwrap_or(count + 1);
    if order <= count {
        shift_orders(&txn, seq.id, order, count, 1, at).await?;
    }
    let step = sequence_step::ActiveModel {
        sequence_id: Set(seq.id),
        step_type: Set(input.step_type),
        order: Set(order),
        interval: Set(input.interval),
        date: Set(input.date),
        task_note: Set(input.task_note),
        task_autoskip_delay: Set(input.task_autoskip_delay),
        call_purpose_id: Set(input.call_purpose_id),
        task_priority_id: Set(input.task_priority_id),
        creator_id: Set(Some(viewer.user_id)),
        updater_id: Set(Some(viewer.user_id)),
        bounce_count: Set(0),
        click_count: Set(0),
        deliver_count: Set(0),
        failure_count: Set(0),
        negative_reply_count: Set(0),
        neutral_reply_count: Set(0),
        open_count: Set(0),
        opt_out_count: Set(0),
        positive_reply_count: Set(0),
        reply_count: Set(0),
        schedule_count: Set(0),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    changes::record(&txn, &[Change::step(ChangeKind::Created, step.id, seq.id)]).await?;
    if order <= count {
        changes::record_steps_in_orders(&txn, seq.id, order + 1, count + 1).await?;
    }
    changes::commit(txn).await?;
    Ok(step)
}

/// Applies a partial update; changing `order` moves the step and shifts the ones between.
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
    changes: StepChanges,
) -> AppResult<sequence_step::Model> {
    update_via(db, viewer, id, changes, None).await
}

/// [`update`], passed through to `upstream` when there is one.
pub async fn update_via(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
    changes: StepChanges,
    upstream: Option<&dyn Upstream>,
) -> AppResult<sequence_step::Model> {
    if upstream.is_none() {
        crate::service::mirror::local_writes_allowed()?;
    }
    let mut errors = Vec::new();
    if matches!(changes.step_type, Patch::Clear) {
        errors.push(FieldError::new("stepType", "cannot be null"));
    }
    match changes.order {
        Patch::Clear => errors.push(FieldError::new("order", "cannot be null")),
        Patch::Set(order) => check_order(Some(order), &mut errors),
        Patch::Keep => {}
    }
    check_non_negative("interval", changes.interval.as_set().copied(), &mut errors);
    check_non_negative(
        "taskAutoskipDelay",
        changes.task_autoskip_delay.as_set().copied(),
        &mut errors,
    );
    check_task_note(changes.task_note.as_set().map(String::as_str), &mut errors);

    let txn = begin_write(db).await?;
    let (step, seq) = lock_step(&txn, viewer, id).await?;
    if !policy::can_write_step(viewer, &SequenceAccess::from(&seq)) {
        return Err(AppError::Forbidden(write_denied(&seq)));
    }
    check_unmodified(&step, changes.expected_updated_at)?;
    let schedule_changed = !(changes.interval.is_keep() && changes.date.is_keep());
    let interval = changes.interval.clone().apply(step.interval);
    let date = changes.date.clone().apply(step.date);
    if schedule_changed {
        check_schedule(seq.sequence_type, interval, date, &mut errors);
    }
    check_references(
        &txn,
        changes.call_purpose_id.as_set().copied(),
        changes.task_priority_id.as_set().copied(),
        &mut errors,
    )
    .await?;
    let count = step_count(&txn, seq.id).await?;
    check_order_fits(changes.order.as_set().copied(), count, count, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(upstream) = upstream {
        drop(txn);
        let written = upstream.update_step(&step, &changes).await?;
        return crate::service::upstream::applied(db, viewer, written).await;
    }

    let at = now();
    let old_order = step.order;
    let new_order = changes.order.apply(Some(old_order)).unwrap_or(old_order);
    if new_order != old_order {
        // Park the step on 0 (never a real order) so the shift below has room.
        set_order(&txn, step.id, 0).await?;
        if new_order < old_order {
            shift_orders(&txn, seq.id, new_order, old_order - 1, 1, at).await?;
        } else {
            shift_orders(&txn, seq.id, old_order + 1, new_order, -1, at).await?;
        }
    }
    let mut active: sequence_step::ActiveModel = step.clone().into();
    if let Patch::Set(step_type) = changes.step_type {
        active.step_type = Set(step_type);
    }
    active.order = Set(new_order);
    active.interval = Set(interval);
    active.date = Set(date);
    active.task_note = Set(changes.task_note.apply(step.task_note));
    active.task_autoskip_delay = Set(changes.task_autoskip_delay.apply(step.task_autoskip_delay));
    active.call_purpose_id = Set(changes.call_purpose_id.apply(step.call_purpose_id));
    active.task_priority_id = Set(changes.task_priority_id.apply(step.task_priority_id));
    active.updater_id = Set(Some(viewer.user_id));
    active.updated_at = Set(at);
    let updated = active.update(&txn).await?;
    changes::record(
        &txn,
        &[Change::step(ChangeKind::Updated, updated.id, seq.id)],
    )
    .await?;
    if new_order < old_order {
        changes::record_steps_in_orders(&txn, seq.id, new_order + 1, old_order).await?;
    } else if new_order > old_order {
        changes::record_steps_in_orders(&txn, seq.id, old_order, new_order - 1).await?;
    }
    changes::commit(txn).await?;
    Ok(updated)
}

/// Deletes a step and closes the gap it leaves. Returns the deleted step's id.
/// `expected_updated_at` works as in [`StepChanges`].
pub async fn delete(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
    expected_updated_at: Option<DateTime<Utc>>,
) -> AppResult<i64> {
    delete_via(db, viewer, id, expected_updated_at, None).await
}

/// [`delete`], passed through to `upstream` when there is one.
pub async fn delete_via(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
    expected_updated_at: Option<DateTime<Utc>>,
    upstream: Option<&dyn Upstream>,
) -> AppResult<i64> {
    if upstream.is_none() {
        crate::service::mirror::local_writes_allowed()?;
    }
    let txn = begin_write(db).await?;
    let (step, seq) = lock_step(&txn, viewer, id).await?;
    if !policy::can_delete_step(viewer, &SequenceAccess::from(&seq)) {
        return Err(AppError::Forbidden(delete_denied(&seq)));
    }
    check_unmodified(&step, expected_updated_at)?;
    if let Some(upstream) = upstream {
        drop(txn);
        let written = upstream.delete_step(&step).await?;
        return crate::service::upstream::removed(db, written).await;
    }
    sequence_step::Entity::delete_by_id(step.id)
        .exec(&txn)
        .await?;
    let count = step_count(&txn, seq.id).await?;
    if step.order <= count {
        shift_orders(&txn, seq.id, step.order + 1, count + 1, -1, now()).await?;
    }
    changes::record(&txn, &[Change::step(ChangeKind::Deleted, step.id, seq.id)]).await?;
    if step.order <= count {
        changes::record_steps_in_orders(&txn, seq.id, step.order, count).await?;
    }
    changes::commit(txn).await?;
    Ok(step.id)
}

fn write_denied(seq: &sequence::Model) -> String {
    if seq.locked {
        format!("sequence {} is locked; its steps cannot be changed", seq.id)
    } else {
        format!("you may not change the steps of sequence {}", seq.id)
    }
}

fn delete_denied(seq: &sequence::Model) -> String {
    if seq.locked {
        format!("sequence {} is locked; its steps cannot be deleted", seq.id)
    } else {
        format!(
            "only the owner of sequence {} or an admin may delete its steps",
            seq.id
        )
    }
}

/// Locks the sequence row for the rest of the transaction (a no-op on SQLite, where
/// `BEGIN IMMEDIATE` already holds the database's write lock). Every writer that changes what
/// hangs off a sequence (steps, mailings) locks it first, so they queue in one order.
pub(crate) async fn lock_sequence(
    txn: &(impl ConnectionTrait + 'static),
    sequence_id: i64,
) -> AppResult<Option<sequence::Model>> {
    Ok(sequence::Entity::find_by_id(sequence_id)
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// Finds a visible step and locks its sequence; the step is read again under the lock, since
/// a concurrent writer may have moved or deleted it in between.
async fn lock_step(
    txn: &(impl ConnectionTrait + 'static),
    viewer: &Viewer,
    id: i64,
) -> AppResult<(sequence_step::Model, sequence::Model)> {
    let not_found = || AppError::not_found("sequenceStep", id);
    let step = sequence_step::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    let seq = lock_sequence(txn, step.sequence_id)
        .await?
        .ok_or_else(not_found)?;
    if !policy::can_see(viewer, &SequenceAccess::from(&seq)) {
        return Err(not_found());
    }
    let step = sequence_step::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    Ok((step, seq))
}

async fn step_count(txn: &(impl ConnectionTrait + 'static), sequence_id: i64) -> AppResult<i32> {
    let n = sequence_step::Entity::find()
        .filter(sequence_step::Column::SequenceId.eq(sequence_id))
        .count(txn)
        .await?;
    i32::try_from(n).map_err(|_| AppError::Internal(anyhow::anyhow!("step count overflows i32")))
}

async fn set_order(txn: &(impl ConnectionTrait + 'static), id: i64, order: i32) -> AppResult<()> {
    sequence_step::Entity::update_many()
        .col_expr(sequence_step::Column::Order, Expr::value(order))
        .filter(sequence_step::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Adds `delta` to the order of the steps whose order is in `from..=to`, in two statements
/// that never hold two equal orders at once (see the module docs).
async fn shift_orders(
    txn: &(impl ConnectionTrait + 'static),
    sequence_id: i64,
    from: i32,
    to: i32,
    delta: i32,
    at: DateTime<Utc>,
) -> AppResult<()> {
    use sequence_step::Column;
    sequence_step::Entity::update_many()
        .col_expr(
            Column::Order,
            Expr::value(-delta).sub(Expr::col(Column::Order)),
        )
        .filter(Column::SequenceId.eq(sequence_id))
        .filter(Column::Order.between(from, to))
        .exec(txn)
        .await?;
    sequence_step::Entity::update_many()
        .col_expr(Column::Order, Expr::value(0).sub(Expr::col(Column::Order)))
        .col_expr(Column::UpdatedAt, Expr::value(at))
        .filter(Column::SequenceId.eq(sequence_id))
        .filter(Column::Order.lt(0))
        .exec(txn)
        .await?;
    Ok(())
}

fn check_order(order: Option<i32>, errors: &mut Vec<FieldError>) {
    if order.is_some_and(|order| order < 1) {
        errors.push(FieldError::new("order", "must be at least 1"));
    }
}

/// An order must land on an existing position, or one past the end when inserting (`max`).
fn check_order_fits(order: Option<i32>, max: i32, count: i32, errors: &mut Vec<FieldError>) {
    if order.is_some_and(|order| order > max) {
        errors.push(FieldError::new(
            "order",
            format!("must be between 1 and {max} (the sequence has {count} steps)"),
        ));
    }
}

fn check_non_negative(field: &str, value: Option<i32>, errors: &mut Vec<FieldError>) {
    if value.is_some_and(|v| v < 0) {
        errors.push(FieldError::new(
            field,
            "must not be negative (it is a number of seconds)",
        ));
    }
}

fn check_task_note(note: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(note) = note {
        let chars = note.chars().count();
        if chars > TASK_NOTE_MAX_CHARS {
            errors.push(FieldError::new(
                "taskNote",
                format!("must be at most {TASK_NOTE_MAX_CHARS} characters (got {chars})"),
            ));
        }
    }
}

/// Interval-based sequences schedule steps by `interval`, date-based ones by `date`.
fn check_schedule(
    sequence_type: SequenceType,
    interval: Option<i32>,
    date: Option<NaiveDate>,
    errors: &mut Vec<FieldError>,
) {
    match sequence_type {
        SequenceType::Interval => {
            if interval.is_none() {
                errors.push(FieldError::new(
                    "interval",
                    "is required for a step of an interval-based sequence",
                ));
            }
            if date.is_some() {
                errors.push(FieldError::new(
                    "date",
                    "only applies to date-based sequences",
                ));
            }
        }
        SequenceType::Date => {
            if date.is_none() {
                errors.push(FieldError::new(
                    "date",
                    "is required for a step of a date-based sequence",
                ));
            }
            if interval.is_some() {
                errors.push(FieldError::new(
                    "interval",
                    "only applies to interval-based sequences",
                ));
            }
        }
    }
}

async fn check_references(
    txn: &(impl ConnectionTrait + 'static),
    call_purpose_id: Option<i64>,
    task_priority_id: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Some(id) = call_purpose_id
        && call_purpose::Entity::find_by_id(id)
            .one(txn)
            .await?
            .is_none()
    {
        errors.push(FieldError::new(
            "callPurposeId",
            format!("no call purpose with id {id}"),
        ));
    }
    if let Some(id) = task_priority_id
        && task_priority::Entity::find_by_id(id)
            .one(txn)
            .await?
            .is_none()
    {
        errors.push(FieldError::new(
            "taskPriorityId",
            format!("no task priority with id {id}"),
        ));
    }
    Ok(())
}
