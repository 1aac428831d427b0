//! Orders stay 1..n, contiguous and unique under many concurrent writers on one sequence.

use std::sync::Arc;

use entity::enums::StepType;
use stepgraph::service::Patch;
use stepgraph::service::steps::{self, StepChanges};

use crate::steps::{new_step, orders};
use crate::support::{TestDb, fixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_moves_and_deletes_keep_orders_contiguous() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let seq = f.interval_shared.id;
    let mut initial = Vec::new();
    for _ in 0..12 {
        initial.push(
            steps::create(&t.db, &f.owner, new_step(seq, StepType::AutoEmail))
                .await
                .unwrap()
                .id,
        );
    }
    let db = Arc::new(t.db.clone());
    let owner = f.owner;
    let mut tasks = Vec::new();
    for i in 0..48usize {
        let db = db.clone();
        let target = initial[i % initial.len()];
        tasks.push(tokio::spawn(async move {
            // (kind, result): 0 create, 1 move, 2 delete.
            match i % 3 {
                0 => {
                    let mut input = new_step(seq, StepType::Call);
                    // Insert near the front half the time, append otherwise.
                    input.order = (i % 2 == 0).then_some(1 + (i as i32 % 5));
                    (0, steps::create(&db, &owner, input).await.map(|_| ()))
                }
                1 => {
                    let changes = StepChanges {
                        order: Patch::Set(1 + (i as i32 * 7) % 10),
                        ..Default::default()
                    };
                    (
                        1,
                        steps::update(&db, &owner, target, changes)
                            .await
                            .map(|_| ()),
                    )
                }
                _ => (
                    2,
                    steps::delete(&db, &owner, target, None).await.map(|_| ()),
                ),
            }
        }));
    }
    let (mut created, mut deleted) = (0usize, 0usize);
    for task in tasks {
        let (kind, result) = task.await.expect("task panicked");
        match result {
            Ok(()) if kind == 0 => created += 1,
            Ok(()) if kind == 2 => deleted += 1,
            Ok(()) => {}
            // A step deleted by another writer first, or an order past a shrunken end:
            // legitimate outcomes of racing writers. Anything else (locks, deadlocks,
            // uniqueness violations) is a failure.
            Err(err) => assert!(
                matches!(err.code(), "NOT_FOUND" | "BAD_USER_INPUT"),
                "unexpected error from a concurrent writer: {err:?}"
            ),
        }
    }
    assert!(created > 0 && deleted > 0);
    let got = orders(&t.db, seq).await;
    assert_eq!(got.len(), initial.len() + created - deleted);
    let numbers: Vec<i32> = got.iter().map(|&(_, o)| o).collect();
    assert_eq!(numbers, (1..=got.len() as i32).collect::<Vec<_>>());
    t.finish().await;
}
