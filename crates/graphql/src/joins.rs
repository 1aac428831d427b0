//! Which to-one targets a root field reads in its own statement, and how what that statement
//! found reaches the fields that ask for it.
//!
//! A root lookup or list looks ahead into its selection: every to-one relationship of its
//! type that the selection names (`sequenceSteps { nodes { creator { name } } }`) is joined
//! into the root statement ([`stepgraph_domain::service::joins`]), and the targets it found,
//! hidden ones as `None`, are fed to the by-id loader that the relationship's field reads
//! ([`crate::resolve::to_one`]), whose cache then answers without a statement. The field's
//! resolver does not change and cannot tell: a target is the same row, passed by the same
//! visibility rule, whichever way it came.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use async_graphql::Lookahead;
use stepgraph_domain::service::joins::{Join, Targets};
use stepgraph_domain::service::lists::{
    CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities, Tasks,
    Templates, Users,
};
use stepgraph_domain::service::relations::{self as rel, ToOne};
use stepgraph_domain::service::resource::Resource;

use crate::loaders::{Loaders, NO_ROW};

/// A to-one relationship of `P` whose target a root statement can read.
pub trait ToOneField<P: Resource>: Sync {
    fn join(&self) -> &dyn Join<P>;
    /// Feeds what [`Join::decode`] found to the loader the relationship's field reads.
    fn prime<'a>(&'a self, loaders: &'a Arc<Loaders>, targets: Targets) -> BoxFuture<'a, ()>;
}

impl<P: Resource, T: Joinable> ToOneField<P> for ToOne<P, T> {
    fn join(&self) -> &dyn Join<P> {
        self
    }

    fn prime<'a>(&'a self, loaders: &'a Arc<Loaders>, targets: Targets) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(found) = targets.downcast::<Vec<(i64, Option<T::Model>)>>() else {
                unreachable!("a join's targets are those of its relationship")
            };
            // An unset key asks the loader for `NO_ROW` (see `resolve::to_one`): known absent.
            let found = found.into_iter().chain([(NO_ROW, None)]);
            loaders.by_id::<T>(P::NAME).feed_many(found).await;
        })
    }
}

/// A resource whose to-one relationships root fields can join.
pub trait Joinable: Resource {
    /// Its to-one relationships, as declared in the domain.
    fn to_ones() -> &'static [&'static dyn ToOneField<Self>];

    /// Other fields that read a relationship's target (`canWrite` reads the step's sequence),
    /// as (relationship field, other field).
    const READERS: &'static [(&'static str, &'static str)] = &[];
}

/// `Joinable` for each resource: its to-one relationships as `with_relations!` lists them, and
/// the fields that read them.
macro_rules! joinable {
    ($($P:ident $({ $($field:literal => $reader:literal),* })?),* $(,)?) => {$(
        impl Joinable for $P {
            fn to_ones() -> &'static [&'static dyn ToOneField<Self>] {
                stepgraph_domain::with_relations!($P, only_one)
            }
            $(const READERS: &'static [(&'static str, &'static str)] = &[$(($field, $reader)),*];)?
        }
    )*};
}

/// The `one` entries of a `with_relations!` list, as a static table.
macro_rules! only_one {
    ($P:ident; $($kind:ident $S:ident),*) => {
        only_one!(@acc $P; []; $($kind $S),*)
    };
    (@acc $P:ident; [$($done:ident),*]; one $S:ident $(, $($rest:tt)*)?) => {
        only_one!(@acc $P; [$($done,)* $S]; $($($rest)*)?)
    };
    (@acc $P:ident; [$($done:ident),*]; many $S:ident $(, $($rest:tt)*)?) => {
        only_one!(@acc $P; [$($done),*]; $($($rest)*)?)
    };
    (@acc $P:ident; [$($done:ident),*];) => {{
        static TO_ONES: &[&dyn ToOneField<$P>] = &[$(&rel::$done),*];
        TO_ONES
    }};
}

joinable! {
    Steps { "sequence" => "canWrite", "sequence" => "canDelete" },
    Sequences,
    SequenceTemplates,
    Templates,
    Users,
    Tasks,
    Calls,
    Mailings,
    CallPurposes,
    TaskPriorities,
}

/// The to-one relationships of `R` that `selections` name (each the selection of one `R`
/// object: a lookup's, or a connection's `nodes` and `edges.node`), and their set as a bit
/// mask (one bit per relationship in [`Joinable::to_ones`] order), which keys the loader of a
/// lookup that joins them.
pub fn selected<R: Joinable>(selections: &[Lookahead<'_>]) -> (u64, Vec<&'static dyn Join<R>>) {
    let mut mask = 0u64;
    let mut joins = Vec::new();
    for (i, to_one) in R::to_ones().iter().enumerate().take(64) {
        let join = to_one.join();
        let field = join.field();
        let named = |name: &str| selections.iter().any(|s| s.field(name).exists());
        let wanted = named(field)
            || R::READERS
                .iter()
                .any(|(f, reader)| *f == field && named(reader));
        if wanted {
            mask |= 1 << i;
            joins.push(to_one_join(*to_one));
        }
    }
    (mask, joins)
}

fn to_one_join<R: Resource>(to_one: &'static dyn ToOneField<R>) -> &'static dyn Join<R> {
    to_one.join()
}

/// Feeds every join's targets to the loaders their fields read (`joins` in the order the
/// statement had them).
pub async fn prime<R: Joinable>(loaders: &Arc<Loaders>, mask: u64, targets: Vec<Targets>) {
    let wanted = R::to_ones()
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0);
    for ((_, to_one), found) in wanted.zip(targets) {
        to_one.prime(loaders, found).await;
    }
}

/// The selections of the objects of a connection field: its `nodes` and its `edges.node`.
pub fn connection_nodes<'a>(look: &Lookahead<'a>) -> [Lookahead<'a>; 2] {
    [look.field("nodes"), look.field("edges").field("node")]
}
