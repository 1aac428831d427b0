//! JSON:API documents over the service layer: what a resource type is on the wire
//! ([`ApiResource`]), its relationships (the statics of [`stepgraph_domain::service::relations`], seen
//! through [`OneRel`] and [`ManyRel`]), and the building of collection and single documents
//! with `included`, sparse fieldsets, pagination links, `meta.count` and authorization meta.
//!
//! How a request runs:
//! 1. the primary rows come from [`resource::list_within`] or [`resource::get`] (the same
//!    filter, ordering, keyset pages and visibility as GraphQL);
//! 2. each `include` path is followed level by level: every relationship of a level is one
//!    statement for all the rows of that level ([`resource::by_ids`] for to-one,
//!    [`children::pages`] for to-many), so an include costs the same number of statements for
//!    a page of 5 as for a page of 1000;
//! 3. to-one linkage is only shown for targets the viewer can see: a relationship whose target
//!    the policy may hide is checked with one id-only statement per relationship (none where
//!    the target is visible whenever the parent is, or to everyone);
//! 4. rows are rendered once, included resources de-duplicated by type and id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use sea_orm::ColumnTrait;
use sea_orm::sea_query::Condition;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::params::Params;
use stepgraph_domain::auth::Viewer;
use stepgraph_domain::error::{AppError, AppResult};
use stepgraph_domain::service::children;
use stepgraph_domain::service::pagination::{
    Direction, Extras, PageLimits, PageRequest, SortField,
};
use stepgraph_domain::service::relations::{Declared, ToMany, ToOne};
use stepgraph_domain::service::resource::{self, ListRequest, Resource};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `page[size]`'s default and maximum, as Outreach documents them.
pub const PAGE_LIMITS: PageLimits = PageLimits {
    default: 50,
    max: 1000,
};
/// An included to-many relationship shows at most this many children per parent (its
/// `meta.truncated` says when there are more; `links.related` pages through all of them).
pub const INCLUDED_PER_PARENT: i64 = 25;
/// The most rows the includes of one request may load, checked before each statement from
/// what it could return at most.
pub const INCLUDE_BUDGET: usize = 50_000;

/// One request's context: who asks, where links point, what to render.
pub struct Cx {
    pub db: entity::reads::Db,
    pub viewer: Viewer,
    /// The API's absolute base URL, `https://host/api/v2`.
    pub base: String,
    /// `fields[type]`, checked against the types' attributes and relationships.
    pub fields: HashMap<String, Vec<String>>,
    pub authorization_meta: bool,
    /// What the includes may still load (see [`INCLUDE_BUDGET`]).
    pub budget: AtomicUsize,
}

impl Cx {
    fn wanted(&self, ty: &str, field: &str) -> bool {
        self.fields
            .get(ty)
            .is_none_or(|names| names.iter().any(|n| n == field))
    }

    fn url(&self, plural: &str, id: i64) -> String {
        format!("{}/{plural}/{id}", self.base)
    }

    /// Takes `n` from the include budget, or refuses the include before running anything.
    fn spend(&self, n: usize) -> Result<(), ApiError> {
        let left = self.budget.load(AtomicOrdering::Relaxed);
        if n > left {
            return Err(ApiError::parameter(
                400,
                "include",
                format!(
                    "could load more than {INCLUDE_BUDGET} resources; ask for a smaller page[size] or fewer to-many includes"
                ),
            ));
        }
        self.budget.store(left - n, AtomicOrdering::Relaxed);
        Ok(())
    }
}

/// `meta.canWrite` / `meta.canDelete` of one resource.
#[derive(Debug, Clone, Copy, Default)]
pub struct Authorization {
    pub can_write: bool,
    pub can_delete: bool,
}

/// Why a `filter[...]` was refused.
pub enum FilterError {
    /// Not a filter of this resource.
    Unknown,
    /// A filter, but the value is malformed (or the relationship refuses filtering).
    Invalid(String),
}

impl From<String> for FilterError {
    fn from(msg: String) -> Self {
        Self::Invalid(msg)
    }
}

/// One entry of a resource's filter table ([`ApiResource::FILTERS`]): a wire name and how a
/// `filter[name...]=value` fills the service filter. The names are GraphQL's filter input
/// fields too (the layers test compares the two).
pub enum FilterField<F: 'static> {
    /// `filter[name]=value`: parses the value into one field.
    Attr(&'static str, fn(&mut F, &str) -> Result<(), String>),
    /// `filter[name][id]=1,2`: a relationship filtered by the related ids only.
    Related(&'static str, fn(&mut F) -> &mut Option<Vec<i64>>),
    /// `filter[name][...]=value`: a relationship filtered by attributes of its target.
    Nested(
        &'static str,
        fn(&mut F, &[&str], &str) -> Result<(), FilterError>,
    ),
    /// A relationship Outreach does not filter by: refused with this reason.
    Refused(&'static str, &'static str),
}

impl<F> FilterField<F> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Attr(name, _)
            | Self::Related(name, _)
            | Self::Nested(name, _)
            | Self::Refused(name, _) => name,
        }
    }
}

/// Applies one `filter[path]=value` through a filter table.
pub fn apply_filter<F>(
    table: &[FilterField<F>],
    filter: &mut F,
    path: &[&str],
    value: &str,
) -> Result<(), FilterError> {
    let Some((first, rest)) = path.split_first() else {
        return Err(FilterError::Unknown);
    };
    let Some(field) = table.iter().find(|f| f.name() == *first) else {
        return Err(FilterError::Unknown);
    };
    match (field, rest) {
        (FilterField::Attr(_, set), []) => Ok(set(filter, value)?),
        (FilterField::Related(_, target), ["id"]) => {
            *target(filter) = Some(crate::params::ids(value)?);
            Ok(())
        }
        (FilterField::Related(..), _) => Err(FilterError::Invalid(
            "filters this relationship by id only: filter[relationship][id]=1,2".into(),
        )),
        (FilterField::Nested(_, apply), rest) => apply(filter, rest, value),
        (FilterField::Refused(_, reason), _) => Err(FilterError::Invalid((*reason).into())),
        (FilterField::Attr(..), _) => Err(FilterError::Unknown),
    }
}

/// A resource type as the JSON:API surface shows it.
pub trait ApiResource: Resource + Sized {
    /// The collection's path segment, `sequenceSteps` (the type is [`Resource::NAME`]).
    const PLURAL: &'static str;
    /// Attribute names, in the order [`ApiResource::attributes`] gives their values.
    const ATTRIBUTES: &'static [&'static str];
    fn attributes(row: &Self::Model) -> Vec<Value>;
    fn relationships() -> &'static [Relationship<Self>];
    /// The type's description for checking `include` and `fields` before any work.
    fn info() -> &'static TypeInfo;
    /// The `filter[...]` parameters this type accepts.
    const FILTERS: &'static [FilterField<Self::Filter>];
    /// `canWrite` / `canDelete` for each row. Types this API cannot write answer false.
    fn authorization<'a>(
        _cx: &'a Cx,
        rows: &'a [Self::Model],
    ) -> BoxFuture<'a, AppResult<Vec<Authorization>>> {
        let n = rows.len();
        Box::pin(async move { Ok(vec![Authorization::default(); n]) })
    }
}

/// A type's names, for checking `include` paths and `fields` without touching the database.
pub struct TypeInfo {
    pub name: &'static str,
    pub attributes: &'static [&'static str],
    /// The names of the filters it accepts ([`ApiResource::FILTERS`] but the refused ones).
    pub filters: fn() -> Vec<&'static str>,
    pub relationships: fn() -> Vec<RelInfo>,
}

/// A relationship as [`TypeInfo`] lists it.
pub struct RelInfo {
    pub name: &'static str,
    pub target: fn() -> &'static TypeInfo,
}

impl TypeInfo {
    fn relationship(&self, name: &str) -> Option<&'static TypeInfo> {
        (self.relationships)()
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| (r.target)())
    }

    fn has_field(&self, name: &str) -> bool {
        self.attributes.contains(&name) || self.relationship(name).is_some()
    }
}

/// The relationships of `R` as [`TypeInfo`] lists them.
pub fn relationship_infos<R: ApiResource>() -> Vec<RelInfo> {
    R::relationships()
        .iter()
        .map(|r| match r {
            Relationship::One(rel) => RelInfo {
                name: rel.field(),
                target: rel.target_info(),
            },
            Relationship::Many(rel) => RelInfo {
                name: rel.field(),
                target: rel.target_info(),
            },
        })
        .collect()
}

/// One relationship of `P`, built from its declaration in [`relations`](stepgraph_domain::service::relations)
/// (see `resources::relationships!`).
pub enum Relationship<P: Resource> {
    One(&'static dyn OneRel<P>),
    Many(&'static dyn ManyRel<P>),
}

impl<P: Resource> Relationship<P> {
    pub const fn one(rel: &'static dyn OneRel<P>) -> Self {
        Self::One(rel)
    }
    pub const fn many(rel: &'static dyn ManyRel<P>) -> Self {
        Self::Many(rel)
    }

    fn field(&self) -> &'static str {
        match self {
            Self::One(rel) => rel.field(),
            Self::Many(rel) => rel.field(),
        }
    }
}

/// A to-one relationship, whatever its target type.
pub trait OneRel<P: Resource>: Sync {
    fn field(&self) -> &'static str;
    /// The policy shows the target whenever it shows the parent (a step's sequence), so its
    /// linkage needs no check.
    fn shown_with_parent(&self) -> bool;
    fn target_info(&self) -> fn() -> &'static TypeInfo;
    fn target_name(&self) -> &'static str;
    fn key_of(&self, row: &P::Model) -> Option<i64>;
    /// The visible targets among `ids`.
    fn load<'a>(&'a self, cx: &'a Cx, ids: Vec<i64>) -> BoxFuture<'a, AppResult<Box<dyn Set>>>;
    /// Which of `ids` the viewer can see (`None`: all of them, no statement needed).
    fn visible<'a>(
        &'a self,
        cx: &'a Cx,
        ids: Vec<i64>,
    ) -> BoxFuture<'a, AppResult<Option<HashSet<i64>>>>;
    /// The related-resource document of one target.
    fn show<'a>(
        &'a self,
        cx: &'a Cx,
        id: i64,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<Value, ApiError>>;
}

impl<P: Resource, T: ApiResource> OneRel<P> for ToOne<P, T> {
    fn field(&self) -> &'static str {
        Declared::field(self)
    }
    fn shown_with_parent(&self) -> bool {
        self.shown
    }
    fn target_info(&self) -> fn() -> &'static TypeInfo {
        T::info
    }
    fn target_name(&self) -> &'static str {
        T::NAME
    }
    fn key_of(&self, row: &P::Model) -> Option<i64> {
        (self.key)(row)
    }
    fn load<'a>(&'a self, cx: &'a Cx, ids: Vec<i64>) -> BoxFuture<'a, AppResult<Box<dyn Set>>> {
        Box::pin(async move {
            // With no key set, the statement still runs when the target may be hidden from
            // this viewer: how many statements a request takes (`x-sql-statements`) must not
            // tell an unset link from a hidden one.
            let rows = if ids.is_empty() && T::visible(&cx.viewer).is_none() {
                Vec::new()
            } else {
                let mut found = resource::by_ids::<T>(&cx.db, &cx.viewer, &ids).await?;
                // In the order of first mention, so documents are deterministic.
                ids.iter().filter_map(|id| found.remove(id)).collect()
            };
            Ok(Box::new(Rows::<T>::new(rows)) as Box<dyn Set>)
        })
    }
    fn visible<'a>(
        &'a self,
        cx: &'a Cx,
        ids: Vec<i64>,
    ) -> BoxFuture<'a, AppResult<Option<HashSet<i64>>>> {
        Box::pin(async move {
            // Whether the statement runs depends on the viewer and the type only, never on the
            // keys: a page whose links are all unset costs what one with hidden links costs.
            if T::visible(&cx.viewer).is_none() {
                return Ok(None);
            }
            let any = T::Filter::default();
            let found = resource::matching_ids::<T>(&cx.db, &cx.viewer, &any, &ids).await?;
            Ok(Some(found))
        })
    }
    fn show<'a>(
        &'a self,
        cx: &'a Cx,
        id: i64,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<Value, ApiError>> {
        Box::pin(single::<T>(cx, id, params))
    }
}

/// The rows of an included to-many relationship, and which of them each parent shows.
pub type Loaded = (Box<dyn Set>, HashMap<i64, Linkage>);

/// Which children of one parent an included to-many relationship shows.
#[derive(Debug, Clone, Default)]
pub struct Linkage {
    pub ids: Vec<i64>,
    /// More children exist than were included.
    pub truncated: bool,
}

/// A to-many relationship, whatever its child type.
pub trait ManyRel<P: Resource>: Sync {
    fn field(&self) -> &'static str;
    fn target_info(&self) -> fn() -> &'static TypeInfo;
    /// The first [`INCLUDED_PER_PARENT`] visible children of each parent, in one statement.
    fn load<'a>(&'a self, cx: &'a Cx, parents: Vec<i64>)
    -> BoxFuture<'a, Result<Loaded, ApiError>>;
    /// The related-resource collection of one parent, with the collection's parameters.
    fn related<'a>(
        &'a self,
        cx: &'a Cx,
        parent: i64,
        params: &'a Params,
        path: &'a str,
    ) -> BoxFuture<'a, Result<Value, ApiError>>;
}

impl<P: Resource, C: ApiResource> ManyRel<P> for ToMany<P, C> {
    fn field(&self) -> &'static str {
        Declared::field(self)
    }
    fn target_info(&self) -> fn() -> &'static TypeInfo {
        C::info
    }
    fn load<'a>(
        &'a self,
        cx: &'a Cx,
        parents: Vec<i64>,
    ) -> BoxFuture<'a, Result<Loaded, ApiError>> {
        Box::pin(async move {
            if parents.is_empty() {
                return Ok((
                    Box::new(Rows::<C>::new(Vec::new())) as Box<dyn Set>,
                    HashMap::new(),
                ));
            }
            cx.spend(parents.len() * INCLUDED_PER_PARENT as usize)?;
            let page = PageRequest {
                first: Some(INCLUDED_PER_PARENT),
                ..Default::default()
            };
            let args = children::args(
                self,
                C::Filter::default(),
                Vec::new(),
                &page,
                PAGE_LIMITS,
                false,
                u64::MAX,
            )?;
            let mut pages = children::pages(&cx.db, &cx.viewer, self, &parents, &args).await?;
            let mut rows = Vec::new();
            let mut seen = HashSet::new();
            let mut linkage = HashMap::new();
            for parent in &parents {
                let Some(page) = pages.remove(parent) else {
                    continue;
                };
                let mut link = Linkage {
                    ids: Vec::with_capacity(page.rows.len()),
                    truncated: page.has_next_page,
                };
                for (row, _) in page.rows {
                    let id = C::id(&row);
                    link.ids.push(id);
                    if seen.insert(id) {
                        rows.push(row);
                    }
                }
                linkage.insert(*parent, link);
            }
            Ok((Box::new(Rows::<C>::new(rows)) as Box<dyn Set>, linkage))
        })
    }
    fn related<'a>(
        &'a self,
        cx: &'a Cx,
        parent: i64,
        params: &'a Params,
        path: &'a str,
    ) -> BoxFuture<'a, Result<Value, ApiError>> {
        Box::pin(async move {
            // The parent must be visible: its children's list would otherwise tell that it
            // exists.
            resource::get::<P>(&cx.db, &cx.viewer, parent).await?;
            let scope = Condition::all().add(self.fk.eq(parent));
            collection::<C>(cx, params, scope, self.default_order, path).await
        })
    }
}

/// Rows of one type, type-erased so that includes can walk any relationship.
pub trait Set: Send + Sync {
    fn is_empty(&self) -> bool;
    /// The ids of the rows.
    fn ids(&self) -> HashSet<i64>;
    /// Loads the rows behind relationship `field` of these rows (one statement), recording the
    /// linkage of a to-many relationship.
    fn follow<'a>(
        &'a mut self,
        cx: &'a Cx,
        field: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Set>, ApiError>>;
    /// Everything rendering needs from the database: visible to-one linkage, and
    /// authorization meta when asked for.
    fn prepare<'a>(&'a mut self, cx: &'a Cx) -> BoxFuture<'a, AppResult<()>>;
    /// The resource objects, with their (type, id).
    fn render(&self, cx: &Cx) -> Vec<((&'static str, i64), Value)>;
}

/// The rows of `R` in a document.
pub struct Rows<R: ApiResource> {
    rows: Vec<R::Model>,
    /// Included to-many relationships: field -> parent id -> children shown.
    linkage: HashMap<&'static str, HashMap<i64, Linkage>>,
    /// Visible targets of to-one relationships that needed a check: field -> ids.
    visible: HashMap<&'static str, HashSet<i64>>,
    authorization: Option<Vec<Authorization>>,
}

impl<R: ApiResource> Rows<R> {
    pub fn new(rows: Vec<R::Model>) -> Self {
        Self {
            rows,
            linkage: HashMap::new(),
            visible: HashMap::new(),
            authorization: None,
        }
    }

    fn keys(&self, rel: &dyn OneRel<R>) -> Vec<i64> {
        let mut seen = HashSet::new();
        self.rows
            .iter()
            .filter_map(|r| rel.key_of(r))
            .filter(|k| seen.insert(*k))
            .collect()
    }

    fn render_row(&self, cx: &Cx, index: usize) -> Value {
        let row = &self.rows[index];
        let id = R::id(row);
        let ty = R::NAME;
        let mut obj = Map::new();
        obj.insert("type".into(), json!(ty));
        obj.insert("id".into(), json!(id));
        let mut attributes = Map::new();
        for (name, value) in R::ATTRIBUTES.iter().zip(R::attributes(row)) {
            if cx.wanted(ty, name) {
                attributes.insert((*name).into(), value);
            }
        }
        obj.insert("attributes".into(), Value::Object(attributes));
        let mut relationships = Map::new();
        let self_url = cx.url(R::PLURAL, id);
        for rel in R::relationships() {
            let field = rel.field();
            if !cx.wanted(ty, field) {
                continue;
            }
            let related = json!({ "related": format!("{self_url}/{field}") });
            let value = match rel {
                Relationship::One(rel) => {
                    let key = rel.key_of(row).filter(|k| {
                        self.visible
                            .get(field)
                            .is_none_or(|visible| visible.contains(k))
                    });
                    let data = key.map_or(
                        Value::Null,
                        |k| json!({ "type": rel.target_name(), "id": k }),
                    );
                    json!({ "data": data, "links": related })
                }
                Relationship::Many(rel) => {
                    let mut value = Map::new();
                    if let Some(link) = self.linkage.get(field).map(|l| l.get(&id)) {
                        let link = link.cloned().unwrap_or_default();
                        let target = (rel.target_info())().name;
                        let data: Vec<Value> = link
                            .ids
                            .iter()
                            .map(|c| json!({ "type": target, "id": c }))
                            .collect();
                        value.insert("data".into(), Value::Array(data));
                        value.insert("meta".into(), json!({ "truncated": link.truncated }));
                    }
                    value.insert("links".into(), related);
                    Value::Object(value)
                }
            };
            relationships.insert(field.into(), value);
        }
        if !relationships.is_empty() {
            obj.insert("relationships".into(), Value::Object(relationships));
        }
        obj.insert("links".into(), json!({ "self": self_url }));
        if let Some(auth) = self.authorization.as_ref().and_then(|a| a.get(index)) {
            obj.insert(
                "meta".into(),
                json!({ "canWrite": auth.can_write, "canDelete": auth.can_delete }),
            );
        }
        Value::Object(obj)
    }
}

impl<R: ApiResource> Set for Rows<R> {
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn ids(&self) -> HashSet<i64> {
        self.rows.iter().map(R::id).collect()
    }

    fn follow<'a>(
        &'a mut self,
        cx: &'a Cx,
        field: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Set>, ApiError>> {
        Box::pin(async move {
            let rel = R::relationships()
                .iter()
                .find(|r| r.field() == field)
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("BUG: unchecked include {field}"))
                })?;
            match rel {
                Relationship::One(rel) => {
                    let keys = self.keys(*rel);
                    cx.spend(keys.len())?;
                    let set = rel.load(cx, keys).await?;
                    // The loaded targets are exactly the visible ones: the linkage needs no
                    // second look (see `prepare`).
                    self.visible.insert(rel.field(), set.ids());
                    Ok(set)
                }
                Relationship::Many(rel) => {
                    let parents = self.rows.iter().map(R::id).collect();
                    let (set, linkage) = rel.load(cx, parents).await?;
                    self.linkage.insert(rel.field(), linkage);
                    Ok(set)
                }
            }
        })
    }

    fn prepare<'a>(&'a mut self, cx: &'a Cx) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move {
            if self.rows.is_empty() {
                return Ok(());
            }
            for rel in R::relationships() {
                if let Relationship::One(rel) = rel
                    && !rel.shown_with_parent()
                    && cx.wanted(R::NAME, rel.field())
                    && !self.visible.contains_key(rel.field())
                {
                    let keys = self.keys(*rel);
                    if let Some(visible) = rel.visible(cx, keys).await? {
                        self.visible.insert(rel.field(), visible);
                    }
                }
            }
            if cx.authorization_meta {
                self.authorization = Some(R::authorization(cx, &self.rows).await?);
            }
            Ok(())
        })
    }

    fn render(&self, cx: &Cx) -> Vec<((&'static str, i64), Value)> {
        (0..self.rows.len())
            .map(|i| ((R::NAME, R::id(&self.rows[i])), self.render_row(cx, i)))
            .collect()
    }
}

/// The relationships of an `include` parameter as a tree (`a.b,a.c` shares `a`).
#[derive(Default)]
struct Tree(BTreeMap<String, Tree>);

/// Checks `include` paths against the types before anything runs (400, as JSON:API says).
pub fn check_include(info: &'static TypeInfo, paths: &[Vec<String>]) -> Result<(), ApiError> {
    for path in paths {
        let mut at = info;
        for segment in path {
            at = at.relationship(segment).ok_or_else(|| {
                ApiError::parameter(
                    400,
                    "include",
                    format!(
                        "names {:?}, which is not a relationship of {}",
                        path.join("."),
                        at.name
                    ),
                )
            })?;
        }
    }
    Ok(())
}

/// Checks `fields[type]` against the known types and their fields.
pub fn check_fields(
    all: &[&'static TypeInfo],
    fields: &HashMap<String, Vec<String>>,
) -> Result<(), ApiError> {
    for (ty, names) in fields {
        let parameter = format!("fields[{ty}]");
        let info = all.iter().find(|i| i.name == ty).ok_or_else(|| {
            ApiError::parameter(422, &parameter, format!("names no resource type {ty:?}"))
        })?;
        if let Some(bad) = names.iter().find(|n| !info.has_field(n)) {
            return Err(ApiError::parameter(
                422,
                &parameter,
                format!("names {bad:?}, which is not a field of {ty}"),
            ));
        }
    }
    Ok(())
}

fn walk<'a>(
    cx: &'a Cx,
    set: &'a mut dyn Set,
    tree: &'a Tree,
    out: &'a mut Vec<Box<dyn Set>>,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        for (field, sub) in &tree.0 {
            let mut child = set.follow(cx, field).await?;
            walk(cx, child.as_mut(), sub, out).await?;
            out.push(child);
        }
        Ok(())
    })
}

/// `data` and `included` for primary rows.
async fn compound<R: ApiResource>(
    cx: &Cx,
    rows: Vec<R::Model>,
    params: &Params,
) -> Result<(Vec<Value>, Option<Vec<Value>>), ApiError> {
    let mut primary = Rows::<R>::new(rows);
    let mut tree = Tree::default();
    for path in &params.include {
        let mut node = &mut tree;
        for segment in path {
            node = node.0.entry(segment.clone()).or_default();
        }
    }
    let mut sets: Vec<Box<dyn Set>> = Vec::new();
    walk(cx, &mut primary, &tree, &mut sets).await?;
    primary.prepare(cx).await?;
    let mut seen = HashSet::new();
    let data: Vec<Value> = primary
        .render(cx)
        .into_iter()
        .map(|(key, obj)| {
            seen.insert(key);
            obj
        })
        .collect();
    if params.include.is_empty() {
        return Ok((data, None));
    }
    let mut included = Vec::new();
    for set in &mut sets {
        if !set.is_empty() {
            set.prepare(cx).await?;
        }
        for (key, obj) in set.render(cx) {
            if seen.insert(key) {
                included.push(obj);
            }
        }
    }
    Ok((data, Some(included)))
}

/// `updatedAt` -> the sort field whose key is `UPDATED_AT`.
fn camel(screaming: &str) -> String {
    let mut out = String::new();
    for (i, word) in screaming.split('_').enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

/// The filter of a collection request.
pub fn filter_of<R: ApiResource>(params: &Params) -> Result<R::Filter, ApiError> {
    let mut filter = R::Filter::default();
    for f in &params.filters {
        let path: Vec<&str> = f.path.iter().map(String::as_str).collect();
        apply_filter(R::FILTERS, &mut filter, &path, &f.value).map_err(|e| match e {
            FilterError::Unknown => ApiError::parameter(
                422,
                &f.parameter,
                format!("is not a filter of {}", R::PLURAL),
            ),
            FilterError::Invalid(msg) => ApiError::parameter(422, &f.parameter, msg),
        })?;
    }
    Ok(filter)
}

/// The ordering of a collection request (400 for an unknown field, as JSON:API says).
pub fn sort_of<R: ApiResource>(params: &Params) -> Result<Vec<(R::Sort, Direction)>, ApiError> {
    params
        .sort
        .iter()
        .map(|(name, descending)| {
            let field = R::Sort::ALL
                .iter()
                .find(|s| camel(s.key().name) == *name)
                .ok_or_else(|| {
                    let known: Vec<String> =
                        R::Sort::ALL.iter().map(|s| camel(s.key().name)).collect();
                    ApiError::parameter(
                        400,
                        "sort",
                        format!(
                            "names {name:?}, which {} cannot be sorted by; use one of {}",
                            R::PLURAL,
                            known.join(", ")
                        ),
                    )
                })?;
            let direction = if *descending {
                Direction::Desc
            } else {
                Direction::Asc
            };
            Ok((*field, direction))
        })
        .collect()
}

/// A link to the same collection with other page parameters. Brackets and commas stay
/// readable, as in Outreach's links.
fn page_link(cx: &Cx, path: &str, params: &Params, page: Option<(&str, &str)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &params.pairs {
        if k != "page[after]" && k != "page[before]" {
            query.append_pair(k, v);
        }
    }
    if let Some((k, v)) = page {
        query.append_pair(k, v);
    }
    let query = query
        .finish()
        .replace("%5B", "[")
        .replace("%5D", "]")
        .replace("%2C", ",");
    if query.is_empty() {
        format!("{}/{path}", cx.base)
    } else {
        format!("{}/{path}?{query}", cx.base)
    }
}

/// A collection document: one page of the visible rows of `R` within `scope`.
pub async fn collection<R: ApiResource>(
    cx: &Cx,
    params: &Params,
    scope: Condition,
    default_order: &[(R::Sort, Direction)],
    path: &str,
) -> Result<Value, ApiError> {
    check_include(R::info(), &params.include)?;
    let filter = filter_of::<R>(params)?;
    let mut order_by = sort_of::<R>(params)?;
    if order_by.is_empty() {
        order_by = default_order.to_vec();
    }
    let size = params.page_size;
    let backwards = params.page_before.is_some() && params.page_after.is_none();
    let req = ListRequest::<R> {
        filter,
        order_by,
        page: PageRequest {
            first: if backwards { None } else { size },
            last: if backwards {
                Some(size.unwrap_or(PAGE_LIMITS.default))
            } else {
                None
            },
            after: params.page_after.clone(),
            before: params.page_before.clone(),
        },
        limits: PAGE_LIMITS,
        extras: Extras {
            opposite_page_fact: true,
        },
    };
    let page = resource::list_within::<R>(&cx.db, &cx.viewer, &req, scope.clone()).await?;
    let count = if params.count {
        Some(resource::count_within::<R>(&cx.db, &cx.viewer, &req.filter, scope).await?)
    } else {
        None
    };
    let mut links = Map::new();
    links.insert("first".into(), json!(page_link(cx, path, params, None)));
    if page.has_previous_page
        && let Some((_, cursor)) = page.rows.first()
    {
        let link = page_link(cx, path, params, Some(("page[before]", &cursor.encode())));
        links.insert("prev".into(), json!(link));
    }
    if page.has_next_page
        && let Some((_, cursor)) = page.rows.last()
    {
        let link = page_link(cx, path, params, Some(("page[after]", &cursor.encode())));
        links.insert("next".into(), json!(link));
    }
    let rows = page.rows.into_iter().map(|(row, _)| row).collect();
    let (data, included) = compound::<R>(cx, rows, params).await?;
    let mut doc = Map::new();
    doc.insert("data".into(), Value::Array(data));
    if let Some(included) = included {
        doc.insert("included".into(), Value::Array(included));
    }
    doc.insert("links".into(), Value::Object(links));
    if let Some(count) = count {
        doc.insert("meta".into(), json!({ "count": count }));
    }
    Ok(Value::Object(doc))
}

/// A single-resource document for a row the caller already read (and may see).
pub async fn single_of<R: ApiResource>(
    cx: &Cx,
    row: R::Model,
    params: &Params,
) -> Result<Value, ApiError> {
    check_include(R::info(), &params.include)?;
    let self_url = cx.url(R::PLURAL, R::id(&row));
    let (mut data, included) = compound::<R>(cx, vec![row], params).await?;
    let mut doc = Map::new();
    doc.insert("data".into(), data.pop().unwrap_or(Value::Null));
    if let Some(included) = included {
        doc.insert("included".into(), Value::Array(included));
    }
    doc.insert("links".into(), json!({ "self": self_url }));
    Ok(Value::Object(doc))
}

/// A single-resource document: 404 when the row is missing or hidden.
pub async fn single<R: ApiResource>(cx: &Cx, id: i64, params: &Params) -> Result<Value, ApiError> {
    check_include(R::info(), &params.include)?;
    let row = resource::get::<R>(&cx.db, &cx.viewer, id).await?;
    single_of::<R>(cx, row, params).await
}

/// The related-resource document of relationship `field` of a visible row of `P`.
pub async fn related<P: ApiResource>(
    cx: &Cx,
    id: i64,
    field: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    let rel = P::relationships()
        .iter()
        .find(|r| r.field() == field)
        .ok_or_else(|| {
            ApiError::plain(404, format!("{} have no relationship {field:?}", P::PLURAL))
        })?;
    match rel {
        Relationship::Many(rel) => {
            let path = format!("{}/{id}/{field}", P::PLURAL);
            rel.related(cx, id, params, &path).await
        }
        Relationship::One(rel) => {
            // A to-one link names one resource: collection parameters mean nothing here.
            let collection_only = params.pairs.iter().map(|(k, _)| k.as_str()).find(|k| {
                k.starts_with("filter[") || k.starts_with("page[") || *k == "sort" || *k == "count"
            });
            if let Some(parameter) = collection_only {
                return Err(ApiError::parameter(
                    400,
                    parameter,
                    format!("does not apply: {field} is a to-one relationship"),
                ));
            }
            let row = resource::get::<P>(&cx.db, &cx.viewer, id).await?;
            match rel.key_of(&row) {
                Some(target) => match rel.show(cx, target, params).await {
                    Err(ApiError::App(AppError::NotFound { .. }, _)) => Ok(json!({ "data": null })),
                    other => other,
                },
                None => Ok(json!({ "data": null })),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sort_keys_read_as_camel_case() {
        assert_eq!(super::camel("UPDATED_AT"), "updatedAt");
        assert_eq!(super::camel("ID"), "id");
        assert_eq!(super::camel("NEGATIVE_REPLY_COUNT"), "negativeReplyCount");
    }
}
