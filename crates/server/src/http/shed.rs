//! Load shedding in front of both APIs: a bound on requests in flight, and a rate limit per
//! bearer token.
//!
//! - **In flight.** At most `max_in_flight` API requests run at once; one more is answered at
//!   once with 503 and `Retry-After: 1`, never queued, so a burst cannot build a backlog that
//!   every later request waits behind.
//! - **Per token.** Each bearer token has a bucket of `rate_limit_per_minute` requests that
//!   refills continuously. Every response to a request with a token carries `RateLimit-Limit`,
//!   `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the bucket is full again, the
//!   IETF draft's names) and Outreach's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//!   `X-RateLimit-Reset` (the same instant as epoch seconds, which Outreach clients sleep
//!   until); an empty bucket is answered with 429, `Retry-After` and both sets. Buckets are keyed by the token's
//!   SHA-256, never the token, and their number is bounded: idle (full) buckets are dropped
//!   when the table is full, and a token that finds no room is served unlimited rather than
//!   refused (invalid tokens still get 401, and the in-flight bound still holds).
//!
//! - **Shared** (`serve --shared-rate-limit`, PostgreSQL only). With several instances behind
//!   a load balancer, per-instance buckets would let a token send N times the rate. Shared,
//!   each request takes from the token's bucket in PostgreSQL in one statement, so
//!   a token is cut off at the same count whichever instance it reaches
//!   (`service::rate_limits`). Why PostgreSQL: it
//!   is the store every such deployment already runs and already depends on (a Redis just
//!   for this would be one more thing to run, secure and lose). The table is `UNLOGGED`
//!   (no WAL, not copied to replicas: a crash resets the buckets, which only forgives some
//!   requests), keyed by the token's SHA-256, and its clock is the database's, so instances
//!   whose clocks differ still agree. The bucket is a GCRA: one row holds the time at which
//!   the bucket will be full again; it behaves exactly as the local bucket. When the
//!   statement fails the request is served unlimited, as when the local table is full: the
//!   limit protects the service, and the request needs the database anyway. The cost is
//!   that statement, on the primary, for every request with a token.
//!
//! Both limits answer in the API's own error format (GraphQL or JSON:API), chosen by path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::{DatabaseConnection, DbBackend};
use stepgraph_domain::service::rate_limits;
use tokio::sync::Semaphore;

use crate::SharedState;

/// The shared bucket's window: an empty bucket is full again after a minute.
const WINDOW_US: i64 = 60_000_000;

/// The most buckets kept at once.
const MAX_BUCKETS: usize = 10_000;

/// The shared state of both limits.
pub struct Shedding {
    in_flight: Arc<Semaphore>,
    per_minute: u32,
    buckets: Mutex<Buckets>,
    /// The database holding the shared buckets; `None`: buckets are this process's.
    shared: Option<DatabaseConnection>,
}

struct Buckets {
    by_token: HashMap<[u8; 32], Bucket>,
    /// When idle buckets were last dropped: at most once a second, so a flood of new tokens
    /// against a full table costs a lookup each, not a scan of the table each.
    pruned: Option<Instant>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What the rate limit decided for one request.
enum Verdict {
    Allowed { remaining: u32, reset_secs: u64 },
    Limited { retry_after_secs: u64 },
    Unlimited,
}

impl Shedding {
    /// `per_minute` 0 turns the rate limit off.
    pub fn new(max_in_flight: usize, per_minute: u32) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            per_minute,
            buckets: Mutex::new(Buckets {
                by_token: HashMap::new(),
                pruned: None,
            }),
            shared: None,
        }
    }

    /// Keeps the buckets in `db` (PostgreSQL), shared by every instance on it, and starts a
    /// task that forgets full buckets once a minute.
    pub fn shared(mut self, db: DatabaseConnection) -> Result<Self, String> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Err("a shared rate limit needs PostgreSQL".into());
        }
        if self.per_minute > 0 {
            let pruner = db.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    every.tick().await;
                    if let Err(err) = rate_limits::prune(&pruner).await {
                        tracing::warn!(error = %err, "cannot prune the shared rate limit's buckets");
                    }
                }
            });
        }
        self.shared = Some(db);
        Ok(self)
    }

    /// The verdict for the request's token; a request without one is not limited. With the
    /// limit off nothing is asked, not even the token's hash (the authentication hashes it
    /// again, for another purpose).
    async fn verdict(&self, headers: &HeaderMap) -> Verdict {
        if self.per_minute == 0 {
            return Verdict::Unlimited;
        }
        let Some(key) = stepgraph_web::bearer_key(headers) else {
            return Verdict::Unlimited;
        };
        match &self.shared {
            Some(db) => self.take_shared(db, key).await,
            None => self.take(key, Instant::now()),
        }
    }

    async fn take_shared(&self, db: &DatabaseConnection, key: [u8; 32]) -> Verdict {
        let interval = emission_interval_us(self.per_minute);
        match rate_limits::take(db, key, interval, WINDOW_US).await {
            Ok(Some(taken)) => shared_verdict(taken.ahead_us, taken.allowed, interval, WINDOW_US),
            Ok(None) => Verdict::Unlimited,
            Err(err) => {
                tracing::warn!(error = %err, "the shared rate limit is unavailable; serving unlimited");
                Verdict::Unlimited
            }
        }
    }

    fn take(&self, key: [u8; 32], now: Instant) -> Verdict {
        if self.per_minute == 0 {
            return Verdict::Unlimited;
        }
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        let mut guard = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Buckets { by_token, pruned } = &mut *guard;
        if !by_token.contains_key(&key) && by_token.len() >= MAX_BUCKETS {
            if pruned.is_none_or(|at| now.duration_since(at).as_secs() >= 1) {
                by_token.retain(|_, b| {
                    b.tokens + now.duration_since(b.at).as_secs_f64() * rate < capacity
                });
                *pruned = Some(now);
            }
            if by_token.len() >= MAX_BUCKETS {
                return Verdict::Unlimited;
            }
        }
        let bucket = by_token.entry(key).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Allowed {
                remaining: bucket.tokens.floor() as u32,
                reset_secs: ((capacity - bucket.tokens) / rate).ceil() as u64,
            }
        } else {
            Verdict::Limited {
                retry_after_secs: ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64,
            }
        }
    }
}

/// The shared bucket's time per request, in µs: at least one, so a limit above 60 million a
/// minute (which the bucket cannot tell apart from unlimited anyway) never divides by zero.
fn emission_interval_us(per_minute: u32) -> i64 {
    (WINDOW_US / i64::from(per_minute.max(1))).max(1)
}

/// A shared bucket's answer as a verdict: `ahead` is how far (µs) its full-again time is
/// past now, after the request when it was `allowed`.
fn shared_verdict(ahead: i64, allowed: bool, interval: i64, window: i64) -> Verdict {
    let secs = |us: i64| (us.max(0) as u64).div_ceil(1_000_000);
    if allowed {
        Verdict::Allowed {
            remaining: u32::try_from((window - ahead).max(0) / interval).unwrap_or(u32::MAX),
            reset_secs: secs(ahead),
        }
    } else {
        Verdict::Limited {
            retry_after_secs: secs(ahead + interval - window).max(1),
        }
    }
}

/// An error in the format of the API the path belongs to.
fn refuse(path: &str, status: StatusCode, code: &str, message: &str, retry_after: u64) -> Response {
    let mut res = if path.starts_with("/api/") {
        crate::rest::error::ApiError::plain(status.as_u16(), message).into_response()
    } else {
        crate::http::graphql::error_response(status, code, message)
    };
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The middleware over `/graphql` and `/api/v2`.
pub async fn shed(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let Ok(_permit) = state.shedding.in_flight.clone().try_acquire_owned() else {
        tracing::warn!(path, "shedding load: too many requests in flight");
        if let Some(m) = &state.metrics {
            m.shed(503, "in_flight");
        }
        return refuse(
            &path,
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "the server is busy; retry in a moment",
            1,
        );
    };
    let verdict = state.shedding.verdict(req.headers()).await;
    let per_minute = state.shedding.per_minute;
    match verdict {
        Verdict::Limited { retry_after_secs } => {
            if let Some(m) = &state.metrics {
                m.shed(429, "rate_limit");
            }
            let mut res = refuse(
                &path,
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                &format!(
                    "this token sent more than {per_minute} requests in a minute; retry in {retry_after_secs} s"
                ),
                retry_after_secs,
            );
            set_headers(res.headers_mut(), per_minute, 0, retry_after_secs);
            res
        }
        Verdict::Allowed {
            remaining,
            reset_secs,
        } => {
            let mut res = next.run(req).await;
            set_headers(res.headers_mut(), per_minute, remaining, reset_secs);
            res
        }
        Verdict::Unlimited => next.run(req).await,
    }
}

fn set_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, reset: u64) {
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (name, value) in [
        ("ratelimit-limit", u64::from(limit)),
        ("ratelimit-remaining", u64::from(remaining)),
        ("ratelimit-reset", reset),
        ("x-ratelimit-limit", u64::from(limit)),
        ("x-ratelimit-remaining", u64::from(remaining)),
        ("x-ratelimit-reset", epoch.saturating_add(reset)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_empty_and_refill() {
        let s = Shedding::new(1, 60);
        let t0 = Instant::now();
        for i in 0..60 {
            assert!(
                matches!(s.take([1; 32], t0), Verdict::Allowed { remaining, .. } if remaining == 59 - i)
            );
        }
        assert!(matches!(
            s.take([1; 32], t0),
            Verdict::Limited {
                retry_after_secs: 1
            }
        ));
        // Another token has its own bucket; one second refills one request.
        assert!(matches!(s.take([2; 32], t0), Verdict::Allowed { .. }));
        assert!(matches!(
            s.take([1; 32], t0 + Duration::from_secs(1)),
            Verdict::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            Shedding::new(1, 0).take([1; 32], t0),
            Verdict::Unlimited
        ));
    }

    /// The shared bucket's answer reads as the local bucket's: after the first request of a
    /// full bucket of 60 a minute, 59 are left and it is full again in a second; a refused
    /// request retries when one request has refilled.
    #[test]
    fn the_shared_interval_is_never_zero() {
        assert_eq!(emission_interval_us(60), 1_000_000);
        assert_eq!(emission_interval_us(u32::MAX), 1);
        assert_eq!(emission_interval_us(0), WINDOW_US);
        assert!(matches!(
            shared_verdict(1, true, emission_interval_us(u32::MAX), WINDOW_US),
            Verdict::Allowed { .. }
        ));
    }

    #[test]
    fn shared_answers_read_as_the_local_bucket() {
        let (interval, window) = (1_000_000, 60_000_000);
        assert!(matches!(
            shared_verdict(interval, true, interval, window),
            Verdict::Allowed {
                remaining: 59,
                reset_secs: 1
            }
        ));
        assert!(matches!(
            shared_verdict(window, true, interval, window),
            Verdict::Allowed {
                remaining: 0,
                reset_secs: 60
            }
        ));
        assert!(matches!(
            shared_verdict(window, false, interval, window),
            Verdict::Limited {
                retry_after_secs: 1
            }
        ));
        assert!(matches!(
            shared_verdict(window - 1, false, 7 * interval, window),
            Verdict::Limited {
                retry_after_secs: 7
            }
        ));
    }
}
