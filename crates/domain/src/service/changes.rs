//! Recording changes for the live feed: every write that changes a step, a sequence's
//! counters or a token's validity adds rows to `change_feed` in its own transaction, so a
//! change is in the feed exactly when it is committed (a transactional outbox), whichever
//! process or instance wrote it. [`crate::live`] reads the feed and serves subscriptions.
//!
//! After committing, a writer calls [`commit`] instead of `txn.commit()`: it also wakes this
//! process's feed readers at once ([`poke`]). Other processes learn of the change through
//! PostgreSQL `NOTIFY` (a trigger on `change_feed`) or, on other backends, by polling.

use std::sync::{Mutex, Weak};

use entity::change_feed;
use entity::enums::{ChangeKind, ChangedEntity};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait,
};
use tokio::sync::Notify;

use crate::time::now;

/// One changed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub entity: ChangedEntity,
    pub kind: ChangeKind,
    pub row_id: i64,
    /// A step's sequence (its visibility decides who hears of a deleted step).
    pub sequence_id: Option<i64>,
}

impl Change {
    pub fn step(kind: ChangeKind, id: i64, sequence_id: i64) -> Self {
        Self {
            entity: ChangedEntity::SequenceStep,
            kind,
            row_id: id,
            sequence_id: Some(sequence_id),
        }
    }

    pub fn sequence(id: i64) -> Self {
        Self {
            entity: ChangedEntity::Sequence,
            kind: ChangeKind::Updated,
            row_id: id,
            sequence_id: Some(id),
        }
    }

    /// A token was revoked: subscriptions it authenticated end, caches forget it.
    pub fn token(id: i64) -> Self {
        Self {
            entity: ChangedEntity::ApiToken,
            kind: ChangeKind::Updated,
            row_id: id,
            sequence_id: None,
        }
    }
}

/// The columns every feed insert writes, in this order.
const COLUMNS: [change_feed::Column; 5] = [
    change_feed::Column::Entity,
    change_feed::Column::Kind,
    change_feed::Column::RowId,
    change_feed::Column::SequenceId,
    change_feed::Column::CreatedAt,
];

/// Rows per INSERT: well under every backend's bound-parameter limit (5 per row).
const CHUNK: usize = 1000;

/// Adds the changes to the feed, in the caller's transaction; one statement per 1,000.
pub async fn record(
    db: &(impl ConnectionTrait + 'static),
    changes: &[Change],
) -> Result<(), DbErr> {
    let at = crate::db::timestamp_param(now());
    for chunk in changes.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert.into_table(change_feed::Entity).columns(COLUMNS);
        for c in chunk {
            insert.values_panic([
                sea_orm::ActiveEnum::to_value(&c.entity).into(),
                sea_orm::ActiveEnum::to_value(&c.kind).into(),
                c.row_id.into(),
                c.sequence_id.into(),
                at.clone().into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Records an update of every step of `sequence_id` whose order is in `from..=to` (the steps
/// a move, an insertion or a deletion shifted), in one `INSERT .. SELECT`.
pub async fn record_steps_in_orders(
    db: &(impl ConnectionTrait + 'static),
    sequence_id: i64,
    from: i32,
    to: i32,
) -> Result<(), DbErr> {
    use entity::sequence_step::{Column as S, Entity as Steps};
    let select = Steps::find()
        .select_only()
        .expr(Expr::val(sea_orm::ActiveEnum::to_value(
            &ChangedEntity::SequenceStep,
        )))
        .expr(Expr::val(sea_orm::ActiveEnum::to_value(
            &ChangeKind::Updated,
        )))
        .column(S::Id)
        .column(S::SequenceId)
        .expr(Expr::val(crate::db::timestamp_param(now())))
        .filter(S::SequenceId.eq(sequence_id))
        .filter(S::Order.between(from, to))
        .into_query();
    let insert = Query::insert()
        .into_table(change_feed::Entity)
        .columns(COLUMNS)
        .select_from(select)
        .map_err(|e| DbErr::Custom(format!("BUG: change feed insert: {e}")))?
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// Commits a transaction that recorded changes, then wakes this process's feed readers.
pub async fn commit(txn: DatabaseTransaction) -> Result<(), DbErr> {
    txn.commit().await?;
    poke();
    Ok(())
}

/// The wake-up handles of this process's feed readers (one per server state).
static READERS: Mutex<Vec<Weak<Notify>>> = Mutex::new(Vec::new());

/// Registers a feed reader's wake-up handle; it is dropped from the list once gone.
pub fn register_reader(wake: Weak<Notify>) {
    let mut readers = READERS.lock().unwrap_or_else(|p| p.into_inner());
    readers.retain(|r| r.strong_count() > 0);
    readers.push(wake);
}

/// Wakes every feed reader of this process: something was committed to the feed.
pub fn poke() {
    let readers = READERS.lock().unwrap_or_else(|p| p.into_inner());
    for reader in readers.iter().filter_map(Weak::upgrade) {
        // A stored permit, not a broadcast: a reader busy reading right now reads again.
        reader.notify_one();
    }
}
