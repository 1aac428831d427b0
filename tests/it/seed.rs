//! Seed data: the demo set's shape, and determinism of the sized seed.

use entity::enums::{MailingState, Role, SequenceType, ShareType, StepType};
use entity::{mailing, sequence, sequence_step, sequence_template, user};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, QueryTrait, Statement};
use stepgraph::seed::{demo, sized};

use crate::support::TestDb;

#[tokio::test]
async fn demo_covers_every_kind_of_thing() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let users = user::Entity::find().all(&t.db).await.unwrap();
    for role in [Role::Admin, Role::Member, Role::Viewer] {
        assert!(users.iter().any(|u| u.role == role), "{role:?}");
    }
    let seqs = sequence::Entity::find().all(&t.db).await.unwrap();
    for ty in [SequenceType::Interval, SequenceType::Date] {
        assert!(seqs.iter().any(|s| s.sequence_type == ty));
    }
    for share in [ShareType::Private, ShareType::ReadOnly, ShareType::Shared] {
        assert!(seqs.iter().any(|s| s.share_type == share));
    }
    assert_eq!(seqs.iter().filter(|s| s.locked).count(), 1);
    let steps = sequence_step::Entity::find().all(&t.db).await.unwrap();
    for ty in [
        StepType::AutoEmail,
        StepType::ManualEmail,
        StepType::Call,
        StepType::Task,
    ] {
        assert!(steps.iter().any(|s| s.step_type == ty), "{ty:?}");
    }
    // Orders are 1..n per sequence and schedules follow the sequence type.
    for seq in &seqs {
        let mut mine: Vec<_> = steps.iter().filter(|s| s.sequence_id == seq.id).collect();
        mine.sort_by_key(|s| s.order);
        assert_eq!(
            mine.iter().map(|s| s.order).collect::<Vec<_>>(),
            (1..=mine.len() as i32).collect::<Vec<_>>()
        );
        for s in mine {
            assert_eq!(
                s.interval.is_some(),
                seq.sequence_type == SequenceType::Interval
            );
            assert_eq!(s.date.is_some(), seq.sequence_type == SequenceType::Date);
        }
    }
    // A/B variants: some step has two sequence templates.
    let variants = sequence_template::Entity::find().all(&t.db).await.unwrap();
    assert!(steps.iter().any(|s| {
        variants
            .iter()
            .filter(|v| v.sequence_step_id == s.id)
            .count()
            >= 2
    }));
    let mailings = mailing::Entity::find().all(&t.db).await.unwrap();
    for state in [
        MailingState::Bounced,
        MailingState::Delivered,
        MailingState::Delivering,
        MailingState::Drafted,
        MailingState::Failed,
        MailingState::Opened,
        MailingState::Placeholder,
        MailingState::Queued,
        MailingState::Replied,
        MailingState::Scheduled,
    ] {
        assert!(mailings.iter().any(|m| m.state == state), "{state:?}");
    }
    assert!(entity::task::Entity::find().count(&t.db).await.unwrap() > 0);
    assert!(entity::call::Entity::find().count(&t.db).await.unwrap() > 0);
    // Loading the demo twice is refused, and changes nothing.
    assert!(demo::load(&t.db).await.is_err());
    assert_eq!(
        user::Entity::find().count(&t.db).await.unwrap(),
        users.len() as u64
    );
    t.finish().await;
}

/// A digest of every seeded table's rows, independent of backend formatting quirks: the rows
/// are read back through the entities and printed with Debug.
async fn digest(t: &TestDb) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let steps = sequence_step::Entity::find()
        .order_by_asc(sequence_step::Column::Id)
        .all(&t.db)
        .await
        .unwrap();
    let seqs = sequence::Entity::find()
        .order_by_asc(sequence::Column::Id)
        .all(&t.db)
        .await
        .unwrap();
    let mailings = mailing::Entity::find()
        .order_by_asc(mailing::Column::Id)
        .all(&t.db)
        .await
        .unwrap();
    let variants = sequence_template::Entity::find()
        .order_by_asc(sequence_template::Column::Id)
        .all(&t.db)
        .await
        .unwrap();
    write!(out, "{seqs:?}{steps:?}{mailings:?}{variants:?}").unwrap();
    out
}

#[tokio::test]
async fn sized_seed_is_deterministic() {
    let opts = |seed| sized::SizedOptions {
        sequences: 12,
        steps_per_sequence: 5,
        mailings_per_step: 3,
        tasks_per_step: 2,
        calls_per_step: 1,
        seed,
    };
    let a = TestDb::new().await;
    let b = TestDb::new().await;
    let c = TestDb::new().await;
    let counts = sized::load(&a.db, opts(11)).await.unwrap();
    sized::load(&b.db, opts(11)).await.unwrap();
    sized::load(&c.db, opts(12)).await.unwrap();
    assert_eq!(
        (
            counts.sequences,
            counts.steps,
            counts.mailings,
            counts.tasks,
            counts.calls
        ),
        (12, 60, 180, 120, 60)
    );
    assert_eq!(
        sequence_step::Entity::find().count(&a.db).await.unwrap(),
        60
    );
    let (da, db_, dc) = (digest(&a).await, digest(&b).await, digest(&c).await);
    assert_eq!(da, db_, "same seed, same rows");
    assert_ne!(da, dc, "another seed, other rows");
    // The server's own inserts continue after the seeded ids (PostgreSQL sequences moved).
    let f = crate::support::fixture(&a.db).await;
    let step = stepgraph::service::steps::create(
        &a.db,
        &f.owner,
        crate::steps::new_step(f.interval_shared.id, StepType::Task),
    )
    .await
    .unwrap();
    assert!(step.id > 60);
    // A second run into the same database appends after the first.
    let again = sized::load(&a.db, opts(11)).await.unwrap();
    assert_eq!(again.steps, 60);
    let n: i64 = {
        let row =
            a.db.query_one_raw(Statement::from_string(
                a.backend(),
                "SELECT COUNT(*) FROM sequence_steps".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    };
    assert_eq!(n, 121);
    for t in [a, b, c] {
        t.finish().await;
    }
}

/// Every entity decodes the same by column position (`entity::all_by_position`, the read paths of
/// pages and lookups) as by column name (SeaORM's derive), on rows with set and NULL columns,
/// so a model's field order and its table's column order cannot drift apart unnoticed.
#[tokio::test]
async fn positional_decoding_matches_decoding_by_name() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();

    async fn same<E>(db: &sea_orm::DatabaseConnection, must_have_rows: bool)
    where
        E: EntityTrait,
        E::Model: entity::FromRow + PartialEq + std::fmt::Debug,
    {
        let by_name = E::find()
            .order_by_asc(primary(E::default()))
            .all(db)
            .await
            .unwrap();
        let select = E::find().order_by_asc(primary(E::default()));
        let by_position: Vec<E::Model> =
            entity::all_by_position(db, select.build(db.get_database_backend()))
                .await
                .unwrap();
        assert!(
            !must_have_rows || !by_name.is_empty(),
            "{}",
            E::default().table_name()
        );
        assert_eq!(by_name, by_position, "{}", E::default().table_name());
    }
    fn primary<E: EntityTrait>(_: E) -> E::Column {
        use sea_orm::{Iterable, PrimaryKeyToColumn};
        E::PrimaryKey::iter().next().unwrap().into_column()
    }

    use entity::*;
    same::<user::Entity>(&t.db, true).await;
    same::<sequence::Entity>(&t.db, true).await;
    same::<sequence_step::Entity>(&t.db, true).await;
    same::<sequence_template::Entity>(&t.db, true).await;
    same::<template::Entity>(&t.db, true).await;
    same::<task::Entity>(&t.db, true).await;
    same::<call::Entity>(&t.db, true).await;
    same::<mailing::Entity>(&t.db, true).await;
    same::<call_purpose::Entity>(&t.db, true).await;
    same::<task_priority::Entity>(&t.db, true).await;
    same::<api_token::Entity>(&t.db, false).await;
    same::<change_feed::Entity>(&t.db, false).await;
    same::<mailing_event::Entity>(&t.db, false).await;
    t.finish().await;
}
