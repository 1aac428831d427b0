//! Puts the fields of a response back in the order of the query.
//!
//! The GraphQL spec orders a response's fields as the selection set orders them, and clients
//! and people (GraphiQL) read them that way. async-graphql 7.2 resolves the fields of an
//! object concurrently and inserts each result as it completes, so a slow `sequenceSteps`
//! can land after a fast `viewer` one time and before it the next. This walks the executed
//! operation's selection sets (fragments expanded in place, as the spec's CollectFields does)
//! and sorts every object of the response by the first position of each response key.

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};

/// How deep fragments may nest before the walk stops (the parser already bounds documents).
const MAX_FRAGMENT_DEPTH: usize = 32;

/// Reorders `data` to follow the selected operation of `doc` (the request's parsed document;
/// its expanded size is bounded by [`crate::graphql::cost`] before it runs).
pub fn restore(data: &mut Value, doc: &ExecutableDocument, operation_name: Option<&str>) {
    let Some(operation) = crate::graphql::cost::selected_operation(doc, operation_name) else {
        return;
    };
    let mut fields = Vec::new();
    collect(&operation.node.selection_set.node, doc, &mut fields, 0);
    reorder(data, &fields, doc);
}

/// The fields of a selection set in document order, fragments expanded where they stand.
fn collect<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    out: &mut Vec<&'a Field>,
    depth: usize,
) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => out.push(&field.node),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, doc, out, depth + 1);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, doc, out, depth + 1);
            }
        }
    }
}

fn reorder(value: &mut Value, fields: &[&Field], doc: &ExecutableDocument) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(item, fields, doc);
            }
        }
        Value::Object(map) => {
            let mut by_key: IndexMap<&str, Vec<&Field>> = IndexMap::new();
            for field in fields {
                by_key
                    .entry(field.response_key().node.as_str())
                    .or_default()
                    .push(field);
            }
            let position = |key: &str| by_key.get_index_of(key).unwrap_or(usize::MAX);
            map.sort_by(|a, _, b, _| position(a.as_str()).cmp(&position(b.as_str())));
            for (key, child) in map.iter_mut() {
                if let Some(same_key) = by_key.get(key.as_str()) {
                    let mut nested = Vec::new();
                    for field in same_key {
                        collect(&field.selection_set.node, doc, &mut nested, 0);
                    }
                    if !nested.is_empty() {
                        reorder(child, &nested, doc);
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
