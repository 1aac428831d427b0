//! Pages of children for many parents at once: "the first N tasks of each of these 50 steps"
//! in one statement (see [`pages`]), and their counts in another (see [`counts`]).
//!
//! This is what keeps nested connections (a sequence's steps, a step's tasks, ...) at one SQL
//! statement per relationship per level, however many parents a page holds.

use std::collections::HashMap;

use entity::{call, mailing, sequence, sequence_step, sequence_template, task};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, Func, Query, SelectStatement, UnionType,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    QueryTrait,
};

use crate::auth::{Viewer, policy};
use crate::error::AppResult;
use crate::service::lists;
use crate::service::pagination::{Cursor, Direction, KeyValue, Ordering, Page, SortKey};

/// A kind of child list: which table, which foreign key, which fixed order.
pub trait ChildList: 'static {
    type Entity: EntityTrait<Model = Self::Model>;
    type Model: FromQueryResult + Clone + Send + Sync + 'static;
    /// Extra filter arguments of the connection (`()` when it takes none).
    type Filter: Clone + Default + std::hash::Hash + Eq + Send + Sync + 'static;
    /// The foreign-key column naming the parent.
    fn parent_column() -> <Self::Entity as EntityTrait>::Column;
    /// The parent id of a row.
    fn parent_of(row: &Self::Model) -> i64;
    fn ordering() -> Ordering<Self::Model>;
    /// The connection's filter, and what the viewer may see of these children (most children
    /// are visible with their parent; sequences listed under their owner are not).
    fn condition(viewer: &Viewer, filter: &Self::Filter) -> Condition;
}

/// Parents per statement: SQLite allows at most 500 terms in a compound SELECT.
const PARENTS_PER_STATEMENT: usize = 250;

/// One page (of at most `first`, after `after`) of children for each parent, in one
/// statement (per 250 parents); parents with no children get an empty page.
///
/// The statement is a `UNION ALL` of one small keyset query per parent,
/// `SELECT * FROM (SELECT .. WHERE parent = ? ORDER BY .. LIMIT first + 1)`, each an index
/// range scan that stops after `first + 1` rows. (A `ROW_NUMBER() OVER (PARTITION BY ..)`
/// window ranks every child of every parent first: fine for a step's few tasks, but 100 ms
/// for a call purpose with 25,000 calls.)
pub async fn pages<L: ChildList>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    parents: &[i64],
    first: u64,
    after: Option<&Cursor>,
    filter: &L::Filter,
) -> AppResult<HashMap<i64, Page<L::Model>>> {
    let backend = db.get_database_backend();
    let ordering = L::ordering();
    let parent = L::parent_column();
    let mut rows = Vec::new();
    for chunk in parents.chunks(PARENTS_PER_STATEMENT) {
        let mut union: Option<SelectStatement> = None;
        for (i, p) in chunk.iter().enumerate() {
            let mut branch = L::Entity::find()
                .filter(parent.eq(*p))
                .filter(L::condition(viewer, filter));
            if let Some(c) = after {
                branch = branch.filter(ordering.after_condition(c));
            }
            let inner = ordering.apply(branch, false).limit(first + 1).into_query();
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new(format!("sg_b{i}")))
                .to_owned();
            union = Some(match union {
                None => outer,
                Some(mut all) => {
                    all.union(UnionType::All, outer);
                    all
                }
            });
        }
        if let Some(union) = union {
            rows.extend(
                L::Entity::find()
                    .from_raw_sql(backend.build(&union))
                    .all(db)
                    .await?,
            );
        }
    }

    // hasPreviousPage after a cursor: does anything sit at or before it, per parent?
    let mut behind: std::collections::HashSet<i64> = Default::default();
    if let Some(c) = after {
        let mut q = Query::select();
        q.column(parent)
            .from(L::Entity::default())
            .and_where(parent.is_in(parents.iter().copied()))
            .cond_where(L::condition(viewer, filter))
            .cond_where(Condition::not(ordering.after_condition(c)))
            .group_by_col(parent);
        for row in db.query_all(&q).await? {
            behind.insert(row.try_get_by_index::<i64>(0)?);
        }
    }

    let mut by_parent: HashMap<i64, Vec<L::Model>> = HashMap::new();
    for row in rows {
        by_parent.entry(L::parent_of(&row)).or_default().push(row);
    }
    let mut out = HashMap::new();
    for &p in parents {
        let mut children = by_parent.remove(&p).unwrap_or_default();
        // UNION ALL does not promise to keep each branch's order; restore it.
        children.sort_by(|a, b| ordering.compare(a, b));
        let has_next_page = children.len() as u64 > first;
        children.truncate(first as usize);
        let rows = children
            .into_iter()
            .map(|row| {
                let cursor = ordering.cursor_of(&row);
                (row, cursor)
            })
            .collect();
        out.insert(
            p,
            Page {
                rows,
                has_next_page,
                has_previous_page: behind.contains(&p),
            },
        );
    }
    Ok(out)
}

/// The number of children (matching `filter`) of each parent, in one statement.
pub async fn counts<L: ChildList>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    parents: &[i64],
    filter: &L::Filter,
) -> AppResult<HashMap<i64, i64>> {
    let parent = L::parent_column();
    let mut q = Query::select();
    q.column(parent)
        .expr(Func::count(Expr::col(parent)))
        .from(L::Entity::default())
        .and_where(parent.is_in(parents.iter().copied()))
        .cond_where(L::condition(viewer, filter))
        .group_by_col(parent);
    let mut out: HashMap<i64, i64> = parents.iter().map(|&p| (p, 0)).collect();
    for row in db.query_all(&q).await? {
        out.insert(
            row.try_get_by_index::<i64>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    Ok(out)
}

/// A sequence's steps, by order.
pub struct StepsOfSequence;

impl ChildList for StepsOfSequence {
    type Entity = sequence_step::Entity;
    type Model = sequence_step::Model;
    type Filter = ();
    fn parent_column() -> sequence_step::Column {
        sequence_step::Column::SequenceId
    }
    fn parent_of(row: &sequence_step::Model) -> i64 {
        row.sequence_id
    }
    fn ordering() -> Ordering<sequence_step::Model> {
        lists::steps::ordering(&[(lists::steps::Sort::Order, Direction::Asc)])
    }
    fn condition(_: &Viewer, _: &()) -> Condition {
        Condition::all()
    }
}

/// The by-id ordering of a child list of `$module`'s rows.
macro_rules! id_ordering {
    ($module:ident) => {{
        static ID: SortKey<$module::Model> = SortKey {
            name: "ID",
            expr: || Expr::col(($module::Entity, $module::Column::Id)),
            value: |m| KeyValue::Int(m.id),
        };
        Ordering::new([], &ID)
    }};
}

macro_rules! child_by_id {
    ($(#[$doc:meta])* $name:ident, $module:ident, $fk:ident, $parent:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl ChildList for $name {
            type Entity = $module::Entity;
            type Model = $module::Model;
            type Filter = ();
            fn parent_column() -> $module::Column {
                $module::Column::$fk
            }
            fn parent_of(row: &$module::Model) -> i64 {
                let parent: fn(&$module::Model) -> i64 = $parent;
                parent(row)
            }
            fn ordering() -> Ordering<$module::Model> {
                id_ordering!($module)
            }
            fn condition(_: &Viewer, _: &()) -> Condition {
                Condition::all()
            }
        }
    };
}

child_by_id!(
    /// A step's tasks, by id.
    TasksOfStep, task, SequenceStepId, |m| m.sequence_step_id.unwrap_or_default()
);
child_by_id!(
    /// A step's calls, by id.
    CallsOfStep, call, SequenceStepId, |m| m.sequence_step_id.unwrap_or_default()
);
child_by_id!(
    /// A step's mailings, by id.
    MailingsOfStep, mailing, SequenceStepId, |m| m.sequence_step_id.unwrap_or_default()
);
child_by_id!(
    /// A sequence template's mailings, by id.
    MailingsOfSequenceTemplate, mailing, SequenceTemplateId, |m| m.sequence_template_id.unwrap_or_default()
);
child_by_id!(
    /// A template's uses by steps, by id.
    SequenceTemplatesOfTemplate, sequence_template, TemplateId, |m| m.template_id
);
child_by_id!(
    /// A call purpose's calls, by id.
    CallsOfCallPurpose, call, CallPurposeId, |m| m.call_purpose_id.unwrap_or_default()
);

/// A step's sequence templates (A/B variants), by id, with the sequence-template filter.
pub struct SequenceTemplatesOfStep;

impl ChildList for SequenceTemplatesOfStep {
    type Entity = sequence_template::Entity;
    type Model = sequence_template::Model;
    type Filter = lists::sequence_templates::Filter;
    fn parent_column() -> sequence_template::Column {
        sequence_template::Column::SequenceStepId
    }
    fn parent_of(row: &sequence_template::Model) -> i64 {
        row.sequence_step_id
    }
    fn ordering() -> Ordering<sequence_template::Model> {
        id_ordering!(sequence_template)
    }
    fn condition(_: &Viewer, filter: &Self::Filter) -> Condition {
        lists::sequence_templates::condition(filter)
    }
}

/// The sequences a user owns, by id, as far as the viewer may see them.
pub struct SequencesOfOwner;

impl ChildList for SequencesOfOwner {
    type Entity = sequence::Entity;
    type Model = sequence::Model;
    type Filter = ();
    fn parent_column() -> sequence::Column {
        sequence::Column::OwnerId
    }
    fn parent_of(row: &sequence::Model) -> i64 {
        row.owner_id
    }
    fn ordering() -> Ordering<sequence::Model> {
        lists::sequences::ordering(&[])
    }
    fn condition(viewer: &Viewer, _: &()) -> Condition {
        policy::visible_sequences_condition(viewer).unwrap_or_else(Condition::all)
    }
}
