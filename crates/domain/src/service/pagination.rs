//! Keyset pagination shared by every list: cursors, ordering, and Relay-style page facts.
//!
//! A list is a filtered `Select` plus an ordering: a list of sort keys that always ends with
//! the primary key, so the order is total and a cursor names exactly one position. A cursor is
//! the sort-key values of a row (and a signature of the ordering, so a cursor from another
//! ordering is refused rather than misread), base64url-encoded JSON. Pages are fetched with a
//! `WHERE (k1, k2, ..) > (v1, v2, ..)` condition expanded per key direction, never with
//! OFFSET, so they stay correct and fast however deep a client pages.
//!
//! Nullable sort columns are ordered through `COALESCE(col, sentinel)` with a sentinel below
//! every valid value: the backends disagree on where NULLs sort, and a keyset comparison with
//! NULL is never true, so both would otherwise lose rows.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Order, SimpleExpr};
use sea_orm::{
    ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    fn flip(self) -> Self {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }
}

/// One value of a sort key, as stored in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyValue {
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "s")]
    Str(String),
    #[serde(rename = "d")]
    Date(NaiveDate),
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    #[serde(rename = "b")]
    Bool(bool),
}

/// The type of a sort key's values, which a client's cursor must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Str,
    Date,
    Time,
    Bool,
}

impl KeyValue {
    pub fn kind(&self) -> KeyKind {
        match self {
            KeyValue::Int(_) => KeyKind::Int,
            KeyValue::Str(_) => KeyKind::Str,
            KeyValue::Date(_) => KeyKind::Date,
            KeyValue::Time(_) => KeyKind::Time,
            KeyValue::Bool(_) => KeyKind::Bool,
        }
    }

    fn to_value(&self) -> Value {
        match self {
            KeyValue::Int(v) => Value::from(*v),
            KeyValue::Str(v) => Value::from(v.clone()),
            KeyValue::Date(v) => Value::from(*v),
            KeyValue::Time(v) => crate::db::timestamp_param(*v),
            KeyValue::Bool(v) => Value::from(*v),
        }
    }
}

/// How to sort by one field of model `M`: the SQL expression and the same value in memory.
pub struct SortKey<M> {
    /// The field's name in the ordering signature (the API's enum name).
    pub name: &'static str,
    /// The type of `value`'s results: a cursor holding another type is refused.
    pub kind: KeyKind,
    pub expr: fn() -> SimpleExpr,
    pub value: fn(&M) -> KeyValue,
}

/// The sortable attributes of one resource: an enum declared by `sort_keys!`, each variant
/// with its [`SortKey`].
pub trait SortField: Copy + std::fmt::Debug + std::hash::Hash + Eq + Send + Sync + 'static {
    type Model: 'static;
    /// The primary key, the tiebreak of every ordering.
    const ID: Self;
    /// Every sortable attribute, for adapters that look them up by name.
    const ALL: &'static [Self];
    fn key(self) -> &'static SortKey<Self::Model>;
}

/// A position in an ordered list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The ordering's signature, shared by every cursor of a page (one allocation a page,
    /// not one a row).
    signature: Arc<str>,
    values: Vec<KeyValue>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(&(&*self.signature, &self.values))
            .expect("BUG: cursor values always serialise");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a client's cursor; `field` names the argument for the error.
    pub fn decode(field: &str, text: &str) -> AppResult<Self> {
        let bad = || AppError::invalid(field, "is not a cursor returned by this list");
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| bad())?;
        let (signature, values): (String, Vec<KeyValue>) =
            serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(Self {
            signature: signature.into(),
            values,
        })
    }
}

/// An ordering: sort keys with directions, the last one always the primary key.
pub struct Ordering<M: 'static> {
    keys: Vec<(&'static SortKey<M>, Direction)>,
}

impl<M> Ordering<M> {
    /// Builds an ordering; `id` is appended as the tiebreak unless already present, and
    /// repeated fields are dropped (the first mention wins).
    pub fn new(
        requested: impl IntoIterator<Item = (&'static SortKey<M>, Direction)>,
        id: &'static SortKey<M>,
    ) -> Self {
        let mut keys: Vec<(&'static SortKey<M>, Direction)> = Vec::new();
        for (key, dir) in requested {
            if !keys.iter().any(|(k, _)| k.name == key.name) {
                keys.push((key, dir));
            }
            if key.name == id.name {
                break;
            }
        }
        if !keys.iter().any(|(k, _)| k.name == id.name) {
            keys.push((id, Direction::Asc));
        }
        Self { keys }
    }

    pub(crate) fn signature(&self) -> String {
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|(k, d)| format!("{}{}", if *d == Direction::Desc { "-" } else { "" }, k.name))
            .collect();
        parts.join(",")
    }

    pub fn cursor_of(&self, row: &M) -> Cursor {
        self.cursor_with(self.signature().into(), row)
    }

    /// The cursor of `row`, with this ordering's signature already made.
    fn cursor_with(&self, signature: Arc<str>, row: &M) -> Cursor {
        Cursor {
            signature,
            values: self.keys.iter().map(|(k, _)| (k.value)(row)).collect(),
        }
    }

    /// Refuses a cursor made by another ordering; `field` names the argument.
    pub fn check(&self, field: &str, cursor: &Cursor) -> AppResult<()> {
        if *cursor.signature != self.signature() || cursor.values.len() != self.keys.len() {
            return Err(AppError::invalid(
                field,
                "was returned by a list with another orderBy; cursors only work with the ordering that produced them",
            ));
        }
        // A cursor is opaque but not trusted: each value must have its key's type, so a
        // forged one is the client's error, never a database's.
        let typed = cursor
            .values
            .iter()
            .zip(&self.keys)
            .all(|(v, (k, _))| v.kind() == k.kind);
        if !typed {
            return Err(AppError::invalid(
                field,
                "is not a cursor returned by this list",
            ));
        }
        Ok(())
    }

    /// Rows strictly after `cursor` in this ordering (`reverse`: strictly before).
    pub fn beyond(&self, cursor: &Cursor, reverse: bool) -> Condition {
        let mut any = Condition::any();
        for i in 0..self.keys.len() {
            let mut all = Condition::all();
            for j in 0..i {
                all = all.add((self.keys[j].0.expr)().eq(cursor.values[j].to_value()));
            }
            let (key, dir) = self.keys[i];
            let dir = if reverse { dir.flip() } else { dir };
            let v = cursor.values[i].to_value();
            all = all.add(match dir {
                Direction::Asc => (key.expr)().gt(v),
                Direction::Desc => (key.expr)().lt(v),
            });
            any = any.add(all);
        }
        any
    }

    /// Adds this ordering's ORDER BY (`reverse`: every direction flipped).
    pub fn apply<E: EntityTrait>(&self, select: Select<E>, reverse: bool) -> Select<E> {
        self.terms(reverse)
            .fold(select, |select, (expr, order)| select.order_by(expr, order))
    }

    /// This ordering's ORDER BY terms (`reverse`: every direction flipped).
    pub fn terms(&self, reverse: bool) -> impl Iterator<Item = (SimpleExpr, Order)> + '_ {
        self.keys.iter().map(move |(key, dir)| {
            let dir = if reverse { dir.flip() } else { *dir };
            let order = if dir == Direction::Asc {
                Order::Asc
            } else {
                Order::Desc
            };
            ((key.expr)(), order)
        })
    }
}

/// What a client asked for. At most one of `first` and `last`; neither means `first` = the
/// list's default size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub first: Option<i64>,
    pub after: Option<String>,
    pub last: Option<i64>,
    pub before: Option<String>,
}

impl PageRequest {
    /// Whether the page is read backwards (`last`), from its end towards its start.
    pub fn backwards(&self) -> bool {
        self.last.is_some()
    }
}

/// Size limits of a list surface (GraphQL: 50 and 100; JSON:API: 50 and 1000).
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default: i64,
    pub max: i64,
}

/// One page of rows with their cursors.
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<(M, Cursor)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<M> Page<M> {
    /// No rows and no page on either side: what a parent with no visible children gets.
    pub fn empty() -> Self {
        Self {
            rows: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        }
    }
}

/// Whether to compute the page fact that costs an extra query (`hasPreviousPage` when paging
/// forwards after a cursor, `hasNextPage` when paging backwards before one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    pub opposite_page_fact: bool,
}

/// Checks a requested page size (`first` or `last`) against the surface's limits.
pub fn check_size(field: &str, n: Option<i64>, limits: PageLimits) -> AppResult<Option<u64>> {
    match n {
        None => Ok(None),
        Some(n) if (0..=limits.max).contains(&n) => Ok(Some(n as u64)),
        Some(_) => Err(AppError::invalid(
            field,
            format!("must be between 0 and {}", limits.max),
        )),
    }
}

/// A checked page request: its size, direction and cursors, validated against an ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    /// How many rows the page holds at most.
    pub size: u64,
    /// `last`/`before`: the page ends at the far end (or at `before`).
    pub backwards: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

impl Window {
    /// Checks sizes and cursors (a cursor from another ordering is refused).
    pub fn parse<M>(
        req: &PageRequest,
        ordering: &Ordering<M>,
        limits: PageLimits,
    ) -> AppResult<Self> {
        let first = check_size("first", req.first, limits)?;
        let last = check_size("last", req.last, limits)?;
        if first.is_some() && last.is_some() {
            return Err(AppError::invalid(
                "last",
                "pass either first or last, not both",
            ));
        }
        let cursor = |field: &str, text: &Option<String>| -> AppResult<Option<Cursor>> {
            let Some(text) = text else { return Ok(None) };
            let cursor = Cursor::decode(field, text)?;
            ordering.check(field, &cursor)?;
            Ok(Some(cursor))
        };
        let after = cursor("after", &req.after)?;
        let before = cursor("before", &req.before)?;
        let backwards = req.backwards();
        let size = match (first, last) {
            (_, Some(n)) | (Some(n), None) => n,
            (None, None) => limits.default as u64,
        };
        Ok(Self {
            size,
            backwards,
            after,
            before,
        })
    }

    /// The rows between the cursors.
    pub fn between<M>(&self, ordering: &Ordering<M>) -> Condition {
        let mut cond = Condition::all();
        if let Some(c) = &self.after {
            cond = cond.add(ordering.beyond(c, false));
        }
        if let Some(c) = &self.before {
            cond = cond.add(ordering.beyond(c, true));
        }
        cond
    }

    /// The cursor on the near side of the page (`after` forwards, `before` backwards): the
    /// page fact on that side (`hasPreviousPage` forwards, `hasNextPage` backwards) asks
    /// whether any row lies at or beyond it, with [`Window::behind`].
    pub fn start(&self) -> Option<&Cursor> {
        if self.backwards {
            self.before.as_ref()
        } else {
            self.after.as_ref()
        }
    }

    /// The rows on the far side of [`Window::start`].
    pub fn behind<M>(&self, ordering: &Ordering<M>, start: &Cursor) -> Condition {
        Condition::not(ordering.beyond(start, self.backwards))
    }

    /// Turns at most `size + 1` rows, fetched in the window's direction (reversed when
    /// backwards), into a page in the ordering's direction.
    pub fn page<M>(&self, ordering: &Ordering<M>, rows: Vec<M>, behind: bool) -> Page<M> {
        self.signed_page(ordering, &ordering.signature().into(), rows, behind)
    }

    /// [`Self::page`] with the ordering's signature made already (the pages of many parents
    /// share one).
    pub fn signed_page<M>(
        &self,
        ordering: &Ordering<M>,
        signature: &Arc<str>,
        mut rows: Vec<M>,
        behind: bool,
    ) -> Page<M> {
        let more = rows.len() as u64 > self.size;
        rows.truncate(self.size as usize);
        if self.backwards {
            rows.reverse();
        }
        let (has_next_page, has_previous_page) = if self.backwards {
            (behind, more)
        } else {
            (more, behind)
        };
        let rows = rows
            .into_iter()
            .map(|row| {
                let cursor = ordering.cursor_with(signature.clone(), &row);
                (row, cursor)
            })
            .collect();
        Page {
            rows,
            has_next_page,
            has_previous_page,
        }
    }
}

/// Fetches one page of `base` in `ordering`.
pub async fn fetch<E, M>(
    db: &(impl ConnectionTrait + 'static),
    base: Select<E>,
    ordering: &Ordering<M>,
    req: &PageRequest,
    limits: PageLimits,
    extras: Extras,
) -> AppResult<Page<M>>
where
    E: EntityTrait<Model = M>,
    M: FromQueryResult + entity::FromRow + Send + Sync,
{
    let (window, page) = page_select(&base, ordering, req, limits)?;
    let rows: Vec<M> = entity::all_by_position(db, page.build(db.get_database_backend())).await?;
    finish(db, base, ordering, &window, rows, extras).await
}

/// The window a request asks for, and the select of its rows (one more than the window
/// holds, which tells whether there is more).
pub fn page_select<E, M>(
    base: &Select<E>,
    ordering: &Ordering<M>,
    req: &PageRequest,
    limits: PageLimits,
) -> AppResult<(Window, Select<E>)>
where
    E: EntityTrait<Model = M>,
{
    let window = Window::parse(req, ordering, limits)?;
    let page = ordering
        .apply(
            base.clone().filter(window.between(ordering)),
            window.backwards,
        )
        .limit(window.size + 1);
    Ok((window, page))
}

/// The page of `rows`, read by [`page_select`]'s select, with the fact on the far side of the
/// cursor it started from when `extras` asks for it (one more statement).
pub async fn finish<E, M>(
    db: &(impl ConnectionTrait + 'static),
    base: Select<E>,
    ordering: &Ordering<M>,
    window: &Window,
    rows: Vec<M>,
    extras: Extras,
) -> AppResult<Page<M>>
where
    E: EntityTrait<Model = M>,
    M: FromQueryResult + Send + Sync,
{
    // The fact on the far side of the cursor we started from: is there anything there?
    let behind = match window.start() {
        Some(c) if extras.opposite_page_fact => {
            base.filter(window.behind(ordering, c))
                .limit(1)
                .count(db)
                .await?
                > 0
        }
        _ => false,
    };
    Ok(window.page(ordering, rows, behind))
}

/// `COALESCE(col, sentinel)`: the sort expression of a nullable column.
pub fn coalesced(col: impl Into<SimpleExpr>, sentinel: impl Into<Value>) -> SimpleExpr {
    sea_orm::sea_query::Func::coalesce([col.into(), Expr::value(sentinel.into())]).into()
}
