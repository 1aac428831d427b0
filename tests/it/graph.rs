//! The whole graph for frontends: every root list and every to-many field of every object
//! type takes the full argument set (`filter`, `orderBy`, `first`/`after`/`last`/`before`), with
//! the same filter and order types as the root list of its entity, and pages through it
//! correctly in both directions with every sort field, on whichever database the suite runs
//! against. Generated from introspection, so a connection added later is covered.

use serde_json::{Value, json};
use stepgraph::graphql::Limits;
use stepgraph::seed::demo;

use crate::introspect::{FieldDef, Schema, schema};
use crate::server::TestServer;
use crate::support::TestDb;

const FULL_ARGS: [&str; 6] = ["filter", "orderBy", "first", "after", "last", "before"];

fn ids(v: &Value) -> Vec<String> {
    v["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("nodes in {v}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn connection_fields<'a>(schema: &'a Schema, type_name: &str) -> Vec<&'a FieldDef> {
    schema.types[type_name]
        .iter()
        .filter(|f| f.type_kind == "OBJECT" && schema.is_connection(&f.type_name))
        .collect()
}

/// The root list of each row type, by node type (`Task` -> the `tasks` field).
fn root_lists(schema: &Schema) -> Vec<(&FieldDef, String)> {
    connection_fields(schema, &schema.query)
        .into_iter()
        .map(|f| (f, schema.node_type(&f.type_name).unwrap().to_string()))
        .collect()
}

/// The sort fields of a connection field's `orderBy`.
fn sort_fields(schema: &Schema, f: &FieldDef) -> Vec<String> {
    let order = &f.arg_types["orderBy"];
    let field_enum = schema.types_of_input_field(order);
    schema.enums[&field_enum].clone()
}

impl Schema {
    /// `XOrder` inputs hold `field: XOrderField`.
    fn types_of_input_field(&self, order_input: &str) -> String {
        let name = format!("{order_input}Field");
        assert!(
            self.enums.contains_key(&name),
            "{order_input} sorts by {name}"
        );
        name
    }
}

/// Every connection, root or nested, takes the same arguments with the same types as the root
/// list of its entity.
#[tokio::test]
async fn every_connection_takes_the_full_argument_set() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let schema = schema(&s, &token).await;
    let roots = root_lists(&schema);
    assert!(roots.len() >= 10, "a root list per entity: {}", roots.len());
    let mut checked = 0;
    for (type_name, _) in schema.types.iter() {
        for f in connection_fields(&schema, type_name) {
            let node = schema.node_type(&f.type_name).unwrap();
            let (root, _) = roots
                .iter()
                .find(|(_, n)| n == node)
                .unwrap_or_else(|| panic!("{node} has a root list"));
            for arg in FULL_ARGS {
                assert_eq!(
                    f.arg_types.get(arg),
                    root.arg_types.get(arg),
                    "{type_name}.{}({arg}:) is typed like {}({arg}:)",
                    f.name,
                    root.name
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "connections checked: {checked}");
    s.finish().await;
}

/// Root lists: every sort field in both directions; `first`/`after` then `last`/`before` land
/// on the same rows; `filter` by id narrows to that row.
#[tokio::test]
async fn root_lists_page_both_ways_by_every_sort_field() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let schema = schema(&s, &token).await;
    for (root, _) in root_lists(&schema) {
        for field in sort_fields(&schema, root) {
            for direction in ["ASC", "DESC"] {
                let order = format!("[{{field: {field}, direction: {direction}}}]");
                let page = |args: String| {
                    format!(
                        "{{ c: {}(orderBy: {order}, {args}) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} nodes {{ id }} }} }}",
                        root.name
                    )
                };
                let all = s.gql(&token, &page("first: 100".into()), json!({})).await;
                let all = &all.data()["c"];
                let every = ids(all);
                let total = all["totalCount"].as_u64().unwrap() as usize;
                assert_eq!(every.len(), total.min(100), "{} by {field}", root.name);
                if every.len() < 4 {
                    continue;
                }
                let first = s.gql(&token, &page("first: 2".into()), json!({})).await;
                let first = &first.data()["c"];
                assert_eq!(ids(first), every[..2], "{} {order}", root.name);
                let end = first["pageInfo"]["endCursor"].as_str().unwrap();
                let next = s
                    .gql(
                        &token,
                        &page(format!("first: 2, after: \"{end}\"")),
                        json!({}),
                    )
                    .await;
                let next = &next.data()["c"];
                assert_eq!(ids(next), every[2..4], "{} {order} after", root.name);
                assert_eq!(next["pageInfo"]["hasPreviousPage"], json!(true));
                let start = next["pageInfo"]["startCursor"].as_str().unwrap();
                let back = s
                    .gql(
                        &token,
                        &page(format!("last: 2, before: \"{start}\"")),
                        json!({}),
                    )
                    .await;
                let back = &back.data()["c"];
                assert_eq!(ids(back), every[..2], "{} {order} before", root.name);
                assert_eq!(back["pageInfo"]["hasNextPage"], json!(true));
                assert_eq!(back["pageInfo"]["hasPreviousPage"], json!(false));
                let tail = s.gql(&token, &page("last: 2".into()), json!({})).await;
                if total <= 100 {
                    assert_eq!(ids(&tail.data()["c"]), every[every.len() - 2..]);
                }
                let one = s
                    .gql(
                        &token,
                        &page(format!("filter: {{id: [\"{}\"]}}, first: 5", every[1])),
                        json!({}),
                    )
                    .await;
                assert_eq!(ids(&one.data()["c"]), every[1..2]);
                assert_eq!(one.data()["c"]["totalCount"], json!(1));
            }
        }
    }
    s.finish().await;
}

/// Nested connections under a list of parents: with every sort field, `last: 2` is the tail
/// of the whole list, `filter` narrows, and `totalCount` counts what the filter matches, for
/// every parent at once (one statement per relationship, whatever the arguments).
#[tokio::test]
async fn nested_connections_take_filter_order_and_last() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let s = TestServer::start_with(
        t,
        Limits {
            max_complexity: usize::MAX / 4,
            ..Limits::default()
        },
    )
    .await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let schema = schema(&s, &token).await;
    let roots = root_lists(&schema);
    let mut nonempty = 0;
    for (root, parent_type) in &roots {
        for f in connection_fields(&schema, parent_type) {
            for (k, field) in sort_fields(&schema, f).into_iter().enumerate() {
                let order = format!("[{{field: {field}, direction: DESC}}]");
                let doc = format!(
                    "{{ parents: {}(first: 20) {{ nodes {{ id
                        all: {f}(orderBy: {order}, first: 100) {{ totalCount nodes {{ id }} }}
                        tail: {f}(orderBy: {order}, last: 2) {{ pageInfo {{ hasPreviousPage hasNextPage }} nodes {{ id }} }}
                    }} }} }}",
                    root.name,
                    f = f.name
                );
                let res = s.gql(&token, &doc, json!({})).await;
                for parent in res.data()["parents"]["nodes"].as_array().unwrap() {
                    let every = ids(&parent["all"]);
                    assert_eq!(parent["all"]["totalCount"], json!(every.len()));
                    let tail = ids(&parent["tail"]);
                    let expected = &every[every.len().saturating_sub(2)..];
                    assert_eq!(
                        tail, expected,
                        "{}.{} by {field} DESC, last 2",
                        parent_type, f.name
                    );
                    assert_eq!(
                        parent["tail"]["pageInfo"]["hasPreviousPage"],
                        json!(every.len() > 2)
                    );
                    // The filter check once per connection, with its first sort field.
                    if every.is_empty() || k > 0 {
                        continue;
                    }
                    nonempty += 1;
                    // A filter on the nested connection: only the first row, counted as one.
                    let doc = format!(
                        "{{ p: {}(filter: {{id: [\"{}\"]}}) {{ nodes {{ c: {}(filter: {{id: [\"{}\"]}}, orderBy: {order}, first: 5) {{ totalCount nodes {{ id }} }} }} }} }}",
                        root.name,
                        parent["id"].as_str().unwrap(),
                        f.name,
                        every[0]
                    );
                    let one = s.gql(&token, &doc, json!({})).await;
                    let c = &one.data()["p"]["nodes"][0]["c"];
                    assert_eq!(ids(c), every[..1]);
                    assert_eq!(c["totalCount"], json!(1));
                }
            }
        }
    }
    assert!(
        nonempty > 30,
        "the demo gives the nested pages rows ({nonempty})"
    );
    s.finish().await;
}

/// Range filters reaching beyond 1970..2038 (outside MySQL's TIMESTAMP type) match what they
/// should on every backend.
#[tokio::test]
async fn time_ranges_beyond_the_timestamp_type_work() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let all = s
        .gql(&token, "{ sequenceSteps { totalCount } }", json!({}))
        .await;
    let all = all.data()["sequenceSteps"]["totalCount"].clone();
    assert!(all.as_i64().unwrap() > 0);
    for (min, max) in [
        ("1960-01-01T00:00:00Z", "2040-01-01T00:00:00Z"),
        ("1970-01-01T00:00:00Z", "2100-12-31T23:59:59Z"),
    ] {
        let res = s
            .gql(
                &token,
                "query($min: DateTime, $max: DateTime) { sequenceSteps(filter: {createdAt: {min: $min, max: $max}}) { totalCount } }",
                json!({ "min": min, "max": max }),
            )
            .await;
        assert_eq!(
            res.data()["sequenceSteps"]["totalCount"],
            all,
            "{min}..{max}"
        );
    }
    let none = s
        .gql(
            &token,
            r#"{ sequenceSteps(filter: {createdAt: {min: "2040-01-01T00:00:00Z"}}) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(none.data()["sequenceSteps"]["totalCount"], json!(0));
    s.finish().await;
}
