//! Nested connections resolved for a whole list at once: `tasks(first: 5)` under a page of 50
//! steps asks the relationship's page loader for the 50 pages in one call, and when the
//! connection's selection is its `nodes` alone (the common case), every step's tasks are
//! resolved as one list ([`crate::fast::resolve_items`]), so a connection one level further
//! down is batched the same way.
//!
//! Why: resolved under each parent, a nested connection was about 14,000 instructions per
//! parent before its rows (a boxed field future, its arguments parsed again, a DataLoader
//! request of its own: a key set, a channel and a result map; the page copied, a connection
//! object with a cursor per row, and a list resolved for five items), a third of a nested
//! list's instructions (docs/PERFORMANCE.md). The statements do not change: the pages come
//! from the same loader, which still batches every list of the same field together, so a
//! query's statement count depends on its shape as before.
//!
//! The answer does not change either: the arguments are read as the derived resolver reads
//! them, an argument or cursor that does not check out sends the field through each parent's
//! own resolver (which reports it under each parent), a loader error is reported under each
//! parent at the field's position, and anything but `nodes` (`edges`, `pageInfo`,
//! `totalCount`, fragments) is resolved per parent from a connection object, as before. The
//! integration suite compares every answer with async-graphql's own executor byte for byte.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::{ContextSelectionSet, InputType, OutputType, Positioned, ServerResult, Value};
use stepgraph_domain::service::children::ArgsOf;
use stepgraph_domain::service::lists::{
    CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities, Tasks,
    Templates, Users,
};
use stepgraph_domain::service::pagination::Page;
use stepgraph_domain::service::relations::{self as rel, ToMany};
use stepgraph_domain::service::resource::Resource;

use crate::connection::FromPage;
use crate::fast::BatchFuture;
use crate::inputs::{FilterInput, OrderInput};
use crate::joins::Joinable;
use crate::loaders::{PagesKey, SharedArgs, take_pages};
use crate::types;

/// A resource listed in connections: the wire types of its lists.
pub trait Connected: Joinable {
    type FilterInput: FilterInput<Service = Self::Filter> + InputType;
    type OrderInput: OrderInput<Sort = Self::Sort> + InputType;
    type Connection: FromPage<Self::Model> + OutputType;
}

/// A resource with to-many relationships, each the connection field of its name.
pub trait Parent: Resource {
    /// Its to-many relationships, as declared in the domain.
    fn to_manys() -> &'static [&'static dyn ToManyField<Self>];
    /// The field of each of [`Self::to_manys`], at the same position.
    fn to_many_fields() -> &'static [&'static str];
}

/// A to-many relationship of `P`, whose connection field a list of `P` resolves at once.
pub trait ToManyField<P: Resource>: Sync {
    /// The connection field (`tasks` of `SequenceStep.tasks`).
    fn field(&self) -> &'static str;

    /// The values of the field `field` under each of `parents` (by id), each with its
    /// context; `None` when the field must go through each parent's own resolver.
    fn batch<'b>(
        &'static self,
        parents: Vec<i64>,
        contexts: &'b [ContextSelectionSet<'b>],
        field: &'b Positioned<Field>,
    ) -> Option<BatchFuture<'b>>;
}

/// The field `field` of every one of `parents` (each with its context), when it is one of
/// `P`'s connections: see the module documentation.
pub fn batch<'b, P: Parent>(
    parents: impl Iterator<Item = &'b P::Model>,
    contexts: &'b [ContextSelectionSet<'b>],
    field: &'b Positioned<Field>,
) -> Option<BatchFuture<'b>> {
    let name = field.node.name.node.as_str();
    let index = P::to_many_fields().iter().position(|f| *f == name)?;
    P::to_manys()[index].batch(parents.map(P::id).collect(), contexts, field)
}

impl<P: Resource, C: Connected> ToManyField<P> for ToMany<P, C> {
    fn field(&self) -> &'static str {
        self.name
            .rsplit_once('.')
            .map_or(self.name, |(_, field)| field)
    }

    fn batch<'b>(
        &'static self,
        parents: Vec<i64>,
        contexts: &'b [ContextSelectionSet<'b>],
        field: &'b Positioned<Field>,
    ) -> Option<BatchFuture<'b>> {
        let rc = contexts.first()?.data_opt::<crate::RequestCtx>()?;
        // The arguments as the derived resolver reads them, in its order; one that does not
        // parse is reported by that resolver, under each parent.
        let ctx = contexts[0].with_field(field);
        let filter = ctx
            .param_value::<Option<C::FilterInput>>("filter", None)
            .ok()?
            .1;
        let order_by = ctx
            .param_value::<Option<Vec<C::OrderInput>>>("orderBy", None)
            .ok()?
            .1;
        let first = ctx.param_value::<Option<i32>>("first", None).ok()?.1;
        let after = ctx.param_value::<Option<String>>("after", None).ok()?.1;
        let last = ctx.param_value::<Option<i32>>("last", None).ok()?.1;
        let before = ctx.param_value::<Option<String>>("before", None).ok()?.1;
        let page = crate::resolve::page(first, after, last, before);
        let args = rc
            .loaders
            .child_args::<C>(field, || {
                crate::resolve::connection_args(&ctx, self, filter, order_by, &page)
            })
            .ok()?;
        Some(Box::pin(pages(self, rc, parents, args, contexts, field)))
    }
}

/// Every parent's page, then every parent's connection (see the module documentation).
async fn pages<'b, P: Resource, C: Connected>(
    rel: &'static ToMany<P, C>,
    rc: &'b crate::RequestCtx,
    parents: Vec<i64>,
    args: SharedArgs<ArgsOf<C>>,
    contexts: &'b [ContextSelectionSet<'b>],
    field: &'b Positioned<Field>,
) -> Vec<ServerResult<Option<Value>>> {
    let key = PagesKey::new(parents.iter().copied().collect(), args.clone());
    let found = match crate::loaders::one(&*rc.loaders.pages(rel), key).await {
        Ok(found) => found,
        Err(err) => {
            // As the field's resolver reports it under each parent.
            return contexts
                .iter()
                .map(|ctx| {
                    let ctx = ctx.with_field(field);
                    Err(ctx.set_error_path(err.clone().into_server_error(field.pos)))
                })
                .collect();
        }
    };
    let pages: Vec<Page<C::Model>> = take_pages(found.unwrap_or_default(), &parents);
    let field_contexts: Vec<_> = contexts.iter().map(|ctx| ctx.with_field(field)).collect();
    let sets: Vec<ContextSelectionSet<'_>> = field_contexts
        .iter()
        .map(|ctx| ctx.with_selection_set(&field.node.selection_set))
        .collect();
    if let Some(nodes) = only_nodes(&field.node.selection_set.node) {
        let node_contexts: Vec<_> = sets.iter().map(|set| set.with_field(nodes)).collect();
        let node_sets: Vec<ContextSelectionSet<'_>> = node_contexts
            .iter()
            .map(|ctx| ctx.with_selection_set(&nodes.node.selection_set))
            .collect();
        let plan = crate::fast::plan(&node_sets[0], &<C::Object as OutputType>::type_name());
        if let Some(fields) = plan {
            return nodes_of_all::<C>(rc, pages, &node_sets, nodes, &fields).await;
        }
    }
    // Anything else, per parent from a connection object, as the field's resolver does.
    let connections: Vec<C::Connection> = pages
        .into_iter()
        .zip(&parents)
        .map(|(page, &parent)| {
            let total =
                crate::resolve::child_total(rc.loaders.clone(), rel, parent, args.0.filter.clone());
            C::Connection::from_page(page, total)
        })
        .collect();
    futures_util::future::join_all(
        connections
            .iter()
            .zip(&sets)
            .map(|(connection, set)| async move {
                OutputType::resolve(connection, set, field).await.map(Some)
            }),
    )
    .await
}

/// The `nodes` field, when it is all a connection's selection reads (without arguments or
/// directives).
fn only_nodes(set: &SelectionSet) -> Option<&Positioned<Field>> {
    match set.items.as_slice() {
        [only] => match &only.node {
            Selection::Field(field)
                if field.node.name.node == "nodes"
                    && field.node.arguments.is_empty()
                    && field.node.directives.is_empty() =>
            {
                Some(field)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Each parent's connection as `{"nodes": [...]}`, every parent's rows resolved as one list
/// (`node_sets`: each parent's `nodes` selection, with its path; `fields`: the plan of a row's
/// selection).
async fn nodes_of_all<'b, C: Connected>(
    rc: &'b crate::RequestCtx,
    pages: Vec<Page<C::Model>>,
    node_sets: &'b [ContextSelectionSet<'b>],
    nodes: &'b Positioned<Field>,
    fields: &[&'b Positioned<Field>],
) -> Vec<ServerResult<Option<Value>>> {
    let counts: Vec<usize> = pages.iter().map(|page| page.rows.len()).collect();
    let rows: Vec<_> = pages
        .into_iter()
        .flat_map(|page| page.rows)
        .map(|(model, _)| C::object(model))
        .collect();
    let roots: Vec<&C::Object> = rows.iter().map(|row| &**row).collect();
    // Each row's context names its parent's path and its own index, as a list's does.
    let contexts: Vec<ContextSelectionSet<'_>> = node_sets
        .iter()
        .zip(&counts)
        .flat_map(|(set, &n)| (0..n).map(move |i| set.with_index(i)))
        .collect();
    let entries = crate::fast::resolve_items(&contexts, &roots, fields, Some(rc)).await;
    let key = &nodes.node.response_key().node;
    let mut entries = entries.into_iter().zip(&contexts);
    counts
        .iter()
        .map(|&n| {
            let mine = entries.by_ref().take(n);
            Ok(Some(if rc.raw_json {
                // As a connection object writes its one field (`crate::fast`).
                let mut out = Vec::with_capacity(16 + 64 * n * fields.len());
                out.push(b',');
                crate::raw::key(&mut out, key);
                out.push(b'[');
                for (i, (entries, ctx)) in mine.enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    entries.write(&mut out, fields, ctx);
                }
                out.push(b']');
                crate::raw::close(&mut out, 0);
                crate::raw::fragment(out)
            } else {
                let list = Value::List(mine.map(|(entries, _)| entries.into_value()).collect());
                let mut map = IndexMap::with_capacity(1);
                map.insert(key.clone(), list);
                Value::Object(map)
            }))
        })
        .collect()
}

/// The `many` entries of a `with_relations!` list ([`crate::joins::of_kind`]).
macro_rules! only_many {
    ($($list:tt)*) => {
        crate::joins::of_kind!(many, ToManyField; $($list)*)
    };
}

/// Every resource: its wire types, and its to-many relationships.
macro_rules! connected {
    ($($P:ident => $filter:ident, $order:ident, $connection:ident;)*) => {$(
        impl Connected for $P {
            type FilterInput = types::$filter;
            type OrderInput = types::$order;
            type Connection = types::$connection;
        }

        impl Parent for $P {
            fn to_manys() -> &'static [&'static dyn ToManyField<Self>] {
                stepgraph_domain::with_relations!($P, only_many)
            }
            fn to_many_fields() -> &'static [&'static str] {
                static FIELDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
                FIELDS.get_or_init(|| Self::to_manys().iter().map(|rel| rel.field()).collect())
            }
        }
    )*};
}

connected! {
    Steps => SequenceStepFilter, SequenceStepOrder, SequenceStepConnection;
    Sequences => SequenceFilter, SequenceOrder, SequenceConnection;
    SequenceTemplates => SequenceTemplateFilter, SequenceTemplateOrder, SequenceTemplateConnection;
    Templates => TemplateFilter, TemplateOrder, TemplateConnection;
    Users => UserFilter, UserOrder, UserConnection;
    Tasks => TaskFilter, TaskOrder, TaskConnection;
    Calls => CallFilter, CallOrder, CallConnection;
    Mailings => MailingFilter, MailingOrder, MailingConnection;
    CallPurposes => CallPurposeFilter, CallPurposeOrder, CallPurposeConnection;
    TaskPriorities => TaskPriorityFilter, TaskPriorityOrder, TaskPriorityConnection;
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// Every to-many relationship of every resource is a connection field of its object type
    /// by the name `ToManyField::field` gives, with the arguments `batch` reads: a name that
    /// drifted would silently send the field back through each parent's resolver.
    fn check<P: Parent + Joinable>() {
        let doc = async_graphql::parser::parse_schema(crate::sdl()).expect("the SDL parses");
        let object = <P::Object as OutputType>::type_name();
        let fields = doc
            .definitions
            .into_iter()
            .find_map(|def| match def {
                TypeSystemDefinition::Type(ty) if ty.node.name.node == *object => {
                    match ty.node.kind {
                        TypeKind::Object(o) => Some(o.fields),
                        _ => None,
                    }
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{object} is an object type"));
        for rel in P::to_manys() {
            let name = rel.field();
            let field = fields
                .iter()
                .find(|f| f.node.name.node == name)
                .unwrap_or_else(|| panic!("{object}.{name} is a field"));
            // (The SDL lists arguments by name.)
            let mut args: Vec<&str> = field
                .node
                .arguments
                .iter()
                .map(|a| a.node.name.node.as_str())
                .collect();
            args.sort_unstable();
            assert_eq!(
                args,
                ["after", "before", "filter", "first", "last", "orderBy"],
                "{object}.{name}"
            );
        }
    }

    #[test]
    fn every_to_many_is_a_connection_field_with_the_arguments_read() {
        check::<Steps>();
        check::<Sequences>();
        check::<SequenceTemplates>();
        check::<Templates>();
        check::<Users>();
        check::<Tasks>();
        check::<Calls>();
        check::<Mailings>();
        check::<CallPurposes>();
        check::<TaskPriorities>();
    }
}
