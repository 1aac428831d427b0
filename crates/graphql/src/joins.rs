//! Which to-one targets a root field reads in its own statement, which of their columns, and
//! how what that statement found reaches the fields that ask for it.
//!
//! A root lookup or list looks ahead into its selection: every to-one relationship of its
//! type that the selection names (`sequenceSteps { nodes { creator { name } } }`) is joined
//! into the root statement ([`stepgraph_domain::service::joins`]), reading only the target
//! columns that the relationship's selections read ([`columns`]: `name` reads `first_name`
//! and `last_name`). What it found, hidden targets as `None`, goes to the request's store of
//! joined targets ([`Loaders::store_joined`]) under the relationship and the column mask of
//! each selection of the field; the field's resolver ([`crate::resolve::to_one`]) computes
//! the mask of its own selection the same way and takes its target from there, or, when the
//! store has no such entry (a nested level, a selection this join did not plan), from the
//! by-id loader, with every column.
//!
//! Why a store beside the loaders: a joined target holds placeholders in the columns it did
//! not read (`entity::Placeholder`), so it may only answer a selection that reads no other
//! column, which is what keying it by its mask guarantees; the by-id loaders' rows are whole
//! and serve everything else (`canWrite`'s policy check, subscriptions).
//!
//! The rule that decides which columns a field reads is [`columns`]; `tests/it/joins.rs`
//! checks it by answering every field of every type both ways, byte for byte.

use std::collections::HashMap;
use std::sync::OnceLock;

use async_graphql::{Context, Lookahead, SelectionField, ServerResult};
use stepgraph_domain::auth::policy::SequenceAccess;
use stepgraph_domain::service::joins::{Join, Targets, all_columns, column_bit, column_names};
use stepgraph_domain::service::lists::{
    CallPurposes, Calls, Mailings, SequenceTemplates, Sequences, Steps, TaskPriorities, Tasks,
    Templates, Users,
};
use stepgraph_domain::service::mirror::camel;
use stepgraph_domain::service::relations::{self as rel, ToOne};
use stepgraph_domain::service::resource::Resource;

use crate::loaders::{Loaders, NO_ROW};

/// A to-one relationship of `P` whose target a root statement can read.
pub trait ToOneField<P: Resource>: Sync {
    fn join(&self) -> &dyn Join<P>;
    /// The relationship's name (`SequenceStep.creator`): the store's key.
    fn name(&self) -> &'static str;
    /// The target columns one selection of the field reads.
    fn target_mask(&self, field: &SelectionField<'_>) -> u64;
    /// The target columns named.
    fn target_columns(&self, names: &[&str]) -> u64;
    /// Puts what [`Join::decode`] found in the request's store, under each of `masks`.
    fn store(&self, loaders: &Loaders, targets: Targets, masks: &[u64]);
    /// Writes the field `ctx.item` (this relationship, under `parent`) as JSON text when the
    /// parent's statement joined its target and the selection reads attributes only; `None`
    /// (nothing written) otherwise, and the field's resolver answers: see [`write_joined`].
    fn write_joined(
        &self,
        ctx: &Context<'_>,
        rc: &crate::RequestCtx,
        parent: &P::Model,
        out: &mut Vec<u8>,
    ) -> Option<ServerResult<()>>;
}

impl<P: Resource, T: Joinable> ToOneField<P> for ToOne<P, T> {
    fn join(&self) -> &dyn Join<P> {
        self
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn target_mask(&self, field: &SelectionField<'_>) -> u64 {
        columns::<T>(field.selection_set())
    }

    fn target_columns(&self, names: &[&str]) -> u64 {
        names
            .iter()
            .map(|n| column_bit::<T>(n).expect("BUG: a reader names a column of its target"))
            .fold(1, |mask, bit| mask | bit)
    }

    fn store(&self, loaders: &Loaders, targets: Targets, masks: &[u64]) {
        let Ok(found) = targets.downcast::<Vec<(i64, Option<T::Model>)>>() else {
            unreachable!("a join's targets are those of its relationship")
        };
        // An unset key reads as no target, without asking anyone (see `resolve::to_one`).
        // Each mask gets its own objects (the last takes the rows themselves).
        let mut rows = Some(*found);
        for (i, mask) in masks.iter().enumerate() {
            let rows = match i + 1 == masks.len() {
                true => rows.take().unwrap_or_default(),
                false => rows.clone().unwrap_or_default(),
            };
            let found: crate::loaders::Targets<T> = rows
                .into_iter()
                .map(|(key, model)| (key, model.map(T::object)))
                .chain([(NO_ROW, None)])
                .collect();
            loaders.store_joined::<T>(self.name, *mask, found);
        }
    }

    fn write_joined(
        &self,
        ctx: &Context<'_>,
        rc: &crate::RequestCtx,
        parent: &P::Model,
        out: &mut Vec<u8>,
    ) -> Option<ServerResult<()>> {
        // An unset key or a hidden target: the resolver says whether that is null or an
        // error (a relationship the schema declares non-null).
        let key = (self.key)(parent)?;
        let mask = || {
            rc.loaders.field_mask(ctx.item, self.name, || {
                columns::<T>(ctx.field().selection_set())
            })
        };
        rc.loaders
            .with_joined::<T, _>(self.name, mask, key, |target| {
                let target = target?;
                // The text of a joined target under one field is the same under every parent
                // that joined it: written once, copied after (a page of 50 steps names a few
                // users). Only a target this statement joined is copied: one the field's
                // resolver would load stays its loader's, statement and all.
                if rc.loaders.copy_joined_text(ctx.item, key, out) {
                    return Some(Ok(()));
                }
                let start = out.len();
                let written = crate::fast::write_now(ctx, rc, target, out)?;
                Some(written.map(|clean| {
                    if clean {
                        rc.loaders.keep_joined_text(ctx.item, key, &out[start..]);
                    }
                }))
            })
            .flatten()
    }
}

/// The to-one field `ctx.item` of a `R` row written in place, as [`crate::resolve::to_one`]
/// would answer it, when its target was joined (see [`ToOneField::write_joined`]).
///
/// Why: a to-one field through its resolver is a future through the derived dispatch, the
/// resolver, `Option`'s and the target's own resolution, each object's text made apart and
/// copied into its parent's; a page of 50 steps with their sequence, creator and updater
/// has 150 of them, about a sixth of its instructions. The answer is the same: the target
/// the resolver would take from the same store, its attributes written by the same
/// [`crate::fast`] code (checked for every field of every type, both ways, byte for byte, by
/// `tests/it/joins.rs` and the stock-executor comparison of `tests/it/server.rs`).
pub fn write_joined<R: Joinable>(
    parent: &R::Model,
    ctx: &Context<'_>,
    rc: &crate::RequestCtx,
    out: &mut Vec<u8>,
) -> Option<ServerResult<()>> {
    let name = ctx.item.node.name.node.as_str();
    let index = R::to_one_fields().iter().position(|field| *field == name)?;
    R::to_ones()[index].write_joined(ctx, rc, parent, out)
}

/// The resource an object type shows (the other way of [`Joinable::Object`]).
pub trait Shows {
    type Resource: Joinable;
}

/// A resource whose to-one relationships root fields can join.
pub trait Joinable: Resource {
    /// The object type that shows a row (`Steps`: `SequenceStep`).
    type Object: crate::fast::Attributes;

    /// The object of a row.
    fn object(model: Self::Model) -> crate::fast::Fast<Self::Object>;

    /// The row an object shows.
    fn model(object: &crate::fast::Fast<Self::Object>) -> &Self::Model;

    /// Its to-one relationships, as declared in the domain.
    fn to_ones() -> &'static [&'static dyn ToOneField<Self>];

    /// The field of each of [`Self::to_ones`], at the same position (worked out once: a
    /// to-one written in place looks its relationship up by its field on every row).
    fn to_one_fields() -> &'static [&'static str];

    /// The columns each field of the type reads (see [`columns`]).
    fn field_columns() -> &'static FieldColumns;

    /// Fields that read other columns than their own name says (`displayName`), as (field,
    /// columns).
    const COMPUTED: &'static [(&'static str, &'static [&'static str])] = &[];

    /// Fields that read a relationship's target outside its field (`canWrite` checks the
    /// step's sequence), as (relationship field, reader field, target columns it reads).
    const READERS: &'static [(&'static str, &'static str, &'static [&'static str])] = &[];
}

/// The columns each field of a type reads, as a mask of its model's fields.
pub struct FieldColumns {
    by_field: HashMap<&'static str, u64, foldhash::fast::RandomState>,
    all: u64,
}

impl FieldColumns {
    /// The table of `R`: an attribute reads the column of its name in snake case; a to-one
    /// relationship its foreign key; a to-many relationship the key; `COMPUTED` says the
    /// rest. A field not in the table reads every column.
    fn of<R: Joinable>() -> Self {
        let mut by_field = HashMap::default();
        for (i, column) in column_names::<R>().into_iter().enumerate() {
            let field: &'static str = Box::leak(camel(column).into_boxed_str());
            by_field.insert(field, 1u64 << i);
        }
        for r in rel::ALL.iter().filter(|r| r.parent() == R::NAME) {
            let bit = match r.fk_column() {
                Some(fk) => column_bit::<R>(fk).expect("BUG: a foreign key is a column"),
                None => 1,
            };
            by_field.insert(r.field(), bit);
        }
        by_field.insert("nodeId", 1);
        by_field.insert("__typename", 0);
        for (field, names) in R::COMPUTED {
            let bits = names
                .iter()
                .map(|n| column_bit::<R>(n).expect("BUG: COMPUTED names a column"))
                .fold(0, |mask, bit| mask | bit);
            by_field.insert(field, bits);
        }
        Self {
            by_field,
            all: all_columns::<R>(),
        }
    }

    fn of_field(&self, field: &str) -> u64 {
        self.by_field.get(field).copied().unwrap_or(self.all)
    }
}

/// The columns of `R` that a selection of an `R` object reads (always its key): every field
/// of the selection, fragments included, by [`FieldColumns`].
pub fn columns<'a, R: Joinable>(selection: impl Iterator<Item = SelectionField<'a>>) -> u64 {
    let table = R::field_columns();
    selection.fold(1, |mask, field| mask | table.of_field(field.name()))
}

/// The columns of `R` that `selections` read (each the selection of one `R` object, see
/// [`Plan::of`]).
pub fn selection_columns<R: Joinable>(selections: &[Lookahead<'_>]) -> u64 {
    selections
        .iter()
        .flat_map(Lookahead::selection_fields)
        .fold(1, |mask, field| mask | columns::<R>(field.selection_set()))
}

/// `Joinable` for each resource: its to-one relationships as `with_relations!` lists them,
/// its field table, and what its fields read beyond their names.
macro_rules! joinable {
    ($($P:ident => $Object:ident {
        $(computed: [$($field:literal => $cols:expr),* $(,)?],)?
        $(readers: [$($rfield:literal by $reader:literal => $rcols:expr),* $(,)?],)?
    }),* $(,)?) => {$(
        impl Joinable for $P {
            type Object = crate::types::$Object;
            fn object(model: Self::Model) -> crate::fast::Fast<Self::Object> {
                model.into()
            }
            fn model(object: &crate::fast::Fast<Self::Object>) -> &Self::Model {
                &(**object).0
            }
            fn to_ones() -> &'static [&'static dyn ToOneField<Self>] {
                stepgraph_domain::with_relations!($P, only_one)
            }
            fn to_one_fields() -> &'static [&'static str] {
                static FIELDS: OnceLock<Vec<&'static str>> = OnceLock::new();
                FIELDS.get_or_init(|| {
                    Self::to_ones().iter().map(|to_one| to_one.join().field()).collect()
                })
            }
            fn field_columns() -> &'static FieldColumns {
                static TABLE: OnceLock<FieldColumns> = OnceLock::new();
                TABLE.get_or_init(FieldColumns::of::<$P>)
            }
            $(const COMPUTED: &'static [(&'static str, &'static [&'static str])] =
                &[$(($field, $cols)),*];)?
            $(const READERS: &'static [(&'static str, &'static str, &'static [&'static str])] =
                &[$(($rfield, $reader, $rcols)),*];)?
        }

        impl Shows for crate::types::$Object {
            type Resource = $P;
        }
    )*};
}

/// The entries of one kind (`one` or `many`) of a `with_relations!` list, as a static table
/// of `&dyn $Trait<$P>` (`rel` in scope): `of_kind!(one, ToOneField; Steps; one A, many B)`.
macro_rules! of_kind {
    ($keep:ident, $Trait:ident; $P:ident; $($kind:ident $S:ident),*) => {
        $crate::joins::of_kind!(@acc $keep, $Trait; $P; []; $($kind $S),*)
    };
    (@acc one, $Trait:ident; $P:ident; [$($done:ident),*]; one $S:ident $(, $($rest:tt)*)?) => {
        $crate::joins::of_kind!(@acc one, $Trait; $P; [$($done,)* $S]; $($($rest)*)?)
    };
    (@acc many, $Trait:ident; $P:ident; [$($done:ident),*]; many $S:ident $(, $($rest:tt)*)?) => {
        $crate::joins::of_kind!(@acc many, $Trait; $P; [$($done,)* $S]; $($($rest)*)?)
    };
    (@acc $keep:ident, $Trait:ident; $P:ident; [$($done:ident),*]; $other:ident $S:ident $(, $($rest:tt)*)?) => {
        $crate::joins::of_kind!(@acc $keep, $Trait; $P; [$($done),*]; $($($rest)*)?)
    };
    (@acc $keep:ident, $Trait:ident; $P:ident; [$($done:ident),*];) => {{
        static TABLE: &[&dyn $Trait<$P>] = &[$(&rel::$done),*];
        TABLE
    }};
}
pub(crate) use of_kind;

/// The `one` entries of a `with_relations!` list ([`of_kind`]).
macro_rules! only_one {
    ($($list:tt)*) => {
        of_kind!(one, ToOneField; $($list)*)
    };
}

/// What `canWrite` and `canDelete` read of a sequence.
const SEQUENCE_ACCESS: &[&str] = SequenceAccess::COLUMNS;

joinable! {
    Steps => SequenceStepNode {
        computed: [
            "displayName" => &["order", "step_type"],
            "canWrite" => &["sequence_id"],
            "canDelete" => &["sequence_id"],
        ],
        readers: [
            "sequence" by "canWrite" => SEQUENCE_ACCESS,
            "sequence" by "canDelete" => SEQUENCE_ACCESS,
        ],
    },
    Sequences => SequenceNode {
        computed: ["canWrite" => SEQUENCE_ACCESS, "canDelete" => SEQUENCE_ACCESS],
    },
    SequenceTemplates => SequenceTemplateNode {},
    Templates => TemplateNode {},
    Users => UserNode {
        computed: ["name" => &["first_name", "last_name"]],
    },
    Tasks => TaskNode {},
    Calls => CallNode {},
    Mailings => MailingNode {},
    CallPurposes => CallPurposeNode {},
    TaskPriorities => TaskPriorityNode {},
}

/// What a root field's statement reads: the columns of `R` that `selections` read (each the
/// selection of one `R` object: a lookup's, or a connection's `nodes` and `edges.node`), and
/// for each to-one relationship of `R` they name, the union of the columns its selections
/// read (what the statement joins) and each selection's own mask (what the store is keyed
/// by).
pub struct Plan<R: Joinable> {
    /// The columns of `R` the selections read.
    columns: u64,
    /// (index in [`Joinable::to_ones`], the columns the statement reads, each selection's).
    joins: Vec<(usize, u64, Vec<u64>)>,
    marker: std::marker::PhantomData<fn() -> R>,
}

impl<R: Joinable> Plan<R> {
    /// Every column, no join: for a reader whose selection is not known here (`node`, a
    /// to-one relationship's loader).
    pub fn whole() -> Self {
        Self {
            columns: u64::MAX,
            joins: Vec::new(),
            marker: std::marker::PhantomData,
        }
    }

    /// The plan of `selections` (see [`Plan`]); the rows keep only the columns they read.
    pub fn of(selections: &[Lookahead<'_>]) -> Self {
        let columns = selection_columns::<R>(selections);
        let mut joins = Vec::new();
        for (index, to_one) in R::to_ones().iter().enumerate() {
            let field = to_one.join().field();
            let mut masks: Vec<u64> = Vec::new();
            for selection in selections {
                for occurrence in selection.field(field).selection_fields() {
                    masks.push(to_one.target_mask(&occurrence));
                }
            }
            for (f, reader, names) in R::READERS {
                if *f == field && selections.iter().any(|s| s.field(reader).exists()) {
                    masks.push(to_one.target_columns(names));
                }
            }
            if masks.is_empty() {
                continue;
            }
            masks.sort_unstable();
            masks.dedup();
            let union = masks.iter().fold(1, |u, m| u | m);
            joins.push((index, union, masks));
        }
        Self {
            columns,
            joins,
            marker: std::marker::PhantomData,
        }
    }

    /// The columns of `R` to read.
    pub fn columns(&self) -> u64 {
        self.columns
    }

    /// What the statement joins: each relationship with the columns it reads.
    pub fn statement(&self) -> Vec<(&'static dyn Join<R>, u64)> {
        self.joins
            .iter()
            .map(|(index, union, _)| (R::to_ones()[*index].join(), *union))
            .collect()
    }

    /// A key naming the plan (for the loader of lookups that plan alike).
    pub fn key(&self) -> Vec<u64> {
        if self.columns == u64::MAX && self.joins.is_empty() {
            return Vec::new();
        }
        let mut key = vec![self.columns];
        for (index, union, masks) in &self.joins {
            key.push(*index as u64);
            key.push(*union);
            key.extend(masks);
            key.push(u64::MAX);
        }
        key
    }

    /// Puts every join's targets in the request's store (`targets` in the statement's order).
    pub fn store(&self, loaders: &Loaders, targets: Vec<Targets>) {
        for ((index, _, masks), found) in self.joins.iter().zip(targets) {
            R::to_ones()[*index].store(loaders, found, masks);
        }
    }
}

/// The selections of the objects of a connection field: its `nodes` and its `edges.node`.
pub fn connection_nodes<'a>(look: &Lookahead<'a>) -> [Lookahead<'a>; 2] {
    [look.field("nodes"), look.field("edges").field("node")]
}
