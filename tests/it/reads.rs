//! The request path's read pool (`entity::reads`): statements on kept connections, counted
//! like any other, bounded by the pool's size, and what becomes of a connection whose
//! statement failed, was cancelled, or whose pool closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use entity::reads::{Db, Meter, ReadPool};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::support::TestDb;

fn counting() -> (Meter, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    (
        Arc::new(move |_: &sea_orm::metric::Info<'_>| {
            c.fetch_add(1, Ordering::Relaxed);
        }),
        count,
    )
}

/// A fresh database, its backend, a read pool of two connections on it, and a handle that
/// reads through that pool (reporting to `meter`).
async fn setup(meter: Option<Meter>) -> (TestDb, DbBackend, Arc<ReadPool>, Db) {
    let db = TestDb::new().await;
    let backend = db.backend();
    let pool = Arc::new(ReadPool::new(&db.db, 2));
    let handle = Db::new(db.db.clone(), Some(pool.clone()), meter);
    (db, backend, pool, handle)
}

fn select(backend: DbBackend, sql: &str) -> Statement {
    Statement::from_string(backend, sql.to_string())
}

/// `SELECT n`, as a 64-bit integer on every backend.
fn number(backend: DbBackend, n: i64) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT CAST({n} AS BIGINT) AS n"),
        _ => format!("SELECT {n} AS n"),
    };
    Statement::from_string(backend, sql)
}

/// A statement that runs for about `secs` seconds on each backend.
fn slow(backend: DbBackend, secs: u32) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT 1 FROM pg_sleep({secs})"),
        DbBackend::MySql => format!("SELECT SLEEP({secs})"),
        // No sleep in SQLite: count far enough.
        _ => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             SELECT count(*) FROM n",
            u64::from(secs) * 5_000_000
        ),
    };
    Statement::from_string(backend, sql)
}

#[tokio::test]
async fn reads_run_on_kept_connections_and_are_counted() {
    let (meter, count) = counting();
    let (db, backend, pool, handle) = setup(Some(meter)).await;

    for i in 0..5 {
        let rows = entity::query_all(&handle, number(backend, i))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), i);
    }
    // One after the other: one connection, kept between statements.
    assert_eq!((pool.held(), pool.idle_count()), (1, 1));
    assert_eq!(
        count.load(Ordering::Relaxed),
        5,
        "every statement is counted"
    );

    // Through the trait too (sea-orm's finders), one row or all.
    let one = handle
        .query_one_raw(number(backend, 7))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.try_get_by_index::<i64>(0).unwrap(), 7);
    assert_eq!(count.load(Ordering::Relaxed), 6);
    assert_eq!(pool.held(), 1);

    // A statement that fails is reported as a query error, counted, and its connection, which
    // still answers, kept.
    let err = entity::query_all(&handle, select(backend, "SELECT * FROM no_such_table"))
        .await
        .unwrap_err();
    assert!(matches!(err, DbErr::Query(_)), "{err:?}");
    assert_eq!(count.load(Ordering::Relaxed), 7);
    assert_eq!((pool.held(), pool.idle_count()), (1, 1));
    let rows = entity::query_all(&handle, select(backend, "SELECT 1 AS n"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    db.finish().await;
}

#[tokio::test]
async fn the_read_pool_never_holds_more_than_its_size() {
    let (db, backend, pool, handle) = setup(None).await;

    // Five slow statements at once: two on the read pool, three through sqlx's pool; all
    // answer.
    let runs = (0..5).map(|_| {
        let handle = handle.clone();
        let stmt = slow(backend, 1);
        async move { entity::query_all(&handle, stmt).await }
    });
    let watch = async {
        let mut most = 0;
        for _ in 0..20 {
            most = most.max(pool.held());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        most
    };
    let (results, most) = tokio::join!(futures_util::future::join_all(runs), watch);
    for result in results {
        assert_eq!(result.unwrap().len(), 1);
    }
    assert_eq!(
        most, 2,
        "the read pool filled up to its size and no further"
    );
    assert_eq!((pool.held(), pool.idle_count()), (2, 2));
    db.finish().await;
}

#[tokio::test]
async fn a_cancelled_statement_gives_its_connection_up() {
    let (db, backend, pool, handle) = setup(None).await;

    let cut = tokio::time::timeout(
        Duration::from_millis(200),
        entity::query_all(&handle, slow(backend, 3)),
    )
    .await;
    assert!(cut.is_err(), "the statement was still running");
    // Its state unknown, the connection is closed, not kept; the next statement opens another.
    assert_eq!((pool.held(), pool.idle_count()), (0, 0));
    let rows = entity::query_all(&handle, select(backend, "SELECT 1 AS n"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(pool.held(), 1);
    db.finish().await;
}

#[tokio::test]
async fn a_closed_pool_fails_reads_as_unavailable() {
    let (db, backend, pool, handle) = setup(None).await;
    entity::query_all(&handle, select(backend, "SELECT 1 AS n"))
        .await
        .unwrap();
    assert_eq!(pool.idle_count(), 1);

    db.db.clone().close().await.unwrap();
    let err = entity::query_all(&handle, select(backend, "SELECT 1 AS n"))
        .await
        .unwrap_err();
    assert!(matches!(err, DbErr::ConnectionAcquire(_)), "{err:?}");
    assert_eq!(
        (pool.held(), pool.idle_count()),
        (0, 0),
        "its connections are dropped"
    );
    db.finish().await;
}
