//! Per-request DataLoaders: every relationship of the graph is loaded in batches.
//!
//! Loaders are built for each request (never shared between requests), so they carry the
//! request's viewer (for visibility) and its metered database handle, and nothing cached for
//! one user leaks to another. To-one relationships batch ids into one `IN (...)` per relationship;
//! to-many connections batch parents into one `UNION ALL` query per relationship
//! ([`crate::service::children`]), so a query's statement count depends on its shape only.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    call_purpose, sequence, sequence_step, sequence_template, task, task_priority, template, user,
};
use sea_orm::sea_query::Condition;
use sea_orm::{DatabaseConnection, EntityTrait, FromQueryResult, PrimaryKeyTrait};

use crate::auth::{Viewer, policy};
use crate::error::AppError;
use crate::service::children::{self, ChildList};
use crate::service::lists;
use crate::service::pagination::{Cursor, Page};

/// Loads rows of `E` by primary key, restricted to what the viewer may see.
pub struct ById<E: EntityTrait> {
    db: DatabaseConnection,
    visible: Condition,
    entity: PhantomData<fn() -> E>,
}

impl<E> Loader<i64> for ById<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Clone + Send + Sync + 'static,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    type Value = E::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, E::Model>, Self::Error> {
        lists::by_ids::<E>(&self.db, keys, self.visible.clone())
            .await
            .map_err(Arc::new)
    }
}

/// The key of a child page: which parent, and the connection's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildKey<F> {
    pub parent: i64,
    pub first: u64,
    pub after: Option<Cursor>,
    pub filter: F,
}

/// Loads pages of children for many parents; keys with equal arguments share one query.
pub struct ChildPages<L: ChildList> {
    db: DatabaseConnection,
    viewer: Viewer,
    list: PhantomData<fn() -> L>,
}

impl<L: ChildList> Loader<ChildKey<L::Filter>> for ChildPages<L> {
    type Value = Page<L::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChildKey<L::Filter>],
    ) -> Result<HashMap<ChildKey<L::Filter>, Self::Value>, Self::Error> {
        let mut groups: HashMap<(u64, Option<Cursor>, L::Filter), Vec<i64>> = HashMap::new();
        for k in keys {
            groups
                .entry((k.first, k.after.clone(), k.filter.clone()))
                .or_default()
                .push(k.parent);
        }
        let mut out = HashMap::new();
        for ((first, after, filter), parents) in groups {
            let mut pages = children::pages::<L>(
                &self.db,
                &self.viewer,
                &parents,
                first,
                after.as_ref(),
                &filter,
            )
            .await
            .map_err(Arc::new)?;
            for parent in parents {
                let page = pages.remove(&parent).unwrap_or(Page {
                    rows: Vec::new(),
                    has_next_page: false,
                    has_previous_page: false,
                });
                out.insert(
                    ChildKey {
                        parent,
                        first,
                        after: after.clone(),
                        filter: filter.clone(),
                    },
                    page,
                );
            }
        }
        Ok(out)
    }
}

/// Counts children for many parents; keys with equal filters share one query.
pub struct ChildCounts<L: ChildList> {
    db: DatabaseConnection,
    viewer: Viewer,
    list: PhantomData<fn() -> L>,
}

impl<L: ChildList> Loader<(i64, L::Filter)> for ChildCounts<L> {
    type Value = i64;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[(i64, L::Filter)],
    ) -> Result<HashMap<(i64, L::Filter), i64>, Self::Error> {
        let mut groups: HashMap<L::Filter, Vec<i64>> = HashMap::new();
        for (parent, filter) in keys {
            groups.entry(filter.clone()).or_default().push(*parent);
        }
        let mut out = HashMap::new();
        for (filter, parents) in groups {
            let counts = children::counts::<L>(&self.db, &self.viewer, &parents, &filter)
                .await
                .map_err(Arc::new)?;
            for parent in parents {
                out.insert(
                    (parent, filter.clone()),
                    counts.get(&parent).copied().unwrap_or(0),
                );
            }
        }
        Ok(out)
    }
}

pub type Dl<T> = DataLoader<T, HashMapCache>;

/// By-id loaders of one entity, one per relationship that reaches it.
///
/// Why not one loader per entity: a shared loader batches whatever keys arrive within its
/// window, so `Step.creator` and `Task.owner` (ready at different moments) would sometimes
/// share a statement and sometimes not, and the statement count would depend on timing and
/// row counts. With one loader per relationship, every relationship at every level costs
/// exactly one statement: the count depends on the query's shape only.
pub struct ByIdPool<E: EntityTrait> {
    db: DatabaseConnection,
    visible: Condition,
    loaders: Mutex<HashMap<&'static str, Arc<Dl<ById<E>>>>>,
}

impl<E: EntityTrait> ByIdPool<E>
where
    ById<E>: Send + Sync + 'static,
{
    fn new(db: &DatabaseConnection, visible: Condition) -> Self {
        Self {
            db: db.clone(),
            visible,
            loaders: Mutex::new(HashMap::new()),
        }
    }

    /// The loader for one relationship (`"SequenceStep.creator"`, ...).
    pub fn rel(&self, relationship: &'static str) -> Arc<Dl<ById<E>>> {
        let mut loaders = self
            .loaders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loaders
            .entry(relationship)
            .or_insert_with(|| {
                Arc::new(dl(ById {
                    db: self.db.clone(),
                    visible: self.visible.clone(),
                    entity: PhantomData,
                }))
            })
            .clone()
    }
}

/// Every loader of one request.
pub struct Loaders {
    pub users: ByIdPool<user::Entity>,
    pub sequences: ByIdPool<sequence::Entity>,
    pub steps: ByIdPool<sequence_step::Entity>,
    pub templates: ByIdPool<template::Entity>,
    pub sequence_templates: ByIdPool<sequence_template::Entity>,
    pub tasks: ByIdPool<task::Entity>,
    pub call_purposes: ByIdPool<call_purpose::Entity>,
    pub task_priorities: ByIdPool<task_priority::Entity>,
    /// `Sequence.sequenceStepCount`, apart from `sequenceSteps.totalCount` (see [`ByIdPool`]).
    pub step_count_of_sequence: Dl<ChildCounts<children::StepsOfSequence>>,
    pub steps_of_sequence: Dl<ChildPages<children::StepsOfSequence>>,
    pub step_counts_of_sequence: Dl<ChildCounts<children::StepsOfSequence>>,
    pub sequence_templates_of_step: Dl<ChildPages<children::SequenceTemplatesOfStep>>,
    pub sequence_template_counts_of_step: Dl<ChildCounts<children::SequenceTemplatesOfStep>>,
    pub tasks_of_step: Dl<ChildPages<children::TasksOfStep>>,
    pub task_counts_of_step: Dl<ChildCounts<children::TasksOfStep>>,
    pub calls_of_step: Dl<ChildPages<children::CallsOfStep>>,
    pub call_counts_of_step: Dl<ChildCounts<children::CallsOfStep>>,
    pub mailings_of_step: Dl<ChildPages<children::MailingsOfStep>>,
    pub mailing_counts_of_step: Dl<ChildCounts<children::MailingsOfStep>>,
    pub mailings_of_sequence_template: Dl<ChildPages<children::MailingsOfSequenceTemplate>>,
    pub mailing_counts_of_sequence_template: Dl<ChildCounts<children::MailingsOfSequenceTemplate>>,
    pub sequence_templates_of_template: Dl<ChildPages<children::SequenceTemplatesOfTemplate>>,
    pub sequence_template_counts_of_template:
        Dl<ChildCounts<children::SequenceTemplatesOfTemplate>>,
    pub calls_of_call_purpose: Dl<ChildPages<children::CallsOfCallPurpose>>,
    pub sequences_of_owner: Dl<ChildPages<children::SequencesOfOwner>>,
    pub sequence_counts_of_owner: Dl<ChildCounts<children::SequencesOfOwner>>,
    pub call_counts_of_call_purpose: Dl<ChildCounts<children::CallsOfCallPurpose>>,
}

/// No wall-clock batching window (see [`spawn_local`] for what replaces it).
const DELAY: Duration = Duration::ZERO;
/// How many times a loader's fetch task lets the request run before it takes its keys.
const YIELDS_BEFORE_FETCH: usize = 64;
/// Keys per batch, kept under the bind-parameter limits of SQLite and MySQL.
const MAX_BATCH: usize = 500;

/// Spawns a loader's fetch task on the request's own thread (a `LocalSet` of the request
/// pool, see `http::graphql::execute`), after letting the request run a few more times.
///
/// Why: async-graphql resolves the items of a list concurrently, but its `FuturesUnordered`
/// yields to the scheduler every 32 items. A fetch task that ran at that point would take
/// only the keys registered so far, splitting one relationship into several statements, as
/// a wall-clock delay would under load. On a single thread the fetch task cannot run while
/// the request is being polled, and yielding first lets the request finish its pass over the
/// siblings, so every relationship at every level is one batch, whatever the timing. All
/// results of a batch are delivered in one poll, so the next level batches the same way.
fn spawn_local(fut: BoxFuture) {
    tokio::task::spawn_local(async move {
        for _ in 0..YIELDS_BEFORE_FETCH {
            tokio::task::yield_now().await;
        }
        fut.await;
    });
}

type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

fn dl<T: Send + Sync + 'static>(loader: T) -> Dl<T> {
    DataLoader::with_cache(loader, spawn_local, HashMapCache::default())
        .delay(DELAY)
        .max_batch_size(MAX_BATCH)
}

fn pages<L: ChildList>(db: &DatabaseConnection, viewer: &Viewer) -> Dl<ChildPages<L>> {
    dl(ChildPages {
        db: db.clone(),
        viewer: *viewer,
        list: PhantomData,
    })
}

fn counts<L: ChildList>(db: &DatabaseConnection, viewer: &Viewer) -> Dl<ChildCounts<L>> {
    dl(ChildCounts {
        db: db.clone(),
        viewer: *viewer,
        list: PhantomData,
    })
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, viewer: &Viewer) -> Self {
        let all = Condition::all;
        let visible_sequences = policy::visible_sequences_condition(viewer).unwrap_or_else(all);
        let visible_templates = policy::visible_templates_condition(viewer).unwrap_or_else(all);
        let visible_steps = policy::visible_steps_condition(viewer).unwrap_or_else(all);
        let visible_variants =
            policy::visible_sequence_templates_condition(viewer).unwrap_or_else(all);
        Self {
            users: ByIdPool::new(db, all()),
            sequences: ByIdPool::new(db, visible_sequences),
            steps: ByIdPool::new(db, visible_steps),
            templates: ByIdPool::new(db, visible_templates),
            sequence_templates: ByIdPool::new(db, visible_variants),
            tasks: ByIdPool::new(db, all()),
            call_purposes: ByIdPool::new(db, all()),
            task_priorities: ByIdPool::new(db, all()),
            step_count_of_sequence: counts(db, viewer),
            steps_of_sequence: pages(db, viewer),
            step_counts_of_sequence: counts(db, viewer),
            sequence_templates_of_step: pages(db, viewer),
            sequence_template_counts_of_step: counts(db, viewer),
            tasks_of_step: pages(db, viewer),
            task_counts_of_step: counts(db, viewer),
            calls_of_step: pages(db, viewer),
            call_counts_of_step: counts(db, viewer),
            mailings_of_step: pages(db, viewer),
            mailing_counts_of_step: counts(db, viewer),
            mailings_of_sequence_template: pages(db, viewer),
            mailing_counts_of_sequence_template: counts(db, viewer),
            sequence_templates_of_template: pages(db, viewer),
            sequence_template_counts_of_template: counts(db, viewer),
            calls_of_call_purpose: pages(db, viewer),
            call_counts_of_call_purpose: counts(db, viewer),
            sequences_of_owner: pages(db, viewer),
            sequence_counts_of_owner: counts(db, viewer),
        }
    }
}

/// Loads one value, mapping a shared loader error.
pub async fn one<K, T>(
    loader: &DataLoader<T, HashMapCache>,
    key: K,
) -> async_graphql::Result<Option<T::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K, Error = Arc<AppError>>,
{
    loader
        .load_one(key)
        .await
        .map_err(crate::graphql::error::gql_shared)
}
