//! What a document may cost, measured before anything runs.
//!
//! async-graphql's validation walks a document with fragments expanded in place, so a 2 KB
//! document of fragments that each spread the next twice expands to 2^26 fields, and its
//! complexity visitor adds with plain `+=` (which wraps in a release build). This module walks
//! the parsed document once, with each fragment summarised once (memoised), so its work is
//! linear in the document's size whatever the expansion, and every sum saturates. It bounds:
//!
//! - the fields selected once fragments are expanded (`max_fields`): what validation, the
//!   executor and `response_order` would walk;
//! - aliases and root fields (`max_aliases`, `max_root_fields`): the ways to ask for the same
//!   expensive thing many times in one document;
//! - the complexity, with the same formula as the schema's (a field costs 1 plus its
//!   children; a connection multiplies its children by its page size, see
//!   [`crate::connection::cost`]), so async-graphql's own check, which runs after
//!   this one, only ever sees documents whose sum cannot wrap;
//! - introspection cycles (`__Type.fields` under `__Type.fields`, as in
//!   `{ __schema { types { fields { type { fields ... } } } } }`): at most one list of fields
//!   per path, which GraphiQL's introspection query needs and no cycle fits in.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Value, Variables};

use crate::Limits;
use stepgraph_domain::error::AppError;

/// Why a document was refused before it ran.
#[derive(Debug)]
pub enum Refusal {
    /// Over a limit: reported like async-graphql's own limits (GRAPHQL_VALIDATION_FAILED).
    Limit(String),
    /// A bad argument value: BAD_USER_INPUT naming the argument.
    Input(AppError),
}

impl Refusal {
    /// The response to a refused request.
    pub fn into_response(self) -> async_graphql::Response {
        let error = match self {
            Refusal::Limit(message) => async_graphql::ServerError::new(message, None),
            Refusal::Input(err) => {
                crate::error::gql(err).into_server_error(async_graphql::Pos::default())
            }
        };
        async_graphql::Response::from_errors(vec![error])
    }
}

/// The shape of this server's schema, built once.
pub fn shape() -> &'static Shape {
    static SHAPE: std::sync::LazyLock<Shape> =
        std::sync::LazyLock::new(|| Shape::from_sdl(&crate::sdl()));
    &SHAPE
}

/// The parts of the schema the walk needs: each object field's named type, by type and field
/// (looked up by `&str`, so the walk allocates nothing per field).
pub struct Shape {
    fields: HashMap<String, HashMap<String, String>>,
}

impl Shape {
    /// From the schema's SDL.
    pub fn from_sdl(sdl: &str) -> Self {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let mut fields: HashMap<String, HashMap<String, String>> = HashMap::new();
        if let Ok(doc) = async_graphql::parser::parse_schema(sdl) {
            for def in doc.definitions {
                if let TypeSystemDefinition::Type(ty) = def {
                    let name = ty.node.name.node.to_string();
                    let defs = match &ty.node.kind {
                        TypeKind::Object(o) => &o.fields,
                        TypeKind::Interface(i) => &i.fields,
                        _ => continue,
                    };
                    for f in defs {
                        let mut t = &f.node.ty.node;
                        let named = loop {
                            match &t.base {
                                async_graphql::parser::types::BaseType::Named(n) => {
                                    break n.to_string();
                                }
                                async_graphql::parser::types::BaseType::List(inner) => t = inner,
                            }
                        };
                        fields
                            .entry(name.clone())
                            .or_default()
                            .insert(f.node.name.node.to_string(), named);
                    }
                }
            }
        }
        Self { fields }
    }

    /// The named type of `parent.field`; introspection types are `__`, unknown ones empty.
    fn field_type(&self, parent: &str, field: &str) -> &str {
        if field == "__schema" || field == "__type" || parent.starts_with("__") {
            return "__";
        }
        self.fields
            .get(parent)
            .and_then(|f| f.get(field))
            .map_or("", String::as_str)
    }
}

/// What a selection set costs once expanded. Every sum saturates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Fields selected, nested ones included.
    pub fields: usize,
    /// Fields at this level (after spreading fragments).
    pub top: usize,
    pub aliases: usize,
    pub complexity: usize,
    /// The most introspection field lists (`fields`, `inputFields`) on one path.
    pub field_lists: usize,
}

impl Summary {
    fn merge(&mut self, other: Summary) {
        self.fields = self.fields.saturating_add(other.fields);
        self.top = self.top.saturating_add(other.top);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.field_lists = self.field_lists.max(other.field_lists);
    }
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    shape: &'a Shape,
    variables: &'a Variables,
    max_list_items: usize,
    fragments: HashMap<&'a str, Summary>,
    active: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn int_argument(&self, field: &Field, name: &str) -> Option<i32> {
        let (_, value) = field.arguments.iter().find(|(n, _)| n.node == name)?;
        let value = value
            .node
            .clone()
            .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()))
            .ok()?;
        match value {
            Value::Number(n) => n
                .as_i64()
                .map(|n| n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32),
            _ => None,
        }
    }

    /// Refuses a list argument longer than `max_list_items` (at any depth of an input
    /// object), naming it as `filter.id`; otherwise returns how many list items the field's
    /// arguments hold in all, which its cost includes (each id of a filter is work).
    fn check_lists(&self, field: &Field) -> Result<usize, Refusal> {
        fn longest(
            value: &Value,
            path: String,
            out: &mut Option<(String, usize)>,
            total: &mut usize,
        ) {
            match value {
                Value::List(items) => {
                    *total = total.saturating_add(items.len());
                    if out.as_ref().is_none_or(|(_, n)| items.len() > *n) {
                        *out = Some((path.clone(), items.len()));
                    }
                    for item in items {
                        longest(item, path.clone(), out, total);
                    }
                }
                Value::Object(fields) => {
                    for (name, v) in fields {
                        longest(v, format!("{path}.{name}"), out, total);
                    }
                }
                _ => {}
            }
        }
        let mut total = 0usize;
        for (name, value) in &field.arguments {
            let Ok(value) = value
                .node
                .clone()
                .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()))
            else {
                continue;
            };
            let mut found = None;
            longest(&value, name.node.to_string(), &mut found, &mut total);
            if let Some((path, n)) = found
                && n > self.max_list_items
            {
                return Err(Refusal::Input(AppError::invalid(
                    path,
                    format!(
                        "takes at most {} values (got {n}; STEPGRAPH_MAX_LIST_ITEMS)",
                        self.max_list_items
                    ),
                )));
            }
        }
        Ok(total)
    }

    fn set(&mut self, set: &'a SelectionSet, parent: &str) -> Result<Summary, Refusal> {
        let mut sum = Summary::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => sum.merge(self.field(&field.node, parent)?),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    sum.merge(self.fragment(name)?);
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(parent, |c| c.node.on.node.as_str());
                    sum.merge(self.set(&inline.node.selection_set.node, on)?);
                }
            }
        }
        Ok(sum)
    }

    fn fragment(&mut self, name: &'a str) -> Result<Summary, Refusal> {
        if let Some(done) = self.fragments.get(name) {
            return Ok(*done);
        }
        let Some(def) = self.doc.fragments.get(&Name::new(name)) else {
            // Validation reports unknown fragments.
            return Ok(Summary::default());
        };
        if !self.active.insert(name) {
            return Err(Refusal::Limit(format!("fragment {name} spreads itself")));
        }
        let on = def.node.type_condition.node.on.node.as_str();
        let summary = self.set(&def.node.selection_set.node, on)?;
        self.active.remove(name);
        self.fragments.insert(name, summary);
        Ok(summary)
    }

    fn field(&mut self, field: &'a Field, parent: &str) -> Result<Summary, Refusal> {
        let list_items = self.check_lists(field)?;
        let name = field.name.node.as_str();
        let ty = self.shape.field_type(parent, name);
        let child = if field.selection_set.node.items.is_empty() {
            Summary::default()
        } else {
            self.set(&field.selection_set.node, ty)?
        };
        let complexity = if ty.ends_with("Connection") {
            crate::connection::cost(
                self.int_argument(field, "first"),
                self.int_argument(field, "last"),
                child.complexity,
            )
        } else if parent == "Query" && name == "nodes" {
            // As the schema's formula: each id is one object of the selection.
            list_items
                .saturating_mul(child.complexity)
                .saturating_add(1)
        } else {
            child.complexity.saturating_add(1)
        }
        // The field's list arguments, once per time the field runs: a parent connection
        // multiplies this like the rest of the field's cost, and aliases add up.
        .saturating_add(list_items);
        let is_field_list = ty == "__" && (name == "fields" || name == "inputFields");
        Ok(Summary {
            fields: child.fields.saturating_add(1),
            top: 1,
            aliases: child
                .aliases
                .saturating_add(usize::from(field.alias.is_some())),
            complexity,
            field_lists: child.field_lists + usize::from(is_field_list),
        })
    }
}

/// The operation a request runs: the one named, or the first when none is.
pub fn selected_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a async_graphql::Positioned<async_graphql::parser::types::OperationDefinition>> {
    doc.operations
        .iter()
        .find(|(name, _)| match (operation_name, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        })
        .map(|(_, op)| op)
}

/// The type of the operation a request runs (`query`, `mutation`, `subscription`), as metrics
/// and traces name it; `None` when the document has no such operation.
pub fn operation_type(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'static str> {
    selected_operation(doc, operation_name).map(|op| match op.node.ty {
        async_graphql::parser::types::OperationType::Query => "query",
        async_graphql::parser::types::OperationType::Mutation => "mutation",
        async_graphql::parser::types::OperationType::Subscription => "subscription",
    })
}

/// The name of the operation a request runs: the one it asked for, or the name of its
/// document's only operation (`None`: anonymous).
pub fn operation_name<'a>(
    doc: Option<&'a ExecutableDocument>,
    requested: Option<&'a str>,
) -> Option<&'a str> {
    use async_graphql::parser::types::DocumentOperations;
    requested.or_else(|| match doc.map(|d| &d.operations) {
        Some(DocumentOperations::Multiple(ops)) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.as_str())
        }
        _ => None,
    })
}

/// The cost of the operation a request would run; `None` when there is no such operation
/// (the executor reports that).
pub fn measure(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    shape: &Shape,
    max_list_items: usize,
) -> Result<Option<Summary>, Refusal> {
    let Some(operation) = selected_operation(doc, operation_name) else {
        return Ok(None);
    };
    let root = match operation.node.ty {
        OperationType::Mutation => "Mutation",
        _ => "Query",
    };
    let mut walk = Walk {
        doc,
        shape,
        variables,
        max_list_items,
        fragments: HashMap::new(),
        active: HashSet::new(),
    };
    walk.set(&operation.node.selection_set.node, root).map(Some)
}

/// Refuses a document over any limit, with a message that names the limit and its knob;
/// otherwise returns its complexity (0 when there is no such operation), which a batch sums
/// with [`Spent`].
pub fn check(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    shape: &Shape,
    limits: &Limits,
) -> Result<usize, Refusal> {
    let Some(s) = measure(doc, operation_name, variables, shape, limits.max_list_items)? else {
        return Ok(0);
    };
    for (n, max, what, knob) in [
        (
            s.fields,
            limits.max_fields,
            "selects too many fields once its fragments are expanded",
            "MAX_FIELDS",
        ),
        (
            s.aliases,
            limits.max_aliases,
            "has too many aliases",
            "MAX_ALIASES",
        ),
        (
            s.top,
            limits.max_root_fields,
            "has too many root fields",
            "MAX_ROOT_FIELDS",
        ),
    ] {
        if n > max {
            return Err(Refusal::Limit(format!(
                "the query {what} ({n}); the limit is {max} (STEPGRAPH_{knob})"
            )));
        }
    }
    if s.complexity > limits.max_complexity {
        return Err(Refusal::Limit(format!(
            "Query is too complex: its complexity is {} and the limit is {} (STEPGRAPH_MAX_COMPLEXITY); ask for smaller pages or fewer nested connections",
            if s.complexity == usize::MAX {
                "beyond counting".to_string()
            } else {
                s.complexity.to_string()
            },
            limits.max_complexity
        )));
    }
    if s.field_lists > 1 {
        return Err(Refusal::Limit(
            "the introspection query nests one list of fields inside another (a cycle); GraphiQL's introspection query does not need that"
                .into(),
        ));
    }
    Ok(s.complexity)
}

/// The complexity a batch has used so far: every member's counts towards one
/// `max_complexity`, so ten members of 19,000 each cost what one of 190,000 would.
#[derive(Debug, Default)]
pub struct Spent(usize);

impl Spent {
    /// Charges one member's complexity, or refuses it when the batch would go over.
    /// The complexity charged so far.
    pub fn total(&self) -> usize {
        self.0
    }

    pub fn charge(&mut self, complexity: usize, limits: &Limits) -> Result<(), Refusal> {
        let total = self.0.saturating_add(complexity);
        if total > limits.max_complexity {
            return Err(Refusal::Limit(format!(
                "this batch is too complex: its operations' complexities add up to more than {} \
                 (STEPGRAPH_MAX_COMPLEXITY, shared by every operation of a batch); send fewer \
                 or smaller operations",
                limits.max_complexity
            )));
        }
        self.0 = total;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(query: &str) -> Summary {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        measure(&doc, None, &Variables::default(), shape(), 1000)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn fragments_are_counted_once_however_often_they_are_spread() {
        // 27 fragments, each spreading the next twice: 2^26 fields once expanded, measured in
        // 27 steps.
        let mut q = String::from("query { ...F0 }\n");
        for i in 0..26 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        q.push_str("fragment F26 on Query { __typename }\n");
        let started = std::time::Instant::now();
        let s = summary(&q);
        assert_eq!(s.fields, 1 << 26);
        assert_eq!(s.top, 1 << 26);
        assert!(
            started.elapsed().as_millis() < 100,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn complexity_matches_the_schema_and_saturates() {
        // A connection multiplies its children by its page size (50 by default).
        let s = summary("{ sequenceSteps(first: 10) { nodes { id order } } }");
        assert_eq!(s.complexity, 10 * (1 + 2) + 1);
        let s = summary("{ sequenceSteps { nodes { id } } }");
        assert_eq!(s.complexity, 50 * (1 + 1) + 1);
        // Eight nested connections of 100 under aliases: far beyond usize, so it saturates
        // instead of wrapping around to a small number.
        let mut inner = String::from("id");
        for _ in 0..8 {
            inner = format!(
                "sequenceSteps(first: 100) {{ nodes {{ a: id b: id sequence {{ {inner} }} }} }}"
            );
        }
        let q = format!(
            "query {{ {} }} fragment X on Sequence {{ id }}",
            (0..8)
                .map(|i| format!("s{i}: sequences(first: 100) {{ nodes {{ {inner} }} }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let s = summary(&q);
        assert_eq!(s.complexity, usize::MAX);
    }

    #[test]
    fn introspection_cycles_are_seen_and_graphiql_passes() {
        let cycle = summary("{ __schema { types { fields { type { fields { name } } } } } }");
        assert_eq!(cycle.field_lists, 2);
        let graphiql = summary(include_str!(
            "../../../tests/it/introspection_query.graphql"
        ));
        assert_eq!(graphiql.field_lists, 1);
        let limits = Limits::default();
        assert!(graphiql.fields <= limits.max_fields, "{graphiql:?}");
        assert!(graphiql.complexity <= limits.max_complexity, "{graphiql:?}");
    }
}
