//! The subscription root: live changes of steps and sequences, from this server's change feed
//! ([`stepgraph_domain::live`]).
//!
//! Every change is checked against the subscriber's own visibility before it is sent, and its
//! `node` is the row's current state resolved as the subscriber (`canWrite`, nested fields),
//! with fresh loaders and a fresh statement budget per change. A subscription with a filter
//! runs it in SQL (the same filter as `sequenceSteps`) once per feed batch. A deleted step can
//! no longer be matched against a filter's other fields, so its deletion is sent to every
//! subscriber who could see its sequence and whose filter's `id` and `sequence.id` (when
//! given) name it.
//!
//! A subscription ends with an error when it falls too far behind the feed
//! (`Limits::subscription_backlog`). Its token is the connection's business: the WebSocket
//! session (the root crate's `http::ws`) re-checks it on every `subscribe`, at its expiry and on every
//! authentication change in the feed, and closes the socket (and with it every subscription)
//! the moment it no longer authenticates.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use async_graphql::futures_util::Stream;
use async_graphql::{Context, Enum, ErrorExtensions, ID, Object, Result, Subscription};
use entity::enums::{ChangeKind, ChangedEntity};
use entity::{sequence, sequence_step};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::RecvError;

use crate::context::{Budget, rc};
use crate::error::gql;
use crate::inputs::FilterInput;
use crate::loaders::Loaders;
use crate::scalars::{id, parse_id};
use crate::types::{Sequence, SequenceStep, SequenceStepFilter};
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::auth::policy::{self, SequenceAccess};
use stepgraph_domain::error::AppError;
use stepgraph_domain::live::{Batch, Feed};
use stepgraph_domain::service::lists;
use stepgraph_domain::service::resource;

/// What a subscription needs beyond the request context: the feed. Put in the request data
/// by the WebSocket adapter (the root crate's `http::ws`).
pub struct LiveCtx {
    pub feed: Arc<Feed>,
    pub db: DatabaseConnection,
}

/// What happened to a row.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ChangeKind")]
pub enum ChangeKindValue {
    /// The row was created.
    Created,
    /// The row changed (its counters included).
    Updated,
    /// The row was deleted; `node` is null.
    Deleted,
}

impl From<ChangeKind> for ChangeKindValue {
    fn from(kind: ChangeKind) -> Self {
        match kind {
            ChangeKind::Created => Self::Created,
            ChangeKind::Updated => Self::Updated,
            ChangeKind::Deleted => Self::Deleted,
        }
    }
}

/// A change to a sequence step.
pub struct SequenceStepChange {
    kind: ChangeKind,
    id: i64,
    node: Option<sequence_step::Model>,
    /// The node's sequence as the feed loaded it (the subscriber can see it), so resolving
    /// `node.sequence` or `canWrite` needs no statement of its own.
    sequence: Option<sequence::Model>,
}

/// A change to a sequence step: what happened, and the step as it is now.
#[Object]
impl SequenceStepChange {
    /// Created, updated or deleted.
    async fn kind(&self) -> ChangeKindValue {
        self.kind.into()
    }
    /// The step's id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The step as it is now, seen by you; null for a deletion.
    async fn node(&self) -> Option<SequenceStep> {
        self.node.clone().map(SequenceStep::from)
    }
}

/// A change to a sequence (its counters moving, above all).
pub struct SequenceChange {
    kind: ChangeKind,
    id: i64,
    node: Option<sequence::Model>,
}

/// A change to a sequence (its counters moving, above all), and the sequence as it is now.
#[Object]
impl SequenceChange {
    /// Created, updated or deleted.
    async fn kind(&self) -> ChangeKindValue {
        self.kind.into()
    }
    /// The sequence's id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The sequence as it is now, seen by you; null for a deletion.
    async fn node(&self) -> Option<Sequence> {
        self.node.clone().map(Sequence::from)
    }
}

pub struct Subscription;

/// Live changes, over WebSocket (graphql-transport-ws) at /graphql; authenticate in
/// connection_init with {"Authorization": "Bearer <token>"}.
#[Subscription]
impl Subscription {
    /// Steps you can see as they are created, updated (counters included) and deleted.
    async fn sequence_step_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only steps matching this filter (as in `sequenceSteps`).")]
        filter: Option<SequenceStepFilter>,
    ) -> Result<impl Stream<Item = Result<SequenceStepChange>> + use<>> {
        let filter = filter.map(|f| f.into_service()).transpose().map_err(gql)?;
        let watch = Watch::new(ctx, StepChanges { filter }).await?;
        Ok(watch.into_stream())
    }

    /// A sequence you can see (or every one) as its counters and attributes change.
    async fn sequence_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this sequence.")] id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<SequenceChange>> + use<>> {
        let id = id.map(|id| parse_id("id", &id)).transpose().map_err(gql)?;
        let watch = Watch::new(ctx, SequenceChanges { id }).await?;
        Ok(watch.into_stream())
    }
}

/// The future of a [`Select::select`].
type Selected<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<Vec<T>, AppError>> + Send + 'a>>;

/// Picks a subscriber's items out of a batch.
trait Select: Send + Sync + 'static {
    type Item: Send + 'static;
    fn select<'a>(
        &'a self,
        core: &'a Core,
        batch: &'a Batch,
        after: i64,
    ) -> Selected<'a, Self::Item>;

    /// Puts what the batch already loaded for `item` into the fresh loaders it resolves with.
    fn prime<'a>(
        &'a self,
        _core: &'a Core,
        _item: &'a Self::Item,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async {})
    }
}

/// The subscriber: who, reading which feed.
struct Core {
    viewer: Viewer,
    db: DatabaseConnection,
    loaders: Arc<Loaders>,
    budget: Budget,
}

impl Core {
    fn can_see(&self, batch: &Batch, sequence_id: Option<i64>) -> bool {
        sequence_id
            .and_then(|id| batch.sequences.get(&id))
            .is_some_and(|seq| policy::can_see(&self.viewer, &SequenceAccess::from(seq)))
    }
}

struct Watch<S: Select> {
    core: Core,
    select: S,
    rx: tokio::sync::broadcast::Receiver<Arc<Batch>>,
    /// Feed rows up to this id were committed before the subscription began: skipped.
    after: i64,
    pending: VecDeque<S::Item>,
    done: bool,
}

fn subscription_error(code: &str, message: &str) -> async_graphql::Error {
    let code = code.to_string();
    async_graphql::Error::new(message).extend_with(move |_, e| e.set("code", code.clone()))
}

impl<S: Select> Watch<S> {
    async fn new(ctx: &Context<'_>, select: S) -> Result<Self> {
        let live = ctx.data::<LiveCtx>().map_err(|_| {
            subscription_error(
                "BAD_REQUEST",
                "subscriptions run over WebSocket (graphql-transport-ws) at /graphql",
            )
        })?;
        let rc = rc(ctx)?;
        let (rx, after) = live
            .feed
            .subscribe(&live.db)
            .await
            .map_err(|e| gql(AppError::from(e)))?;
        Ok(Self {
            core: Core {
                viewer: rc.viewer,
                db: live.db.clone(),
                loaders: rc.loaders.clone(),
                budget: rc.budget.clone(),
            },
            select,
            rx,
            after,
            pending: VecDeque::new(),
            done: false,
        })
    }

    fn into_stream(self) -> impl Stream<Item = Result<S::Item>> {
        async_graphql::futures_util::stream::unfold(self, |mut w| async move {
            let item = w.next().await?;
            Some((item, w))
        })
    }

    /// The next item, an error that ends the subscription, or `None` when it is over.
    async fn next(&mut self) -> Option<Result<S::Item>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                // Each change resolves with fresh loaders (no stale rows) and its own budget.
                self.core.loaders.reset();
                self.core.budget.reset();
                self.select.prime(&self.core, &item).await;
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let batch = match self.rx.recv().await {
                Ok(batch) => batch,
                Err(RecvError::Lagged(missed)) => {
                    self.done = true;
                    return Some(Err(subscription_error(
                        "SUBSCRIPTION_OVERFLOW",
                        &format!(
                            "this subscription fell {missed} batches of changes behind and was ended; subscribe again"
                        ),
                    )));
                }
                Err(RecvError::Closed) => return None,
            };
            match self.select.select(&self.core, &batch, self.after).await {
                Ok(items) => self.pending.extend(items),
                // A failed read skips this batch for this subscriber; the next one is tried.
                Err(err) => {
                    err.log();
                    tracing::warn!(error = %err, "subscription: cannot select changes");
                }
            }
        }
    }
}

struct StepChanges {
    filter: Option<lists::steps::Filter>,
}

impl Select for StepChanges {
    type Item = SequenceStepChange;

    fn prime<'a>(
        &'a self,
        core: &'a Core,
        item: &'a SequenceStepChange,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Self::prime_sequence(core, item)
    }

    fn select<'a>(
        &'a self,
        core: &'a Core,
        batch: &'a Batch,
        after: i64,
    ) -> Selected<'a, SequenceStepChange> {
        Box::pin(async move {
            let changes: Vec<_> = batch
                .changes
                .iter()
                .filter(|c| c.entity == ChangedEntity::SequenceStep && c.id > after)
                .filter(|c| {
                    let sequence = match c.kind {
                        ChangeKind::Deleted => c.sequence_id,
                        _ => batch.steps.get(&c.row_id).map(|s| s.sequence_id),
                    };
                    core.can_see(batch, sequence)
                })
                .collect();
            // The filter, in SQL, over the visible rows that still exist.
            let matching: Option<BTreeSet<i64>> = match &self.filter {
                None => None,
                Some(filter) => {
                    let ids: Vec<i64> = changes
                        .iter()
                        .filter(|c| c.kind != ChangeKind::Deleted)
                        .map(|c| c.row_id)
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    if ids.is_empty() {
                        Some(BTreeSet::new())
                    } else {
                        let found = resource::matching_ids::<lists::Steps>(
                            &core.db,
                            &core.viewer,
                            filter,
                            &ids,
                        )
                        .await?;
                        Some(found.into_iter().collect())
                    }
                }
            };
            let deletion_matches = |id: i64, sequence_id: Option<i64>| {
                let Some(filter) = &self.filter else {
                    return true;
                };
                let id_ok = filter.ids.as_ref().is_none_or(|ids| ids.contains(&id));
                let seq_ok = filter
                    .sequence
                    .as_ref()
                    .and_then(|s| s.ids.as_ref())
                    .is_none_or(|ids| sequence_id.is_some_and(|s| ids.contains(&s)));
                id_ok && seq_ok
            };
            Ok(changes
                .into_iter()
                .filter_map(|c| match c.kind {
                    ChangeKind::Deleted => {
                        deletion_matches(c.row_id, c.sequence_id).then_some(SequenceStepChange {
                            kind: c.kind,
                            id: c.row_id,
                            node: None,
                            sequence: None,
                        })
                    }
                    kind => {
                        let node = batch.steps.get(&c.row_id)?;
                        if matching.as_ref().is_some_and(|m| !m.contains(&c.row_id)) {
                            return None;
                        }
                        Some(SequenceStepChange {
                            kind,
                            id: c.row_id,
                            node: Some(node.clone()),
                            sequence: batch.sequences.get(&node.sequence_id).cloned(),
                        })
                    }
                })
                .collect())
        })
    }
}

impl StepChanges {
    fn prime_sequence<'a>(
        core: &'a Core,
        item: &'a SequenceStepChange,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            // Only a sequence the subscriber can see: the change was selected because it is.
            if let Some(seq) = &item.sequence {
                core.loaders
                    .by_id::<lists::Sequences>(
                        <lists::Steps as stepgraph_domain::service::resource::Resource>::NAME,
                    )
                    .feed_one(seq.id, Some(std::sync::Arc::new(seq.clone())))
                    .await;
            }
        })
    }
}

struct SequenceChanges {
    id: Option<i64>,
}

impl Select for SequenceChanges {
    type Item = SequenceChange;

    fn select<'a>(
        &'a self,
        core: &'a Core,
        batch: &'a Batch,
        after: i64,
    ) -> Selected<'a, SequenceChange> {
        Box::pin(async move {
            Ok(batch
                .changes
                .iter()
                .filter(|c| c.entity == ChangedEntity::Sequence && c.id > after)
                .filter(|c| self.id.is_none_or(|id| id == c.row_id))
                .filter(|c| core.can_see(batch, Some(c.row_id)))
                .map(|c| SequenceChange {
                    kind: c.kind,
                    id: c.row_id,
                    node: batch.sequences.get(&c.row_id).cloned(),
                })
                .collect())
        })
    }
}
