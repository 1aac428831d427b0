//! The request path's reads, on connections the server keeps checked out: [`ReadPool`], and
//! [`Db`], the request's handle that uses it.
//!
//! Why: sqlx tests every connection as it goes back to its pool (`PoolConnection` pings on
//! release, and nothing turns that off). On PostgreSQL and MySQL the ping is one more round
//! trip, a wake-up of the database's process and a task of ours, for every statement; on
//! SQLite, one more hand-off to the connection's thread. A page of steps is one statement, so
//! the ping was about a tenth of the server's CPU per request and a twentieth of
//! PostgreSQL's (docs/PERFORMANCE.md, tenth session). The read pool keeps the connections it
//! takes from sqlx's pool and hands them from one statement to the next untested: a
//! statement that completed left its connection ready for the next one (sqlx waits for
//! `ReadyForQuery` before it returns the rows).
//!
//! What is kept is what sqlx's test guarded against:
//! - a statement that failed, or whose future was dropped half-way (a cancelled request),
//!   closes its connection instead of keeping it: its state is unknown;
//! - a connection idle for [`PING_IF_IDLE_FOR`] is pinged before use (the server or a
//!   firewall may have dropped it);
//! - once sqlx's pool is closed the read pool drops its connections and runs nothing, so a
//!   closed pool fails every statement as before.
//!
//! The connections are detached from sqlx's pool (its count no longer includes them), and
//! the caller sizes both so that together they hold the configured number: on PostgreSQL and
//! MySQL `stepgraph_domain::db::connect` gives sqlx's pool half, and `db::read_pool` the
//! rest (the server runs no read pool on SQLite, where the ping is a hand-off to a thread).
//! When every read connection is busy, a statement runs through sqlx's pool as before.
//! Only plain reads go here ([`crate::query_all`]); writes and transactions use sqlx's pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
};

/// How long a connection may sit idle before it is tested on checkout (the same rule as
/// sqlx's pool follows for the server's other statements).
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

/// What sees each statement after it ran (the request's statement count, metrics, traces):
/// the callback its `DatabaseConnection` has too.
pub type Meter = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// A connection taken out of sqlx's pool.
enum Raw {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Raw {
    /// Runs `stmt` (its values taken out): every row, or with `one` the first.
    async fn fetch(
        &mut self,
        stmt: &mut Statement,
        one: bool,
    ) -> Result<Vec<QueryResult>, sqlx::Error> {
        let values = sea_query_sqlx::SqlxValues(
            stmt.values
                .take()
                .unwrap_or(sea_orm::sea_query::Values(Vec::new())),
        );
        let sql = sqlx::AssertSqlSafe(stmt.sql.as_str());
        macro_rules! run {
            ($c:expr) => {{
                let query = sqlx::query_with(sql, values);
                let rows: Vec<_> = if one {
                    query.fetch_optional($c).await?.into_iter().collect()
                } else {
                    query.fetch_all($c).await?
                };
                rows.into_iter().map(Into::into).collect()
            }};
        }
        Ok(match self {
            Raw::Postgres(c) => run!(c),
            Raw::MySql(c) => run!(c),
            Raw::Sqlite(c) => run!(c),
        })
    }

    async fn ping(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Raw::Postgres(c) => c.ping().await,
            Raw::MySql(c) => c.ping().await,
            Raw::Sqlite(c) => c.ping().await,
        }
    }
}

/// Connections for the request path's reads, at most `cap` of them (see the module
/// documentation).
pub struct ReadPool {
    /// The pool connections come from, and whose closing ends this one.
    source: DatabaseConnection,
    /// Connections between statements, the most recently used last, each with the time it
    /// was put back and the thread that used it ([`take_for`]).
    idle: Mutex<Vec<(Raw, Instant, u32)>>,
    /// Connections this pool holds, idle or in use.
    owned: AtomicUsize,
    cap: usize,
}

impl ReadPool {
    /// A pool of at most `cap` connections taken from `source`'s pool as needed (none:
    /// every statement goes through `source`).
    pub fn new(source: &DatabaseConnection, cap: usize) -> Self {
        Self {
            source: source.clone(),
            idle: Mutex::new(Vec::new()),
            owned: AtomicUsize::new(0),
            cap,
        }
    }

    /// The most connections it holds.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The connections it holds now, idle or running a statement.
    pub fn held(&self) -> usize {
        self.owned.load(Ordering::Relaxed)
    }

    /// The connections it holds between statements.
    pub fn idle_count(&self) -> usize {
        self.idle().len()
    }

    fn source_closed(&self) -> bool {
        match self.source.get_database_backend() {
            DbBackend::Postgres => self.source.get_postgres_connection_pool().is_closed(),
            DbBackend::MySql => self.source.get_mysql_connection_pool().is_closed(),
            _ => self.source.get_sqlite_connection_pool().is_closed(),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(Raw, Instant, u32)>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection for one statement; `None` when the pool is full (or closed): the
    /// statement goes through sqlx's pool.
    async fn checkout(&self) -> Result<Option<Checkout<'_>>, DbErr> {
        if self.source_closed() {
            let dropped = std::mem::take(&mut *self.idle());
            self.owned.fetch_sub(dropped.len(), Ordering::Relaxed);
            return Ok(None);
        }
        let reused = take_for(&mut self.idle(), thread_tag());
        if let Some((raw, since, _)) = reused {
            let mut out = Checkout::holding(self, raw);
            if since.elapsed() < PING_IF_IDLE_FOR || out.raw_mut().ping().await.is_ok() {
                return Ok(Some(out));
            }
            // Dropped by the server meanwhile: closed (by `out`'s drop); open another.
        }
        if self.owned.fetch_add(1, Ordering::Relaxed) >= self.cap {
            self.owned.fetch_sub(1, Ordering::Relaxed);
            return Ok(None);
        }
        // From here `out` gives the slot back if opening fails or is cancelled.
        let mut out = Checkout {
            pool: self,
            raw: None,
        };
        out.raw = Some(self.open().await?);
        Ok(Some(out))
    }

    /// A connection from sqlx's pool (which opens one if it has none idle), detached from it.
    async fn open(&self) -> Result<Raw, DbErr> {
        let acquired = match self.source.get_database_backend() {
            DbBackend::Postgres => self
                .source
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map(|c| Raw::Postgres(c.detach())),
            DbBackend::MySql => self
                .source
                .get_mysql_connection_pool()
                .acquire()
                .await
                .map(|c| Raw::MySql(c.detach())),
            _ => self
                .source
                .get_sqlite_connection_pool()
                .acquire()
                .await
                .map(|c| Raw::Sqlite(c.detach())),
        };
        acquired.map_err(acquire_error)
    }
}

/// The idle connection a statement on thread `tag` takes: the one that thread used last if
/// it holds one, else the most recently used.
///
/// Why: a statement wakes the database process of its connection from the thread that sends
/// it. Handed between our worker threads, the same PostgreSQL backend was woken from either
/// core and moved between them every third request (`perf stat`: 0.33 CPU migrations per
/// request, against 0.013 under PostGraphile's one thread); kept with the thread that used it,
/// PostgreSQL's CPU per request fell 3-19% with two worker threads (docs/PERFORMANCE.md,
/// eleventh session). With one thread every connection carries its tag: plain LIFO.
fn take_for<T>(idle: &mut Vec<(T, Instant, u32)>, tag: u32) -> Option<(T, Instant, u32)> {
    match idle.iter().rposition(|entry| entry.2 == tag) {
        Some(at) => Some(idle.remove(at)),
        None => idle.pop(),
    }
}

/// A small number for the calling thread, the same for its whole life ([`take_for`]).
fn thread_tag() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    thread_local! {
        static TAG: u32 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TAG.with(|tag| *tag)
}

/// sea-orm's own mapping of a checkout's failure (a timeout or a closed pool is a
/// `ConnectionAcquire`, which the application reports as unavailable).
fn acquire_error(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(other.into())),
    }
}

/// A connection out of the read pool for one statement. Put back with [`Checkout::keep`];
/// dropped otherwise (a failed or cancelled statement), which closes the connection and frees
/// its slot.
struct Checkout<'p> {
    pool: &'p ReadPool,
    raw: Option<Raw>,
}

impl<'p> Checkout<'p> {
    fn holding(pool: &'p ReadPool, raw: Raw) -> Self {
        Self {
            pool,
            raw: Some(raw),
        }
    }

    fn raw_mut(&mut self) -> &mut Raw {
        self.raw
            .as_mut()
            .expect("BUG: a checkout holds its connection until kept")
    }

    /// Back to the idle list, ready for the next statement.
    fn keep(mut self) {
        if let Some(raw) = self.raw.take() {
            self.pool.idle().push((raw, Instant::now(), thread_tag()));
        }
        std::mem::forget(self);
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        // The connection (if any) closes as it drops; its slot is free again.
        self.pool.owned.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request's database handle: the pool's `DatabaseConnection` (with the request's metric
/// callback) for everything, and the read pool for [`crate::query_all`]'s statements, which
/// report to the same callback.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    reads: Option<Arc<ReadPool>>,
    meter: Option<Meter>,
}

impl Db {
    /// `conn` (whose metric callback, if any, is `meter`) with `reads` for its plain reads.
    pub fn new(
        conn: DatabaseConnection,
        reads: Option<Arc<ReadPool>>,
        meter: Option<Meter>,
    ) -> Self {
        Self { conn, reads, meter }
    }

    /// `conn` alone: every statement through its pool (a subscription's, whose statements
    /// are few and go to its own observers).
    pub fn plain(conn: DatabaseConnection) -> Self {
        Self::new(conn, None, None)
    }

    /// The connection everything but plain reads goes through.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Runs a read (every row, or with `one` the first): on a read-pool connection when one
    /// is free, else through sqlx's pool.
    async fn read(&self, mut stmt: Statement, one: bool) -> Result<Vec<QueryResult>, DbErr> {
        let checkout = match &self.reads {
            Some(reads) => reads.checkout().await?,
            None => None,
        };
        let Some(mut conn) = checkout else {
            return if one {
                Ok(self.conn.query_one_raw(stmt).await?.into_iter().collect())
            } else {
                crate::on_pool(&self.conn, stmt).await
            };
        };
        let started = self.meter.is_some().then(Instant::now);
        let result = conn.raw_mut().fetch(&mut stmt, one).await;
        // A statement that failed may have left the connection anywhere: kept only if it
        // answers (as sqlx's pool would decide on release).
        if result.is_ok() || conn.raw_mut().ping().await.is_ok() {
            conn.keep();
        } else {
            drop(conn);
        }
        if let (Some(meter), Some(started)) = (&self.meter, started) {
            meter(&sea_orm::metric::Info {
                elapsed: started.elapsed(),
                statement: &stmt,
                failed: result.is_err(),
            });
        }
        // sea-orm's mapping of a statement's failure.
        result.map_err(|err| DbErr::Query(RuntimeErr::SqlxError(err.into())))
    }

    /// [`ConnectionTrait::query_all_raw`], as [`crate::query_all`] calls it without the
    /// trait's boxed future.
    pub(crate) async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.read(stmt, false).await
    }
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.conn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.read(stmt, true).await?.into_iter().next())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.read(stmt, false).await
    }

    fn support_returning(&self) -> bool {
        self.conn.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.conn.is_mock_connection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_takes_the_connection_it_used_last_else_the_most_recent() {
        let t = Instant::now();
        let mut idle = vec![("a1", t, 1), ("b", t, 2), ("a2", t, 1), ("c", t, 3)];
        // Thread 1's most recent, though thread 3's came back after it.
        assert_eq!(take_for(&mut idle, 1).map(|e| e.0), Some("a2"));
        assert_eq!(take_for(&mut idle, 1).map(|e| e.0), Some("a1"));
        // None of thread 4's: the most recently used of all.
        assert_eq!(take_for(&mut idle, 4).map(|e| e.0), Some("c"));
        assert_eq!(take_for(&mut idle, 1).map(|e| e.0), Some("b"));
        assert_eq!(take_for(&mut idle, 1), None);
    }

    #[test]
    fn each_thread_has_its_own_tag() {
        let here = thread_tag();
        assert_eq!(thread_tag(), here, "stable on one thread");
        let there = std::thread::spawn(thread_tag).join().unwrap();
        assert_ne!(there, here);
    }
}
