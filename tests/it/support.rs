//! Test support: a fresh, migrated database per test, and fixtures.
//!
//! `TEST_DATABASE_URL` unset: each test uses its own SQLite file. Set to a PostgreSQL or MySQL
//! server URL (`postgres://postgres@127.0.0.1:5432/postgres`, `mysql://root@127.0.0.1:3306`):
//! each test creates its own database on that server, so tests run in parallel, and drops it
//! when it passes. An unreachable server fails the test; it is never skipped.

use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{TimeZone, Utc};
use entity::enums::{Role, SequenceType, ShareType};
use entity::{sequence, user};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, IntoActiveModel, Statement,
};
use serde_json::json;
use stepgraph::auth::Viewer;
use stepgraph::db::{self, DbConfig};

pub struct TestDb {
    pub db: DatabaseConnection,
    /// How to drop this test's database afterwards: (admin URL, database name), or a file.
    cleanup: Cleanup,
}

enum Cleanup {
    /// Another test's database, reached through a second pool: nothing to drop.
    Shared,
    File(std::path::PathBuf),
    Server {
        admin_url: String,
        name: String,
    },
}

static ANNOUNCE: Once = Once::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "sgtest_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos
    )
}

/// The server URL under test, if any. Under CI an empty value is a configuration error.
fn server_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        Ok(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("TEST_DATABASE_URL is set but empty under CI")
        }
        _ => None,
    }
}

/// Replaces the database part of a server URL (`scheme://user@host:port/db?x`).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..host_end])
}

impl TestDb {
    /// A fresh database holding the sized seed's data set of `opts`.
    pub async fn sized(opts: stepgraph::seed::sized::SizedOptions) -> Self {
        let test = Self::new().await;
        stepgraph::seed::sized::load(&test.db, opts)
            .await
            .expect("sized seed");
        test
    }

    /// A fresh database with every migration applied.
    pub async fn new() -> Self {
        let test = Self::empty().await;
        let migrations = test.connect_for_migrations().await;
        Migrator::up(&migrations, None)
            .await
            .expect("migrations apply");
        migrations.close().await.ok();
        test
    }

    /// A fresh database with no tables.
    pub async fn empty() -> Self {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            stepgraph::cli::init_logging(&filter);
        }
        match server_url() {
            None => {
                ANNOUNCE.call_once(|| {
                    eprintln!(
                        "note: tests run on SQLite only; set TEST_DATABASE_URL to a postgres:// \
                         or mysql:// server URL to run them there"
                    )
                });
                let dir = std::env::temp_dir().join("stepgraph-tests");
                std::fs::create_dir_all(&dir).expect("temp dir");
                let path = dir.join(format!("{}.db", unique_name()));
                let db = db::connect(&small(&format!("sqlite://{}", path.display())))
                    .await
                    .expect("open SQLite");
                Self {
                    db,
                    cleanup: Cleanup::File(path),
                }
            }
            Some(url) => {
                let name = unique_name();
                let admin = db::connect(&small(&url))
                    .await
                    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL server unreachable: {e}"));
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let db = db::connect(&small(&with_database(&url, &name)))
                    .await
                    .expect("connect to test database");
                Self {
                    db,
                    cleanup: Cleanup::Server {
                        admin_url: url,
                        name,
                    },
                }
            }
        }
    }

    /// A second, independent pool on the same database: what another server instance has.
    pub async fn connect_again(&self) -> DatabaseConnection {
        db::connect(&small(&self.url()))
            .await
            .expect("second connection")
    }

    /// A one-connection pool on the same database, as the server migrates through
    /// ([`db::connect_for_migrations`]).
    pub async fn connect_for_migrations(&self) -> DatabaseConnection {
        db::connect_for_migrations(&small(&self.url()))
            .await
            .expect("migration connection")
    }

    fn url(&self) -> String {
        match &self.cleanup {
            Cleanup::Shared => panic!("a shared handle does not know its database's URL"),
            Cleanup::File(path) => format!("sqlite://{}", path.display()),
            Cleanup::Server { admin_url, name } => with_database(admin_url, name),
        }
    }

    /// A handle on a database another `TestDb` owns (from [`TestDb::connect_again`]);
    /// finishing it only closes the pool.
    pub fn sharing(db: DatabaseConnection) -> Self {
        Self {
            db,
            cleanup: Cleanup::Shared,
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Drops the test's database. Called at the end of a passing test; a failing test leaves
    /// it behind for inspection.
    pub async fn finish(self) {
        self.db.close().await.ok();
        match self.cleanup {
            Cleanup::Shared => {}
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Server { admin_url, name } => {
                if let Ok(admin) = db::connect(&small(&admin_url)).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }

    pub async fn exec(&self, sql: &str) -> Result<(), sea_orm::DbErr> {
        self.db
            .execute_raw(Statement::from_string(self.backend(), sql.to_string()))
            .await
            .map(|_| ())
    }
}

/// Every test pool has 8 connections, SQLite's too (the server's default there is 4): the
/// concurrency tests want writers queueing on the database's locks, not on the pool.
fn small(url: &str) -> DbConfig {
    let mut config = DbConfig::new(url);
    config.max_connections = 8;
    config
}

/// Users of every role and sequences of every kind, owned by `owner`.
pub struct Fixture {
    pub admin: Viewer,
    pub owner: Viewer,
    pub other: Viewer,
    pub viewer: Viewer,
    pub interval_shared: sequence::Model,
    pub interval_private: sequence::Model,
    pub interval_read_only: sequence::Model,
    pub date_shared: sequence::Model,
    pub locked: sequence::Model,
}

pub async fn fixture(db: &DatabaseConnection) -> Fixture {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut viewers = Vec::new();
    for (i, role) in [Role::Admin, Role::Member, Role::Member, Role::Viewer]
        .into_iter()
        .enumerate()
    {
        let u = user::Model {
            id: 0,
            email: format!("user{i}@test.example"),
            first_name: Some(format!("User{i}")),
            last_name: None,
            username: None,
            title: None,
            role,
            locked: false,
            created_at: at,
            updated_at: at,
        };
        let mut am = u.into_active_model();
        am.id = sea_orm::ActiveValue::NotSet;
        let u = am.insert(db).await.expect("insert user");
        viewers.push(Viewer {
            user_id: u.id,
            role,
        });
    }
    let owner = viewers[1];
    let seq = |name: &str, sequence_type, share_type, locked| {
        let m = sequence::Model {
            enabled: true,
            enabled_at: Some(at),
            locked,
            tags: json!(["t"]),
            updater_id: None,
            ..stepgraph::seed::sequence(
                0,
                name.into(),
                sequence_type,
                share_type,
                owner.user_id,
                at,
            )
        };
        let mut am = m.into_active_model();
        am.id = sea_orm::ActiveValue::NotSet;
        am
    };
    let insert = async |am: sequence::ActiveModel| am.insert(db).await.expect("insert sequence");
    let interval_shared = insert(seq(
        "shared",
        SequenceType::Interval,
        ShareType::Shared,
        false,
    ))
    .await;
    let interval_private = insert(seq(
        "private",
        SequenceType::Interval,
        ShareType::Private,
        false,
    ))
    .await;
    let interval_read_only = insert(seq(
        "read only",
        SequenceType::Interval,
        ShareType::ReadOnly,
        false,
    ))
    .await;
    let date_shared = insert(seq("dated", SequenceType::Date, ShareType::Shared, false)).await;
    let locked = insert(seq(
        "locked",
        SequenceType::Interval,
        ShareType::Shared,
        true,
    ))
    .await;
    Fixture {
        admin: viewers[0],
        owner,
        other: viewers[2],
        viewer: viewers[3],
        interval_shared,
        interval_private,
        interval_read_only,
        date_shared,
        locked,
    }
}
