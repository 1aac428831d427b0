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
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::reads::Db;

use crate::context::Budget;
use crate::executor::{BatchHook, BatchQueue};
use crate::joins::{Joinable, Plan};
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::error::AppError;
use stepgraph_domain::service::children::{self, ArgsOf};
use stepgraph_domain::service::joins;
use stepgraph_domain::service::pagination::Page;
use stepgraph_domain::service::relations::ToMany;
use stepgraph_domain::service::resource::Resource;

/// Loads visible rows of `R` by primary key, with the to-one targets its selection reads
/// joined into the same statement (see [`crate::joins`]): those go to the request's store of
/// joined targets before the rows are answered.
///
/// Every key asked for is answered, `None` when the row does not exist or is hidden, so the
/// cache remembers an absent row as well as a present one.
pub struct ById<R: Joinable> {
    db: Db,
    viewer: Viewer,
    budget: Budget,
    plan: Plan<R>,
    /// The loader's name in the registry (and in traces).
    name: &'static str,
    hook: Option<BatchHook>,
    /// Where the joined targets go; weak, since the registry holds this loader.
    loaders: Weak<Loaders>,
}

/// A row is shared (`Arc`) while the DataLoader holds it: its cache and every requester get
/// a reference, and the one requester that takes the model copies it once (two copies of
/// every row before, one for the cache and one for the answer).
impl<R: Joinable> Loader<i64> for ById<R> {
    type Value = Option<Arc<R::Model>>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let span = crate::trace::batch(self.hook.as_ref(), "by_id", self.name, keys.len());
        tracing::Instrument::instrument(self.load_batch(keys), span).await
    }
}

impl<R: Joinable> ById<R> {
    async fn load_batch(
        &self,
        keys: &[i64],
    ) -> Result<HashMap<i64, Option<Arc<R::Model>>>, Arc<AppError>> {
        self.budget.check().map_err(Arc::new)?;
        let mut out: HashMap<i64, Option<Arc<R::Model>>> =
            keys.iter().map(|k| (*k, None)).collect();
        let (rows, targets) = joins::by_ids::<R>(
            &self.db,
            &self.viewer,
            keys,
            self.plan.columns(),
            &self.plan.statement(),
        )
        .await
        .map_err(Arc::new)?;
        if let Some(loaders) = self.loaders.upgrade() {
            self.plan.store(&loaders, targets);
        }
        for row in rows {
            out.insert(R::id(&row), Some(Arc::new(row)));
        }
        Ok(out)
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

/// A connection's checked arguments with their digest, made once per field of the document
/// and shared by every parent asking with them ([`Loaders::child_args`]).
pub struct SharedArgs<A>(pub Arc<A>, u64);

impl<A> Clone for SharedArgs<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), self.1)
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
    group_by(keys, |a, b| a.digest == b.digest && a.args == b.args)
        .into_iter()
        .map(|members| (members[0], members.iter().map(|k| k.parent).collect()))
        .collect()
}

/// `items` grouped by `same`, groups in the order of their first member, members in order (a
/// batch holds a few distinct argument sets, so a scan beats hashing).
fn group_by<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<Vec<&T>> {
    let mut groups: Vec<Vec<&T>> = Vec::new();
    for item in items {
        match groups.iter_mut().find(|g| same(g[0], item)) {
            Some(members) => members.push(item),
            None => groups.push(vec![item]),
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

/// The key of the child pages of a list of parents (every parent of one list asks at once,
/// [`crate::nested`]; a single parent asks with a list of one), with the connection's checked
/// arguments. Hashed by digests made once, when the key is made.
#[derive(Clone)]
pub struct PagesKey<A> {
    pub parents: Arc<[i64]>,
    pub args: Arc<A>,
    /// The arguments' digest ([`SharedArgs`]).
    args_digest: u64,
    /// A digest of the arguments' digest and the parents.
    digest: u64,
}

impl<A> PagesKey<A> {
    pub fn new(parents: Arc<[i64]>, args: SharedArgs<A>) -> Self {
        use std::hash::BuildHasher;
        let digest = foldhash::fast::FixedState::default().hash_one((args.1, &*parents));
        Self {
            parents,
            args: args.0,
            args_digest: args.1,
            digest,
        }
    }
}

impl<A: PartialEq> PartialEq for PagesKey<A> {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.parents == other.parents && self.args == other.args
    }
}

impl<A: PartialEq> Eq for PagesKey<A> {}

impl<A> Hash for PagesKey<A> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

/// The pages of a statement's parents, by parent.
pub type Pages<M> = children::ByParent<Page<M>>;

/// Loads pages of one relationship's children for lists of parents: the lists asking with
/// equal arguments share one statement, and each gets the whole map of that statement's pages
/// (no page is copied here).
///
/// Not cached: a list's key names all its parents, so a later list is another key anyway,
/// and a page the loader no longer holds is its reader's to take (see [`take_pages`]).
pub struct ChildPages<P: Resource, C: Resource> {
    db: Db,
    viewer: Viewer,
    budget: Budget,
    rel: &'static ToMany<P, C>,
    hook: Option<BatchHook>,
}

impl<P: Resource, C: Resource> Loader<PagesKey<ArgsOf<C>>> for ChildPages<P, C> {
    type Value = Arc<Pages<C::Model>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[PagesKey<ArgsOf<C>>],
    ) -> Result<HashMap<PagesKey<ArgsOf<C>>, Self::Value>, Self::Error> {
        // Its size is the parents it reads (a key is a list of them), as when each parent
        // was a key: what the batch-size metric and trace attribute have always counted.
        let parents = keys.iter().map(|key| key.parents.len()).sum();
        let span = crate::trace::batch(self.hook.as_ref(), "pages", self.rel.name, parents);
        tracing::Instrument::instrument(self.load_batch(keys), span).await
    }
}

impl<P: Resource, C: Resource> ChildPages<P, C> {
    async fn load_batch(
        &self,
        keys: &[PagesKey<ArgsOf<C>>],
    ) -> Result<HashMap<PagesKey<ArgsOf<C>>, Arc<Pages<C::Model>>>, Arc<AppError>> {
        // Keys grouped by equal arguments (compared by digest first), each group's parents
        // in order, each once. (Each group's first key stands for its arguments.)
        let groups = group_by(keys, |a, b| {
            a.args_digest == b.args_digest && a.args == b.args
        });
        let mut out = HashMap::with_capacity(keys.len());
        for members in groups {
            let first = members[0];
            self.budget.check().map_err(Arc::new)?;
            let mut seen = std::collections::HashSet::<i64, foldhash::fast::RandomState>::default();
            let parents: Vec<i64> = members
                .iter()
                .flat_map(|key| key.parents.iter().copied())
                .filter(|parent| seen.insert(*parent))
                .collect();
            let span = crate::trace::page_span(self.rel.name, parents.len());
            let pages = tracing::Instrument::instrument(
                children::pages(&self.db, &self.viewer, self.rel, &parents, &first.args),
                span,
            )
            .await
            .map_err(Arc::new)?;
            let pages = Arc::new(pages);
            for key in members {
                out.insert(key.clone(), pages.clone());
            }
        }
        Ok(out)
    }
}

/// The pages of `parents` (in their order) out of what the page loader answered: taken when
/// no one else holds them (the loader keeps nothing), copied otherwise.
pub fn take_pages<M: Clone>(pages: Arc<Pages<M>>, parents: &[i64]) -> Vec<Page<M>> {
    match Arc::try_unwrap(pages) {
        Ok(mut pages) => {
            let mut out: Vec<Page<M>> = Vec::with_capacity(parents.len());
            for (i, parent) in parents.iter().enumerate() {
                let page = match pages.remove(parent) {
                    Some(page) => page,
                    // Taken already: a parent listed twice gets a copy.
                    None => match parents[..i].iter().position(|p| p == parent) {
                        Some(earlier) => out[earlier].clone(),
                        None => Page::empty(),
                    },
                };
                out.push(page);
            }
            out
        }
        Err(shared) => parents
            .iter()
            .map(|parent| shared.get(parent).cloned().unwrap_or_else(Page::empty))
            .collect(),
    }
}

/// Counts one relationship's visible children for many parents; keys with equal filters
/// share one query.
pub struct ChildCounts<P: Resource, C: Resource> {
    db: Db,
    viewer: Viewer,
    budget: Budget,
    rel: &'static ToMany<P, C>,
    hook: Option<BatchHook>,
}

impl<P: Resource, C: Resource> Loader<ChildKey<C::Filter>> for ChildCounts<P, C> {
    type Value = i64;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChildKey<C::Filter>],
    ) -> Result<HashMap<ChildKey<C::Filter>, i64>, Self::Error> {
        let span = crate::trace::batch(self.hook.as_ref(), "counts", self.rel.name, keys.len());
        tracing::Instrument::instrument(self.load_batch(keys), span).await
    }
}

impl<P: Resource, C: Resource> ChildCounts<P, C> {
    async fn load_batch(
        &self,
        keys: &[ChildKey<C::Filter>],
    ) -> Result<HashMap<ChildKey<C::Filter>, i64>, Arc<AppError>> {
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
    db: Db,
    viewer: Viewer,
    batches: BatchQueue,
    budget: Budget,
    registry: Mutex<HashMap<LoaderKey, AnyLoader>>,
    /// Targets read by joins, by relationship and by the columns read (see [`crate::joins`]):
    /// each a `HashMap<i64, Option<T::Model>>` of the relationship's target type.
    joined: Mutex<JoinedStore>,
    /// A bit per relationship with joined targets (the bit of [`rel_bit`]): one load tells a
    /// to-one field that nothing was joined for it (a nested level) without the lock and the
    /// map of [`Self::joined`]. A bit shared by two names only sends one to the map.
    joined_bits: std::sync::atomic::AtomicU64,
    /// The target columns each to-one field of the document reads, by the field's address
    /// (see [`Self::field_mask`]); a handful per document, so a scan.
    field_masks: Mutex<Vec<((usize, &'static str), u64)>>,
    /// The checked arguments of each nested connection field of the document, by the
    /// field's address (see [`Self::child_args`]): each a [`SharedArgs`] of its child type.
    child_args: Mutex<HashMap<usize, AnyArgs, foldhash::fast::RandomState>>,
    /// The JSON text of joined to-one targets written in place, by the field's address and
    /// the target's key (see [`Self::copy_joined_text`]).
    joined_text: Mutex<JoinedTexts>,
}

/// The text of joined targets, by the to-one field's address and the target's key.
type JoinedTexts = HashMap<(usize, i64), Box<[u8]>, foldhash::fast::RandomState>;

/// A [`SharedArgs`] of some child type.
type AnyArgs = Box<dyn Any + Send + Sync>;

/// A `Dl<T>` of some loader type `T`, recovered by `downcast` with the `TypeId` it is keyed by
/// (with a name, and for a by-id loader the set of relationships it joins).
type AnyLoader = Arc<dyn Any + Send + Sync>;
/// A loader's name, its type, and the plan of its joins (empty for loaders that join nothing).
type LoaderKey = (&'static str, TypeId, Vec<u64>);
/// A [`Targets`] of some target type.
type AnyMap = Box<dyn Any + Send + Sync>;
/// Joined targets by relationship, then by the columns read.
type JoinedStore = HashMap<&'static str, Vec<(u64, AnyMap)>, foldhash::fast::RandomState>;
/// The targets a join read, by key (`None`: no such row, or hidden).
///
/// Kept as the objects that show them, so a field written in place borrows its target
/// ([`Loaders::with_joined`]) rather than copying it out.
pub type Targets<T> = HashMap<
    i64,
    Option<crate::fast::Fast<<T as crate::joins::Joinable>::Object>>,
    foldhash::fast::RandomState,
>;

impl Loaders {
    pub fn new(db: &Db, viewer: &Viewer, batches: BatchQueue, budget: Budget) -> Self {
        Self {
            db: db.clone(),
            viewer: *viewer,
            batches,
            budget,
            registry: Mutex::new(HashMap::new()),
            joined: Mutex::new(HashMap::default()),
            joined_bits: std::sync::atomic::AtomicU64::new(0),
            field_masks: Mutex::new(Vec::new()),
            child_args: Mutex::new(HashMap::default()),
            joined_text: Mutex::new(HashMap::default()),
        }
    }

    /// The checked arguments of the nested connection `field` (a field of the request's
    /// document), made by `make` the first time and shared after.
    ///
    /// Why by the field: its arguments are literals and the request's variables, and its
    /// selection is fixed, so they are the same under every parent; making them (the filter
    /// converted, the cursor checked against the ordering, the columns read worked out from
    /// the selection) and hashing them for the loader once per parent was most of what a
    /// nested connection cost before its statement. The document outlives the request's
    /// loaders, so an address names one field for as long as this is kept.
    pub fn child_args<C: Resource>(
        &self,
        field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
        make: impl FnOnce() -> async_graphql::Result<ArgsOf<C>>,
    ) -> async_graphql::Result<SharedArgs<ArgsOf<C>>> {
        use std::hash::BuildHasher;
        let key = std::ptr::from_ref(field) as usize;
        let lock = || {
            self.child_args
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some(found) = lock()
            .get(&key)
            .and_then(|args| args.downcast_ref::<SharedArgs<ArgsOf<C>>>())
        {
            return Ok(found.clone());
        }
        let args = make()?;
        let digest = foldhash::fast::FixedState::default().hash_one(&args);
        let shared = SharedArgs(Arc::new(args), digest);
        lock().insert(key, Box::new(shared.clone()));
        Ok(shared)
    }

    /// Forgets every loader and its cache: a subscription calls this before each change it
    /// resolves, so nothing read for an earlier change is served for a later one.
    pub fn reset(&self) {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        self.joined
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        self.joined_bits
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.field_masks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        self.child_args
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        self.joined_text
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Appends the text the to-one `field` (a field of the request's document) was written
    /// as for the target `key` before, if it was: the same field reads the same columns of
    /// the same row, so its text is the same under every parent. Only a text written without
    /// errors is kept ([`Self::keep_joined_text`]): an error names its parent's path.
    pub fn copy_joined_text(
        &self,
        field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
        key: i64,
        out: &mut Vec<u8>,
    ) -> bool {
        let texts = self
            .joined_text
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match texts.get(&(std::ptr::from_ref(field) as usize, key)) {
            Some(text) => {
                out.extend_from_slice(text);
                true
            }
            None => false,
        }
    }

    /// Keeps the text the to-one `field` was written as for the target `key`.
    pub fn keep_joined_text(
        &self,
        field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
        key: i64,
        text: &[u8],
    ) {
        self.joined_text
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((std::ptr::from_ref(field) as usize, key), text.into());
    }

    /// The target columns of `rel` that the to-one `field` (a field of the request's
    /// document) reads with its own selection, worked out by `make` the first time: the
    /// selection is the same under every parent, and working it out again for each was a
    /// tenth of what a joined to-one cost.
    pub fn field_mask(
        &self,
        field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
        rel: &'static str,
        make: impl FnOnce() -> u64,
    ) -> u64 {
        let key = (std::ptr::from_ref(field) as usize, rel);
        let lock = || {
            self.field_masks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some((_, mask)) = lock().iter().find(|(k, _)| *k == key) {
            return *mask;
        }
        let mask = make();
        lock().push((key, mask));
        mask
    }

    /// Keeps targets a join read (`rel`'s, their columns `mask`).
    pub fn store_joined<T: Joinable>(&self, rel: &'static str, mask: u64, found: Targets<T>) {
        self.joined_bits
            .fetch_or(rel_bit(rel), std::sync::atomic::Ordering::Relaxed);
        let mut joined = self
            .joined
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entries = joined.entry(rel).or_default();
        match entries.iter_mut().find(|(m, _)| *m == mask) {
            Some((_, map)) => map
                .downcast_mut::<Targets<T>>()
                .expect("BUG: a relationship's store holds its target type")
                .extend(found),
            None => entries.push((mask, Box::new(found))),
        }
    }

    /// The target of `rel` with key `key` as a join read it with the columns `mask()` names,
    /// or `None` when no join did (`mask` is only computed when some join read `rel`).
    pub fn joined<T: Joinable>(
        &self,
        rel: &'static str,
        mask: impl FnOnce() -> u64,
        key: i64,
    ) -> Option<Option<T::Model>> {
        self.with_joined::<T, _>(rel, mask, key, |target| {
            target.map(|object| T::model(object).clone())
        })
    }

    /// [`Self::joined`], lent to `f` rather than copied (a to-one written in place reads
    /// its target's attributes and is done with it).
    pub fn with_joined<T: Joinable, R>(
        &self,
        rel: &'static str,
        mask: impl FnOnce() -> u64,
        key: i64,
        f: impl FnOnce(Option<&crate::fast::Fast<T::Object>>) -> R,
    ) -> Option<R> {
        if self.joined_bits.load(std::sync::atomic::Ordering::Relaxed) & rel_bit(rel) == 0 {
            return None;
        }
        let joined = self
            .joined
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entries = joined.get(rel)?;
        let mask = mask();
        let (_, map) = entries.iter().find(|(m, _)| *m == mask)?;
        let target = map
            .downcast_ref::<Targets<T>>()
            .expect("BUG: a relationship's store holds its target type")
            .get(&key)?;
        Some(f(target.as_ref()))
    }

    fn get<T: Send + Sync + 'static>(
        &self,
        name: &'static str,
        make: impl FnOnce() -> T,
    ) -> Arc<Dl<T>> {
        self.get_variant(name, Vec::new(), make)
    }

    fn get_variant<T: Send + Sync + 'static>(
        &self,
        name: &'static str,
        variant: Vec<u64>,
        make: impl FnOnce() -> T,
    ) -> Arc<Dl<T>> {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = registry
            .entry((name, TypeId::of::<T>(), variant))
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
    pub fn by_id<R: Joinable>(self: &Arc<Self>, name: &'static str) -> Arc<Dl<ById<R>>> {
        self.by_id_joined(name, Plan::whole())
    }

    /// A by-id loader whose statement also reads the targets `plan` joins: lookups that plan
    /// alike share it.
    pub fn by_id_joined<R: Joinable>(
        self: &Arc<Self>,
        name: &'static str,
        plan: Plan<R>,
    ) -> Arc<Dl<ById<R>>> {
        self.get_variant(name, plan.key(), || ById {
            db: self.db.clone(),
            viewer: self.viewer,
            budget: self.budget.clone(),
            plan,
            name,
            hook: self.batches.hook().cloned(),
            loaders: Arc::downgrade(self),
        })
    }

    /// The page loader of a to-many relationship (it keeps nothing: see [`ChildPages`]).
    pub fn pages<P: Resource, C: Resource>(
        &self,
        rel: &'static ToMany<P, C>,
    ) -> Arc<Dl<ChildPages<P, C>>> {
        let loader = self.get(rel.name, || ChildPages {
            db: self.db.clone(),
            viewer: self.viewer,
            budget: self.budget.clone(),
            rel,
            hook: self.batches.hook().cloned(),
        });
        loader.enable_all_cache(false);
        loader
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
            hook: self.batches.hook().cloned(),
        })
    }
}

/// The bit of a relationship in [`Loaders::joined_bits`], from its name's length and two of
/// its bytes (a few instructions: it is asked on every to-one field of every row).
fn rel_bit(rel: &str) -> u64 {
    let bytes = rel.as_bytes();
    let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
    1 << ((bytes.len() as u64 * 131 + at(bytes.len().wrapping_sub(1)) * 7 + at(bytes.len() / 2))
        % 64)
}

/// An id no row has (ids start at 1 on every backend): what a to-one field with an unset key
/// asks its loader for, when the target may be hidden (see `resolve::to_one`).
pub const NO_ROW: i64 = 0;

/// No wall-clock batching window: [`crate::executor::Drive`] starts a batch only when
/// the request has registered every key it can.
const DELAY: Duration = Duration::ZERO;
/// Keys per batch, kept under the bind-parameter limits of SQLite and MySQL.
const MAX_BATCH: usize = 500;

/// The visible row `id` of a [`ById`] loader, the caller's own copy.
pub async fn row<R: Joinable>(
    loader: &Dl<ById<R>>,
    id: i64,
) -> async_graphql::Result<Option<R::Model>> {
    Ok(one(loader, id).await?.flatten().map(Arc::unwrap_or_clone))
}

/// Loads one value, mapping a shared loader error.
pub async fn one<K, T>(loader: &Dl<T>, key: K) -> async_graphql::Result<Option<T::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K, Error = Arc<AppError>>,
{
    loader.load_one(key).await.map_err(crate::error::gql_shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page told apart by its two flags (a page's rows need an ordering to be made).
    fn page(next: bool, previous: bool) -> Page<i32> {
        Page {
            rows: Vec::new(),
            has_next_page: next,
            has_previous_page: previous,
        }
    }

    fn flags(pages: &[Page<i32>]) -> Vec<(bool, bool)> {
        pages
            .iter()
            .map(|p| (p.has_next_page, p.has_previous_page))
            .collect()
    }

    /// Each parent gets its own page, in the parents' order, whether the pages are taken (no
    /// one else holds them) or copied (shared): a parent listed twice gets it twice, a parent
    /// the statement found nothing for an empty page.
    #[test]
    fn pages_come_out_in_parent_order_taken_or_copied() {
        let pages: Pages<i32> = [(1, page(true, false)), (2, page(false, true))]
            .into_iter()
            .collect();
        let want = vec![(false, true), (true, false), (false, true), (false, false)];
        let taken = take_pages(Arc::new(pages.clone()), &[2, 1, 2, 3]);
        assert_eq!(flags(&taken), want);
        let shared = Arc::new(pages);
        let other = shared.clone();
        let copied = take_pages(shared, &[2, 1, 2, 3]);
        assert_eq!(flags(&copied), want);
        assert_eq!(other.len(), 2, "a shared map is left whole");
    }
}
