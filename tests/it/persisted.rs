//! Persisted documents: Apollo's automatic persisted queries over POST and GET, trusted
//! documents (`documentId`) from manifests in both formats, and `--only-trusted-documents`
//! (over HTTP and WebSocket), with the `adhoc` scope as the way around it.

use std::time::Duration;

use serde_json::{Value, json};
use sha2_v011::{Digest, Sha256};
use stepgraph::auth::tokens::{self, Scope};
use stepgraph::graphql::Limits;
use stepgraph::graphql::persisted::Persisted;

use crate::live::Client;
use crate::loaders::every_relationship_filled;
use crate::server::{Gql, TestServer};

fn hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(s: &TestServer, token: &str, body: Value) -> Gql {
    let res = s
        .http
        .post(format!("{}/graphql", s.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    TestServer::read(res).await
}

async fn get(s: &TestServer, token: &str, params: &[(&str, String)]) -> Gql {
    let res = s
        .http
        .get(format!("{}/graphql", s.base))
        .query(params)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    TestServer::read(res).await
}

const STEPS: &str = "query ApqSteps { sequenceSteps(first: 3) { nodes { id order } } }";

#[tokio::test]
async fn apq_over_post_and_get() {
    let s = TestServer::start(every_relationship_filled().await).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let hash = hex(STEPS);
    let expected = post(&s, &token, json!({ "query": STEPS }))
        .await
        .data()
        .clone();

    // The hash alone: not found (the shape Apollo Client's link retries on), nothing run.
    let res = post(&s, &token, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.code(), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(res.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(res.statements, Some(0));
    // A document that is not the hash's is refused and not kept.
    let res = post(
        &s,
        &token,
        json!({ "query": "{ viewer { id } }", "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(res.code(), "PERSISTED_QUERY_HASH_MISMATCH");
    let res = post(&s, &token, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(res.code(), "PERSISTED_QUERY_NOT_FOUND");
    // The document with its hash runs and is kept; then the hash alone runs it.
    let res = post(
        &s,
        &token,
        json!({ "query": STEPS, "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(res.data(), &expected);
    let res = post(&s, &token, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(res.data(), &expected);
    let res = get(&s, &token, &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(res.data(), &expected);

    // Over GET from the start, with variables and an operation name.
    let by_id = "query OneStep($id: ID!) { sequenceStep(id: $id) { id order } }";
    let params = |with_query: bool| {
        let mut p = vec![
            ("extensions", apq(&hex(by_id)).to_string()),
            ("variables", json!({ "id": "3" }).to_string()),
            ("operationName", "OneStep".to_string()),
        ];
        if with_query {
            p.push(("query", by_id.to_string()));
        }
        p
    };
    let res = get(&s, &token, &params(false)).await;
    assert_eq!(res.code(), "PERSISTED_QUERY_NOT_FOUND");
    let res = get(&s, &token, &params(true)).await;
    assert_eq!(res.data()["sequenceStep"]["id"], "3");
    let res = get(&s, &token, &params(false)).await;
    assert_eq!(res.data()["sequenceStep"]["id"], "3");

    // A client that takes application/graphql-response+json is told with 400 (Apollo
    // Client's link reads the body of that answer too).
    let res = s
        .http
        .post(format!("{}/graphql", s.base))
        .bearer_auth(&token)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "extensions": apq(&hex("{ viewer { name } }")) }))
        .send()
        .await
        .unwrap();
    let res = TestServer::read(res).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.code(), "PERSISTED_QUERY_NOT_FOUND");

    // Malformed requests are refused with what is wrong.
    for (body, what) in [
        (
            json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } }),
            "version",
        ),
        (
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "abc" } } }),
            "sha256Hash",
        ),
        (
            json!({ "extensions": { "persistedQuery": "yes" } }),
            "persistedQuery",
        ),
        (json!({ "documentId": "md5:abc" }), "documentId"),
    ] {
        let res = post(&s, &token, body).await;
        assert_eq!(res.code(), "BAD_REQUEST", "{}", res.body);
        assert!(res.message().contains(what), "{}", res.body);
    }
    s.finish().await;
}

/// Manifests in graphql-codegen's and Apollo's formats, in a folder of their own.
fn manifests(docs: &[&str]) -> (std::path::PathBuf, Vec<std::path::PathBuf>) {
    let dir = std::env::temp_dir().join(format!(
        "stepgraph-manifests-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (codegen_docs, apollo_docs) = docs.split_at(docs.len() / 2);
    let codegen: serde_json::Map<String, Value> =
        codegen_docs.iter().map(|d| (hex(d), json!(d))).collect();
    let apollo = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": apollo_docs.iter().map(|d| json!({
            "id": hex(d), "name": "Op", "type": "query", "body": d,
        })).collect::<Vec<_>>(),
    });
    let a = dir.join("persisted-documents.json");
    let b = dir.join("apollo-manifest.json");
    std::fs::write(&a, Value::Object(codegen).to_string()).unwrap();
    std::fs::write(&b, apollo.to_string()).unwrap();
    (dir, vec![a, b])
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[tokio::test]
async fn only_trusted_documents_run_unless_the_token_may_send_others() {
    const MUTATION: &str =
        "mutation Move($id: ID!) { updateSequenceStep(id: $id, input: { order: 1 }) { id order } }";
    const HEAVY: &str = "query Heavy { sequences(first: 100) { nodes { sequenceSteps(first: 100) { nodes { id } } } } }";
    const LIVE: &str = "subscription Live { sequenceStepChanged { kind id } }";
    let (dir, paths) = manifests(&[STEPS, MUTATION, HEAVY, LIVE]);
    let persisted = Persisted::with_manifests(&paths, true).unwrap();
    assert_eq!(persisted.trusted_len(), 4);
    let s = TestServer::start_configured(
        every_relationship_filled().await,
        Limits {
            max_complexity: 5_000,
            ..Limits::default()
        },
        move |state| state.persisted = std::sync::Arc::new(persisted),
    )
    .await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    let id = |d: &str| format!("sha256:{}", hex(d));

    // A trusted document by id, over POST and GET; its text, and its APQ hash, run too.
    let res = post(&s, &token, json!({ "documentId": id(STEPS) })).await;
    let expected = res.data().clone();
    assert_eq!(
        expected["sequenceSteps"]["nodes"].as_array().unwrap().len(),
        3
    );
    let res = get(&s, &token, &[("documentId", id(STEPS))]).await;
    assert_eq!(res.data(), &expected);
    let res = post(&s, &token, json!({ "query": STEPS })).await;
    assert_eq!(res.data(), &expected);
    let res = post(&s, &token, json!({ "extensions": apq(&hex(STEPS)) })).await;
    assert_eq!(res.data(), &expected);

    // Anything else is refused before it is parsed: even a document that does not parse
    // gets this answer, and no statement runs.
    for body in [
        json!({ "query": "{ viewer { id } }" }),
        json!({ "query": "{{{ not graphql" }),
        json!({ "query": "{ viewer { id } }", "extensions": apq(&hex("{ viewer { id } }")) }),
    ] {
        let res = post(&s, &token, body).await;
        assert_eq!(res.code(), "TRUSTED_DOCUMENT_REQUIRED", "{}", res.body);
        assert_eq!(res.statements, Some(0));
    }
    let res = get(&s, &token, &[("query", "{ viewer { id } }".to_string())]).await;
    assert_eq!(res.code(), "TRUSTED_DOCUMENT_REQUIRED");
    let unknown = format!("sha256:{}", "0".repeat(64));
    let res = post(&s, &token, json!({ "documentId": unknown })).await;
    assert_eq!(res.code(), "PERSISTED_DOCUMENT_NOT_FOUND");
    let res = post(
        &s,
        &token,
        json!({ "documentId": id(STEPS), "query": STEPS }),
    )
    .await;
    assert_eq!(res.code(), "BAD_REQUEST");

    // A trusted mutation runs over POST, never over GET; a trusted document still has to
    // pass the cost check.
    let step = expected["sequenceSteps"]["nodes"][1]["id"].clone();
    let res = post(
        &s,
        &token,
        json!({ "documentId": id(MUTATION), "variables": { "id": step } }),
    )
    .await;
    assert_eq!(res.data()["updateSequenceStep"]["order"], 1);
    let res = get(
        &s,
        &token,
        &[
            ("documentId", id(MUTATION)),
            ("variables", json!({ "id": step }).to_string()),
        ],
    )
    .await;
    assert_eq!(res.status, 405, "{}", res.body);
    let res = post(&s, &token, json!({ "documentId": id(HEAVY) })).await;
    assert!(res.message().contains("too complex"), "{}", res.body);
    assert_eq!(res.statements, Some(0));

    // A token with the `adhoc` scope (an operator's GraphiQL) may send any document.
    let admin = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::user::Entity::find()
            .filter(entity::user::Column::Role.eq(entity::enums::Role::Admin))
            .one(&s.db.db)
            .await
            .unwrap()
            .unwrap()
    };
    let operator = tokens::create_with(
        &s.db.db,
        &admin.email,
        None,
        None,
        &[Scope::Api, Scope::AdHoc],
    )
    .await
    .unwrap()
    .token;
    let res = post(&s, &operator, json!({ "query": "{ viewer { id } }" })).await;
    assert_eq!(res.data()["viewer"]["id"], admin.id.to_string());

    // Subscriptions too: an ad-hoc one is refused, the trusted one (by its hash) starts.
    let mut client = Client::connect(&s.base, &token).await;
    client
        .send(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { sequenceStepChanged { id } }"}}))
        .await;
    let msg = client
        .next(Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"],
        "TRUSTED_DOCUMENT_REQUIRED"
    );
    client
        .send(json!({"id": "2", "type": "subscribe", "payload": {"query": "", "extensions": apq(&hex(LIVE))}}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let other = expected["sequenceSteps"]["nodes"][2]["id"].clone();
    let res = post(
        &s,
        &token,
        json!({ "documentId": id(MUTATION), "variables": { "id": other } }),
    )
    .await;
    res.data();
    let msg = loop {
        let msg = client.next(Duration::from_secs(5)).await.expect("a change");
        if msg["id"] == "2" {
            break msg;
        }
    };
    assert_eq!(
        msg["payload"]["data"]["sequenceStepChanged"]["kind"], "UPDATED",
        "{msg}"
    );
    s.finish().await;
    std::fs::remove_dir_all(dir).ok();
}
