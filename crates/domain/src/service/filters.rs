//! Filter building blocks shared by every list: inclusive ranges and id sets.
//!
//! Semantics follow Outreach's filters: a list of values matches any of them (OR), several
//! filters must all match (AND), and ranges include both ends; an open end is `None`.

use sea_orm::sea_query::{Condition, SimpleExpr};
use sea_orm::{ColumnTrait, Value};

/// An inclusive range; either end may be open.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Range<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

/// A value compared with a column in SQL (timestamps need care on MySQL, see
/// [`crate::db::timestamp_param`]).
pub trait Param: Clone {
    fn param(self) -> Value;
}

impl Param for i32 {
    fn param(self) -> Value {
        self.into()
    }
}

impl Param for chrono::NaiveDate {
    fn param(self) -> Value {
        self.into()
    }
}

impl Param for chrono::DateTime<chrono::Utc> {
    fn param(self) -> Value {
        crate::db::timestamp_param(self)
    }
}

impl<T: Param> Range<T> {
    /// `min <= col <= max` on a column.
    pub fn on(&self, col: impl ColumnTrait) -> Condition {
        let mut cond = Condition::all();
        if let Some(min) = &self.min {
            cond = cond.add(col.gte(min.clone().param()));
        }
        if let Some(max) = &self.max {
            cond = cond.add(col.lte(max.clone().param()));
        }
        cond
    }
}

/// Adds `col IN (values)` when the list is given; an empty list matches nothing.
pub fn any_of<V: Into<Value> + Clone>(
    cond: Condition,
    col: impl ColumnTrait,
    values: &Option<Vec<V>>,
) -> Condition {
    match values {
        Some(values) => cond.add(col.is_in(values.iter().cloned())),
        None => cond,
    }
}

/// Adds a range condition when the range is given.
pub fn within<T: Param>(
    cond: Condition,
    col: impl ColumnTrait,
    range: &Option<Range<T>>,
) -> Condition {
    match range {
        Some(range) => cond.add(range.on(col)),
        None => cond,
    }
}

/// Adds `col = value` when the value is given.
pub fn equals<V: Into<Value> + Clone>(
    cond: Condition,
    col: impl ColumnTrait,
    value: &Option<V>,
) -> Condition {
    match value {
        Some(v) => cond.add(col.eq(v.clone())),
        None => cond,
    }
}

/// Adds an arbitrary expression.
pub fn with(cond: Condition, expr: Option<SimpleExpr>) -> Condition {
    match expr {
        Some(e) => cond.add(e),
        None => cond,
    }
}
