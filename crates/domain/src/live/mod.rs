//! The change feed of one server: reads `change_feed` (written by every instance's writes, see
//! [`crate::service::changes`]) and broadcasts what changed to this server's subscriptions.
//!
//! One reader task per server state. It wakes when this process commits a change ([`poke`]),
//! when PostgreSQL notifies `stepgraph_changes` (another instance, or the CLI, committed one),
//! and once a second regardless (other backends, a lost notification). Each wake reads the
//! rows after its cursor, loads the current state of the changed steps and sequences once
//! (unrestricted: each subscription then applies its own viewer's visibility), and sends one
//! [`Batch`] on a bounded broadcast channel. A subscription that falls more than the backlog
//! (`--subscription-backlog`, 256 batches) behind is told so and ends, so a slow client
//! costs a cursor, not memory.
//!
//! Ids are allocated when a row is inserted but become visible when its transaction commits,
//! so on PostgreSQL and MySQL a smaller id can appear after a larger one. The cursor therefore
//! keeps the ids it skipped ("gaps") open for a grace period (5 s), and delivers them if they show
//! up; an id still missing after that was rolled back.
//!
//! [`poke`]: crate::service::changes::poke

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use entity::enums::{ChangeKind, ChangedEntity};
use entity::{change_feed, sequence, sequence_step};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::{Notify, broadcast};

use crate::auth::tokens::AuthCache;
use crate::service::changes;
use crate::service::resource::any_id;

/// Feed rows read per statement.
const PAGE: u64 = 1000;
/// How long a skipped id may still show up (a transaction that committed late).
const GAP_GRACE: Duration = Duration::from_secs(5);
/// How often the feed is read when nothing woke the reader.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// After a wake-up, the reader waits this long before it reads, so the commits of a burst
/// are read in one statement. Why: every instance reads every commit's rows; woken per
/// commit, N instances under W writes a second ran 2·N·W statements on the primary (about
/// 0.37 ms of its CPU per write per instance, docs/SCALING.md), which grows with both and
/// would be the first thing to saturate. Batched, each instance reads at most 1/COALESCE
/// times a second, for a few milliseconds of delivery latency.
const COALESCE: Duration = Duration::from_millis(5);
/// Feed rows older than this are deleted (by every instance; deleting twice is harmless).
const RETENTION: chrono::Duration = chrono::Duration::minutes(10);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What changed since the previous batch, with the current state of the changed rows.
#[derive(Debug, Default)]
pub struct Batch {
    /// In feed order; repeated updates of one row within the batch are kept once (the last).
    pub changes: Vec<change_feed::Model>,
    /// The changed steps that still exist, by id.
    pub steps: HashMap<i64, sequence_step::Model>,
    /// The changed sequences, and the sequences of the changed steps (deleted ones too).
    pub sequences: HashMap<i64, sequence::Model>,
}

impl Batch {
    /// Whether a token was revoked in this batch.
    pub fn revokes_tokens(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.entity == ChangedEntity::ApiToken)
    }
}

/// A server's handle on the feed: subscribe to get every batch from now on.
pub struct Feed {
    tx: broadcast::Sender<Arc<Batch>>,
    /// Wakes the reader; registered with [`changes::register_reader`].
    wake: Arc<Notify>,
    /// The server's authentication cache: on (by default) only while this reader hears of
    /// commits as they happen, and emptied by the revocations it reads.
    auth: Arc<AuthCache>,
    /// Told, for each change broadcast, how many seconds after it was recorded (the metrics).
    lag: std::sync::OnceLock<LagHook>,
}

/// Sees each broadcast change's lag in seconds, from its record in the writing transaction to
/// its broadcast here.
pub type LagHook = Arc<dyn Fn(f64) + Send + Sync>;

impl Feed {
    /// Starts the reader task over `db`, keeping `backlog` batches for slow subscribers. It
    /// stops when the returned handle is dropped.
    pub fn start(db: DatabaseConnection, backlog: usize) -> Arc<Feed> {
        let (tx, _) = broadcast::channel(backlog);
        let wake = Arc::new(Notify::new());
        changes::register_reader(Arc::downgrade(&wake));
        let feed = Arc::new(Feed {
            tx,
            wake: wake.clone(),
            auth: Arc::default(),
            lag: std::sync::OnceLock::new(),
        });
        if db.get_database_backend() == DbBackend::Postgres {
            let auth = Arc::downgrade(&feed.auth);
            tokio::spawn(listen(db.clone(), Arc::downgrade(&wake), auth));
        }
        tokio::spawn(read_loop(db, Arc::downgrade(&feed)));
        feed
    }

    /// Subscribes from now on: returns the receiver and the last feed id already committed,
    /// whose changes (and earlier ones) the subscriber should skip, since the reader may
    /// deliver them after this call.
    pub async fn subscribe(
        &self,
        db: &DatabaseConnection,
    ) -> Result<(broadcast::Receiver<Arc<Batch>>, i64), DbErr> {
        let rx = self.tx.subscribe();
        Ok((rx, last_id(db).await?))
    }

    /// Every batch from now on, without the cursor [`Feed::subscribe`] reads: for a watcher
    /// that only looks for authentication changes (a WebSocket session).
    pub fn watch(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.tx.subscribe()
    }

    /// Reports every broadcast change's lag to `hook` from now on (set once; later calls are
    /// ignored).
    pub fn observe_lag(&self, hook: LagHook) {
        let _ = self.lag.set(hook);
    }

    /// The server's authentication cache (see [`AuthCache`]).
    pub fn auth_cache(&self) -> &AuthCache {
        &self.auth
    }

    /// Subscriptions listening now (the load test reports it).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Turns PostgreSQL notifications into wake-ups of the reader, reconnecting as needed.
async fn listen(db: DatabaseConnection, wake: Weak<Notify>, auth: Weak<AuthCache>) {
    // However this task ends, the cache stops trusting notifications.
    let pushed = Pushed(auth);
    use sea_orm::sqlx::postgres::PgListener;
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(sea_orm::sqlx::Error::PoolClosed) => return,
            Err(err) => {
                tracing::warn!(error = %err, "change feed: cannot LISTEN; polling until it can");
                tokio::time::sleep(POLL_EVERY).await;
                if wake.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        if let Err(err) = listener.listen("stepgraph_changes").await {
            tracing::warn!(error = %err, "change feed: LISTEN failed");
            tokio::time::sleep(POLL_EVERY).await;
            continue;
        }
        // Commits are heard as they happen from here on: authentications may be cached.
        pushed.set(true);
        // Anything committed before LISTEN took effect: read it now.
        if let Some(w) = wake.upgrade() {
            w.notify_one();
        }
        loop {
            // A timeout lets the task notice that its server is gone.
            match tokio::time::timeout(POLL_EVERY * 5, listener.try_recv()).await {
                Err(_) => {}
                Ok(Ok(Some(_))) => {}
                // The connection was lost: notifications may have been missed. Start over
                // with a new listener (and no cached authentications meanwhile); the reader
                // is woken below, so it reads what was missed.
                Ok(Ok(None)) => {
                    pushed.set(false);
                    if let Some(w) = wake.upgrade() {
                        w.notify_one();
                    }
                    break;
                }
                // The server is shutting down.
                Ok(Err(sea_orm::sqlx::Error::PoolClosed)) => return,
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "change feed: notification channel failed");
                    pushed.set(false);
                    break;
                }
            }
            match wake.upgrade() {
                Some(w) => w.notify_one(),
                None => return,
            }
        }
    }
}

/// Tells an [`AuthCache`] whether notifications arrive; says `false` when dropped.
struct Pushed(Weak<AuthCache>);

impl Pushed {
    fn set(&self, pushed: bool) {
        if let Some(cache) = self.0.upgrade() {
            cache.set_pushed(pushed);
        }
    }
}

impl Drop for Pushed {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// Which feed rows have been delivered: everything up to `low`, and `seen` above it.
#[derive(Debug, Default)]
struct Cursor {
    low: i64,
    seen: BTreeSet<i64>,
    /// Ids above `low` not seen yet, and since when they are missing.
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    /// Takes a page of rows read after `low`: returns the new ones, and moves `low` over
    /// every id that is delivered or whose grace period is over.
    fn accept(&mut self, rows: Vec<change_feed::Model>, now: Instant) -> Vec<change_feed::Model> {
        let mut fresh = Vec::new();
        for row in rows {
            if row.id > self.low && self.seen.insert(row.id) {
                self.gaps.remove(&row.id);
                fresh.push(row);
            }
        }
        let top = self.seen.last().copied().unwrap_or(self.low);
        for id in self.low + 1..top {
            if !self.seen.contains(&id) {
                self.gaps.entry(id).or_insert(now);
            }
        }
        loop {
            let next = self.low + 1;
            if self.seen.remove(&next) {
                self.low = next;
            } else if self
                .gaps
                .get(&next)
                .is_some_and(|since| now.duration_since(*since) >= GAP_GRACE)
            {
                self.gaps.remove(&next);
                self.low = next;
            } else {
                break;
            }
        }
        fresh
    }
}

async fn read_loop(db: DatabaseConnection, feed: Weak<Feed>) {
    // Start after what is already there: subscriptions hear of changes from now on.
    let start = loop {
        match last_id(&db).await {
            Ok(id) => break id,
            Err(err) => {
                tracing::warn!(error = %err, "change feed: cannot read; retrying");
                tokio::time::sleep(POLL_EVERY).await;
                if feed.strong_count() == 0 {
                    return;
                }
            }
        }
    };
    tracing::debug!(start, "change feed: reading");
    let mut cursor = Cursor {
        low: start,
        ..Default::default()
    };
    let mut last_prune = Instant::now();
    // SQLite's triggers put authentication changes into the feed too, and its commits are
    // never out of id order, so a complete read sees every one committed before it began:
    // the authentication cache may answer while such reads keep coming (`AuthCache`).
    let polled = db.get_database_backend() == DbBackend::Sqlite;
    loop {
        let Some(f) = feed.upgrade() else { return };
        let wake = f.wake.clone();
        let notified = wake.notified();
        drop(f);
        let began = Instant::now();
        let read = read_once(&db, &mut cursor, &feed).await;
        if let Ok(Some((batch, _))) = &read
            && batch.revokes_tokens()
        {
            crate::auth::tokens::clear_cache();
        }
        if polled && matches!(read, Ok(None) | Ok(Some((_, false)))) {
            let Some(f) = feed.upgrade() else { return };
            f.auth.polled(began);
        }
        match read {
            Ok(Some((batch, full))) => {
                let Some(f) = feed.upgrade() else { return };
                tracing::debug!(
                    changes = batch.changes.len(),
                    first = batch.changes.first().map(|c| c.id),
                    subscribers = f.subscribers(),
                    "change feed: batch"
                );
                if let Some(lag) = f.lag.get() {
                    let now = chrono::Utc::now();
                    for change in &batch.changes {
                        let seconds = (now - change.created_at).num_microseconds().unwrap_or(0);
                        lag(seconds as f64 / 1e6);
                    }
                }
                // No subscriber is not an error: the batch is simply not needed.
                let _ = f.tx.send(Arc::new(batch));
                // A full page: read on without waiting.
                if full {
                    continue;
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "change feed: read failed"),
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(err) = prune(&db).await {
                tracing::warn!(error = %err, "change feed: prune failed");
            }
        }
        // Between gaps closing, wake sooner than the poll interval.
        let wait = if cursor.gaps.is_empty() {
            POLL_EVERY
        } else {
            Duration::from_millis(200)
        };
        if tokio::time::timeout(wait, notified).await.is_ok() {
            tokio::time::sleep(COALESCE).await;
        }
    }
}

async fn last_id(db: &DatabaseConnection) -> Result<i64, DbErr> {
    Ok(change_feed::Entity::find()
        .select_only()
        .column(change_feed::Column::Id)
        .order_by_desc(change_feed::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Reads new rows, and (when anyone subscribes) the current state of the rows they name;
/// `None` when there are none. With the batch: whether the read was a full page (more may
/// be waiting).
async fn read_once(
    db: &DatabaseConnection,
    cursor: &mut Cursor,
    feed: &Weak<Feed>,
) -> Result<Option<(Batch, bool)>, DbErr> {
    let rows = change_feed::Entity::find()
        .filter(change_feed::Column::Id.gt(cursor.low))
        .order_by_asc(change_feed::Column::Id)
        .limit(PAGE)
        .all(db)
        .await?;
    let full = rows.len() as u64 == PAGE;
    let fresh = cursor.accept(rows, Instant::now());
    if fresh.is_empty() {
        return Ok(None);
    }
    let mut batch = Batch::default();
    // Repeated updates of a row collapse into its last one (subscribers read the current
    // state anyway).
    let mut seen_updates = std::collections::HashSet::new();
    for row in fresh.into_iter().rev() {
        if row.kind == ChangeKind::Updated && !seen_updates.insert((row.entity, row.row_id)) {
            continue;
        }
        batch.changes.push(row);
    }
    batch.changes.reverse();
    // Without subscribers the rows only move the cursor (and clear the token cache). Decided
    // after the read: a subscription that begins later skips these rows anyway, since they
    // were committed before it began.
    if feed.upgrade().is_none_or(|f| f.subscribers() == 0) {
        return Ok(Some((batch, full)));
    }
    let backend = db.get_database_backend();
    let step_ids: Vec<i64> = batch
        .changes
        .iter()
        .filter(|c| c.entity == ChangedEntity::SequenceStep && c.kind != ChangeKind::Deleted)
        .map(|c| c.row_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !step_ids.is_empty() {
        batch.steps = sequence_step::Entity::find()
            .filter(any_id(backend, sequence_step::Column::Id, &step_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    }
    let sequence_ids: Vec<i64> = batch
        .changes
        .iter()
        .filter_map(|c| match c.entity {
            ChangedEntity::Sequence => Some(c.row_id),
            ChangedEntity::SequenceStep => c.sequence_id,
            ChangedEntity::ApiToken => None,
        })
        .chain(batch.steps.values().map(|s| s.sequence_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !sequence_ids.is_empty() {
        batch.sequences = sequence::Entity::find()
            .filter(any_id(backend, sequence::Column::Id, &sequence_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    }
    Ok(Some((batch, full)))
}

async fn prune(db: &DatabaseConnection) -> Result<(), DbErr> {
    let before = crate::db::timestamp_param(crate::time::now() - RETENTION);
    change_feed::Entity::delete_many()
        .filter(change_feed::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> change_feed::Model {
        change_feed::Model {
            id,
            entity: ChangedEntity::SequenceStep,
            kind: ChangeKind::Updated,
            row_id: id,
            sequence_id: Some(1),
            created_at: chrono::Utc::now(),
        }
    }

    fn ids(rows: &[change_feed::Model]) -> Vec<i64> {
        rows.iter().map(|r| r.id).collect()
    }

    /// A row that commits after a larger one is still delivered, once; a gap that never fills
    /// is closed after the grace period.
    #[test]
    fn late_commits_are_delivered_once_and_gaps_close() {
        let t0 = Instant::now();
        let mut c = Cursor::default();
        assert_eq!(ids(&c.accept(vec![row(1), row(3)], t0)), [1, 3]);
        assert_eq!(c.low, 1);
        assert!(c.gaps.contains_key(&2));
        // Re-reading gives nothing new; then 2 commits.
        assert!(c.accept(vec![row(3)], t0).is_empty());
        assert_eq!(ids(&c.accept(vec![row(2), row(3)], t0)), [2]);
        assert_eq!((c.low, c.gaps.len(), c.seen.len()), (3, 0, 0));
        // 4 never shows up: delivered rows above it wait, then it is given up.
        assert_eq!(ids(&c.accept(vec![row(5)], t0)), [5]);
        assert_eq!(c.low, 3);
        assert!(c.accept(vec![row(5)], t0 + GAP_GRACE).is_empty());
        assert_eq!((c.low, c.gaps.len()), (5, 0));
    }
}
