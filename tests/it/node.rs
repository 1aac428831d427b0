//! Global object identification (Relay): `nodeId` on every entity type, `Query.node` and
//! `Query.nodes`. Visibility of every lookup over the whole demo graph is checked in
//! `visibility.rs`; this file checks the shape, the batching and the bounds.

use serde_json::{Value, json};
use stepgraph::graphql::Limits;
use stepgraph::graphql::node::encode;

use crate::loaders::every_relationship_filled;
use crate::server::TestServer;
use crate::support::TestDb;

/// Every entity type: its root lookup field and some rows' ids.
const TYPES: [(&str, &str); 10] = [
    ("SequenceStep", "sequenceSteps"),
    ("Sequence", "sequences"),
    ("SequenceTemplate", "sequenceTemplates"),
    ("Template", "templates"),
    ("User", "users"),
    ("Task", "tasks"),
    ("Call", "calls"),
    ("Mailing", "mailings"),
    ("CallPurpose", "callPurposes"),
    ("TaskPriority", "taskPriorities"),
];

#[tokio::test]
async fn node_refetches_every_type_by_its_node_id() {
    let s = TestServer::start(every_relationship_filled().await).await;
    let admin = s.token_for_role(entity::enums::Role::Admin).await;
    let mut seen_ids = std::collections::HashSet::new();
    for (ty, list) in TYPES {
        let listed = s
            .gql(
                &admin,
                &format!("{{ {list}(first: 3) {{ nodes {{ id nodeId }} }} }}"),
                json!({}),
            )
            .await;
        let rows = listed.data()[list]["nodes"].as_array().unwrap().clone();
        assert!(!rows.is_empty(), "no {ty} rows to test with");
        for row in rows {
            let node_id = row["nodeId"].as_str().unwrap().to_string();
            // Opaque, and unique across types (ids repeat across tables).
            assert!(!node_id.contains(ty), "{node_id} shows its type");
            assert!(seen_ids.insert(node_id.clone()), "{node_id} twice");
            let res = s
                .gql(
                    &admin,
                    &format!(
                        "query($id: ID!) {{ node(id: $id) {{ __typename nodeId ... on {ty} {{ id }} }} }}"
                    ),
                    json!({ "id": node_id }),
                )
                .await;
            let node = &res.data()["node"];
            assert_eq!(node["__typename"], ty);
            assert_eq!(node["nodeId"], row["nodeId"]);
            assert_eq!(node["id"], row["id"]);
        }
    }
    s.finish().await;
}

/// `nodes` answers in the order asked, null for a missing row, a malformed id and an unknown
/// type alike (no error that tells them apart), in one statement per type asked.
#[tokio::test]
async fn nodes_batches_per_type_and_answers_null_alike() {
    let s = TestServer::start(every_relationship_filled().await).await;
    let admin = s.token_for_role(entity::enums::Role::Admin).await;
    let steps = s
        .gql(
            &admin,
            "{ sequenceSteps(first: 30) { nodes { nodeId id } } sequences(first: 5) { nodes { nodeId } } }",
            json!({}),
        )
        .await;
    let data = steps.data().clone();
    let step_ids: Vec<Value> = data["sequenceSteps"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nodeId"].clone())
        .collect();
    let sequence_ids: Vec<Value> = data["sequences"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nodeId"].clone())
        .collect();
    assert_eq!((step_ids.len(), sequence_ids.len()), (30, 5));
    let missing = encode("SequenceStep", 999_999_999);
    let unknown_type = encode("Prospect", 1);
    let mut ids: Vec<Value> = Vec::new();
    for (i, id) in step_ids.iter().enumerate() {
        ids.push(id.clone());
        if let Some(seq) = sequence_ids.get(i) {
            ids.push(seq.clone());
        }
    }
    let odd = [
        json!(missing.to_string()),
        json!(unknown_type.to_string()),
        json!("not-a-node-id"),
        json!("42"),
    ];
    ids.extend(odd.iter().cloned());
    let query = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename nodeId } }";
    let res = s.gql(&admin, query, json!({ "ids": ids })).await;
    let nodes = res.data()["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), ids.len());
    for (asked, got) in ids.iter().zip(&nodes) {
        if odd.contains(asked) {
            assert!(got.is_null(), "{asked} answered {got}");
        } else {
            assert_eq!(&got["nodeId"], asked);
        }
    }
    // 35 rows of two types: one by-id statement per type, whatever the number of ids.
    assert_eq!(res.statements, Some(2), "{}", res.body);
    s.finish().await;
}

/// A viewer asking for a hidden row by `nodeId` gets exactly what a malformed id gets.
#[tokio::test]
async fn a_hidden_node_answers_like_a_malformed_one() {
    let t = TestDb::new().await;
    stepgraph::seed::demo::load(&t.db).await.unwrap();
    let s = TestServer::start(t).await;
    let admin = s.token_for_role(entity::enums::Role::Admin).await;
    let viewer = s.token_for_role(entity::enums::Role::Viewer).await;
    // The admin sees every step; the viewer only those of shared sequences.
    let all = s
        .gql(
            &admin,
            "{ sequenceSteps(first: 100) { nodes { nodeId } } }",
            json!({}),
        )
        .await;
    let seen = s
        .gql(
            &viewer,
            "{ sequenceSteps(first: 100) { nodes { nodeId } } }",
            json!({}),
        )
        .await;
    let ids = |g: &crate::server::Gql| -> Vec<String> {
        g.data()["sequenceSteps"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["nodeId"].as_str().unwrap().to_string())
            .collect()
    };
    let visible = ids(&seen);
    let hidden: Vec<String> = ids(&all)
        .into_iter()
        .filter(|id| !visible.contains(id))
        .collect();
    assert!(!hidden.is_empty(), "the demo hides steps from a viewer");
    let query = "query($id: ID!) { node(id: $id) { nodeId } }";
    let answer = |id: &str| {
        let s = &s;
        let viewer = viewer.clone();
        let id = id.to_string();
        async move { s.gql(&viewer, query, json!({ "id": id })).await.text }
    };
    let malformed = answer("bm90IGEgbm9kZQ").await;
    assert_eq!(malformed, r#"{"data":{"node":null}}"#);
    assert_eq!(answer(&hidden[0]).await, malformed);
    assert_eq!(answer(&encode("Nothing", 1)).await, malformed);
    assert_ne!(answer(&visible[0]).await, malformed);
    s.finish().await;
}

/// More ids than the list limit are refused before anything runs; each id is priced as one
/// object of the selection.
#[tokio::test]
async fn nodes_is_bounded_by_the_list_limit_and_priced_per_id() {
    let s = TestServer::start_with(
        every_relationship_filled().await,
        Limits {
            max_list_items: 10,
            max_complexity: 200,
            ..Limits::default()
        },
    )
    .await;
    let admin = s.token_for_role(entity::enums::Role::Admin).await;
    let ids: Vec<String> = (1..=11)
        .map(|i| encode("SequenceStep", i).to_string())
        .collect();
    let res = s
        .gql(
            &admin,
            "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(res.code(), "BAD_USER_INPUT", "{}", res.body);
    assert_eq!(res.statements, Some(0), "refused before any work");
    // Ten ids are within the list limit, but ten nested pages of 50 steps cost more than 200.
    let res = s
        .gql(
            &admin,
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Sequence { sequenceSteps(first: 50) { nodes { id } } } } }",
            json!({ "ids": &ids[..10] }),
        )
        .await;
    assert!(res.message().contains("too complex"), "{}", res.body);
    assert_eq!(res.statements, Some(0));
    s.finish().await;
}
