//! Keyset pagination walks every page forwards and backwards, for several orderings and
//! filters, and sees each visible row exactly once, in the order of the unpaginated list.

use serde_json::{Value, json};
use stepgraph::auth::Viewer;
use stepgraph::seed::sized;

use crate::server::TestServer;
use crate::support::TestDb;

const FIELDS: &str = "id order openCount interval date stepType taskNote createdAt";

async fn page(s: &TestServer, token: &str, args: &str, vars: Value) -> Value {
    let q = format!(
        "query($f: SequenceStepFilter, $o: [SequenceStepOrder!], $c: String) {{ sequenceSteps(filter: $f, orderBy: $o, {args}) {{
            totalCount edges {{ cursor node {{ {FIELDS} }} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
    );
    s.gql(token, &q, vars).await.data()["sequenceSteps"].clone()
}

fn ids(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// Numeric sort keys are checked independently of the database's ORDER BY.
fn numeric_key(node: &Value, field: &str) -> Option<i64> {
    match field {
        "ORDER" | "DISPLAY_NAME" => node["order"].as_i64(),
        "OPEN_COUNT" => node["openCount"].as_i64(),
        "INTERVAL" => Some(node["interval"].as_i64().unwrap_or(-1)),
        _ => None,
    }
}

#[tokio::test]
async fn every_page_forwards_and_backwards() {
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 14,
        steps_per_sequence: 6,
        mailings_per_step: 4,
        tasks_per_step: 1,
        calls_per_step: 1,
        seed: 3,
    })
    .await;
    // A member (sees own, read-only and shared sequences) and the admin (sees everything).
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let users = entity::user::Entity::find()
        .filter(entity::user::Column::Role.ne(entity::enums::Role::Viewer))
        .order_by_asc(entity::user::Column::Id)
        .all(&t.db)
        .await
        .unwrap();
    let s = TestServer::start(t).await;
    let viewers: Vec<Viewer> = [&users[0], &users[1]]
        .iter()
        .map(|u| Viewer {
            user_id: u.id,
            role: u.role,
        })
        .collect();

    let orderings = [
        json!(null),
        json!([{ "field": "ORDER" }]),
        json!([{ "field": "OPEN_COUNT", "direction": "DESC" }, { "field": "ORDER" }]),
        json!([{ "field": "INTERVAL", "direction": "DESC" }]),
        json!([{ "field": "DATE" }]),
        json!([{ "field": "STEP_TYPE" }, { "field": "CREATED_AT", "direction": "DESC" }]),
        json!([{ "field": "TASK_NOTE", "direction": "DESC" }]),
        json!([{ "field": "ID", "direction": "DESC" }]),
        json!([{ "field": "DISPLAY_NAME", "direction": "DESC" }]),
    ];
    let filters = [
        json!(null),
        json!({ "stepType": ["CALL", "TASK"] }),
        json!({ "order": { "min": 2, "max": 4 } }),
    ];
    let mut walked = 0;
    for viewer in &viewers {
        let token = s.token(viewer).await;
        for filter in &filters {
            for ordering in &orderings {
                let vars = |c: Option<&str>| json!({ "f": filter, "o": ordering, "c": c });
                let all = page(&s, &token, "first: 100, after: $c", vars(None)).await;
                let want = ids(&all);
                assert!(
                    !want.is_empty() && want.len() < 100,
                    "the fixture fits one reference page"
                );
                assert_eq!(all["totalCount"], want.len());
                // The reference itself is sorted by the requested numeric keys, id last.
                if let Some(keys) = ordering.as_array() {
                    let nodes: Vec<&Value> = all["edges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| &e["node"])
                        .collect();
                    for pair in nodes.windows(2) {
                        for key in keys {
                            let field = key["field"].as_str().unwrap();
                            let desc = key["direction"] == "DESC";
                            match (numeric_key(pair[0], field), numeric_key(pair[1], field)) {
                                (Some(a), Some(b)) if a != b => {
                                    assert_eq!(a < b, !desc, "{ordering}: {a} then {b}");
                                    break;
                                }
                                (Some(_), Some(_)) => continue,
                                _ => break,
                            }
                        }
                    }
                }

                // Forwards, 7 at a time.
                let mut seen = Vec::new();
                let mut cursor: Option<String> = None;
                let mut first_page = true;
                loop {
                    let p = page(&s, &token, "first: 7, after: $c", vars(cursor.as_deref())).await;
                    assert_eq!(
                        p["pageInfo"]["hasPreviousPage"], !first_page,
                        "{ordering} {filter}"
                    );
                    assert_eq!(p["totalCount"], want.len());
                    seen.extend(ids(&p));
                    first_page = false;
                    if p["pageInfo"]["hasNextPage"] == false {
                        break;
                    }
                    cursor = p["pageInfo"]["endCursor"].as_str().map(str::to_string);
                    assert!(seen.len() <= want.len(), "runaway paging");
                }
                assert_eq!(seen, want, "forwards {ordering} {filter}");

                // Backwards from the end, 5 at a time.
                let mut back = Vec::new();
                let mut cursor: Option<String> = None;
                let mut last_page = true;
                loop {
                    let p = page(&s, &token, "last: 5, before: $c", vars(cursor.as_deref())).await;
                    assert_eq!(
                        p["pageInfo"]["hasNextPage"], !last_page,
                        "{ordering} {filter}"
                    );
                    let mut chunk = ids(&p);
                    chunk.reverse();
                    back.extend(chunk);
                    last_page = false;
                    if p["pageInfo"]["hasPreviousPage"] == false {
                        break;
                    }
                    cursor = p["pageInfo"]["startCursor"].as_str().map(str::to_string);
                    assert!(back.len() <= want.len(), "runaway paging");
                }
                back.reverse();
                assert_eq!(back, want, "backwards {ordering} {filter}");
                walked += 1;
            }
        }
    }
    assert_eq!(walked, viewers.len() * filters.len() * orderings.len());
    s.finish().await;
}

#[tokio::test]
async fn nested_connections_page_too() {
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 3,
        steps_per_sequence: 12,
        mailings_per_step: 7,
        tasks_per_step: 0,
        calls_per_step: 0,
        seed: 9,
    })
    .await;
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    // A sequence's steps in order, 5 at a time, for all three sequences in one query each page.
    let q = "query($c: String) { sequences(first: 3) { nodes { id sequenceSteps(first: 5, after: $c) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { order } } } } }";
    let res = s.gql(&token, q, json!({ "c": null })).await;
    let seqs = res.data()["sequences"]["nodes"].as_array().unwrap().clone();
    assert_eq!(seqs.len(), 3);
    for seq in &seqs {
        let conn = &seq["sequenceSteps"];
        assert_eq!(conn["totalCount"], 12);
        let orders: Vec<i64> = conn["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["order"].as_i64().unwrap())
            .collect();
        assert_eq!(orders, [1, 2, 3, 4, 5]);
        assert_eq!(conn["pageInfo"]["hasNextPage"], true);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], false);
    }
    // Follow the first sequence's cursor to the end.
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = "query($id: ID!, $c: String) { sequence(id: $id) { sequenceSteps(first: 5, after: $c) { pageInfo { hasNextPage hasPreviousPage endCursor } nodes { order } } } }";
        let res = s
            .gql(&token, q, json!({ "id": seqs[0]["id"], "c": cursor }))
            .await;
        let conn = res.data()["sequence"]["sequenceSteps"].clone();
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], cursor.is_some());
        orders.extend(
            conn["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["order"].as_i64().unwrap()),
        );
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        cursor = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(orders, (1..=12).collect::<Vec<_>>());
    s.finish().await;
}

/// The page fact on the far side of a cursor (`hasPreviousPage` after one, `hasNextPage`
/// before one) costs a statement, run only when that fact is selected, through a fragment or
/// an alias too; the facts a page knows from its own rows cost nothing.
#[tokio::test]
async fn the_far_side_fact_is_read_only_when_selected() {
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 1,
        steps_per_sequence: 12,
        mailings_per_step: 0,
        tasks_per_step: 0,
        calls_per_step: 0,
        seed: 3,
    })
    .await;
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let first = s
        .gql(
            &token,
            "{ sequenceSteps(first: 4) { pageInfo { endCursor startCursor } } }",
            json!({}),
        )
        .await;
    let info = first.data()["sequenceSteps"]["pageInfo"].clone();
    let (end, start) = (info["endCursor"].clone(), info["startCursor"].clone());
    let run = |q: &'static str, c: &Value| {
        let vars = json!({ "c": c });
        let s = &s;
        let token = token.clone();
        async move {
            let res = s.gql(&token, q, vars).await;
            let data = res.data()["sequenceSteps"]["pageInfo"].clone();
            (data, res.statements.unwrap())
        }
    };
    // Forwards after a cursor.
    let (info, n) = run(
        "query($c: String) { sequenceSteps(first: 4, after: $c) { pageInfo { hasNextPage endCursor } nodes { id } } }",
        &end,
    )
    .await;
    assert_eq!(info["hasNextPage"], true);
    let without = n;
    let (info, n) = run(
        "query($c: String) { sequenceSteps(first: 4, after: $c) { pageInfo { ...P } nodes { id } } } fragment P on PageInfo { back: hasPreviousPage }",
        &end,
    )
    .await;
    assert_eq!(info["back"], true);
    assert_eq!(n, without + 1, "the fact selected is one statement more");
    // Backwards before a cursor: the far side is after it.
    let (info, n) = run(
        "query($c: String) { sequenceSteps(last: 4, before: $c) { pageInfo { hasPreviousPage startCursor } nodes { id } } }",
        &start,
    )
    .await;
    assert_eq!(info["hasPreviousPage"], false);
    assert_eq!(n, without);
    let (info, n) = run(
        "query($c: String) { sequenceSteps(last: 4, before: $c) { pageInfo { hasNextPage } nodes { id } } }",
        &start,
    )
    .await;
    assert_eq!(info["hasNextPage"], true);
    assert_eq!(n, without + 1);
    s.finish().await;
}
