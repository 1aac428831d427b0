//! The migrations run up, down and up again on every backend.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

use crate::support::TestDb;

const TABLES: [&str; 11] = [
    "users",
    "api_tokens",
    "call_purposes",
    "task_priorities",
    "sequences",
    "sequence_steps",
    "templates",
    "sequence_templates",
    "tasks",
    "calls",
    "mailings",
];

async fn table_exists(t: &TestDb, table: &str) -> bool {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    t.db.query_one_raw(Statement::from_string(t.backend(), sql))
        .await
        .is_ok()
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    let t = TestDb::empty().await;
    // As the server does: schema changes over one connection (`db::connect_for_migrations`).
    let m = t.connect_for_migrations().await;
    assert_eq!(
        Migrator::get_pending_migrations(&m).await.unwrap().len(),
        Migrator::migrations().len()
    );
    Migrator::up(&m, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&m)
            .await
            .unwrap()
            .is_empty()
    );
    for table in TABLES {
        assert!(table_exists(&t, table).await, "{table} after up");
    }
    Migrator::down(&m, None).await.unwrap();
    for table in TABLES {
        assert!(!table_exists(&t, table).await, "{table} after down");
    }
    Migrator::up(&m, None).await.unwrap();
    assert!(table_exists(&t, "sequence_steps").await);
    // Applying again is a no-op.
    Migrator::up(&m, None).await.unwrap();
    m.close().await.ok();
    t.finish().await;
}
