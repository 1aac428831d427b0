//! The step rules of the service layer: ordering, partial updates, validation, authorization.

use chrono::NaiveDate;
use entity::enums::StepType;
use entity::{call_purpose, sequence_step};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use stepgraph::auth::Viewer;
use stepgraph::error::AppError;
use stepgraph::service::Patch;
use stepgraph::service::steps::{self, NewStep, StepChanges};

use crate::support::{Fixture, TestDb, fixture};

pub fn new_step(sequence_id: i64, step_type: StepType) -> NewStep {
    NewStep {
        sequence_id,
        step_type,
        order: None,
        interval: Some(3600),
        date: None,
        task_note: None,
        task_autoskip_delay: None,
        call_purpose_id: None,
        task_priority_id: None,
    }
}

/// (id, order) of a sequence's steps in order.
pub async fn orders(db: &DatabaseConnection, sequence_id: i64) -> Vec<(i64, i32)> {
    sequence_step::Entity::find()
        .filter(sequence_step::Column::SequenceId.eq(sequence_id))
        .order_by_asc(sequence_step::Column::Order)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.order))
        .collect()
}

fn assert_contiguous(orders: &[(i64, i32)]) {
    let got: Vec<i32> = orders.iter().map(|&(_, o)| o).collect();
    let want: Vec<i32> = (1..=orders.len() as i32).collect();
    assert_eq!(got, want, "orders must be 1..n");
}

fn field_errors(err: &AppError) -> Vec<&str> {
    err.field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect()
}

async fn setup() -> (TestDb, Fixture) {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    (t, f)
}

async fn make(db: &DatabaseConnection, who: &Viewer, seq: i64, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(
            steps::create(db, who, new_step(seq, StepType::AutoEmail))
                .await
                .unwrap()
                .id,
        );
    }
    ids
}

#[tokio::test]
async fn create_appends_and_sets_server_fields() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    let a = steps::create(&t.db, &f.owner, new_step(seq, StepType::AutoEmail))
        .await
        .unwrap();
    let b = steps::create(&t.db, &f.owner, new_step(seq, StepType::Call))
        .await
        .unwrap();
    assert_eq!((a.order, b.order), (1, 2));
    assert_eq!(steps::display_name(&b), "Step #2 (Call)");
    assert_eq!(b.creator_id, Some(f.owner.user_id));
    assert_eq!(b.updater_id, Some(f.owner.user_id));
    assert!(b.created_at == b.updated_at);
    assert_eq!(
        b.open_count + b.reply_count + b.schedule_count + b.bounce_count,
        0
    );
    // What was returned is what was stored.
    let stored = sequence_step::Entity::find_by_id(b.id)
        .one(&t.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, b);
    t.finish().await;
}

#[tokio::test]
async fn create_with_order_inserts_and_shifts() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    let ids = make(&t.db, &f.owner, seq, 3).await;
    let mut input = new_step(seq, StepType::Task);
    input.order = Some(2);
    let inserted = steps::create(&t.db, &f.owner, input).await.unwrap();
    assert_eq!(inserted.order, 2);
    let got = orders(&t.db, seq).await;
    assert_eq!(
        got,
        vec![(ids[0], 1), (inserted.id, 2), (ids[1], 3), (ids[2], 4)]
    );
    // Insert at the front and at n + 1 (the end).
    let mut first = new_step(seq, StepType::Call);
    first.order = Some(1);
    let first = steps::create(&t.db, &f.owner, first).await.unwrap();
    let mut last = new_step(seq, StepType::Call);
    last.order = Some(6);
    let last = steps::create(&t.db, &f.owner, last).await.unwrap();
    let got = orders(&t.db, seq).await;
    assert_contiguous(&got);
    assert_eq!(got.first().unwrap().0, first.id);
    assert_eq!(got.last().unwrap().0, last.id);
    t.finish().await;
}

#[tokio::test]
async fn create_rejects_an_order_past_the_end_and_changes_nothing() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    make(&t.db, &f.owner, seq, 2).await;
    let before = orders(&t.db, seq).await;
    for bad in [0, -1, 4] {
        let mut input = new_step(seq, StepType::Task);
        input.order = Some(bad);
        let err = steps::create(&t.db, &f.owner, input).await.unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert_eq!(field_errors(&err), vec!["order"], "order {bad}");
    }
    assert_eq!(orders(&t.db, seq).await, before);
    t.finish().await;
}

#[tokio::test]
async fn update_moves_a_step_both_ways() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    let ids = make(&t.db, &f.owner, seq, 5).await;
    let moved = steps::update(
        &t.db,
        &f.owner,
        ids[4],
        StepChanges {
            order: Patch::Set(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(moved.order, 2);
    let got: Vec<i64> = orders(&t.db, seq)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(got, vec![ids[0], ids[4], ids[1], ids[2], ids[3]]);
    steps::update(
        &t.db,
        &f.owner,
        ids[0],
        StepChanges {
            order: Patch::Set(5),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got = orders(&t.db, seq).await;
    assert_contiguous(&got);
    let got: Vec<i64> = got.into_iter().map(|(id, _)| id).collect();
    assert_eq!(got, vec![ids[4], ids[1], ids[2], ids[3], ids[0]]);
    // Past the end is an error, and nothing moves.
    let err = steps::update(
        &t.db,
        &f.owner,
        ids[1],
        StepChanges {
            order: Patch::Set(6),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(field_errors(&err), vec!["order"]);
    let after: Vec<i64> = orders(&t.db, seq)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(after, got);
    t.finish().await;
}

#[tokio::test]
async fn update_is_partial_and_null_clears() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    let purpose = call_purpose::ActiveModel {
        name: Set("Initial Contact".into()),
        order: Set(Some(1)),
        creator_id: Set(None),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&t.db)
    .await
    .unwrap();
    let mut input = new_step(seq, StepType::Call);
    input.task_note = Some("call them".into());
    input.task_autoskip_delay = Some(60);
    input.call_purpose_id = Some(purpose.id);
    let step = steps::create(&t.db, &f.owner, input).await.unwrap();

    // Absent fields stay as they are.
    let same = steps::update(
        &t.db,
        &f.other,
        step.id,
        StepChanges {
            interval: Patch::Set(7200),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(same.interval, Some(7200));
    assert_eq!(same.task_note.as_deref(), Some("call them"));
    assert_eq!(same.call_purpose_id, Some(purpose.id));
    assert_eq!(same.step_type, StepType::Call);
    assert_eq!(
        same.updater_id,
        Some(f.other.user_id),
        "the updater is whoever wrote last"
    );
    assert_eq!(same.creator_id, Some(f.owner.user_id));
    assert!(same.updated_at >= step.updated_at);
    assert_eq!(same.created_at, step.created_at);

    // Explicit null clears nullable fields.
    let cleared = steps::update(
        &t.db,
        &f.owner,
        step.id,
        StepChanges {
            task_note: Patch::Clear,
            call_purpose_id: Patch::Clear,
            task_autoskip_delay: Patch::Clear,
            step_type: Patch::Set(StepType::Task),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(cleared.task_note, None);
    assert_eq!(cleared.call_purpose_id, None);
    assert_eq!(cleared.task_autoskip_delay, None);
    assert_eq!(steps::display_name(&cleared), "Step #1 (Task)");

    // Null on a required field is a typed error naming it.
    let err = steps::update(
        &t.db,
        &f.owner,
        step.id,
        StepChanges {
            step_type: Patch::Clear,
            order: Patch::Clear,
            interval: Patch::Clear,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let mut fields = field_errors(&err);
    fields.sort();
    assert_eq!(fields, vec!["interval", "order", "stepType"]);
    t.finish().await;
}

#[tokio::test]
async fn delete_closes_the_gap() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    let ids = make(&t.db, &f.owner, seq, 4).await;
    assert_eq!(
        steps::delete(&t.db, &f.owner, ids[1], None).await.unwrap(),
        ids[1]
    );
    assert_eq!(
        orders(&t.db, seq).await,
        vec![(ids[0], 1), (ids[2], 2), (ids[3], 3)]
    );
    steps::delete(&t.db, &f.owner, ids[3], None).await.unwrap();
    assert_eq!(orders(&t.db, seq).await, vec![(ids[0], 1), (ids[2], 2)]);
    let err = steps::delete(&t.db, &f.owner, ids[1], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
    t.finish().await;
}

#[tokio::test]
async fn interval_and_date_follow_the_sequence_type() {
    let (t, f) = setup().await;
    // Interval sequence: interval required, date refused.
    let mut input = new_step(f.interval_shared.id, StepType::AutoEmail);
    input.interval = None;
    input.date = NaiveDate::from_ymd_opt(2026, 12, 1);
    let err = steps::create(&t.db, &f.owner, input).await.unwrap_err();
    let mut fields = field_errors(&err);
    fields.sort();
    assert_eq!(fields, vec!["date", "interval"]);

    // Date sequence: date required, interval refused.
    let mut input = new_step(f.date_shared.id, StepType::AutoEmail);
    let err = steps::create(&t.db, &f.owner, input.clone())
        .await
        .unwrap_err();
    let mut fields = field_errors(&err);
    fields.sort();
    assert_eq!(fields, vec!["date", "interval"]);
    input.interval = None;
    input.date = NaiveDate::from_ymd_opt(2026, 12, 1);
    let step = steps::create(&t.db, &f.owner, input).await.unwrap();
    assert_eq!(step.date, NaiveDate::from_ymd_opt(2026, 12, 1));
    assert_eq!(step.interval, None);
    // Clearing the date of a date-based step is refused; moving it is fine.
    let err = steps::update(
        &t.db,
        &f.owner,
        step.id,
        StepChanges {
            date: Patch::Clear,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(field_errors(&err), vec!["date"]);
    let moved = steps::update(
        &t.db,
        &f.owner,
        step.id,
        StepChanges {
            date: Patch::Set(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(moved.date, NaiveDate::from_ymd_opt(2026, 12, 24));
    t.finish().await;
}

#[tokio::test]
async fn lengths_ranges_and_references_are_validated() {
    let (t, f) = setup().await;
    let seq = f.interval_shared.id;
    // 65,535 characters (two bytes each in UTF-8) fit; one more does not.
    let mut input = new_step(seq, StepType::Task);
    input.task_note = Some("é".repeat(65_535));
    let ok = steps::create(&t.db, &f.owner, input).await.unwrap();
    assert_eq!(
        ok.task_note.as_ref().map(|n| n.chars().count()),
        Some(65_535)
    );

    let mut input = new_step(seq, StepType::Task);
    input.task_note = Some("x".repeat(65_536));
    input.interval = Some(-5);
    input.task_autoskip_delay = Some(-1);
    input.call_purpose_id = Some(999_999);
    input.task_priority_id = Some(999_999);
    let err = steps::create(&t.db, &f.owner, input).await.unwrap_err();
    let mut fields = field_errors(&err);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "callPurposeId",
            "interval",
            "taskAutoskipDelay",
            "taskNote",
            "taskPriorityId"
        ]
    );
    assert_eq!(
        orders(&t.db, seq).await.len(),
        1,
        "a failed create writes nothing"
    );

    let err = steps::create(&t.db, &f.owner, new_step(999_999, StepType::Task))
        .await
        .unwrap_err();
    assert_eq!(field_errors(&err), vec!["sequenceId"]);
    t.finish().await;
}

#[tokio::test]
async fn the_policy_decides_who_may_write() {
    let (t, f) = setup().await;
    let shared = make(&t.db, &f.owner, f.interval_shared.id, 1).await[0];
    let private = make(&t.db, &f.owner, f.interval_private.id, 1).await[0];
    let read_only = make(&t.db, &f.owner, f.interval_read_only.id, 1).await[0];
    let change = || StepChanges {
        interval: Patch::Set(10),
        ..Default::default()
    };

    // Invisible is indistinguishable from missing.
    for err in [
        steps::update(&t.db, &f.other, private, change())
            .await
            .unwrap_err(),
        steps::delete(&t.db, &f.other, private, None)
            .await
            .unwrap_err(),
        steps::get(&t.db, &f.other, private).await.unwrap_err(),
        steps::get(&t.db, &f.other, 999_999).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), "NOT_FOUND");
    }
    let err = steps::create(
        &t.db,
        &f.other,
        new_step(f.interval_private.id, StepType::Task),
    )
    .await
    .unwrap_err();
    assert_eq!(field_errors(&err), vec!["sequenceId"]);

    // Visible but not writable: FORBIDDEN.
    for err in [
        steps::update(&t.db, &f.other, read_only, change())
            .await
            .unwrap_err(),
        steps::update(&t.db, &f.viewer, shared, change())
            .await
            .unwrap_err(),
        steps::delete(&t.db, &f.other, shared, None)
            .await
            .unwrap_err(),
        steps::create(
            &t.db,
            &f.viewer,
            new_step(f.interval_shared.id, StepType::Task),
        )
        .await
        .unwrap_err(),
        steps::create(&t.db, &f.admin, new_step(f.locked.id, StepType::Task))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "FORBIDDEN", "{err}");
    }
    // Allowed: a member on a shared sequence writes, the admin writes and deletes anywhere.
    steps::update(&t.db, &f.other, shared, change())
        .await
        .unwrap();
    assert!(steps::get(&t.db, &f.other, read_only).await.is_ok());
    steps::update(&t.db, &f.admin, private, change())
        .await
        .unwrap();
    steps::delete(&t.db, &f.admin, private, None).await.unwrap();
    steps::delete(&t.db, &f.owner, shared, None).await.unwrap();
    t.finish().await;
}
