//! Opening the database from one URL, and starting write transactions.
//!
//! `sqlite://`, `postgres://` and `mysql://` URLs are accepted. For SQLite the file is created
//! when missing, and the connection runs in WAL mode with foreign keys on and a busy timeout;
//! the pool gets more than one connection (sea-orm would default SQLite to one, serialising
//! every reader behind every writer).

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait, Value,
};

/// The backend this process talks to: one database URL per process (see [`connect`]).
static BACKEND: OnceLock<DbBackend> = OnceLock::new();

/// The backend of the database this process opened (`None` before [`connect`]): for the few
/// places where the SQL text itself must differ and no connection is at hand.
pub fn backend() -> Option<DbBackend> {
    BACKEND.get().copied()
}

/// A timestamp as a bound parameter of a condition (a range filter, a cursor, a sort
/// sentinel).
///
/// Why not `Value::from(t)`: the MySQL driver binds a `DateTime<Utc>` as a TIMESTAMP, whose
/// range is 1970-01-01 00:00:01 to 2038-01-19, and MariaDB turns anything outside it (the
/// epoch, a filter up to 2040) into the zero date, so comparisons silently go wrong. Our MySQL
/// columns are `DATETIME(6)` holding UTC, so there the parameter is a naive UTC DATETIME.
pub fn timestamp_param(t: DateTime<Utc>) -> Value {
    match BACKEND.get() {
        Some(DbBackend::MySql) => Value::from(t.naive_utc()),
        _ => Value::from(t),
    }
}

/// [`timestamp_param`] for a nullable column: a NULL of the type the backend expects there.
pub fn timestamp_param_opt(t: Option<DateTime<Utc>>) -> Value {
    match (t, BACKEND.get()) {
        (Some(t), _) => timestamp_param(t),
        (None, Some(DbBackend::MySql)) => Value::ChronoDateTime(None),
        (None, _) => Value::ChronoDateTimeUtc(None),
    }
}

/// Pool settings; the defaults suit a small server and the test suite.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long SQLite waits for a lock before giving up with "database is locked".
    pub sqlite_busy_timeout: Duration,
    /// PostgreSQL's `plan_cache_mode` for our connections (see [`PlanCache`]).
    pub pg_plan_cache: PlanCache,
    /// Have sqlx report how long each checkout waited for a connection ([`acquired_after`]):
    /// on only with metrics, since each report is an event.
    pub report_acquire: bool,
    /// Open the pool without connecting (a read replica, which may be down at startup).
    pub lazy: bool,
}

/// The target of sqlx's event for each connection checkout, with its wait in
/// `acquired_after_secs` (reported with [`DbConfig::report_acquire`]).
pub const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";

type AcquireObserver = Box<dyn Fn(f64) + Send + Sync>;
static ACQUIRE_OBSERVER: OnceLock<AcquireObserver> = OnceLock::new();

/// Sends every connection wait from now on to `observer` (the metrics' histogram). One per
/// process: a process serves one pool, and later calls are ignored.
pub fn observe_acquire(observer: AcquireObserver) {
    let _ = ACQUIRE_OBSERVER.set(observer);
}

/// A checkout waited `seconds` for its connection: the log subscriber calls this for sqlx's
/// event (sqlx measures the wait; nothing else sees it).
pub fn acquired_after(seconds: f64) {
    if let Some(observer) = ACQUIRE_OBSERVER.get() {
        observer(seconds);
    }
}

/// Rows a SQLite connection's thread may send ahead of the request that reads them: the
/// JSON:API's largest page (1,000 rows) plus the one that tells whether there is a next, so
/// the thread does not wait on the request for any page of one parent.
const SQLITE_ROW_CHANNEL: usize = 1001;

/// How PostgreSQL plans our prepared statements (its `plan_cache_mode`).
///
/// Why generic by default: PostgreSQL plans a prepared statement's first five executions with
/// the values in hand, then keeps a value-free ("generic") plan only if its estimate is no
/// costlier. For our statements (by-id loaders over `= ANY(string_to_array($1, ','))`, child
/// pages and keyset lists over indexed keys) that estimate never wins, so every execution was
/// planned again: a loader's lookup of one row cost 0.24 ms of PostgreSQL CPU against 0.065
/// with a generic plan (shared/reference/perf-notes.md). Their best plans do not depend on
/// the values: each walks the same index whatever the ids, and a page is bounded by `LIMIT`
/// (docs/PERFORMANCE.md lists each statement's plan both ways).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanCache {
    /// `force_generic_plan`: planned once per connection and statement.
    #[default]
    Generic,
    /// PostgreSQL's own choice (`auto`).
    Auto,
}

impl PlanCache {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "generic" => Some(Self::Generic),
            "auto" => Some(Self::Auto),
            _ => None,
        }
    }
}

impl DbConfig {
    /// Why 3 s and not sqlx's 30: while the database is down, a waiting request retries its
    /// connection with a backoff capped at a fifth of the time it has left, so with a long
    /// timeout the pool may sleep 2 s or more after the database is back before it tries
    /// again (tests/faults/pg_restart.sh measured 3.1 s with 10). With 3 s it retries at least
    /// every 0.6 s, and a request that cannot get a connection fails with 503 and Retry-After
    /// while the client still cares.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

    /// Defaults for `url`. The pool: 4 connections on SQLite, 8 elsewhere. A SQLite connection
    /// is a thread of its own (sqlx) with its own page cache and prepared statements, and
    /// SQLite runs one writer at a time: on a 2-core machine 4 connections served a member's
    /// step list faster than 8 (219 against 209 req/s) in 63 MB instead of 81
    /// (docs/PERFORMANCE.md). PostgreSQL and MySQL connections wait on the network, so more of
    /// them keep the database busy.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let max_connections = if is_sqlite(&url) { 4 } else { 8 };
        Self {
            url,
            max_connections,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            sqlite_busy_timeout: Duration::from_secs(10),
            pg_plan_cache: PlanCache::default(),
            report_acquire: false,
            lazy: false,
        }
    }
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// How long a pooled PostgreSQL or MySQL connection may sit idle before it is tested on
/// checkout (see [`connect`]); the read pool follows the same rule.
const PING_IF_IDLE_FOR: Duration = entity::reads::PING_IF_IDLE_FOR;

/// The connections of sqlx's pool for `max_connections` in all: on PostgreSQL and MySQL,
/// half; the request path's read pool ([`read_pool`]) holds as many more, so the two never
/// hold more than `max_connections` together (one fewer when it is odd; one more when it is
/// 1). On SQLite, all: there the ping the read pool saves is a hand-off to the connection's
/// thread, not a round trip, and splitting the four connections cost more (a page of steps
/// with their tasks: the same CPU per request, p99 5.5 ms against 7.7, docs/PERFORMANCE.md).
fn sqlx_share(max_connections: u32, sqlite: bool) -> u32 {
    if sqlite {
        max_connections
    } else {
        (max_connections / 2).max(1)
    }
}

/// The most connections `db`'s sqlx pool opens.
pub fn pool_max(db: &DatabaseConnection) -> u32 {
    match db.get_database_backend() {
        DbBackend::Postgres => db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections(),
        DbBackend::MySql => db
            .get_mysql_connection_pool()
            .options()
            .get_max_connections(),
        _ => db
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
    }
}

/// The read pool of the requests served from `db` (a pool [`connect`] opened) on PostgreSQL
/// and MySQL: as many connections as sqlx's pool has, taken from it as needed (see
/// `entity::reads`). None on SQLite (see [`sqlx_share`]).
pub fn read_pool(db: &DatabaseConnection) -> Option<std::sync::Arc<entity::reads::ReadPool>> {
    if db.get_database_backend() == DbBackend::Sqlite {
        return None;
    }
    let max = usize::try_from(pool_max(db)).unwrap_or(usize::MAX);
    Some(std::sync::Arc::new(entity::reads::ReadPool::new(db, max)))
}

/// Connects, checking the URL's scheme first so a typo gets a clear message.
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let url = config.url.as_str();
    let sqlite = is_sqlite(url);
    let known = ["postgres://", "postgresql://", "mysql://", "mariadb://"];
    if !(sqlite || known.iter().any(|scheme| url.starts_with(scheme))) {
        return Err(DbErr::Custom(format!(
            "unsupported database URL {url:?}: use sqlite://, postgres:// or mysql://"
        )));
    }
    let url = url.replacen("mariadb://", "mysql://", 1);
    let backend = if sqlite {
        DbBackend::Sqlite
    } else if url.starts_with("mysql://") {
        DbBackend::MySql
    } else {
        DbBackend::Postgres
    };
    // The first connection decides; a process serves one database.
    let _ = BACKEND.set(backend);
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(sqlx_share(config.max_connections, sqlite))
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .sqlx_logging(false)
        .connect_lazy(config.lazy);
    // sqlx pings a connection on every checkout by default: a round trip, and on PostgreSQL a
    // wake-up of the backend process, for each statement (about as much PostgreSQL CPU as a
    // one-row lookup's own execution, docs/PERFORMANCE.md). A connection in steady use has
    // just proved itself (sqlx also pings each one as it goes back to the pool); one that sat
    // idle may have been dropped by the server or a firewall, and only those are tested. A
    // statement on a connection that died in between fails as unavailable (503 with
    // Retry-After) and the connection is discarded. A SQLite connection is a thread of this
    // process and cannot go stale.
    if sqlite {
        opts.test_before_acquire(false);
    } else {
        opts.test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    }
    if config.report_acquire {
        let trace = log::LevelFilter::Trace;
        opts.map_sqlx_postgres_pool_opts(move |o| o.acquire_time_level(trace))
            .map_sqlx_mysql_pool_opts(move |o| o.acquire_time_level(trace))
            .map_sqlx_sqlite_pool_opts(move |o| o.acquire_time_level(trace));
    }
    if backend == DbBackend::Postgres && config.pg_plan_cache == PlanCache::Generic {
        // A startup parameter, so every connection of the pool has it from its first
        // statement (and a reconnect after a restart too).
        opts.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_generic_plan")]));
    }
    if sqlite {
        let busy = config.sqlite_busy_timeout;
        opts.map_sqlx_sqlite_opts(move |o| {
            // A SQLite connection is a thread that sends its rows to the request one by one
            // through a channel of this size; sqlx's 50 is less than a page of 50 plus the
            // row that tells whether there is a next, so every such page stopped the thread
            // until the request took rows out (one more hand-off between threads per
            // statement). The channel allocates as rows arrive, not its size up front.
            o.row_buffer_size(SQLITE_ROW_CHANNEL)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy)
        });
    }
    Database::connect(opts).await
}

/// Connects for schema changes: a pool of one connection, on every backend.
///
/// Why one: each SQLite connection caches the schema, and a connection that last read it
/// before a `DROP TABLE` still sees the table's indexes. SQLite rechecks a stale cache when a
/// name is missing but not when one is found, so `CREATE INDEX` of a dropped index's name on
/// such a connection fails with "index ... already exists". sqlx puts a released connection
/// back in the pool on a spawned task, so the next statement of a migration may open a second
/// connection instead: `migrate fresh` (every migration down, then up) failed that way in CI.
/// Migrations run one statement after another anyway, so elsewhere one connection costs
/// nothing.
pub async fn connect_for_migrations(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut config = config.clone();
    config.max_connections = 1;
    connect(&config).await
}

/// Begins a transaction that will write.
///
/// On SQLite this is `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes
/// fails at once with "database is locked" when another writer got in between, whatever the
/// busy timeout; taking the write lock up front makes writers queue instead. PostgreSQL and
/// MySQL serialise writers on a row lock instead (see the service layer).
///
/// On MySQL the transaction is READ COMMITTED: under InnoDB's default REPEATABLE READ, a plain
/// `SELECT` after the row lock would still read the snapshot taken by the first read, before
/// the lock, and see orders another writer has since changed. PostgreSQL's default is already
/// READ COMMITTED, where every statement sees what committed before it began.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let mut options = TransactionOptions::default();
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate)
        }
        DbBackend::MySql => options.isolation_level = Some(IsolationLevel::ReadCommitted),
        _ => {}
    }
    db.begin_with_options(options).await
}

/// Whether a failed transaction lost a lock race and may simply be run again: a deadlock or
/// serialization failure (SQLSTATE 40P01 and 40001 on PostgreSQL; 40001, MySQL's deadlock
/// 1213, on MySQL) or SQLite's busy or locked database (result codes 5, 6 and 517).
pub fn is_transient_conflict(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Database(db) => db
                .code()
                .is_some_and(|code| matches!(code.as_ref(), "40001" | "40P01" | "5" | "6" | "517")),
            _ => false,
        },
        _ => false,
    }
}

/// Where a PostgreSQL primary inserts its next WAL record, as PostgreSQL writes a `pg_lsn`
/// (`16/B374D848`): at or past the end of every commit that has returned, whatever
/// `synchronous_commit` says (read replicas' read-your-writes, `stepgraph_web::replicas`).
pub async fn wal_insert_position(db: &(impl ConnectionTrait + 'static)) -> Option<String> {
    text_of(db, "SELECT CAST(pg_current_wal_insert_lsn() AS text)").await
}

/// How far a PostgreSQL replica has replayed its primary's WAL; a server that is not in
/// recovery (a "replica" that is a primary) answers with its own insert position.
pub async fn replayed_position(db: &(impl ConnectionTrait + 'static)) -> Option<String> {
    text_of(
        db,
        "SELECT CAST(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
         ELSE pg_current_wal_insert_lsn() END AS text)",
    )
    .await
}

async fn text_of(db: &(impl ConnectionTrait + 'static), sql: &str) -> Option<String> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(DbBackend::Postgres, sql))
        .await
        .ok()??;
    row.try_get_by_index::<Option<String>>(0).ok()?
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    /// The bundled SQLite keeps a statement's plan whatever is bound (`.cargo/config.toml`):
    /// without it every cached statement is re-prepared on each execution once the database
    /// has been analysed. It also keeps no process-wide memory statistics and no shared page
    /// cache, each of which serialises the connections' threads on one mutex.
    #[tokio::test]
    async fn sqlite_is_built_with_a_stable_query_planner() {
        // Not `connect`: the process's backend is decided by its first connection.
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let options: Vec<String> = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap())
            .collect();
        assert!(
            options.iter().any(|o| o == "ENABLE_QPSG"),
            "compile options: {options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "compile options: {options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "compile options: {options:?}"
        );
    }
}
