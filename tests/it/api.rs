//! The GraphQL API over HTTP: attributes, relationships, mutations and every error code.

use serde_json::{Value, json};
use stepgraph::seed::demo;

use crate::server::TestServer;
use crate::support::{TestDb, fixture};

const STEP_FIELDS: &str =
    "id bounceCount clickCount createdAt date deliverCount displayName failureCount
    interval negativeReplyCount neutralReplyCount openCount optOutCount order positiveReplyCount
    replyCount scheduleCount stepType taskAutoskipDelay taskNote updatedAt canWrite canDelete";

async fn demo_server() -> (TestServer, String) {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let token = stepgraph::auth::tokens::create(&t.db, "mia.member@example.com", None)
        .await
        .unwrap()
        .token;
    (TestServer::start(t).await, token)
}

#[tokio::test]
async fn a_step_shows_every_attribute_and_relationship() {
    let (s, token) = demo_server().await;
    let query = format!(
        "query($id: ID!) {{ sequenceStep(id: $id) {{ {STEP_FIELDS}
            sequence {{ id name sequenceType shareType locked owner {{ email role }} sequenceStepCount }}
            creator {{ email }} updater {{ email }}
            callPurpose {{ name }} taskPriority {{ name weight }}
            sequenceTemplates(first: 5) {{ totalCount nodes {{ isReply openCount template {{ name subject }} sequenceStep {{ id }} }} }}
            tasks(first: 5) {{ totalCount nodes {{ state action sequenceStep {{ id }} taskPriority {{ name }} }} }}
            calls(first: 5) {{ totalCount nodes {{ outcome callPurpose {{ name }} }} }}
            mailings(first: 3) {{ totalCount pageInfo {{ hasNextPage }} nodes {{ state sequenceTemplate {{ id }} }} }}
        }} }}"
    );
    // Step 3 of the demo is the call step of "Mid-market outbound Q4".
    let res = s.gql(&token, &query, json!({ "id": "3" })).await;
    let step = &res.data()["sequenceStep"];
    assert_eq!(step["displayName"], "Step #3 (Call)");
    assert_eq!(step["stepType"], "CALL");
    assert_eq!(step["order"], 3);
    assert_eq!(step["interval"], 3 * 86_400);
    assert_eq!(step["date"], Value::Null);
    assert_eq!(
        step["taskNote"],
        "Call the main line; ask for the VP of Sales."
    );
    assert_eq!(step["sequence"]["owner"]["email"], "mia.member@example.com");
    assert_eq!(step["sequence"]["sequenceType"], "INTERVAL");
    assert_eq!(step["sequence"]["sequenceStepCount"], 5);
    assert_eq!(step["callPurpose"]["name"], "Discovery Call");
    assert_eq!(step["taskPriority"]["name"], "High");
    assert_eq!(step["tasks"]["totalCount"], 2);
    assert_eq!(step["tasks"]["nodes"][0]["sequenceStep"]["id"], "3");
    assert_eq!(step["calls"]["totalCount"], 2);
    assert_eq!(step["canWrite"], true);
    assert_eq!(step["canDelete"], true);

    // An email step: variants, mailings and counters that match them.
    let res = s.gql(&token, &query, json!({ "id": "1" })).await;
    let step = &res.data()["sequenceStep"];
    assert_eq!(step["sequenceTemplates"]["totalCount"], 2, "A/B variants");
    assert_eq!(
        step["sequenceTemplates"]["nodes"][0]["template"]["name"],
        "Intro: value prop A"
    );
    assert_eq!(step["mailings"]["totalCount"], 14);
    assert_eq!(step["mailings"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(step["mailings"]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(step["openCount"], 5);
    assert_eq!(step["replyCount"], 3);
    assert_eq!(step["positiveReplyCount"], 1);
    assert_eq!(step["bounceCount"], 1);
    assert_eq!(step["failureCount"], 1);
    let variant_opens: i64 = step["sequenceTemplates"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["openCount"].as_i64().unwrap())
        .sum();
    assert_eq!(variant_opens, 5, "variant counters add up to the step's");

    // Invisible and missing steps are both null.
    let res = s
        .gql(
            &token,
            "{ a: sequenceStep(id: \"9999\") { id } b: sequenceStep(id: \"13\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(res.data()["a"], Value::Null);
    assert_eq!(
        res.data()["b"],
        Value::Null,
        "step 13 is in max's private sequence"
    );
    // The viewer and the reference lists.
    let res = s
        .gql(&token, "{ viewer { email role name } taskPriorities(orderBy: [{field: WEIGHT, direction: DESC}]) { nodes { name } } callPurposes(orderBy: [{field: ORDER}]) { totalCount nodes { name } } users { totalCount } templates(first: 2) { nodes { name } } sequences(filter: {locked: true}) { nodes { name canWrite } } }", json!({}))
        .await;
    let data = res.data();
    assert_eq!(data["viewer"]["role"], "MEMBER");
    assert_eq!(data["viewer"]["name"], "Mia Member");
    assert_eq!(data["taskPriorities"]["nodes"][0]["name"], "High");
    assert_eq!(data["callPurposes"]["totalCount"], 4);
    assert_eq!(data["callPurposes"]["nodes"][0]["name"], "Initial Contact");
    assert_eq!(data["users"]["totalCount"], 4);
    assert_eq!(data["sequences"]["nodes"][0]["canWrite"], false);
    s.finish().await;
}

#[tokio::test]
async fn filters_select_the_right_steps() {
    let (s, token) = demo_server().await;
    let ids = |res: &crate::server::Gql| -> Vec<String> {
        res.data()["sequenceSteps"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let q = "query($f: SequenceStepFilter) { sequenceSteps(filter: $f, first: 100) { totalCount nodes { id } } }";
    let cases = [
        (json!({ "stepType": ["CALL"] }), vec!["3", "7", "9"]),
        (
            json!({ "stepType": ["CALL", "TASK"], "order": { "min": 3 } }),
            vec!["3", "4"],
        ),
        (
            json!({ "sequence": { "name": ["Executive intro"] } }),
            vec!["6", "7"],
        ),
        (
            json!({ "sequence": { "id": ["3"] }, "date": { "min": "2026-11-21", "max": "2026-11-27" } }),
            vec!["9", "10"],
        ),
        (
            json!({ "interval": { "min": 86400, "max": 172800 } }),
            vec!["2", "7"],
        ),
        (
            json!({ "sequenceTemplates": { "isReply": true } }),
            vec!["2"],
        ),
        (
            json!({ "sequenceTemplates": { "template": { "id": ["2"] } } }),
            vec!["1"],
        ),
        (json!({ "callPurpose": { "id": ["2"] } }), vec!["7", "9"]),
        (json!({ "tasks": { "id": ["3"] } }), vec!["3"]),
        (json!({ "calls": { "id": ["1", "3"] } }), vec!["3", "7"]),
        (json!({ "id": [] }), vec![]),
        (
            json!({ "sequence": { "enabledAt": { "min": "2026-10-01T00:00:00Z" } }, "stepType": ["AUTO_EMAIL"] }),
            vec!["1", "5", "8", "10"],
        ),
    ];
    for (filter, want) in cases {
        let res = s.gql(&token, q, json!({ "f": filter })).await;
        assert_eq!(ids(&res), want, "filter {filter}");
        assert_eq!(
            res.data()["sequenceSteps"]["totalCount"],
            want.len(),
            "count {filter}"
        );
    }
    // A bad range is a typed error naming the field.
    let res = s
        .gql(
            &token,
            q,
            json!({ "f": { "order": { "min": 3, "max": 1 } } }),
        )
        .await;
    assert_eq!(res.code(), "BAD_USER_INPUT");
    assert_eq!(res.body["errors"][0]["extensions"]["field"], "filter.order");
    s.finish().await;
}

const CREATE: &str = "mutation($input: CreateSequenceStepInput!) { createSequenceStep(input: $input) { id order displayName stepType interval taskNote updatedAt creator { email } } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateSequenceStepInput!) { updateSequenceStep(id: $id, input: $input) { id order displayName interval taskNote updatedAt callPurpose { id } } }";
const DELETE: &str =
    "mutation($id: ID!, $at: DateTime) { deleteSequenceStep(id: $id, expectedUpdatedAt: $at) }";

#[tokio::test]
async fn mutations_and_every_error_code() {
    let (s, token) = demo_server().await;
    let viewer_token = stepgraph::auth::tokens::create(&s.db.db, "val.viewer@example.com", None)
        .await
        .unwrap()
        .token;

    // Create: inserted at 2, later steps shift.
    let res = s
        .gql(&token, CREATE, json!({ "input": { "sequenceId": "1", "stepType": "TASK", "order": 2, "interval": 3600, "taskNote": "Research the account" } }))
        .await;
    let created = res.data()["createSequenceStep"].clone();
    assert_eq!(created["order"], 2);
    assert_eq!(created["displayName"], "Step #2 (Task)");
    assert_eq!(created["creator"]["email"], "mia.member@example.com");
    let id = created["id"].as_str().unwrap().to_string();
    let res = s
        .gql(
            &token,
            "{ sequence(id: \"1\") { sequenceSteps { nodes { order displayName } } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> = res.data()["sequence"]["sequenceSteps"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Step #1 (Auto email)",
            "Step #2 (Task)",
            "Step #3 (Manual email)",
            "Step #4 (Call)",
            "Step #5 (Task)",
            "Step #6 (Auto email)"
        ]
    );

    // Update: absent unchanged, null clears, order moves.
    let res = s
        .gql(
            &token,
            UPDATE,
            json!({ "id": id, "input": { "order": 6, "taskNote": null } }),
        )
        .await;
    let updated = res.data()["updateSequenceStep"].clone();
    assert_eq!(
        (
            updated["order"].clone(),
            updated["taskNote"].clone(),
            updated["interval"].clone()
        ),
        (json!(6), Value::Null, json!(3600))
    );

    // BAD_USER_INPUT names the field; nothing changes.
    let res = s
        .gql(
            &token,
            UPDATE,
            json!({ "id": id, "input": { "interval": -1 } }),
        )
        .await;
    assert_eq!(res.code(), "BAD_USER_INPUT");
    assert_eq!(res.body["errors"][0]["extensions"]["field"], "interval");
    let res = s
        .gql(
            &token,
            CREATE,
            json!({ "input": { "sequenceId": "1", "stepType": "CALL", "date": "2026-12-01" } }),
        )
        .await;
    assert_eq!(res.code(), "BAD_USER_INPUT");
    let fields: Vec<&str> = res.body["errors"][0]["extensions"]["fieldErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["interval", "date"]);
    let res = s
        .gql(
            &token,
            CREATE,
            json!({ "input": { "sequenceId": "1", "stepType": "FAX", "interval": 1 } }),
        )
        .await;
    assert_eq!(
        res.code(),
        "BAD_USER_INPUT",
        "an unknown enum value is bad input: {}",
        res.body
    );
    let res = s
        .gql(&token, UPDATE, json!({ "id": "abc", "input": {} }))
        .await;
    assert_eq!(res.code(), "BAD_USER_INPUT");

    // NOT_FOUND: missing, or invisible (max's private sequence).
    for missing in ["99999", "13"] {
        let res = s
            .gql(
                &token,
                UPDATE,
                json!({ "id": missing, "input": { "interval": 5 } }),
            )
            .await;
        assert_eq!(res.code(), "NOT_FOUND", "{missing}");
    }
    // FORBIDDEN: the viewer role; a locked sequence.
    let res = s
        .gql(
            &viewer_token,
            UPDATE,
            json!({ "id": id, "input": { "interval": 5 } }),
        )
        .await;
    assert_eq!(res.code(), "FORBIDDEN");
    let res = s.gql(&token, DELETE, json!({ "id": "11" })).await;
    assert_eq!(res.code(), "FORBIDDEN", "step 11 is in the locked sequence");

    // CONFLICT: a stale expectedUpdatedAt; the fresh one works.
    let stale = "2020-01-01T00:00:00Z";
    let res = s
        .gql(
            &token,
            UPDATE,
            json!({ "id": id, "input": { "interval": 7, "expectedUpdatedAt": stale } }),
        )
        .await;
    assert_eq!(res.code(), "CONFLICT");
    let res = s
        .gql(&token, DELETE, json!({ "id": id, "at": stale }))
        .await;
    assert_eq!(res.code(), "CONFLICT");
    let res = s
        .gql(
            &token,
            DELETE,
            json!({ "id": id, "at": updated["updatedAt"] }),
        )
        .await;
    assert_eq!(res.data()["deleteSequenceStep"], id);
    let res = s.gql(&token, DELETE, json!({ "id": id })).await;
    assert_eq!(res.code(), "NOT_FOUND", "already deleted");

    // UNAUTHENTICATED: HTTP 401 with a challenge.
    let res = s
        .http
        .post(format!("{}/graphql", s.base))
        .json(&json!({ "query": "{ viewer { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"stepgraph\""
    );
    let res = TestServer::read(res).await;
    assert_eq!((res.status, res.code()), (401, "UNAUTHENTICATED"));
    let res = s.gql("sgt_0000", "{ viewer { id } }", json!({})).await;
    assert_eq!((res.status, res.code()), (401, "UNAUTHENTICATED"));

    // INTERNAL_SERVER_ERROR: a broken database; the message says nothing of it.
    s.db.exec("DROP TABLE calls").await.unwrap();
    let res = s
        .gql(
            &token,
            "{ sequenceStep(id: \"3\") { id calls { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(res.code(), "INTERNAL_SERVER_ERROR");
    let text = res.body.to_string().to_lowercase();
    assert_eq!(res.body["errors"][0]["message"], "internal error");
    for leak in [
        "no such table",
        "does not exist",
        "doesn't exist",
        "select",
        "sqlx",
        "query error",
    ] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    s.finish().await;
}

#[tokio::test]
async fn the_policy_truth_table_holds_end_to_end() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    use entity::enums::StepType;
    use stepgraph::service::steps;
    // One step in each of the fixture's sequences (owned by f.owner).
    let seqs = [
        ("shared", f.interval_shared.id),
        ("private", f.interval_private.id),
        ("read_only", f.interval_read_only.id),
        ("locked", f.locked.id),
    ];
    let mut step_ids = Vec::new();
    for (name, seq) in seqs {
        // The locked sequence refuses writes, so its step is written straight to the table.
        let id = if name == "locked" {
            s_insert_step(&t, seq).await
        } else {
            steps::create(&t.db, &f.owner, crate::steps::new_step(seq, StepType::Call))
                .await
                .unwrap()
                .id
        };
        step_ids.push((name, id));
    }
    let s = TestServer::start(t).await;
    // (who, [(sequence, visible, canWrite, canDelete)]) from docs/permissions.md.
    let table = [
        (
            "admin",
            f.admin,
            [
                ("shared", true, true, true),
                ("private", true, true, true),
                ("read_only", true, true, true),
                ("locked", true, false, false),
            ],
        ),
        (
            "owner",
            f.owner,
            [
                ("shared", true, true, true),
                ("private", true, true, true),
                ("read_only", true, true, true),
                ("locked", true, false, false),
            ],
        ),
        (
            "other",
            f.other,
            [
                ("shared", true, true, false),
                ("private", false, false, false),
                ("read_only", true, false, false),
                ("locked", true, false, false),
            ],
        ),
        (
            "viewer",
            f.viewer,
            [
                ("shared", true, false, false),
                ("private", false, false, false),
                ("read_only", true, false, false),
                ("locked", true, false, false),
            ],
        ),
    ];
    for (who, viewer, rows) in table {
        let token = s.token(&viewer).await;
        let res = s
            .gql(
                &token,
                "{ sequenceSteps(first: 100) { totalCount nodes { id canWrite canDelete } } }",
                json!({}),
            )
            .await;
        let nodes = res.data()["sequenceSteps"]["nodes"]
            .as_array()
            .unwrap()
            .clone();
        let visible = rows.iter().filter(|r| r.1).count();
        assert_eq!(
            res.data()["sequenceSteps"]["totalCount"],
            visible,
            "{who}: count"
        );
        for (seq, see, write, delete) in rows {
            let id = step_ids
                .iter()
                .find(|(n, _)| *n == seq)
                .unwrap()
                .1
                .to_string();
            let node = nodes.iter().find(|n| n["id"] == id.as_str());
            assert_eq!(node.is_some(), see, "{who} sees {seq}");
            if let Some(node) = node {
                assert_eq!(node["canWrite"], write, "{who} canWrite {seq}");
                assert_eq!(node["canDelete"], delete, "{who} canDelete {seq}");
            }
            // Enforcement agrees with what the client is told.
            let res = s
                .gql(
                    &token,
                    UPDATE,
                    json!({ "id": id, "input": { "interval": 60 } }),
                )
                .await;
            let want = if !see {
                "NOT_FOUND"
            } else if !write {
                "FORBIDDEN"
            } else {
                "OK"
            };
            let got = if res.body.get("errors").is_some() {
                res.code().to_string()
            } else {
                "OK".into()
            };
            assert_eq!(got, want, "{who} updates {seq}");
        }
        // Deleting is tried last, after every update, on a fresh step where allowed.
        for (seq, see, _, delete) in rows {
            let id = step_ids
                .iter()
                .find(|(n, _)| *n == seq)
                .unwrap()
                .1
                .to_string();
            if delete {
                continue; // would remove the step the next viewer needs; covered in the service tests
            }
            let res = s.gql(&token, DELETE, json!({ "id": id })).await;
            assert_eq!(
                res.code(),
                if see { "FORBIDDEN" } else { "NOT_FOUND" },
                "{who} deletes {seq}"
            );
        }
    }
    s.finish().await;
}

async fn s_insert_step(t: &TestDb, seq: i64) -> i64 {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    let now = chrono::Utc::now();
    let mut m = stepgraph::seed::step(
        0,
        seq,
        entity::enums::StepType::Task,
        1,
        Some(0),
        None,
        None,
        1,
        now,
    )
    .into_active_model();
    m.id = sea_orm::ActiveValue::NotSet;
    m.creator_id = sea_orm::ActiveValue::Set(None);
    m.updater_id = sea_orm::ActiveValue::Set(None);
    m.insert(&t.db).await.unwrap().id
}

#[tokio::test]
async fn a_users_owned_sequences_respect_visibility() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let s = TestServer::start(t).await;
    let q = "query($id: ID!) { user(id: $id) { ownedSequences { totalCount nodes { name shareType } } } }";
    let vars = json!({ "id": f.owner.user_id.to_string() });
    let mine = s.gql(&s.token(&f.owner).await, q, vars.clone()).await;
    assert_eq!(mine.data()["user"]["ownedSequences"]["totalCount"], 5);
    let theirs = s.gql(&s.token(&f.other).await, q, vars).await;
    let conn = &theirs.data()["user"]["ownedSequences"];
    assert_eq!(
        conn["totalCount"], 4,
        "the private sequence is not listed to others"
    );
    assert!(
        conn["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["shareType"] != "PRIVATE")
    );
    s.finish().await;
}

#[tokio::test]
async fn response_fields_follow_the_query_order() {
    let (s, token) = demo_server().await;
    // The slow list first in one query and last in the other; the response follows each.
    for (query, keys) in [
        (
            "{ sequenceSteps(first: 20) { nodes { id } totalCount } viewer { name } }",
            ["sequenceSteps", "nodes", "totalCount", "viewer"],
        ),
        (
            "{ viewer { name } sequenceSteps(first: 20) { totalCount nodes { id } } }",
            ["viewer", "sequenceSteps", "totalCount", "nodes"],
        ),
    ] {
        for _ in 0..10 {
            let res = s.post_query(&token, query).await;
            let text = res.text().await.unwrap();
            let positions: Vec<usize> = keys
                .iter()
                .map(|k| text.find(&format!("\"{k}\"")).unwrap())
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{query}: {text}");
        }
    }
    s.finish().await;
}

/// The benchmark's queries (`bench/probe.sh`, read from there so they cannot drift) answer
/// the same through `graphql::fast` and async-graphql's own executor (`TestServer::gql`
/// compares every query with the stock twin), and without errors.
#[tokio::test]
async fn the_bench_queries_answer_the_same_on_both_executors() {
    use stepgraph::seed::sized;
    let t = crate::support::TestDb::sized(sized::SizedOptions {
        sequences: 12,
        steps_per_sequence: 10,
        mailings_per_step: 3,
        tasks_per_step: 1,
        calls_per_step: 1,
        seed: 11,
    })
    .await;
    let s = TestServer::start(t).await;
    let admin = s.token_for_role(entity::enums::Role::Admin).await;
    let member = s.token_for_role(entity::enums::Role::Member).await;
    let step = s
        .gql(
            &admin,
            "{ sequenceSteps(first: 1, after: null, orderBy: [{field: ID, direction: DESC}]) { nodes { id stepType sequence { id } } } }",
            json!({}),
        )
        .await;
    let step = &step.data()["sequenceSteps"]["nodes"][0];
    let root = env!("CARGO_MANIFEST_DIR");
    for q in ["q1", "q2", "q3", "q4", "flat", "toone", "tasks"] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". {root}/bench/probe.sh && probe_body {q} /dev/stdout"
            ))
            .env("step_id", step["id"].as_str().unwrap())
            .env("seq_id", step["sequence"]["id"].as_str().unwrap())
            .env("step_type", step["stepType"].as_str().unwrap())
            .output()
            .expect("bash runs bench/probe.sh");
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let body: Value = serde_json::from_slice(&out.stdout).expect("probe_body writes JSON");
        let token = if q == "q3" { &member } else { &admin };
        let res = s
            .gql(token, body["query"].as_str().unwrap(), json!({}))
            .await;
        let data = res.data();
        assert!(data.to_string().len() > 40, "{q} answered {data}");
    }
    s.finish().await;
}
