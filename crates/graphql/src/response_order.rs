//! Puts the fields of a response back in the order of the query.
//!
//! The GraphQL spec orders a response's fields as the selection set orders them, and clients
//! and people (GraphiQL) read them that way. async-graphql 7.2 resolves the fields of an
//! object concurrently and inserts each result as it completes, so a slow `sequenceSteps`
//! can land after a fast `viewer` one time and before it the next. This walks the executed
//! operation's selection sets (fragments expanded in place, as the spec's CollectFields does)
//! and sorts every object of the response by the first position of each response key.
//! Objects that are JSON text already ([`crate::raw`] fragments) are in selection order and
//! are not entered; a fragment puts an object async-graphql resolved inside it in order
//! itself, with [`restore_field`].

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};

use crate::raw::Fragments;

/// How deep fragments may nest before the walk stops (the parser already bounds documents).
const MAX_FRAGMENT_DEPTH: usize = 32;

/// Reorders `data` to follow the selected operation of `doc` (the request's parsed document;
/// its expanded size is bounded by [`crate::cost`] before it runs).
pub fn restore(data: &mut Value, doc: &ExecutableDocument, operation_name: Option<&str>) {
    let Some(operation) = crate::cost::selected_operation(doc, operation_name) else {
        return;
    };
    let mut fields = Vec::new();
    collect(
        &operation.node.selection_set.node,
        &doc.fragments,
        &mut fields,
        0,
    );
    reorder(data, &mut Plan::new(fields), &doc.fragments);
}

/// Reorders `value`, the value of `field`, to follow the field's selection (an object
/// async-graphql resolved inside a [`crate::raw`] fragment, which [`restore`] does not see).
pub fn restore_field(value: &mut Value, field: &Field, fragments: &Fragments) {
    let mut fields = Vec::new();
    collect(&field.selection_set.node, fragments, &mut fields, 0);
    reorder(value, &mut Plan::new(fields), fragments);
}

/// The fields of a selection set in document order, fragments expanded where they stand.
fn collect<'a>(set: &'a SelectionSet, doc: &'a Fragments, out: &mut Vec<&'a Field>, depth: usize) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => out.push(&field.node),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, doc, out, depth + 1);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, doc, out, depth + 1);
            }
        }
    }
}

/// One selection set's response keys in order, with the plans of their sub-selections, built
/// the first time a key is met. Every item of a list shares its field's plan, so a page of 50
/// objects is planned once, not 50 times.
struct Plan<'a> {
    /// Each response key with the fields that share it (aliases may repeat a key). Hashed with
    /// foldhash: every key of every object of the response is looked up here, and the keys
    /// are the document's own (bounded by the cost check), so SipHash's resistance to chosen
    /// collisions buys nothing.
    keys: IndexMap<&'a str, Vec<&'a Field>, foldhash::fast::RandomState>,
    nested: Vec<Option<Plan<'a>>>,
}

impl<'a> Plan<'a> {
    fn new(fields: Vec<&'a Field>) -> Self {
        let mut keys: IndexMap<&str, Vec<&Field>, foldhash::fast::RandomState> =
            IndexMap::default();
        for field in fields {
            keys.entry(field.response_key().node.as_str())
                .or_default()
                .push(field);
        }
        let nested = (0..keys.len()).map(|_| None).collect();
        Self { keys, nested }
    }

    fn position(&self, key: &str) -> usize {
        // Most selection sets name a handful of keys: comparing them beats hashing one.
        if self.keys.len() <= 8 {
            return self
                .keys
                .keys()
                .position(|k| *k == key)
                .unwrap_or(usize::MAX);
        }
        self.keys.get_index_of(key).unwrap_or(usize::MAX)
    }

    /// The plan of the sub-selection at key `index`.
    fn nested(&mut self, index: usize, doc: &'a Fragments) -> &mut Plan<'a> {
        let keys = &self.keys;
        self.nested[index].get_or_insert_with(|| {
            let mut fields = Vec::new();
            for field in &keys[index] {
                collect(&field.selection_set.node, doc, &mut fields, 0);
            }
            Plan::new(fields)
        })
    }
}

fn reorder<'a>(value: &mut Value, plan: &mut Plan<'a>, doc: &'a Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(item, plan, doc);
            }
        }
        Value::Object(map) => {
            // Objects resolved by `graphql::fast` are already in order: check before sorting.
            let in_order = map.keys().map(|k| plan.position(k.as_str())).is_sorted();
            if !in_order {
                map.sort_by(|a, _, b, _| plan.position(a.as_str()).cmp(&plan.position(b.as_str())));
            }
            for (key, child) in map.iter_mut() {
                if !matches!(child, Value::Object(_) | Value::List(_)) {
                    continue;
                }
                let index = plan.position(key.as_str());
                if index != usize::MAX {
                    let nested = plan.nested(index, doc);
                    if !nested.keys.is_empty() {
                        reorder(child, nested, doc);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_follow_the_selection_order_through_fragments_and_lists() {
        let query = "query Q { b: viewer { z a } ...F list { y x } } fragment F on Query { c }";
        let mut data = async_graphql::value!({
            "list": [{ "x": 1, "y": 2 }, { "x": 3, "y": 4 }],
            "c": 1,
            "b": { "a": 1, "z": 2 },
        });
        let doc = async_graphql::parser::parse_query(query).unwrap();
        restore(&mut data, &doc, Some("Q"));
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"b":{"z":2,"a":1},"c":1,"list":[{"y":2,"x":1},{"y":4,"x":3}]}"#
        );
    }
}
