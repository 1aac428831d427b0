//! Schema migrations of stepgraph.
//!
//! The same migrations run, and run down again, on SQLite, PostgreSQL and MySQL/MariaDB. Where
//! the backends differ (timestamp and long-text types, which length function a CHECK uses,
//! whether `VARCHAR(n)` is enforced at all) the choice is made in [`columns`], in one place.
//! A migration that has landed on main is never edited; schema changes come as new migrations.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261127_000001_initial_schema;
mod m20261128_000001_token_expiry;
mod m20261128_000002_mailing_events;
mod m20261128_000003_change_feed;
mod m20261201_000001_auth_feed;
mod m20261203_000001_event_key_scope;
mod m20261203_000002_mirror_checkpoints;
mod m20261204_000001_rate_limit_buckets;
mod m20261205_000001_auth_feed_sqlite;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_initial_schema::Migration),
            Box::new(m20261128_000001_token_expiry::Migration),
            Box::new(m20261128_000002_mailing_events::Migration),
            Box::new(m20261128_000003_change_feed::Migration),
            Box::new(m20261201_000001_auth_feed::Migration),
            Box::new(m20261203_000001_event_key_scope::Migration),
            Box::new(m20261203_000002_mirror_checkpoints::Migration),
            Box::new(m20261204_000001_rate_limit_buckets::Migration),
            Box::new(m20261205_000001_auth_feed_sqlite::Migration),
        ]
    }
}
