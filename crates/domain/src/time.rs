//! The server's clock.
//!
//! Timestamps are truncated to microseconds because PostgreSQL and MySQL's `DATETIME(6)` store
//! no more; a value kept in memory with nanoseconds would not equal its stored copy, and
//! keyset cursors built from it would skip or repeat rows.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, in UTC, at the precision every backend stores.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
