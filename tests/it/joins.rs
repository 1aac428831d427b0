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

/// The issue's single-row query: a step with four to-one targets.
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

/// A root statement reads only the columns its selection reads, of its rows and of their
/// joined targets (`graphql::joins::columns`), so that rule decides what they answer: every
/// field of every listed type and of every joined target, each alone in its selection (so
/// the statement reads only its columns), answers as `nodes` answers with every column, as
/// the admin and as the member who sees a call but not its task.
#[tokio::test]
async fn every_field_alone_answers_as_with_every_column() {
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
        max_root_fields: 1_000,
        max_fields: 50_000,
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
    // Each field of `type_name` with what it needs selected, aliased `a<i>`.
    let fields = |type_name: &str| -> Vec<String> {
        let mut parts = Vec::new();
        for (i, f) in schema.types[type_name].iter().enumerate() {
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
            parts.push(format!("a{i}: {}{sub}", f.name));
        }
        parts
    };
    let plural = |resource: &str| match resource.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{resource}s"),
    };
    // Each case: a root field whose rows' selection is `{X}`, the to-many field its rows come
    // through (if any), the rows' type, and the selection parts to try.
    struct Case {
        root: String,
        via: Option<&'static str>,
        row_type: String,
        parts: Vec<String>,
    }
    let mut cases = Vec::new();
    let listed: BTreeSet<&str> = rel::ALL.iter().map(|r| r.parent()).collect();
    for parent in listed {
        let list = plural(parent);
        cases.push(Case {
            root: format!("{list}(first: 30) {{ nodes {{ {{X}} }} }}"),
            via: None,
            row_type: type_name(parent),
            parts: fields(&type_name(parent)),
        });
    }
    for r in rel::ALL.iter() {
        let list = plural(r.parent());
        let parts = fields(&type_name(r.target()));
        if r.to_one().is_some() {
            cases.push(Case {
                root: format!("{list}(first: 30) {{ nodes {{ {{X}} }} }}"),
                via: None,
                row_type: type_name(r.parent()),
                parts: parts
                    .into_iter()
                    .map(|part| {
                        let (alias, field) = part.split_once(": ").unwrap();
                        format!("{alias}: {} {{ {field} }}", r.field())
                    })
                    .collect(),
            });
        } else if r.name() != "Sequence.sequenceStepCount" {
            cases.push(Case {
                root: format!(
                    "{list}(first: 10) {{ nodes {{ {}(first: 5) {{ nodes {{ {{X}} }} }} }} }}",
                    r.field()
                ),
                via: Some(r.field()),
                row_type: type_name(r.target()),
                parts,
            });
        }
    }
    // The rows under the root field answered at `key`.
    let rows = |data: &Value, key: &str, case: &Case| -> Vec<Value> {
        let nodes = data[key]["nodes"].as_array().unwrap();
        match case.via {
            None => nodes.clone(),
            Some(field) => nodes
                .iter()
                .flat_map(|n| n[field]["nodes"].as_array().unwrap().clone())
                .collect(),
        }
    };

    let mut compared = 0;
    for case in &cases {
        for token in [&admin, &member] {
            // Every field at once, through `nodes` (no joins: the loaders, every column).
            let one = |x: &str| format!("{{ r: {} }}", case.root.replace("{X}", x));
            let ids = s.gql(token, &one("nodeId"), json!({})).await;
            if let Some(field) = case.via {
                // Each parent's page holds what its count says (the count reads no rows): the
                // rows were read with their parent's key, whatever else was left out.
                let counted = s
                    .gql(
                        token,
                        &one("id").replace(
                            &format!("{field}(first: 5) {{ nodes {{ id }} }}"),
                            &format!("{field}(first: 5) {{ totalCount nodes {{ id }} }}"),
                        ),
                        json!({}),
                    )
                    .await;
                for parent in counted.data()["r"]["nodes"].as_array().unwrap() {
                    let page = &parent[field];
                    let shown = page["nodes"].as_array().unwrap().len() as i64;
                    let total = page["totalCount"].as_i64().unwrap();
                    assert_eq!(shown, total.min(5), "{}", case.root);
                }
            }
            let ids: Vec<Value> = rows(ids.data(), "r", case)
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
                        case.row_type,
                        case.parts.join(" ")
                    ),
                    json!({ "ids": ids }),
                )
                .await;
            let loaded = loaded.data()["nodes"].as_array().unwrap().clone();
            // Each field alone in its own root field (each root field plans its own
            // statement): a statement reads that field's columns only.
            let alone: Vec<String> = case
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| format!("r{i}: {}", case.root.replace("{X}", part)))
                .collect();
            let alone = s
                .gql(token, &format!("{{ {} }}", alone.join(" ")), json!({}))
                .await;
            for (i, part) in case.parts.iter().enumerate() {
                let alias = part.split(':').next().unwrap();
                let rows = rows(alone.data(), &format!("r{i}"), case);
                assert_eq!(rows.len(), loaded.len(), "{} {part}", case.root);
                for (alone, loaded) in rows.iter().zip(&loaded) {
                    assert_eq!(alone[alias], loaded[alias], "{} {part}", case.root);
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 1_000, "{compared} fields compared");
    s.finish().await;
}

/// A list that selects only `id` still reads the columns its cursors are made of: paged three
/// at a time after each page's end cursor, by every sort key of every list, both ways, it
/// shows what one page of everything shows.
#[tokio::test]
async fn pages_by_every_sort_key_read_their_cursor_columns() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let s = TestServer::start(t).await;
    let admin = s.token_for_role(Role::Admin).await;
    let schema = crate::introspect::schema(&s, &admin).await;
    let mut walked = 0;
    for (name, doc, paged) in schema.root_documents() {
        if !paged {
            continue;
        }
        let type_name = doc
            .split_whitespace()
            .next()
            .map(|_| {
                schema.types["Query"]
                    .iter()
                    .find(|f| f.name == name)
                    .unwrap()
            })
            .and_then(|f| schema.node_type(&f.type_name))
            .unwrap()
            .to_string();
        let Some(fields) = schema.enums.get(&format!("{type_name}OrderField")) else {
            continue;
        };
        for field in fields {
            for direction in ["ASC", "DESC"] {
                let order = format!("orderBy: [{{ field: {field}, direction: {direction} }}]");
                let all = s
                    .gql(
                        &admin,
                        &format!("{{ {name}(first: 100, {order}) {{ nodes {{ id }} }} }}"),
                        json!({}),
                    )
                    .await;
                let all: Vec<Value> = all.data()[&name]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["id"].clone())
                    .collect();
                let mut paged = Vec::new();
                let mut after = Value::Null;
                loop {
                    let page = s
                        .gql(
                            &admin,
                            &format!(
                                "query($after: String) {{ {name}(first: 3, after: $after, {order}) {{ nodes {{ id }} pageInfo {{ hasNextPage endCursor }} }} }}"
                            ),
                            json!({ "after": after }),
                        )
                        .await;
                    let data = &page.data()[&name];
                    paged.extend(
                        data["nodes"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|n| n["id"].clone()),
                    );
                    // The single page stops at 100 rows: compare as far as it goes.
                    if data["pageInfo"]["hasNextPage"] != json!(true) || paged.len() >= all.len() {
                        break;
                    }
                    after = data["pageInfo"]["endCursor"].clone();
                }
                paged.truncate(all.len());
                assert_eq!(paged, all, "{name} by {field} {direction}");
                walked += 1;
            }
        }
    }
    assert!(walked >= 40, "{walked} orderings walked");
    s.finish().await;
}
