//! Object types whose plain attributes resolve in place: [`Fast`], the wrapper every entity's
//! object type is used through (`type SequenceStep = Fast<SequenceStepNode>`).
//!
//! Why: async-graphql resolves every selected field of an object as its own boxed future
//! (the size of the object's largest field resolver, so each one is a heap allocation and a
//! copy of a few kilobytes), polls them through a `FuturesUnordered` and inserts the results
//! in completion order. A list of 50 steps with 5 tasks each is about 1,200 such futures, and
//! that machinery, not SQL, was most of a nested list's CPU time (docs/PERFORMANCE.md). Most
//! of those fields are attributes (`id`, `name`, `state`): argument-less methods that read the
//! model and never wait. [`Fast`] computes those in place, in selection order (as JSON text
//! straight from the method's value when the response is written as text, [`crate::raw`]),
//! writes a to-one whose target the parent's statement joined in place
//! ([`crate::joins::write_joined`]), and sends only the rest (other relationships,
//! `canWrite`, fields with arguments) through the object's own generated `resolve_field`,
//! concurrently, so loaders still batch across siblings. [`List`] does the same for every
//! item of a connection's `nodes` at once, and connection types are `Fast` too.
//!
//! The schema does not change: `Fast<T>` registers and names itself as `T`. What a field
//! answers does not change either: an attribute is computed by the same method the derived
//! resolver calls, converted by the same `OutputType::resolve` (or written by
//! [`crate::raw::Json`], which writes the text of that value: a unit test per type). Anything unusual (a response
//! key selected twice, a field with directives) takes async-graphql's own path for the whole
//! object. The schema registers no extensions; one that hooks field resolution would have to
//! be called here too.
//!
//! It relies on items async-graphql does not promise to keep, so it stays only while it pays
//! and only with guards: measured against async-graphql's own path in docs/PERFORMANCE.md
//! (on 2026-12-04, 39% fewer instructions per request on Q2, 34% on Q3), async-graphql and its
//! derive pinned exactly, every query of the integration suite answered by both paths and
//! compared byte for byte (`tests/it/server.rs`, with [`crate::Limits::stock_resolvers`]),
//! and a checklist for upgrades ("Upgrading async-graphql" in docs/PERFORMANCE.md).

use std::borrow::Cow;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{ContainerType, Fields, resolve_container};
use async_graphql::{
    Context, ContextSelectionSet, ObjectType, OutputType, Positioned, ServerResult, Value,
};
use futures_util::FutureExt;

/// An object type used through [`Fast`]: its attribute fields, computed without waiting (its
/// other fields resolve through its derived `resolve_field`).
pub trait Attributes: ContainerType + Sync {
    /// The value of the attribute field `ctx.item` names, or `None` when that field is not an
    /// attribute.
    fn attribute(&self, ctx: &Context<'_>) -> Option<ServerResult<Value>>;

    /// Writes the attribute field `ctx.item` names as JSON text ([`crate::raw::Json`]), or
    /// `None` when that field is not an attribute.
    fn attribute_json(&self, ctx: &Context<'_>, out: &mut Vec<u8>) -> Option<ServerResult<()>>;

    /// Whether the field `name` is an attribute.
    fn is_attribute(name: &str) -> bool
    where
        Self: Sized;

    /// Writes the to-one field `ctx.item` names as JSON text when its target is at hand
    /// ([`crate::joins::write_joined`]), or `None` (nothing written).
    fn to_one_json(
        &self,
        ctx: &Context<'_>,
        rc: &crate::RequestCtx,
        out: &mut Vec<u8>,
    ) -> Option<ServerResult<()>>;

    /// The values of the field `field` for every item of a list at once (each item with its
    /// context), when it is a connection this type resolves for a whole list
    /// ([`crate::nested`]); `None` sends the field through each item's own resolver.
    fn batch<'b>(
        _items: &'b [&'b Self],
        _contexts: &'b [ContextSelectionSet<'b>],
        _field: &'b Positioned<Field>,
    ) -> Option<BatchFuture<'b>>
    where
        Self: Sized,
    {
        None
    }
}

/// The values of one field for every item of a list, in the items' order.
pub type BatchFuture<'a> =
    Pin<Box<dyn Future<Output = Vec<ServerResult<Option<Value>>>> + Send + 'a>>;

/// The future of one field's value.
pub type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<Option<Value>>> + Send + 'a>>;

/// An object type whose attributes resolve in place (see the module documentation).
pub struct Fast<T>(T);

impl<T> Fast<T> {
    pub fn new(inner: T) -> Self {
        Self(inner)
    }
}

impl<T> Deref for Fast<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Attributes> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve(ctx, &self.0).await
    }
}

/// An object type, so it can be a member of an interface (`Node`). An interface resolves its
/// value through async-graphql's own container path, which lands here: the object's derived
/// resolvers, field by field.
impl<T: Attributes + ObjectType> ContainerType for Fast<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        self.0.resolve_field(ctx).await
    }

    fn collect_all_fields<'a>(
        &'a self,
        ctx: &ContextSelectionSet<'a>,
        fields: &mut Fields<'a>,
    ) -> ServerResult<()> {
        self.0.collect_all_fields(ctx, fields)
    }
}

impl<T: Attributes + ObjectType> ObjectType for Fast<T> {}

/// Schema data that sends every object through async-graphql's own path
/// ([`crate::Limits::stock_resolvers`]).
pub struct StockResolvers;

/// How deep fragments may nest inside one object's selection (the parser and the cost check
/// bound documents long before this).
const MAX_FRAGMENT_DEPTH: usize = 32;

async fn resolve<'a, T: Attributes>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    let Some(fields) = plan(ctx, &root.introspection_type_name()) else {
        return resolve_container(ctx, root).await;
    };
    let rc = ctx.data_opt::<crate::RequestCtx>();
    let raw = rc.is_some_and(|rc| rc.raw_json);
    let mut pending = Vec::new();
    let mut entries = begin(
        ctx,
        root,
        &fields,
        rc,
        0,
        &mut pending,
        &[],
        &mut Vec::new(),
    );
    for (_, slot, result) in wait(pending).await {
        entries.settle(slot, result, ctx);
    }
    Ok(if raw {
        // The object's JSON text, in selection order (`crate::raw`).
        crate::raw::fragment(entries.into_text(&fields, ctx))
    } else {
        entries.into_value()
    })
}

/// A list of objects resolved as one: every item's attributes in place, and the fields that
/// wait (a nested connection under each item) as one set of futures for the whole list.
///
/// Why: async-graphql resolves a list as a future per item, each resolving its object's
/// fields as futures of their own; for a page of 50 steps with 5 tasks each that was 300
/// object futures, each moved and polled through two layers of joins, for objects whose
/// fields were nearly all ready at once. Here the selection is collected once per list, each
/// item gets its own context (so an error's path names its index, as async-graphql's does),
/// and a list whose items need nothing else is written without a future at all. In JSON text
/// mode the list is one fragment.
pub struct List<'a, N>(Vec<&'a N>);

impl<'a, N> List<'a, N> {
    pub fn new(items: Vec<&'a N>) -> Self {
        Self(items)
    }
}

impl<T: Attributes> OutputType for List<'_, Fast<T>> {
    fn type_name() -> Cow<'static, str> {
        <Vec<&Fast<T>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<&Fast<T>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<&Fast<T>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let items = &self.0;
        let fields = match items.first() {
            Some(first) => plan(ctx, &first.0.introspection_type_name()),
            None => return Ok(Value::List(Vec::new())),
        };
        let Some(fields) = fields else {
            // The stock path for every item, as async-graphql resolves a list.
            return async_graphql::resolver_utils::resolve_list(
                ctx,
                field,
                items.iter().copied(),
                Some(items.len()),
            )
            .await;
        };
        let rc = ctx.data_opt::<crate::RequestCtx>();
        let raw = rc.is_some_and(|rc| rc.raw_json);
        // Each item's context, named by its index: the futures below borrow them.
        let contexts: Vec<ContextSelectionSet<'_>> =
            (0..items.len()).map(|i| ctx.with_index(i)).collect();
        let roots: Vec<&T> = items.iter().map(|item| &item.0).collect();
        let entries = resolve_items(&contexts, &roots, &fields, rc).await;
        Ok(if raw {
            let mut out = Vec::with_capacity(64 * items.len() * fields.len());
            out.push(b'[');
            for (i, (entries, ctx)) in entries.into_iter().zip(&contexts).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                entries.write(&mut out, &fields, ctx);
            }
            out.push(b']');
            crate::raw::fragment(out)
        } else {
            Value::List(entries.into_iter().map(Entries::into_value).collect())
        })
    }
}

/// Every item of a list resolved against `fields` (each item with its context): what each
/// can have now in place, the fields that wait as one set of futures for the whole list, and
/// a connection the item type resolves for a whole list ([`Attributes::batch`]) as one future
/// per field.
pub(crate) async fn resolve_items<'a, 'b, T: Attributes>(
    contexts: &'b [ContextSelectionSet<'a>],
    roots: &'b [&'a T],
    fields: &'b [&'a Positioned<Field>],
    rc: Option<&crate::RequestCtx>,
) -> Vec<Entries> {
    let mut batches = Vec::new();
    let mut batched = Vec::new();
    for (index, &field) in fields.iter().enumerate() {
        if let Some(batch) = T::batch(roots, contexts, field) {
            batches.push(batch);
            batched.push(index);
        }
    }
    let mut pending = Vec::new();
    let mut slots = Vec::new();
    let mut entries: Vec<Entries> = roots
        .iter()
        .zip(contexts)
        .enumerate()
        .map(|(i, (&root, ctx))| {
            begin(ctx, root, fields, rc, i, &mut pending, &batched, &mut slots)
        })
        .collect();
    let (waited, batches) = if batches.is_empty() {
        (wait(pending).await, Vec::new())
    } else {
        futures_util::future::join(wait(pending), futures_util::future::join_all(batches)).await
    };
    for (item, slot, result) in waited {
        entries[item].settle(slot, result, &contexts[item]);
    }
    if !batches.is_empty() {
        // Each batch's values by item, taken in the order `begin` left their places.
        let mut batches: Vec<std::vec::IntoIter<_>> =
            batches.into_iter().map(Vec::into_iter).collect();
        for (item, which, slot) in slots {
            let result = batches[which]
                .next()
                .expect("BUG: a batch answers every item of its list");
            entries[item].settle(slot, result, &contexts[item]);
        }
    }
    entries
}

/// The fields of the selection that apply to the object type `name`, fragments expanded;
/// `None` when the selection needs async-graphql's own path: selections merged under one
/// response key, or a directive to run. (The cost check bounds a selection's fields, so the
/// scans stay short.)
pub(crate) fn plan<'a>(
    ctx: &ContextSelectionSet<'a>,
    name: &str,
) -> Option<Vec<&'a Positioned<Field>>> {
    if stock(ctx) {
        return None;
    }
    // Sized for a selection without fragments (one grown vector per object was 300
    // allocations of a nested list's 4,800).
    let mut fields = Vec::with_capacity(ctx.item.node.items.len());
    // The schema registers no extensions (`graphql::build_schema`); one that hooks field
    // resolution would need this path to call it, as async-graphql's does.
    if !collect(ctx, &ctx.item.node, name, &mut fields, 0) {
        return None;
    }
    for (i, field) in fields.iter().enumerate() {
        let key = &field.node.response_key().node;
        if !field.node.directives.is_empty()
            || fields[..i]
                .iter()
                .any(|other| other.node.response_key().node == *key)
        {
            return None;
        }
    }
    Some(fields)
}

/// A field that waits: which item of the list, which of its entries, and the future.
type Waiting<'a> = (usize, usize, FieldFuture<'a>);

/// The waiting fields' results, with the item and entry each belongs to.
async fn wait(
    pending: Vec<Waiting<'_>>,
) -> impl Iterator<Item = (usize, usize, ServerResult<Option<Value>>)> {
    let (places, futures): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .map(|(item, slot, future)| ((item, slot), future))
        .unzip();
    let results = if futures.is_empty() {
        Vec::new()
    } else {
        futures_util::future::join_all(futures).await
    };
    places
        .into_iter()
        .zip(results)
        .map(|((item, slot), result)| (item, slot, result))
}

/// One object's fields as they resolve, in one of two forms: values (async-graphql's tree,
/// for callers that read `Response::data`) or JSON text (see [`crate::raw`]). A field that
/// fails is reported and left out, as async-graphql leaves it out.
pub(crate) enum Entries {
    /// A value per field of the plan, in its order (a waiting field holds a placeholder until
    /// it settles), and the entries whose field failed.
    Values {
        out: Vec<(async_graphql::Name, Value)>,
        failed: Vec<usize>,
    },
    /// The text of the fields resolved in place, each written as `,"key":value` (the first
    /// comma becomes the object's `{`), and the fields that wait: where in the text each goes,
    /// which field of the plan it is, and its value once settled (`None`: it failed).
    Text {
        text: Vec<u8>,
        waiting: Vec<(usize, usize, Option<Value>)>,
    },
}

impl Entries {
    fn settle(
        &mut self,
        slot: usize,
        result: ServerResult<Option<Value>>,
        ctx: &ContextSelectionSet<'_>,
    ) {
        let value = match result {
            Ok(value) => Some(value.unwrap_or_default()),
            Err(err) => {
                // As async-graphql does: the error is reported and the key left out.
                ctx.add_error(err);
                None
            }
        };
        match self {
            Entries::Values { out, failed } => match value {
                Some(value) => out[slot].1 = value,
                None => failed.push(slot),
            },
            Entries::Text { waiting, .. } => waiting[slot].2 = value,
        }
    }

    /// The object's JSON text at the end of `out`, `null` when every field failed.
    pub(crate) fn write(
        self,
        out: &mut Vec<u8>,
        fields: &[&Positioned<Field>],
        ctx: &ContextSelectionSet<'_>,
    ) {
        let start = out.len();
        match self {
            Entries::Values {
                out: entries,
                failed,
            } => {
                for (i, ((key, mut value), field)) in entries.into_iter().zip(fields).enumerate() {
                    if !failed.contains(&i) {
                        crate::raw::member(
                            out,
                            key.as_str(),
                            &mut value,
                            &field.node,
                            &ctx.query_env.fragments,
                        );
                    }
                }
            }
            Entries::Text { text, waiting } => {
                let mut copied = 0;
                for (at, field, value) in waiting {
                    out.extend_from_slice(&text[copied..at]);
                    copied = at;
                    if let Some(mut value) = value {
                        let field = &fields[field].node;
                        crate::raw::member(
                            out,
                            &field.response_key().node,
                            &mut value,
                            field,
                            &ctx.query_env.fragments,
                        );
                    }
                }
                out.extend_from_slice(&text[copied..]);
            }
        }
        crate::raw::close(out, start);
    }

    /// [`Self::write`] into a text of its own: an object whose fields all resolved in place
    /// is the text it wrote them into.
    fn into_text(self, fields: &[&Positioned<Field>], ctx: &ContextSelectionSet<'_>) -> Vec<u8> {
        match self {
            Entries::Text { mut text, waiting } if waiting.is_empty() => {
                crate::raw::close(&mut text, 0);
                text
            }
            entries => {
                let mut out = Vec::with_capacity(128);
                entries.write(&mut out, fields, ctx);
                out
            }
        }
    }

    /// The object as a map, in selection order (one hash per key: `Value::Object` hashes
    /// its keys with SipHash), `null` when every field failed.
    pub(crate) fn into_value(self) -> Value {
        let Entries::Values { out, failed } = self else {
            unreachable!("values are asked of an object resolved to values")
        };
        let mut map: IndexMap<async_graphql::Name, Value> = IndexMap::with_capacity(out.len());
        for (i, (key, value)) in out.into_iter().enumerate() {
            if !failed.contains(&i) {
                map.insert(key, value);
            }
        }
        if map.is_empty() {
            Value::Null
        } else {
            Value::Object(map)
        }
    }
}

/// Resolves what of `root`'s fields can be had now, in place (as JSON text when the request
/// asks for it, `rc`); the rest go to `pending` as futures, tagged with `item` and the entry
/// they settle. The fields at the positions `batched` names are left to a whole list's batch
/// (the `n`th of them the `n`th batch): their places go to `slots`.
#[allow(clippy::too_many_arguments)]
fn begin<'a, T: Attributes>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    fields: &[&'a Positioned<Field>],
    rc: Option<&crate::RequestCtx>,
    item: usize,
    pending: &mut Vec<Waiting<'a>>,
    batched: &[usize],
    slots: &mut Vec<(usize, usize, usize)>,
) -> Entries {
    let text_of = rc.filter(|rc| rc.raw_json);
    let mut entries = if text_of.is_some() {
        Entries::Text {
            text: Vec::with_capacity(16 * fields.len() + 16),
            waiting: Vec::new(),
        }
    } else {
        Entries::Values {
            out: Vec::with_capacity(fields.len()),
            failed: Vec::new(),
        }
    };
    for (index, &field) in fields.iter().enumerate() {
        let key = &field.node.response_key().node;
        if let Some(which) = batched.iter().position(|&b| b == index) {
            let slot = place(&mut entries, key, index);
            slots.push((item, which, slot));
            continue;
        }
        // What the field is, once it is known now: an attribute's text is written at once.
        let now: Option<ServerResult<Option<Value>>> = if field.node.name.node == "__typename" {
            Some(Ok(Some(Value::String(
                root.introspection_type_name().into_owned(),
            ))))
        } else if field.node.arguments.is_empty() {
            match &mut entries {
                Entries::Text { text, .. } => {
                    let mark = text.len();
                    text.push(b',');
                    crate::raw::key(text, key);
                    let field_ctx = ctx.with_field(field);
                    let written = root
                        .attribute_json(&field_ctx, text)
                        .or_else(|| text_of.and_then(|rc| root.to_one_json(&field_ctx, rc, text)));
                    match written {
                        Some(Ok(())) => continue,
                        Some(Err(err)) => {
                            // Reported and left out, as a field that waits is.
                            text.truncate(mark);
                            ctx.add_error(err);
                            continue;
                        }
                        None => {
                            text.truncate(mark);
                            None
                        }
                    }
                }
                Entries::Values { .. } => {
                    root.attribute(&ctx.with_field(field)).map(|r| r.map(Some))
                }
            }
        } else {
            None
        };
        let now = match now {
            Some(now) => Some(now),
            None => {
                let owned = ctx.clone();
                let mut future: FieldFuture<'a> =
                    Box::pin(async move { root.resolve_field(&owned.with_field(field)).await });
                // A field without arguments often has its value already: a to-one whose
                // target the parent's statement joined, `canWrite`, a connection's `nodes`
                // whose items resolve in place. Its future is polled once here; one that waits
                // is kept, started, with the fields that wait (it is polled again with the
                // request's waker when they are awaited). Fields with arguments (connections)
                // nearly always wait: they go there untried.
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                match field.node.arguments.is_empty() {
                    true => match future.as_mut().poll(&mut cx) {
                        std::task::Poll::Ready(result) => Some(result),
                        std::task::Poll::Pending => {
                            wait_for(&mut entries, key, index, item, future, pending);
                            None
                        }
                    },
                    false => {
                        wait_for(&mut entries, key, index, item, future, pending);
                        None
                    }
                }
            }
        };
        if let Some(result) = now {
            // Settled in place: a failed field is reported and left out, as a field that waits
            // is.
            match &mut entries {
                Entries::Text { text, .. } => match result {
                    Ok(value) => {
                        crate::raw::member(
                            text,
                            key,
                            &mut value.unwrap_or_default(),
                            &field.node,
                            &ctx.query_env.fragments,
                        );
                    }
                    Err(err) => ctx.add_error(err),
                },
                Entries::Values { out, .. } => {
                    // `out` keeps one entry per field, in the order of `fields`.
                    out.push((key.clone(), Value::Null));
                    let slot = out.len() - 1;
                    entries.settle(slot, result, ctx);
                }
            }
        }
    }
    entries
}

/// Puts a field that waits in `pending`, with a placeholder in `entries` that keeps its place.
fn wait_for<'a>(
    entries: &mut Entries,
    key: &async_graphql::Name,
    index: usize,
    item: usize,
    future: FieldFuture<'a>,
    pending: &mut Vec<Waiting<'a>>,
) {
    let slot = place(entries, key, index);
    pending.push((item, slot, future));
}

/// A placeholder in `entries` for the field at `index` of the plan, whose value settles
/// later; its slot.
fn place(entries: &mut Entries, key: &async_graphql::Name, index: usize) -> usize {
    match entries {
        Entries::Values { out, .. } => {
            out.push((key.clone(), Value::Null));
            out.len() - 1
        }
        Entries::Text { text, waiting } => {
            waiting.push((text.len(), index, None));
            waiting.len() - 1
        }
    }
}

/// Whether the schema sends every object through async-graphql's own path
/// ([`crate::Limits::stock_resolvers`]).
fn stock(ctx: &ContextSelectionSet<'_>) -> bool {
    ctx.schema_env
        .data
        .get(&std::any::TypeId::of::<StockResolvers>())
        .is_some()
}

/// The fields of `set` that apply to `root`, fragments expanded in place (as async-graphql's
/// `Fields::add_set` does); `false` when the selection needs the stock path.
fn collect<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    name: &str,
    out: &mut Vec<&'a Positioned<Field>>,
    depth: usize,
) -> bool {
    if depth > MAX_FRAGMENT_DEPTH {
        return false;
    }
    for item in &set.items {
        let (condition, selection_set) = match &item.node {
            Selection::Field(field) => {
                out.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node)
                else {
                    return false;
                };
                (
                    Some(fragment.node.type_condition.node.on.node.as_str()),
                    &fragment.node.selection_set.node,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| c.node.on.node.as_str()),
                &fragment.node.selection_set.node,
            ),
        };
        let applies = condition.is_none_or(|c| {
            c == name
                || ctx
                    .schema_env
                    .registry
                    .implements
                    .get(name)
                    .is_some_and(|interfaces| interfaces.contains(c))
        });
        if applies && !collect(ctx, selection_set, name, out, depth + 1) {
            return false;
        }
    }
    true
}

/// Computes an attribute now: `value` is the future of an `async fn` that never waits (the
/// `#[Object]` derive gives every method a context parameter), and its output converts to a [`Value`] as the derived resolver would convert it.
pub fn now<V: OutputType>(
    value: impl std::future::Future<Output = V>,
    ctx: &Context<'_>,
) -> Option<ServerResult<Value>> {
    let value = value.now_or_never()?;
    let ctx_set = ctx.with_selection_set(&ctx.item.node.selection_set);
    OutputType::resolve(&value, &ctx_set, ctx.item).now_or_never()
}

/// Writes `root` as the value of the field `ctx.item` when its selection reads attributes only
/// (nothing waits), as JSON text; `None`, with nothing written, when it reads more. Answers
/// whether every attribute was written (`false`: some failed, reported and left out).
pub fn write_now<T: Attributes>(
    ctx: &Context<'_>,
    rc: &crate::RequestCtx,
    root: &Fast<T>,
    out: &mut Vec<u8>,
) -> Option<ServerResult<bool>> {
    if !rc.raw_json {
        return None;
    }
    let ctx_set = ctx.with_selection_set(&ctx.item.node.selection_set);
    let fields = plan(&ctx_set, &root.0.introspection_type_name())?;
    let attributes_only = fields.iter().all(|field| {
        let name = field.node.name.node.as_str();
        name == "__typename" || (field.node.arguments.is_empty() && T::is_attribute(name))
    });
    if !attributes_only {
        return None;
    }
    // Written where it goes, as `begin` writes an object's text (`,"key":value` members, the
    // first comma made the `{`); the errors reported once the whole object is written.
    let start = out.len();
    let mut errors = Vec::new();
    for field in &fields {
        let mark = out.len();
        out.push(b',');
        crate::raw::key(out, &field.node.response_key().node);
        if field.node.name.node == "__typename" {
            crate::raw::Json::json(&*root.0.introspection_type_name(), out);
            continue;
        }
        match root.0.attribute_json(&ctx_set.with_field(field), out) {
            Some(Ok(())) => {}
            Some(Err(err)) => {
                // Reported and left out, as everywhere.
                out.truncate(mark);
                errors.push(err);
            }
            None => {
                // An attribute that waited (none does): its own path answers.
                out.truncate(start);
                return None;
            }
        }
    }
    crate::raw::close(out, start);
    let clean = errors.is_empty();
    for err in errors {
        ctx_set.add_error(err);
    }
    Some(Ok(clean))
}

/// Writes an attribute now, as [`now`] computes it: its text instead of its value; `None`
/// when the method waits (none does: an attribute that did would take the field's own path).
/// `value` is the derived method's future (which answers a `Result`); its error is reported
/// as the derived resolver reports it, at the field's position and path.
pub fn now_json<V: crate::raw::Json>(
    value: impl std::future::Future<Output = async_graphql::Result<V>>,
    ctx: &Context<'_>,
    out: &mut Vec<u8>,
) -> Option<ServerResult<()>> {
    Some(match value.now_or_never()? {
        Ok(value) => {
            value.json(out);
            Ok(())
        }
        Err(err) => Err(ctx.set_error_path(err.into_server_error(ctx.item.pos))),
    })
}

/// Declares an object type's attribute fields (argument-less methods of its `#[Object]` impl
/// that take no context and never wait) and its conversion from the entity model:
/// `attributes!(UserNode, entity::user::Model: id, email);`. Every other field (a
/// relationship, `canWrite`, a field with arguments) resolves through the derived
/// `resolve_field`, so a new relationship needs nothing here.
///
/// A field is found by its name in a table of the camelCase names made once per type (a step
/// has 38 attributes, and comparing a field's name with each method's in turn was 2% of a
/// nested list's instructions), then computed through the method at the same position.
macro_rules! attributes {
    ($node:ident, $model:ty: $($method:ident),+ $(,)?) => {
        impl $crate::fast::Attributes for $node {
            fn attribute(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> Option<async_graphql::ServerResult<async_graphql::Value>> {
                type Getter = fn(
                    &$node,
                    &async_graphql::Context<'_>,
                ) -> Option<async_graphql::ServerResult<async_graphql::Value>>;
                const GETTERS: &[Getter] = &[$(
                    |node: &$node, ctx: &async_graphql::Context<'_>| {
                        $crate::fast::now(node.$method(ctx), ctx)
                    }
                ),+];
                let index = Self::attribute_index(ctx.item.node.name.node.as_str())?;
                GETTERS[index](self, ctx)
            }

            fn attribute_json(
                &self,
                ctx: &async_graphql::Context<'_>,
                out: &mut Vec<u8>,
            ) -> Option<async_graphql::ServerResult<()>> {
                type Writer = fn(
                    &$node,
                    &async_graphql::Context<'_>,
                    &mut Vec<u8>,
                ) -> Option<async_graphql::ServerResult<()>>;
                const WRITERS: &[Writer] = &[$(
                    |node: &$node, ctx: &async_graphql::Context<'_>, out: &mut Vec<u8>| {
                        // Every type's `id` is `scalars::id(self.0.id)`: its text is written
                        // from the number, without the string the method makes (the suite's
                        // comparison with async-graphql's executor reads every type's id).
                        if stringify!($method) == "id" {
                            $crate::raw::id(node.0.id, out);
                            return Some(Ok(()));
                        }
                        $crate::fast::now_json(node.$method(ctx), ctx, out)
                    }
                ),+];
                let index = Self::attribute_index(ctx.item.node.name.node.as_str())?;
                WRITERS[index](self, ctx, out)
            }

            fn is_attribute(name: &str) -> bool {
                Self::attribute_index(name).is_some()
            }

            fn to_one_json(
                &self,
                ctx: &async_graphql::Context<'_>,
                rc: &$crate::RequestCtx,
                out: &mut Vec<u8>,
            ) -> Option<async_graphql::ServerResult<()>> {
                $crate::joins::write_joined::<<$node as $crate::joins::Shows>::Resource>(
                    &self.0, ctx, rc, out,
                )
            }

            fn batch<'b>(
                items: &'b [&'b Self],
                contexts: &'b [async_graphql::ContextSelectionSet<'b>],
                field: &'b async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> Option<$crate::fast::BatchFuture<'b>> {
                $crate::nested::batch::<<$node as $crate::joins::Shows>::Resource>(
                    items.iter().map(|item| &item.0),
                    contexts,
                    field,
                )
            }
        }

        impl $node {
            /// The position of the attribute `name` in the declaration, if it is one.
            fn attribute_index(name: &str) -> Option<usize> {
                static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
                let names = NAMES.get_or_init(|| {
                    [$(stringify!($method)),+]
                        .iter()
                        .map(|method| stepgraph_domain::service::mirror::camel(method))
                        .collect()
                });
                names.iter().position(|n| n == name)
            }
        }

        impl From<$model> for $crate::fast::Fast<$node> {
            fn from(model: $model) -> Self {
                $crate::fast::Fast::new($node(model))
            }
        }

        #[cfg(test)]
        impl $crate::fast::Listed for $node {
            const METHODS: &'static [&'static str] = &[$(stringify!($method)),+];
        }
    };
}
pub(crate) use attributes;

/// The methods an `attributes!` declaration lists (checked against the schema by a test).
#[cfg(test)]
pub trait Listed: OutputType {
    const METHODS: &'static [&'static str];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;
    use stepgraph_domain::service::mirror::camel;

    /// The renaming `attributes!` finds fields by: async-graphql's, snake_case to camelCase.
    #[test]
    fn camel_case_names() {
        assert_eq!(camel("id"), "id");
        assert_eq!(camel("bounce_count"), "bounceCount");
        assert_eq!(camel("task_autoskip_delay"), "taskAutoskipDelay");
        assert_ne!(camel("bounce_count"), "bounceCounts");
        assert_ne!(camel("bounce_counts"), "bounceCount");
        assert_ne!(camel("name"), "names");
        assert_ne!(camel("sequence"), "sequenceStep");
    }

    /// Every listed method is a field of its type, without arguments and of a scalar or enum
    /// type (an object's selection set would be ignored by the in-place path): a name listed
    /// by mistake fails here rather than answering a field with the wrong method.
    fn check<T: Listed>() {
        use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
        let doc = async_graphql::parser::parse_schema(crate::sdl()).expect("the SDL parses");
        let mut objects = std::collections::HashMap::new();
        let mut leaves: Vec<String> = ["ID", "String", "Int", "Float", "Boolean"]
            .map(String::from)
            .to_vec();
        for def in doc.definitions {
            if let TypeSystemDefinition::Type(ty) = def {
                let name = ty.node.name.node.to_string();
                match ty.node.kind {
                    TypeKind::Object(o) => {
                        objects.insert(name, o.fields);
                    }
                    TypeKind::Scalar | TypeKind::Enum(_) => leaves.push(name),
                    _ => {}
                }
            }
        }
        fn named(ty: &Type) -> &str {
            match &ty.base {
                BaseType::Named(name) => name.as_str(),
                BaseType::List(inner) => named(inner),
            }
        }
        let name = T::type_name();
        let fields = objects.get(name.as_ref()).expect("an object type");
        for method in T::METHODS {
            let field = fields
                .iter()
                .find(|f| camel(method) == f.node.name.node.as_str())
                .unwrap_or_else(|| panic!("{name}.{method} is not a field"));
            assert!(
                field.node.arguments.is_empty(),
                "{name}.{method} takes arguments"
            );
            let base = named(&field.node.ty.node);
            assert!(
                leaves.iter().any(|l| l == base),
                "{name}.{method} is of type {base}, not a scalar or enum"
            );
        }
    }

    #[test]
    fn listed_attributes_are_scalar_fields() {
        check::<SequenceStepNode>();
        check::<SequenceNode>();
        check::<SequenceTemplateNode>();
        check::<TemplateNode>();
        check::<TaskNode>();
        check::<CallNode>();
        check::<MailingNode>();
        check::<UserNode>();
        check::<CallPurposeNode>();
        check::<TaskPriorityNode>();
    }
}
