//! To-one targets read in their parent's statement (`service::joins`, `graphql::joins`): a
//! root lookup or list answers its to-one fields from its own statement, with exactly what
//! the by-id loaders answer, hidden targets included, on every backend.

use std::collections::BTreeSet;

use entity::enums::Role;
use entity::user;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryTrait, Statement};
use serde_json::{Value, json};
use stepgraph::auth::Viewer;
use stepgraph::seed::demo;
use stepgraph::service::joins::Join;
use stepgraph::service::lists::Steps;
use stepgraph::service::relations as rel;
use stepgraph::service::resource;

use crate::loaders::every_relationship_filled;
use crate::server::TestServer;
use crate::support::TestDb;

/// The single-row query: a step with four to-one targets.
const STEP_WITH_TO_ONES: &str = "query($id: ID!) { sequenceStep(id: $id) { id order
    sequence { name } creator { name } callPurpose { name } taskPriority { name } } }";

#[tokio::test]
async fn a_lookup_or_a_list_reads_its_to_ones_in_its_own_statement() {
    let t = every_relationship_filled().await;
    let s = TestServer::start(t).await;
    let token = s.token_for_role(Role::Admin).await;

    let list = s
        .gql(
            &token,
            "{ sequenceSteps(first: 50) { nodes { id nodeId sequence { name } creator { name }
                updater { name } callPurpose { name } taskPriority { name } } } }",
            json!({}),
        )
        .await;
    let nodes = list.data()["sequenceSteps"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 50);
    assert!(nodes.iter().all(|n| n["sequence"]["name"].is_string()
        && n["creator"]["name"].is_string()
        && n["callPurpose"]["name"].is_string()
        && n["taskPriority"]["name"].is_string()));
    assert_eq!(
        list.statements,
        Some(1),
        "the page and its targets in one statement"
    );

    let id = nodes[7]["id"].clone();
    let one = s.gql(&token, STEP_WITH_TO_ONES, json!({ "id": id })).await;
    assert_eq!(one.statements, Some(1), "{}", one.body);
    let step = &one.data()["sequenceStep"];
    for field in ["sequence", "creator", "callPurpose", "taskPriority"] {
        assert_eq!(step[field], nodes[7][field], "{field}");
    }

    // The same fields through `node`, which joins nothing: the by-id loaders answer them, one
    // statement per target type after the step's own.
    let by_node = s
        .gql(
            &token,
            "query($id: ID!) { node(id: $id) { ... on SequenceStep { id order sequence { name }
                creator { name } callPurpose { name } taskPriority { name } } } }",
            json!({ "id": nodes[7]["nodeId"] }),
        )
        .await;
    assert_eq!(by_node.data()["node"], *step);
    assert_eq!(by_node.statements, Some(5), "{}", by_node.body);

    // A joined level still batches what it does not join: the steps' tasks are one more
    // statement, and the sequence's own owner one more again.
    let deeper = s
        .gql(
            &token,
            "{ sequenceSteps(first: 50) { nodes { id sequence { name owner { email } }
                tasks(first: 5) { nodes { id state } } } } }",
            json!({}),
        )
        .await;
    let nodes = deeper.data()["sequenceSteps"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .all(|n| n["sequence"]["owner"]["email"].is_string()
                && !n["tasks"]["nodes"].as_array().unwrap().is_empty())
    );
    assert_eq!(deeper.statements, Some(3), "{}", deeper.body);
    s.finish().await;
}

/// The demo, with a call of a shared sequence whose task belongs to Mia's private sequence
/// (as `visibility.rs` sets it up), made by a member who is not Mia: the call is theirs, so
/// they see it, but not its task.
async fn demo_with_a_hidden_target(t: &TestDb) -> i64 {
    demo::load(&t.db).await.unwrap();
    for sql in [
        "UPDATE calls SET task_id = (SELECT MIN(k.id) FROM tasks k JOIN sequences s ON s.id = k.sequence_id WHERE s.share_type = 'private' AND s.name = 'Executive intro') WHERE id = (SELECT MIN(c.id) FROM calls c JOIN sequences s ON s.id = c.sequence_id WHERE s.share_type = 'shared')",
        "UPDATE calls SET user_id = (SELECT MIN(u.id) FROM users u WHERE u.role = 'member' AND u.id <> (SELECT MIN(s.owner_id) FROM sequences s WHERE s.name = 'Executive intro')) WHERE id = (SELECT MIN(c.id) FROM calls c JOIN sequences s ON s.id = c.sequence_id WHERE s.share_type = 'shared')",
    ] {
        t.exec(sql).await.unwrap();
    }
    let row = t
        .db
        .query_one_raw(Statement::from_string(
            t.backend(),
            "SELECT MIN(c.id) AS id FROM calls c JOIN sequences s ON s.id = c.sequence_id WHERE s.share_type = 'shared'",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "id").unwrap()
}

/// Every root list, with every to-one field of its type, as every user of the demo: what the
/// joined statement answers is byte for byte what `nodes(ids:)` (no joins: the by-id loaders)
/// answers for the same rows; a target the viewer may not see is null either way.
#[tokio::test]
async fn joined_targets_are_what_the_loaders_answer_for_every_viewer() {
    let t = TestDb::new().await;
    let odd_call = demo_with_a_hidden_target(&t).await;
    let users = user::Entity::find().all(&t.db).await.unwrap();
    let s = TestServer::start(t).await;

    let parents: BTreeSet<&str> = rel::ALL
        .iter()
        .filter(|r| r.to_one().is_some())
        .map(|r| r.parent())
        .collect();
    let mut hidden_seen = false;
    for u in &users {
        let token = s
            .token(&Viewer {
                user_id: u.id,
                role: u.role,
            })
            .await;
        for parent in &parents {
            let fields: Vec<&str> = rel::ALL
                .iter()
                .filter(|r| r.parent() == *parent && r.to_one().is_some())
                .map(|r| r.field())
                .collect();
            let selection = format!(
                "id nodeId {}",
                fields
                    .iter()
                    .map(|f| format!("{f} {{ id }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let list = format!("{parent}s");
            let joined = s
                .gql(
                    &token,
                    &format!("{{ {list}(first: 50) {{ nodes {{ {selection} }} }} }}"),
                    json!({}),
                )
                .await;
            let nodes = joined.data()[&list]["nodes"].as_array().unwrap().clone();
            assert_eq!(joined.statements, Some(1), "{list}: {}", joined.body);
            if nodes.is_empty() {
                continue;
            }
            let ids: Vec<&Value> = nodes.iter().map(|n| &n["nodeId"]).collect();
            let type_name = format!("{}{}", parent[..1].to_uppercase(), &parent[1..]);
            let loaded = s
                .gql(
                    &token,
                    &format!(
                        "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {type_name} {{ {selection} }} }} }}"
                    ),
                    json!({ "ids": ids }),
                )
                .await;
            assert_eq!(
                loaded.data()["nodes"],
                Value::Array(nodes.clone()),
                "{list} as {} ({:?})",
                u.email,
                u.role
            );
            if *parent == "call" {
                let odd = nodes
                    .iter()
                    .find(|n| n["id"] == json!(odd_call.to_string()));
                if let Some(odd) = odd
                    && odd["task"].is_null()
                {
                    hidden_seen = true;
                }
            }
        }
    }
    assert!(
        hidden_seen,
        "some viewer sees the call but not its task, so a hidden target was joined"
    );
    s.finish().await;
}

/// Each database merges a joined target's sub-select into the join (no materialised copy of
/// the target table per statement), for the rule of a member, the one with conditions.
#[tokio::test]
async fn every_backend_merges_a_joined_sub_select() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let users = user::Entity::find().all(&t.db).await.unwrap();
    let member = users.iter().find(|u| u.role == Role::Member).unwrap();
    let viewer = Viewer {
        user_id: member.id,
        role: member.role,
    };
    let mut query = resource::select::<Steps>(&viewer, &Default::default()).into_query();
    let joins: [&dyn Join<Steps>; 2] = [&rel::STEP_SEQUENCE, &rel::STEP_CREATOR];
    for (i, join) in joins.iter().enumerate() {
        join.add_to(&mut query, &viewer, i, u64::MAX);
    }
    query.limit(50);
    let backend = t.backend();
    let built = backend.build(&query);
    let explain = match backend {
        DbBackend::Postgres => format!("EXPLAIN {}", built.sql),
        DbBackend::Sqlite => format!("EXPLAIN QUERY PLAN {}", built.sql),
        _ => format!("EXPLAIN {}", built.sql),
    };
    let rows =
        t.db.query_all_raw(Statement::from_sql_and_values(
            backend,
            explain,
            built.values.map(|v| v.0).unwrap_or_default(),
        ))
        .await
        .unwrap();
    let plan: Vec<String> = rows
        .iter()
        .map(|row| match backend {
            DbBackend::Postgres => row.try_get_by_index::<String>(0).unwrap(),
            DbBackend::Sqlite => row.try_get::<String>("", "detail").unwrap(),
            _ => row.try_get::<String>("", "select_type").unwrap(),
        })
        .collect();
    let refused: &[&str] = match backend {
        DbBackend::Postgres => &["Subquery Scan"],
        DbBackend::Sqlite => &["MATERIALIZE", "CO-ROUTINE"],
        _ => &["DERIVED"],
    };
    assert!(
        !plan
            .iter()
            .any(|line| refused.iter().any(|r| line.contains(r))),
        "{plan:#?}"
    );
    t.finish().await;
}

/// A join reads only the target columns its selection reads (`graphql::joins::columns`), so
/// that rule decides what a target answers: every field of every joined target, each in its
/// own selection (so each reads only its own columns), answers as the loaders answer with
/// every column, as the admin and as the member who sees a call but not its task.
#[tokio::test]
async fn every_field_of_a_joined_target_answers_as_with_every_column() {
    let t = TestDb::new().await;
    let odd_call = demo_with_a_hidden_target(&t).await;
    let users = user::Entity::find().all(&t.db).await.unwrap();
    let odd_user =
        t.db.query_one_raw(Statement::from_string(
            t.backend(),
            format!("SELECT user_id FROM calls WHERE id = {odd_call}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "user_id")
        .unwrap();
    let limits = stepgraph::graphql::Limits {
        max_aliases: 1_000,
        max_complexity: 1_000_000,
        max_statements: 5_000,
        ..Default::default()
    };
    let s = TestServer::start_with(t, limits).await;
    let admin = s.token_for_role(Role::Admin).await;
    let schema = crate::introspect::schema(&s, &admin).await;
    let member = users.iter().find(|u| u.id == odd_user).unwrap();
    let member = s
        .token(&Viewer {
            user_id: member.id,
            role: member.role,
        })
        .await;

    let type_name = |resource: &str| format!("{}{}", resource[..1].to_uppercase(), &resource[1..]);
    let mut compared = 0;
    for r in rel::ALL.iter().filter(|r| r.to_one().is_some()) {
        let target = type_name(r.target());
        let mut parts = Vec::new();
        for (i, f) in schema.types[&target].iter().enumerate() {
            if f.args.iter().any(|(_, required)| *required) {
                continue;
            }
            let sub = if f.type_kind != "OBJECT" {
                String::new()
            } else if schema.is_connection(&f.type_name) {
                let args = if f.args.iter().any(|(a, _)| a == "first") {
                    "(first: 2)"
                } else {
                    ""
                };
                format!("{args} {{ totalCount nodes {{ id }} }}")
            } else if schema.has_id(&f.type_name) {
                " { id }".to_string()
            } else {
                continue;
            };
            parts.push(format!("a{i}: {} {{ {}{sub} }}", r.field(), f.name));
        }
        let list = format!("{}s", r.parent());
        for token in [&admin, &member] {
            // Every field at once, through `nodes` (no joins: the loaders, every column).
            let ids = s
                .gql(
                    token,
                    &format!("{{ {list}(first: 30) {{ nodes {{ nodeId }} }} }}"),
                    json!({}),
                )
                .await;
            let ids: Vec<Value> = ids.data()[&list]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["nodeId"].clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let loaded = s
                .gql(
                    token,
                    &format!(
                        "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {} {{ id {} }} }} }}",
                        type_name(r.parent()),
                        parts.join(" ")
                    ),
                    json!({ "ids": ids }),
                )
                .await;
            let loaded = loaded.data()["nodes"].as_array().unwrap().clone();
            // Each field alone, joined: the statement reads that field's columns only.
            for part in &parts {
                let alias = part.split(':').next().unwrap();
                let joined = s
                    .gql(
                        token,
                        &format!("{{ {list}(first: 30) {{ nodes {{ id {part} }} }} }}"),
                        json!({}),
                    )
                    .await;
                let nodes = joined.data()[&list]["nodes"].as_array().unwrap();
                assert_eq!(nodes.len(), loaded.len(), "{}", r.name());
                for (joined, loaded) in nodes.iter().zip(&loaded) {
                    assert_eq!(joined["id"], loaded["id"]);
                    assert_eq!(joined[alias], loaded[alias], "{} {part}", r.name());
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 500, "{compared} fields compared");
    s.finish().await;
}
