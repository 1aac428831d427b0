//! Reads from PostgreSQL streaming replicas, with read-your-writes (`serve
//! --read-database-url`).
//!
//! Queries (GraphQL queries, JSON:API `GET`s) go to a replica; mutations, writes, ingest, the
//! token lookup, subscriptions and the change feed stay on the primary (a subscription's
//! nodes are read where its change was seen, so it never misses one).
//!
//! **Read-your-writes.** A write's answer carries `X-Commit-Position`: the primary's WAL
//! insert position once the write committed, which is at or past the commit's record. A
//! client sends the last position it got back on every request; the server also remembers
//! each token's last write position for a while, so a client that does not echo the header
//! still reads its own writes on this instance (an instance behind a load balancer sees only
//! the requests it gets: across instances, echo the header). A read that must see a position
//! goes to a replica that has replayed past it; if none has, it waits up to `--replica-wait-ms`
//! asking the replicas again, then reads from the primary. It never reads stale.
//!
//! **Health.** A monitor asks the primary for its position and each replica for its replayed
//! position every [`MONITOR_EVERY`]. A replica's lag is how long ago the primary was at a
//! position the replica has not replayed yet (0 when it has replayed everything the primary
//! had at the last look). A replica that does not answer, or lags more than
//! `--max-replica-lag`, is skipped until it catches up: never an error. A replica whose
//! statement fails during a read is skipped at once, until the monitor sees it again.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};
use sea_orm::DatabaseConnection;

/// The header of a write's commit position, sent back by clients on later requests.
pub const POSITION_HEADER: &str = "x-commit-position";

/// How often the monitor looks at the primary and the replicas.
pub const MONITOR_EVERY: Duration = Duration::from_millis(100);

/// The most tokens whose last write position is remembered at once.
const MAX_REMEMBERED: usize = 10_000;

/// How long a token's last write position is remembered: a replica that has not replayed
/// a write this old lags more than any sensible `--max-replica-lag` and is skipped anyway.
const REMEMBER_FOR: Duration = Duration::from_secs(60);

/// A position in PostgreSQL's write-ahead log (a `pg_lsn`), written as PostgreSQL writes it:
/// two hexadecimal halves, `16/B374D848`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.trim().split_once('/')?;
        let hex = |s: &str| {
            (!s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(s, 16).ok())
                .flatten()
        };
        Some(Self((u64::from(hex(high)?) << 32) | u64::from(hex(low)?)))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Where one request reads.
pub struct Reader {
    pub db: DatabaseConnection,
    /// The replica's index; `None`: the primary.
    replica: Option<usize>,
}

impl Reader {
    /// Whether the read goes to a replica.
    pub fn on_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// The read pool for a request read through `reader` (`None`: the primary), given the
    /// primary's: the read pool is the primary's, so a replica's reads go through its own
    /// pool.
    pub fn read_pool<'p>(
        reader: Option<&Self>,
        primary: Option<&'p std::sync::Arc<entity::reads::ReadPool>>,
    ) -> Option<&'p std::sync::Arc<entity::reads::ReadPool>> {
        if reader.is_some_and(Self::on_replica) {
            None
        } else {
            primary
        }
    }
}

/// A request's `X-Commit-Position` that is not a position.
#[derive(Debug)]
pub struct BadPosition;

impl std::fmt::Display for BadPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "X-Commit-Position must be a position as a write's answer gave it (like 16/B374D848)",
        )
    }
}

struct Replica {
    label: String,
    db: DatabaseConnection,
    /// The position it had replayed at the last look (an [`Lsn`]).
    replayed: AtomicU64,
    /// It answered at the last look and lags no more than allowed.
    usable: AtomicBool,
    /// Its lag at the last look, in µs (`u64::MAX`: it did not answer).
    lag_us: AtomicU64,
}

/// Where reads went, for the metrics: `replica`; `primary_no_replica` (none usable),
/// `primary_behind` (none had replayed the client's writes in time), `primary_retry` (the
/// replica failed under the read).
pub type ReadHook = Arc<dyn Fn(&'static str) + Send + Sync>;

/// A replica's state at the monitor's last look.
pub struct Health {
    pub label: String,
    pub usable: bool,
    /// `None`: it did not answer.
    pub lag: Option<Duration>,
}

/// The replicas of one primary, their health, and the positions tokens wrote.
pub struct Replicas {
    primary: DatabaseConnection,
    replicas: Vec<Replica>,
    max_lag: Duration,
    wait: Duration,
    /// Round robin over the usable replicas.
    next: AtomicUsize,
    /// Each token's last write position (by the token's SHA-256) and when it was written.
    written: Mutex<HashMap<[u8; 32], (Lsn, Instant)>>,
    reads: std::sync::OnceLock<ReadHook>,
}

/// Where the primary is, or how far a replica has replayed.
#[derive(Clone, Copy)]
enum Ask {
    Primary,
    Replayed,
}

async fn position(db: &DatabaseConnection, ask: Ask) -> Option<Lsn> {
    let text = match ask {
        Ask::Primary => stepgraph_domain::db::wal_insert_position(db).await,
        Ask::Replayed => stepgraph_domain::db::replayed_position(db).await,
    };
    Lsn::parse(&text?)
}

impl Replicas {
    /// Starts watching `replicas` (label, connection) of `primary`; reads go to them from the
    /// monitor's first look on.
    pub fn start(
        primary: DatabaseConnection,
        replicas: Vec<(String, DatabaseConnection)>,
        max_lag: Duration,
        wait: Duration,
    ) -> Arc<Self> {
        let this = Arc::new(Self {
            primary,
            replicas: replicas
                .into_iter()
                .map(|(label, db)| Replica {
                    label,
                    db,
                    replayed: AtomicU64::new(0),
                    usable: AtomicBool::new(false),
                    lag_us: AtomicU64::new(u64::MAX),
                })
                .collect(),
            max_lag,
            wait,
            next: AtomicUsize::new(0),
            written: Mutex::new(HashMap::new()),
            reads: std::sync::OnceLock::new(),
        });
        let weak = Arc::downgrade(&this);
        tokio::spawn(async move {
            let mut samples = VecDeque::new();
            let mut every = tokio::time::interval(MONITOR_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(this) = weak.upgrade() else { return };
                this.look(&mut samples).await;
            }
        });
        this
    }

    /// One look of the monitor: the primary's position joins `samples` (the recent history
    /// the lags are read from), then each replica is asked how far it has replayed.
    async fn look(&self, samples: &mut VecDeque<(Instant, Lsn)>) {
        let now = Instant::now();
        if let Some(at) = position(&self.primary, Ask::Primary).await
            && samples.back().is_none_or(|&(_, last)| at > last)
        {
            samples.push_back((now, at));
        }
        // Only the oldest sample past a replayed position matters: keep one older than the
        // lag bound, so a replica stuck for longer is still seen as lagging.
        while samples.len() > 1 && now.duration_since(samples[1].0) > self.max_lag * 2 {
            samples.pop_front();
        }
        let looks = self.replicas.iter().map(|r| async move {
            let replayed =
                tokio::time::timeout(Duration::from_secs(1), position(&r.db, Ask::Replayed)).await;
            (r, replayed.ok().flatten())
        });
        for (replica, replayed) in futures_util::future::join_all(looks).await {
            let usable = match replayed {
                Some(replayed) => {
                    replica.replayed.fetch_max(replayed.0, Ordering::Relaxed);
                    let lag = lag(samples, replayed, now);
                    let us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX - 1);
                    replica.lag_us.store(us, Ordering::Relaxed);
                    lag <= self.max_lag
                }
                None => {
                    replica.lag_us.store(u64::MAX, Ordering::Relaxed);
                    false
                }
            };
            if replica.usable.swap(usable, Ordering::Relaxed) != usable {
                if usable {
                    tracing::info!(replica = %replica.label, "replica in use");
                } else {
                    tracing::warn!(
                        replica = %replica.label,
                        "replica skipped: it does not answer or lags more than --max-replica-lag"
                    );
                }
            }
        }
    }

    /// Where a read runs: a usable replica that has replayed every position this request
    /// must see (its `X-Commit-Position` and its token's last write), after waiting up to
    /// `wait` for one; else the primary.
    pub async fn reader(&self, headers: &HeaderMap) -> Result<Reader, BadPosition> {
        let sent = match headers.get(POSITION_HEADER) {
            None => None,
            Some(v) => Some(v.to_str().ok().and_then(Lsn::parse).ok_or(BadPosition)?),
        };
        let remembered = self.remembered(headers);
        let needed = sent.max(remembered).unwrap_or_default();
        let deadline = Instant::now() + self.wait;
        loop {
            if let Some(replica) = self.pick(needed) {
                self.count("replica");
                return Ok(Reader {
                    db: self.replicas[replica].db.clone(),
                    replica: Some(replica),
                });
            }
            let none_usable = !self
                .replicas
                .iter()
                .any(|r| r.usable.load(Ordering::Relaxed));
            if none_usable || Instant::now() >= deadline {
                self.count(if none_usable {
                    "primary_no_replica"
                } else {
                    "primary_behind"
                });
                return Ok(Reader {
                    db: self.primary.clone(),
                    replica: None,
                });
            }
            // The monitor's last look may be old: ask the usable replicas again.
            let asks = self
                .replicas
                .iter()
                .filter(|r| r.usable.load(Ordering::Relaxed))
                .map(|r| async move {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if let Ok(Some(at)) =
                        tokio::time::timeout(left, position(&r.db, Ask::Replayed)).await
                    {
                        r.replayed.fetch_max(at.0, Ordering::Relaxed);
                    }
                });
            futures_util::future::join_all(asks).await;
            if self.pick(needed).is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(left.min(Duration::from_millis(5))).await;
            }
        }
    }

    /// The next usable replica, round robin, that has replayed `needed`.
    fn pick(&self, needed: Lsn) -> Option<usize> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| (start + i) % n).find(|&i| {
            let r = &self.replicas[i];
            r.usable.load(Ordering::Relaxed) && r.replayed.load(Ordering::Relaxed) >= needed.0
        })
    }

    /// A read on `reader` failed for want of its database: a replica is skipped until the
    /// monitor's next look finds it well.
    pub fn failed(&self, reader: &Reader) {
        self.count("primary_retry");
        if let Some(replica) = reader.replica.map(|i| &self.replicas[i])
            && replica.usable.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(replica = %replica.label, "replica skipped: a read on it failed");
        }
    }

    /// Sends where each read goes to `hook` (the metrics).
    pub fn observe_reads(&self, hook: ReadHook) {
        let _ = self.reads.set(hook);
    }

    fn count(&self, read: &'static str) {
        if let Some(hook) = self.reads.get() {
            hook(read);
        }
    }

    /// Each replica's state at the monitor's last look.
    pub fn health(&self) -> Vec<Health> {
        self.replicas
            .iter()
            .map(|r| {
                let us = r.lag_us.load(Ordering::Relaxed);
                Health {
                    label: r.label.clone(),
                    usable: r.usable.load(Ordering::Relaxed),
                    lag: (us != u64::MAX).then(|| Duration::from_micros(us)),
                }
            })
            .collect()
    }

    /// After a write committed: the primary's position, remembered for the request's token
    /// and returned as the `X-Commit-Position` value; `None` when the primary did not answer
    /// (the write stands; a later read may then come from a replica without it, which the
    /// client sees only if it reads within the replicas' lag).
    pub async fn written(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let at = position(&self.primary, Ask::Primary).await?;
        if let Some(key) = crate::bearer_key(headers) {
            let now = Instant::now();
            let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
            if written.len() >= MAX_REMEMBERED && !written.contains_key(&key) {
                written.retain(|_, (_, when)| now.duration_since(*when) < REMEMBER_FOR);
            }
            if written.len() < MAX_REMEMBERED || written.contains_key(&key) {
                let entry = written.entry(key).or_insert((at, now));
                *entry = (entry.0.max(at), now);
            }
        }
        HeaderValue::from_str(&at.to_string()).ok()
    }

    fn remembered(&self, headers: &HeaderMap) -> Option<Lsn> {
        let written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if written.is_empty() {
            return None;
        }
        let key = crate::bearer_key(headers)?;
        written
            .get(&key)
            .filter(|(_, when)| when.elapsed() < REMEMBER_FOR)
            .map(|&(at, _)| at)
    }
}

/// How far behind a replica that has replayed `replayed` is: how long ago the primary was at
/// the first position (of its recent `samples`) past it.
fn lag(samples: &VecDeque<(Instant, Lsn)>, replayed: Lsn, now: Instant) -> Duration {
    samples
        .iter()
        .find(|&&(_, at)| at > replayed)
        .map_or(Duration::ZERO, |&(when, _)| now.duration_since(when))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_print_as_postgresql_does() {
        let at = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(at.0, 0x16_B374_D848);
        assert_eq!(at.to_string(), "16/B374D848");
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert!(Lsn::parse("0/1") > Lsn::parse("0/0"));
        assert!(Lsn::parse("1/0") > Lsn::parse("0/FFFFFFFF"));
        for bad in [
            "",
            "16",
            "16/",
            "/1",
            "g/1",
            "1/123456789",
            "-1/2",
            "1/ 2",
            "1/2/3",
        ] {
            assert_eq!(Lsn::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lag_is_the_age_of_the_first_position_not_replayed() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let samples: VecDeque<_> = [(t0, Lsn(10)), (t0 + s(1), Lsn(20)), (t0 + s(2), Lsn(30))]
            .into_iter()
            .collect();
        let now = t0 + s(5);
        assert_eq!(lag(&samples, Lsn(30), now), Duration::ZERO);
        assert_eq!(lag(&samples, Lsn(35), now), Duration::ZERO);
        assert_eq!(lag(&samples, Lsn(25), now), s(3));
        assert_eq!(lag(&samples, Lsn(20), now), s(3));
        assert_eq!(lag(&samples, Lsn(5), now), s(5));
    }
}
