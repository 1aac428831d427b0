//! The shared rate limit's buckets in PostgreSQL (`serve --shared-rate-limit`; the HTTP side,
//! headers and verdicts, is `crates/server/src/http/shed.rs`).
//!
//! One row per token (its SHA-256) in the `UNLOGGED` table `rate_limit_buckets`, holding a
//! GCRA's "theoretical arrival time": when the bucket is full again. A request is allowed while
//! that time, after the request, stays within one window of now. The clock is the database's,
//! so instances whose clocks differ still agree.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::AppResult;

/// Takes one request from a token's bucket: `$1` the key, `$2` the emission interval (µs per
/// request), `$3` the window (µs to refill an empty bucket). Both SET expressions read the
/// row as it was.
const TAKE: &str = "\
INSERT INTO rate_limit_buckets AS b (key, tat_us, allowed) \
VALUES ($1, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint) + $2, true) \
ON CONFLICT (key) DO UPDATE SET \
tat_us = CASE WHEN GREATEST(b.tat_us, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint)) + $2 \
- CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint) <= $3 \
THEN GREATEST(b.tat_us, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint)) + $2 ELSE b.tat_us END, \
allowed = GREATEST(b.tat_us, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint)) + $2 \
- CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint) <= $3 \
RETURNING tat_us, allowed, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint) AS now_us";

/// Forgets buckets that are full again (their row says nothing a new row would not).
const PRUNE: &str = "DELETE FROM rate_limit_buckets \
WHERE tat_us < CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS bigint)";

/// What one take found: whether the request is allowed, and how far (µs) the bucket's
/// full-again time now is past the database's now.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub allowed: bool,
    pub ahead_us: i64,
}

/// Takes one request from the bucket of the token hashed to `key`.
pub async fn take(
    db: &(impl ConnectionTrait + 'static),
    key: [u8; 32],
    interval_us: i64,
    window_us: i64,
) -> AppResult<Option<Taken>> {
    let take = Statement::from_sql_and_values(
        DbBackend::Postgres,
        TAKE,
        [key.to_vec().into(), interval_us.into(), window_us.into()],
    );
    let Some(row) = db.query_one_raw(take).await? else {
        return Ok(None);
    };
    let tat: i64 = row.try_get("", "tat_us")?;
    let now: i64 = row.try_get("", "now_us")?;
    Ok(Some(Taken {
        allowed: row.try_get("", "allowed")?,
        ahead_us: tat - now,
    }))
}

/// Deletes the buckets that are full again.
pub async fn prune(db: &(impl ConnectionTrait + 'static)) -> AppResult<()> {
    db.execute_raw(Statement::from_string(DbBackend::Postgres, PRUNE))
        .await?;
    Ok(())
}
