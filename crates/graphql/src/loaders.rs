//! Per-request DataLoaders: every relationship of the graph is loaded in batches.
//!
//! Loaders are built for each request (never shared between requests), so they carry the
//! request's viewer (for visibility) and its metered database handle, and nothing cached for
//! one user leaks to another. [`Loaders`] is a registry, not a list: a loader is created the
//! first time it is asked for, keyed by a name and the loader's type: a to-many relationship
//! by its own name (a static of [`stepgraph_domain::service::relations`]), the to-one relationships of one
//! parent type by that type, a root lookup by its field. To-one relationships batch ids into
//! one id-list statement per parent type and target; to-many connections batch parents into
//! one statement per relationship ([`stepgraph_domain::service::children`]), so a query's statement
//! count depends on its shape only. Every loader applies its resource's visibility: there is no loader without one.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DatabaseConnection;

use crate::context::Budget;
use crate::executor::BatchQueue;
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::error::AppError;
use stepgraph_domain::service::children::{self, ArgsOf};
use stepgraph_domain::service::pagination::Page;
use stepgraph_domain::service::relations::ToMany;
use stepgraph_domain::service::resource::{self, Resource};

/// Loads visible rows of `R` by primary key.
pub struct ById<R: Resource> {
    db: DatabaseConnection,
    viewer: Viewer,
    budget: Budget,
    resource: std::marker::PhantomData<fn() -> R>,
}

impl<R: Resource> Loader<i64> for ById<R> {
    type Value = R::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, R::Model>, Self::Error> {
        self.budget.check().map_err(Arc::new)?;
        resource::by_ids::<R>(&self.db, &self.viewer, keys)
            .await
            .map_err(Arc::new)
    }
}

/// The key of a child page or count: which parent, and the connection's checked arguments
/// (a count's are its filter).
///
/// The arguments are hashed once, when the key is made: a key is hashed five or six times on
/// its way through the DataLoader (its pending set, its cache, the batch's groups and
/// results, several with SipHash, which `Loader` imposes), and hashing a filter with its
/// dozen optional lists each time was a tenth of a nested list's instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildKey<A> {
    pub parent: i64,
    pub args: A,
    /// A hash of `args` with a fixed seed: equal arguments, equal digests.
    digest: u64,
}

impl<A: Hash> ChildKey<A> {
    pub fn new(parent: i64, args: A) -> Self {
        use std::hash::BuildHasher;
        let digest = foldhash::fast::FixedState::default().hash_one(&args);
        Self {
            parent,
            args,
            digest,
        }
    }
}

impl<A: Clone> ChildKey<A> {
    /// The key of another parent with the same arguments.
    fn with_parent(&self, parent: i64) -> Self {
        Self {
            parent,
            args: self.args.clone(),
            digest: self.digest,
        }
    }
}

/// Keys grouped by equal arguments (compared by digest first), each group with its parents in
/// order: parents asking with equal arguments share one statement.
fn group<A: PartialEq>(keys: &[ChildKey<A>]) -> Vec<(&ChildKey<A>, Vec<i64>)> {
    let mut groups: Vec<(&ChildKey<A>, Vec<i64>)> = Vec::new();
    for k in keys {
        match groups
            .iter_mut()
            .find(|(g, _)| g.digest == k.digest && g.args == k.args)
        {
            Some((_, parents)) => parents.push(k.parent),
            None => groups.push((k, vec![k.parent])),
        }
    }
    groups
}

impl<A> Hash for ChildKey<A> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parent.hash(state);
        self.digest.hash(state);
    }
}

/// Loads pages of one relationship's children for many parents; keys with equal arguments
/// share one query.
pub struct ChildPages<P: Resource, C: Resource> {
    db: DatabaseConnection,
    viewer: Viewer,
    budget: Budget,
    rel: &'static ToMany<P, C>,
}

impl<P: Resource, C: Resource> Loader<ChildKey<ArgsOf<C>>> for ChildPages<P, C> {
    type Value = Page<C::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChildKey<ArgsOf<C>>],
    ) -> Result<HashMap<ChildKey<ArgsOf<C>>, Self::Value>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        for (first, parents) in group(keys) {
            self.budget.check().map_err(Arc::new)?;
            let pages = children::pages(&self.db, &self.viewer, self.rel, &parents, &first.args)
                .await
                .map_err(Arc::new)?;
            for (parent, page) in pages {
                out.insert(first.with_parent(parent), page);
            }
        }
        Ok(out)
    }
}

/// Counts one relationship's visible children for many parents; keys with equal filters
/// share one query.
pub struct ChildCounts<P: Resource, C: Resource> {
    db: DatabaseConnection,
    viewer: Viewer,
    budget: Budget,
    rel: &'static ToMany<P, C>,
}

impl<P: Resource, C: Resource> Loader<ChildKey<C::Filter>> for ChildCounts<P, C> {
    type Value = i64;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChildKey<C::Filter>],
    ) -> Result<HashMap<ChildKey<C::Filter>, i64>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        for (first, parents) in group(keys) {
            self.budget.check().map_err(Arc::new)?;
            let counts = children::counts(&self.db, &self.viewer, self.rel, &parents, &first.args)
                .await
                .map_err(Arc::new)?;
            for (parent, n) in counts {
                out.insert(first.with_parent(parent), n);
            }
        }
        Ok(out)
    }
}

/// Loader caches hash with foldhash: keys are ids and connection arguments chosen by the
/// request's own document, so SipHash's resistance to chosen collisions buys nothing per key
/// that the document's size limits do not already bound.
pub type Cache = HashMapCache<foldhash::fast::RandomState>;
pub type Dl<T> = DataLoader<T, Cache>;

/// The loaders of one request, created on first use.
///
/// Why not one loader per entity: a shared loader batches whatever keys arrive together, so
/// `SequenceStep.creator` and `Task.owner` (ready at different moments) would sometimes share
/// a statement and sometimes not, and the statement count would depend on timing and row
/// counts. Loaders are per relationship for to-many connections, and per parent type and
/// target for to-one relationships (a step's creator and updater resolve in the same pass,
/// so they always share): the count depends on the query's shape only.
pub struct Loaders {
    db: DatabaseConnection,
    viewer: Viewer,
    batches: BatchQueue,
    budget: Budget,
    registry: Mutex<HashMap<(&'static str, TypeId), AnyLoader>>,
}

/// A `Dl<T>` of some loader type `T`, recovered by `downcast` with the `TypeId` it is keyed by.
type AnyLoader = Arc<dyn Any + Send + Sync>;

impl Loaders {
    pub fn new(
        db: &DatabaseConnection,
        viewer: &Viewer,
        batches: BatchQueue,
        budget: Budget,
    ) -> Self {
        Self {
            db: db.clone(),
            viewer: *viewer,
            batches,
            budget,
            registry: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every loader and its cache: a subscription calls this before each change it
    /// resolves, so nothing read for an earlier change is served for a later one.
    pub fn reset(&self) {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    fn get<T: Send + Sync + 'static>(
        &self,
        name: &'static str,
        make: impl FnOnce() -> T,
    ) -> Arc<Dl<T>> {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = registry
            .entry((name, TypeId::of::<T>()))
            .or_insert_with(|| {
                let batches = self.batches.clone();
                Arc::new(
                    DataLoader::with_cache(make(), move |fut| batches.push(fut), Cache::new())
                        .delay(DELAY)
                        .max_batch_size(MAX_BATCH),
                )
            });
        Arc::clone(entry)
            .downcast::<Dl<T>>()
            .unwrap_or_else(|_| unreachable!("the registry is keyed by the loader's type"))
    }

    /// A by-id loader: of a root lookup (`"Query.sequenceStep"`), or of every to-one
    /// relationship from one parent type (named by the parent resource, `"sequenceStep"`).
    pub fn by_id<R: Resource>(&self, name: &'static str) -> Arc<Dl<ById<R>>> {
        self.get(name, || ById {
            db: self.db.clone(),
            viewer: self.viewer,
            budget: self.budget.clone(),
            resource: std::marker::PhantomData,
        })
    }

    /// The page loader of a to-many relationship.
    pub fn pages<P: Resource, C: Resource>(
        &self,
        rel: &'static ToMany<P, C>,
    ) -> Arc<Dl<ChildPages<P, C>>> {
        self.get(rel.name, || ChildPages {
            db: self.db.clone(),
            viewer: self.viewer,
            budget: self.budget.clone(),
            rel,
        })
    }

    /// The count loader of a to-many relationship.
    pub fn counts<P: Resource, C: Resource>(
        &self,
        rel: &'static ToMany<P, C>,
    ) -> Arc<Dl<ChildCounts<P, C>>> {
        self.get(rel.name, || ChildCounts {
            db: self.db.clone(),
            viewer: self.viewer,
            budget: self.budget.clone(),
            rel,
        })
    }
}

/// No wall-clock batching window: [`crate::executor::Drive`] starts a batch only when
/// the request has registered every key it can.
const DELAY: Duration = Duration::ZERO;
/// Keys per batch, kept under the bind-parameter limits of SQLite and MySQL.
const MAX_BATCH: usize = 500;

/// Loads one value, mapping a shared loader error.
pub async fn one<K, T>(loader: &Dl<T>, key: K) -> async_graphql::Result<Option<T::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K, Error = Arc<AppError>>,
{
    loader.load_one(key).await.map_err(crate::error::gql_shared)
}
