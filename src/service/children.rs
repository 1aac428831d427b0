//! Pages of children for many parents at once: "the first N tasks of each of these 50 steps"
//! in one statement, with `ROW_NUMBER() OVER (PARTITION BY parent ...)`.
//!
//! This is what keeps nested connections (a sequence's steps, a step's tasks, ...) at one SQL
//! statement per relationship per level, however many parents a page holds. Window functions
//! exist on every supported backend (SQLite 3.25+, PostgreSQL, MariaDB 10.2+).

use std::collections::HashMap;

use entity::{call, mailing, sequence_step, sequence_template, task};
use sea_orm::sea_query::{Alias, Condition, Expr, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic, QueryFilter,
    QueryTrait, Statement,
};

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
    /// Sort columns (SQL names) for the window, matching [`ChildList::ordering`].
    fn window_order() -> &'static [&'static str];
    fn ordering() -> Ordering<Self::Model>;
    fn condition(filter: &Self::Filter) -> Condition;
}

fn quote(backend: DbBackend, ident: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{ident}`"),
        _ => format!("\"{ident}\""),
    }
}

/// One page (of at most `first`, after `after`) of children for each parent, in one
/// statement; parents with no children get an empty page.
pub async fn pages<L: ChildList>(
    db: &impl ConnectionTrait,
    parents: &[i64],
    first: u64,
    after: Option<&Cursor>,
    filter: &L::Filter,
) -> AppResult<HashMap<i64, Page<L::Model>>> {
    let backend = db.get_database_backend();
    let ordering = L::ordering();
    let parent = L::parent_column();
    let mut inner = L::Entity::find()
        .filter(parent.is_in(parents.iter().copied()))
        .filter(L::condition(filter));
    if let Some(c) = after {
        inner = inner.filter(ordering.after_condition(c));
    }
    let order: Vec<String> = L::window_order()
        .iter()
        .map(|c| quote(backend, c))
        .collect();
    let rn = Expr::cust(format!(
        "ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {})",
        quote(backend, parent.as_str()),
        order.join(", ")
    ));
    let mut inner = inner.into_query();
    inner.expr_as(rn, Alias::new("sg_rn"));
    let built = backend.build(&inner);
    let (inner_sql, values) = (built.sql, built.values);
    let sql = format!(
        "SELECT * FROM ({inner_sql}) sg_sub WHERE sg_sub.sg_rn <= {limit} ORDER BY sg_sub.{p}, sg_sub.sg_rn",
        limit = first + 1,
        p = quote(backend, parent.as_str()),
    );
    let rows = L::Entity::find()
        .from_raw_sql(Statement {
            sql,
            values,
            db_backend: backend,
        })
        .all(db)
        .await?;

    // hasPreviousPage after a cursor: does anything sit at or before it, per parent?
    let mut behind: std::collections::HashSet<i64> = Default::default();
    if let Some(c) = after {
        let mut q = Query::select();
        q.column(parent)
            .from(L::Entity::default())
            .and_where(parent.is_in(parents.iter().copied()))
            .cond_where(L::condition(filter))
            .cond_where(Condition::not(ordering.after_condition(c)))
            .group_by_col(parent);
        for row in db.query_all(&q).await? {
            behind.insert(row.try_get_by_index::<i64>(0)?);
        }
    }

    let mut out: HashMap<i64, Page<L::Model>> = parents
        .iter()
        .map(|&p| {
            (
                p,
                Page {
                    rows: Vec::new(),
                    has_next_page: false,
                    has_previous_page: behind.contains(&p),
                },
            )
        })
        .collect();
    for row in rows {
        let page = out.entry(L::parent_of(&row)).or_insert_with(|| Page {
            rows: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        });
        if page.rows.len() as u64 >= first {
            page.has_next_page = true;
        } else {
            let cursor = ordering.cursor_of(&row);
            page.rows.push((row, cursor));
        }
    }
    Ok(out)
}

/// The number of children (matching `filter`) of each parent, in one statement.
pub async fn counts<L: ChildList>(
    db: &impl ConnectionTrait,
    parents: &[i64],
    filter: &L::Filter,
) -> AppResult<HashMap<i64, i64>> {
    let parent = L::parent_column();
    let mut q = Query::select();
    q.column(parent)
        .expr(Func::count(Expr::col(parent)))
        .from(L::Entity::default())
        .and_where(parent.is_in(parents.iter().copied()))
        .cond_where(L::condition(filter))
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
    fn window_order() -> &'static [&'static str] {
        &["order", "id"]
    }
    fn ordering() -> Ordering<sequence_step::Model> {
        lists::steps::ordering(&[(lists::steps::Sort::Order, Direction::Asc)])
    }
    fn condition(_: &()) -> Condition {
        Condition::all()
    }
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
            fn window_order() -> &'static [&'static str] {
                &["id"]
            }
            fn ordering() -> Ordering<$module::Model> {
                static ID: SortKey<$module::Model> = SortKey {
                    name: "ID",
                    expr: || Expr::col(($module::Entity, $module::Column::Id)).into(),
                    value: |m| KeyValue::Int(m.id),
                };
                Ordering::new([], &ID)
            }
            fn condition(_: &()) -> Condition {
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
    fn window_order() -> &'static [&'static str] {
        &["id"]
    }
    fn ordering() -> Ordering<sequence_template::Model> {
        static ID: SortKey<sequence_template::Model> = SortKey {
            name: "ID",
            expr: || Expr::col((sequence_template::Entity, sequence_template::Column::Id)),
            value: |m| KeyValue::Int(m.id),
        };
        Ordering::new([], &ID)
    }
    fn condition(filter: &Self::Filter) -> Condition {
        lists::sequence_templates::condition(filter)
    }
}
