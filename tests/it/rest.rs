//! The JSON:API surface under `/api/v2`, written from the seed (`shared/seed`) and Outreach's
//! conventions (`shared/reference/outreach-model.md` section 2): every action and status code,
//! every parameter family, every error path, over HTTP, on every backend.
//!
//! Demo data: sequence 1 "Mid-market outbound Q4" (Mia's, shared, steps 1-5), 2 "Executive
//! intro" (Mia's, private, steps 6-7), 3 "Webinar follow-up" (Max's, read_only, steps 8-10),
//! 4 "2025 renewal push" (Ada's, shared, locked, steps 11-12), 5 "Partner nurture" (Max's,
//! private, steps 13-14).

use std::collections::HashSet;

use serde_json::{Value, json};
use stepgraph::seed::demo;

use crate::server::TestServer;
use crate::support::TestDb;

struct Demo {
    s: TestServer,
    admin: String,
    mia: String,
    max: String,
    val: String,
}

async fn demo_server() -> Demo {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let token = async |email: &str| {
        stepgraph::auth::tokens::create(&t.db, email, None)
            .await
            .unwrap()
            .token
    };
    let admin = token("ada.admin@example.com").await;
    let mia = token("mia.member@example.com").await;
    let max = token("max.member@example.com").await;
    let val = token("val.viewer@example.com").await;
    Demo {
        s: TestServer::start(t).await,
        admin,
        mia,
        max,
        val,
    }
}

fn ids(doc: &Value) -> Vec<i64> {
    doc["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array in {doc}"))
        .iter()
        .map(|r| r["id"].as_i64().expect("integer ids"))
        .collect()
}

/// A link from a document, as a path under `/api/v2` for the test client.
fn path_of(s: &TestServer, link: &Value) -> String {
    let link = link
        .as_str()
        .unwrap_or_else(|| panic!("not a link: {link}"));
    let prefix = format!("{}/api/v2", s.base);
    link.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{link} is not absolute under {prefix}"))
        .to_string()
}

#[tokio::test]
async fn a_collection_reads_like_outreach() {
    let d = demo_server().await;
    let s = &d.s;
    let res = s
        .api(
            "GET",
            "/sequenceSteps?filter[sequence][id]=1&sort=order&include=sequence,sequenceTemplates,sequenceTemplates.template&count=true",
            &d.mia,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.content_type.as_deref(),
        Some("application/vnd.api+json")
    );
    let doc = &res.body;
    assert_eq!(ids(doc), [1, 2, 3, 4, 5]);
    assert_eq!(doc["meta"]["count"], 5);
    let first = &doc["data"][0];
    assert_eq!(first["type"], "sequenceStep");
    assert_eq!(first["attributes"]["stepType"], "auto_email");
    assert_eq!(first["attributes"]["displayName"], "Step #1 (Auto email)");
    assert_eq!(first["attributes"]["order"], 1);
    assert_eq!(
        first["attributes"].as_object().unwrap().len(),
        20,
        "the seed's 20 attributes"
    );
    assert_eq!(
        first["relationships"]["sequence"]["data"],
        json!({ "type": "sequence", "id": 1 })
    );
    assert_eq!(
        first["links"]["self"],
        format!("{}/api/v2/sequenceSteps/1", s.base)
    );
    // An included to-many relationship carries its linkage; the others only a link.
    let variants = first["relationships"]["sequenceTemplates"]["data"]
        .as_array()
        .unwrap();
    assert_eq!(variants.len(), 2, "{first}");
    assert!(first["relationships"]["tasks"].get("data").is_none());
    let step3 = &doc["data"][2];
    assert_eq!(
        step3["attributes"]["taskNote"],
        "Call the main line; ask for the VP of Sales."
    );
    assert_eq!(step3["attributes"]["interval"], 3 * 86_400);
    assert_eq!(step3["attributes"]["date"], Value::Null);
    // `included`: the sequence once, every variant and its template, nothing twice.
    let included = doc["included"].as_array().unwrap();
    let keys: Vec<(String, i64)> = included
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "duplicates in {keys:?}");
    assert_eq!(keys.iter().filter(|(t, _)| t == "sequence").count(), 1);
    assert!(keys.iter().any(|(t, _)| t == "sequenceTemplate"));
    assert!(keys.iter().any(|(t, _)| t == "template"));
    let seq = included.iter().find(|r| r["type"] == "sequence").unwrap();
    assert_eq!(seq["attributes"]["name"], "Mid-market outbound Q4");
    assert_eq!(seq["attributes"]["shareType"], "shared");
    // Every variant linked from a step is included, and every included template is linked.
    for v in variants {
        assert!(keys.contains(&("sequenceTemplate".into(), v["id"].as_i64().unwrap())));
    }
    // Links are absolute and keep the parameters.
    let first_link = doc["links"]["first"].as_str().unwrap();
    assert!(first_link.starts_with(&format!("{}/api/v2/sequenceSteps?", s.base)));
    assert!(
        first_link.contains("filter[sequence][id]=1"),
        "{first_link}"
    );
    assert!(doc["links"].get("next").is_none());
    assert!(doc["links"].get("prev").is_none());
    // Without count=true there is no meta.count; count=false is accepted.
    let res = s
        .api("GET", "/sequenceSteps?count=false", &d.mia, None)
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.get("meta").is_none());
    d.s.finish().await;
}

#[tokio::test]
async fn pages_follow_links_both_ways_and_never_lie() {
    let d = demo_server().await;
    let s = &d.s;
    let all = ids(&s
        .api("GET", "/sequenceSteps?page[size]=1000", &d.admin, None)
        .await
        .body);
    assert_eq!(all.len(), 14);
    for sort in ["", "&sort=-updatedAt", "&sort=stepType,-order"] {
        let mut seen = Vec::new();
        let mut path = format!("/sequenceSteps?page[size]=4{sort}");
        let last;
        let mut pages = 0;
        loop {
            let res = s.api("GET", &path, &d.admin, None).await;
            assert_eq!(res.status, 200, "{}", res.body);
            pages += 1;
            let page = ids(&res.body);
            assert!(page.len() <= 4);
            // prev exists exactly when this is not the first page.
            assert_eq!(res.body["links"].get("prev").is_some(), pages > 1, "{path}");
            seen.extend(page);
            match res.body["links"].get("next") {
                Some(next) => path = path_of(s, next),
                None => {
                    last = res.body;
                    break;
                }
            }
        }
        assert_eq!(pages, 4);
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        let mut expected = all.clone();
        expected.sort_unstable();
        assert_eq!(sorted, expected, "every step once, sort {sort:?}");
        // Backwards from the last page gives the same rows in the same order.
        let mut back = Vec::new();
        let mut doc = last;
        loop {
            let mut page = ids(&doc);
            page.extend(back);
            back = page;
            match doc["links"].get("prev") {
                Some(prev) => {
                    doc = s.api("GET", &path_of(s, prev), &d.admin, None).await.body;
                }
                None => break,
            }
        }
        assert_eq!(back, seen, "backwards, sort {sort:?}");
    }
    d.s.finish().await;
}

#[tokio::test]
async fn reads_answer_with_the_right_status() {
    let d = demo_server().await;
    let s = &d.s;
    let res = s.api("GET", "/sequenceSteps/3", &d.mia, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["data"]["id"], 3);
    assert_eq!(res.body["data"]["attributes"]["stepType"], "call");
    assert_eq!(
        res.body["data"]["relationships"]["callPurpose"]["data"]["type"],
        "callPurpose"
    );
    for (path, token) in [
        ("/sequenceSteps/9999", &d.mia),
        ("/sequenceSteps/abc", &d.mia),
        ("/sequenceSteps/0", &d.mia),
        // Mia's private sequence does not exist for Max.
        ("/sequenceSteps/6", &d.max),
        ("/sequences/2", &d.max),
        ("/sequences/2/sequenceSteps", &d.max),
        ("/sequenceSteps/6/tasks", &d.max),
        ("/sequenceSteps/1/nope", &d.max),
        ("/nope", &d.max),
    ] {
        let res = s.api("GET", path, token, None).await;
        assert_eq!(res.status, 404, "{path}: {}", res.body);
        let err = &res.body["errors"][0];
        assert_eq!(err["status"], "404");
        assert_eq!(err["id"], "resourceNotFound");
        assert!(
            err["title"].is_string() && err["detail"].is_string(),
            "{err}"
        );
        assert_eq!(
            res.content_type.as_deref(),
            Some("application/vnd.api+json")
        );
    }
    // No token, a wrong one: 401 with a challenge.
    let res = s
        .http
        .get(format!("{}/api/v2/sequenceSteps", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = s.api("GET", "/sequenceSteps", "nope", None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.body["errors"][0]["id"], "unauthorized");
    // A to-one link takes no collection parameter.
    for (query, parameter) in [
        ("page[size]=2", "page[size]"),
        ("count=true", "count"),
        ("filter[id]=1", "filter[id]"),
    ] {
        let res = s
            .api(
                "GET",
                &format!("/sequenceSteps/1/sequence?{query}"),
                &d.mia,
                None,
            )
            .await;
        assert_eq!(res.status, 400, "{query}: {}", res.body);
        assert_eq!(res.source(), parameter);
    }
    // Writes to read-only types and unknown methods: 405.
    let res = s.api("POST", "/sequences", &d.admin, Some(json!({}))).await;
    assert_eq!(res.status, 405, "{}", res.body);
    let res = s
        .api("PUT", "/sequenceSteps/1", &d.admin, Some(json!({})))
        .await;
    assert_eq!(res.status, 405);
    // Accept with JSON:API media type parameters only: 406.
    let res = s
        .http
        .get(format!("{}/api/v2/sequenceSteps", s.base))
        .bearer_auth(&d.mia)
        .header("accept", "application/vnd.api+json; charset=utf-8")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    d.s.finish().await;
}

#[tokio::test]
async fn bad_parameters_are_named_never_ignored() {
    let d = demo_server().await;
    let s = &d.s;
    let check = async |query: String, status: u16, parameter: &str| {
        let res = s
            .api("GET", &format!("/sequenceSteps?{query}"), &d.mia, None)
            .await;
        assert_eq!(res.status, status, "{query}: {}", res.body);
        assert_eq!(res.source(), parameter, "{query}");
        assert_eq!(res.body["errors"][0]["status"], status.to_string());
    };
    for (query, status, parameter) in [
        ("filter[nope]=1", 422, "filter[nope]"),
        ("filter[mailings][id]=1", 422, "filter[mailings][id]"),
        ("filter[order]=x", 422, "filter[order]"),
        ("filter[order]=1,2", 422, "filter[order]"),
        ("filter[stepType]=bogus", 422, "filter[stepType]"),
        ("filter[id]=-1", 422, "filter[id]"),
        ("filter[updatedAt]=yesterday..inf", 422, "filter[updatedAt]"),
        ("filter[sequence][owner]=1", 422, "filter[sequence][owner]"),
        ("filter[creator][name]=x", 422, "filter[creator][name]"),
        (
            "filter[sequenceTemplates][nope]=1",
            422,
            "filter[sequenceTemplates][nope]",
        ),
        ("sort=nope", 400, "sort"),
        ("sort=sequence.name", 400, "sort"),
        ("include=nope", 400, "include"),
        ("include=sequence.nope", 400, "include"),
        ("include=a.b.c.d", 400, "include"),
        ("fields[sequenceStep]=nope", 422, "fields[sequenceStep]"),
        ("fields[nope]=name", 422, "fields[nope]"),
        ("page[size]=0", 422, "page[size]"),
        ("page[size]=1001", 422, "page[size]"),
        ("page[size]=ten", 422, "page[size]"),
        ("page[after]=garbage", 422, "page[after]"),
        ("page[offset]=10", 422, "page[offset]"),
        ("count=maybe", 422, "count"),
        (
            "provideAuthorizationMeta=yes",
            422,
            "provideAuthorizationMeta",
        ),
        ("colour=red", 400, "colour"),
        ("sort=order&sort=id", 400, "sort"),
        ("filter[=1", 400, "filter["),
    ] {
        check(query.to_string(), status, parameter).await;
    }
    // More values than a filter takes.
    let many = vec!["1"; 1001].join(",");
    check(format!("filter[id]={many}"), 422, "filter[id]").await;
    // A cursor of one ordering is refused under another.
    let page = s
        .api(
            "GET",
            "/sequenceSteps?page[size]=2&sort=order",
            &d.mia,
            None,
        )
        .await;
    let next = path_of(s, &page.body["links"]["next"]).replace("sort=order", "sort=-order");
    let res = s.api("GET", &next, &d.mia, None).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(res.source(), "page[after]");
    // Collection parameters on a single resource.
    let res = s
        .api("GET", "/sequenceSteps/1?page[size]=2", &d.mia, None)
        .await;
    assert_eq!(res.status, 400);
    d.s.finish().await;
}

/// Step ids the GraphQL API returns for a filter, to compare with the REST filter.
async fn graphql_ids(s: &TestServer, token: &str, filter: Value) -> Vec<i64> {
    let res = s
        .gql(
            token,
            "query($f: SequenceStepFilter) { sequenceSteps(filter: $f, first: 100) { nodes { id } } }",
            json!({ "f": filter }),
        )
        .await;
    let mut ids: Vec<i64> = res.data()["sequenceSteps"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn filters_match_the_graphql_api() {
    let d = demo_server().await;
    let s = &d.s;
    for (query, filter) in [
        (
            "filter[stepType]=call,task",
            json!({ "stepType": ["CALL", "TASK"] }),
        ),
        (
            "filter[order]=2..3",
            json!({ "order": { "min": 2, "max": 3 } }),
        ),
        ("filter[order]=neginf..2", json!({ "order": { "max": 2 } })),
        ("filter[order]=4..inf", json!({ "order": { "min": 4 } })),
        (
            "filter[order]=2",
            json!({ "order": { "min": 2, "max": 2 } }),
        ),
        ("filter[id]=1,6,8", json!({ "id": ["1", "6", "8"] })),
        (
            "filter[date]=2026-11-21..2026-12-01",
            json!({ "date": { "min": "2026-11-21", "max": "2026-12-01" } }),
        ),
        (
            "filter[sequence][id]=1,2",
            json!({ "sequence": { "id": ["1", "2"] } }),
        ),
        (
            "filter[sequence][name]=Executive intro",
            json!({ "sequence": { "name": ["Executive intro"] } }),
        ),
        (
            "filter[sequence][enabledAt]=2000-01-01..inf",
            json!({ "sequence": { "enabledAt": { "min": "2000-01-01T00:00:00Z" } } }),
        ),
        (
            "filter[sequenceTemplates][isReply]=false",
            json!({ "sequenceTemplates": { "isReply": false } }),
        ),
        (
            "filter[callPurpose][id]=1",
            json!({ "callPurpose": { "id": ["1"] } }),
        ),
        (
            "filter[taskPriority][id]=1,2,3",
            json!({ "taskPriority": { "id": ["1", "2", "3"] } }),
        ),
        (
            "filter[tasks][id]=1,2",
            json!({ "tasks": { "id": ["1", "2"] } }),
        ),
        (
            "filter[calls][id]=1,2,3",
            json!({ "calls": { "id": ["1", "2", "3"] } }),
        ),
        (
            "filter[creator][id]=2",
            json!({ "creator": { "id": ["2"] } }),
        ),
        (
            "filter[updater][id]=2,3",
            json!({ "updater": { "id": ["2", "3"] } }),
        ),
        (
            "filter[updatedAt]=2000-01-01T00:00:00.000000Z..inf",
            json!({ "updatedAt": { "min": "2000-01-01T00:00:00Z" } }),
        ),
        (
            "filter[updatedAt]=2100-01-01..inf",
            json!({ "updatedAt": { "min": "2100-01-01T00:00:00Z" } }),
        ),
        (
            "filter[createdAt]=neginf..2100-01-01T00:00:00Z",
            json!({ "createdAt": { "max": "2100-01-01T00:00:00Z" } }),
        ),
    ] {
        for token in [&d.mia, &d.max] {
            let res = s
                .api(
                    "GET",
                    &format!("/sequenceSteps?page[size]=100&{query}"),
                    token,
                    None,
                )
                .await;
            assert_eq!(res.status, 200, "{query}: {}", res.body);
            let mut rest = ids(&res.body);
            rest.sort_unstable();
            assert_eq!(rest, graphql_ids(s, token, filter.clone()).await, "{query}");
        }
    }
    // The filter that pages through changes, as sync tools use it, really filters.
    let res = s
        .api(
            "GET",
            "/sequenceSteps?filter[updatedAt]=2100-01-01..inf",
            &d.admin,
            None,
        )
        .await;
    assert_eq!(ids(&res.body), Vec::<i64>::new());
    // Other types' filters: enums in their wire form, relationships by id.
    let res = s
        .api(
            "GET",
            "/sequences?filter[shareType]=private&sort=name",
            &d.admin,
            None,
        )
        .await;
    assert_eq!(ids(&res.body), [2, 5]);
    let res = s
        .api(
            "GET",
            "/tasks?filter[sequenceStep][id]=3&count=true",
            &d.mia,
            None,
        )
        .await;
    assert_eq!(res.body["meta"]["count"], 2, "{}", res.body);
    d.s.finish().await;
}

#[tokio::test]
async fn fieldsets_and_authorization_meta() {
    let d = demo_server().await;
    let s = &d.s;
    let res = s
        .api(
            "GET",
            "/sequenceSteps/1?fields[sequenceStep]=order,stepType,sequence&include=sequence&fields[sequence]=name",
            &d.mia,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let step = &res.body["data"];
    assert_eq!(
        step["attributes"],
        json!({ "order": 1, "stepType": "auto_email" })
    );
    let rels: Vec<&String> = step["relationships"].as_object().unwrap().keys().collect();
    assert_eq!(rels, ["sequence"]);
    assert!(step.get("meta").is_none(), "no meta unless asked for");
    assert_eq!(
        res.body["included"][0]["attributes"],
        json!({ "name": "Mid-market outbound Q4" })
    );
    // Rights per viewer on a shared sequence of Mia's (sequence 1) and a locked one (4).
    for (token, write, delete) in [
        (&d.mia, true, true),
        (&d.max, true, false),
        (&d.val, false, false),
    ] {
        let res = s
            .api(
                "GET",
                "/sequenceSteps?filter[sequence][id]=1,4&sort=order&provideAuthorizationMeta=true",
                token,
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        for step in res.body["data"].as_array().unwrap() {
            let locked = step["relationships"]["sequence"]["data"]["id"] == 4;
            let meta = &step["meta"];
            assert_eq!(meta["canWrite"], write && !locked, "{step}");
            assert_eq!(meta["canDelete"], delete && !locked, "{step}");
        }
    }
    // They agree with GraphQL's canWrite / canDelete for every step Max can see.
    let rest = s
        .api(
            "GET",
            "/sequenceSteps?provideAuthorizationMeta=true",
            &d.max,
            None,
        )
        .await;
    let gql = s
        .gql(
            &d.max,
            "{ sequenceSteps(first: 100) { nodes { id canWrite canDelete } } }",
            json!({}),
        )
        .await;
    let nodes = gql.data()["sequenceSteps"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let data = rest.body["data"].as_array().unwrap();
    assert_eq!(nodes.len(), data.len());
    for (r, g) in data.iter().zip(&nodes) {
        assert_eq!(r["id"].to_string(), g["id"].as_str().unwrap());
        assert_eq!(r["meta"]["canWrite"], g["canWrite"]);
        assert_eq!(r["meta"]["canDelete"], g["canDelete"]);
    }
    d.s.finish().await;
}

#[tokio::test]
async fn visibility_holds_on_every_rest_path() {
    let d = demo_server().await;
    let s = &d.s;
    // Max sees no step of Mia's private sequence, directly or through includes.
    let res = s
        .api(
            "GET",
            "/sequenceSteps?page[size]=100&include=sequence,sequenceTemplates.template,tasks,calls,mailings",
            &d.max,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let mut seen = ids(&res.body);
    seen.sort_unstable();
    assert_eq!(seen, [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14]);
    for r in res.body["included"].as_array().unwrap() {
        if r["type"] == "sequence" {
            assert_ne!(r["id"], 2, "{r}");
        }
    }
    // Every to-one linkage of calls, tasks and mailings is shown exactly when GraphQL shows
    // the target (Max made a call in Mia's private sequence: its sequence is hidden).
    for (plural, field, gql_list) in [
        ("calls", "sequence", "calls"),
        ("calls", "task", "calls"),
        ("calls", "sequenceStep", "calls"),
        ("tasks", "sequence", "tasks"),
        ("mailings", "sequence", "mailings"),
        ("mailings", "template", "mailings"),
        ("mailings", "sequenceTemplate", "mailings"),
    ] {
        let rest = s
            .api("GET", &format!("/{plural}?page[size]=1000"), &d.max, None)
            .await;
        assert_eq!(rest.status, 200, "{}", rest.body);
        // Every row on both sides: GraphQL's pages hold at most 100, so follow its cursor.
        let mut nodes = Vec::new();
        let mut after = Value::Null;
        loop {
            let gql = s
                .gql(
                    &d.max,
                    &format!(
                        "query($after: String) {{ {gql_list}(first: 100, after: $after) {{ \
                         nodes {{ id {field} {{ id }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
                    ),
                    json!({ "after": after }),
                )
                .await;
            let page = &gql.data()[gql_list];
            nodes.extend(page["nodes"].as_array().unwrap().iter().cloned());
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        let data = rest.body["data"].as_array().unwrap();
        assert_eq!(nodes.len(), data.len(), "{plural}");
        for (r, g) in data.iter().zip(&nodes) {
            let linked = r["relationships"][field]["data"]["id"].as_i64();
            let shown = g[field]["id"].as_str().map(|i| i.parse::<i64>().unwrap());
            assert_eq!(linked, shown, "{plural}.{field} of {}", r["id"]);
        }
    }
    let hidden = s
        .gql(
            &d.max,
            "{ calls(first: 100) { nodes { sequence { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        hidden.data()["calls"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["sequence"].is_null()),
        "the demo has a call whose sequence Max cannot see"
    );
    d.s.finish().await;
}

#[tokio::test]
async fn every_relationship_link_resolves() {
    let d = demo_server().await;
    let s = &d.s;
    let schema = crate::introspect::schema(s, &d.admin).await;
    for path in [
        "/sequenceSteps/3",
        "/sequences/1",
        "/sequenceTemplates/1",
        "/templates/1",
        "/users/2",
        "/tasks/1",
        "/calls/1",
        "/mailings/1",
        "/callPurposes/1",
        "/taskPriorities/1",
    ] {
        let res = s.api("GET", path, &d.admin, None).await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        let resource = &res.body["data"];
        let self_link = path_of(s, &resource["links"]["self"]);
        assert_eq!(self_link, path);
        // The same relationships as the GraphQL type: both adapters name the declarations of
        // service::relations, and this catches one of them forgetting one.
        let ty = resource["type"].as_str().unwrap();
        let gql_type = format!("{}{}", ty[..1].to_uppercase(), &ty[1..]);
        let mut expected: Vec<&str> = schema.types[&gql_type]
            .iter()
            .filter(|f| f.type_kind == "OBJECT")
            .map(|f| f.name.as_str())
            .collect();
        let mut actual: Vec<&str> = resource["relationships"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        expected.sort_unstable();
        actual.sort_unstable();
        assert_eq!(actual, expected, "relationships of {ty}");
        // Read-only types answer false in their meta: this API cannot write them.
        for (name, rel) in resource["relationships"].as_object().unwrap() {
            let link = path_of(s, &rel["links"]["related"]);
            let related = s.api("GET", &link, &d.admin, None).await;
            assert_eq!(related.status, 200, "{link}: {}", related.body);
            match &rel.get("data") {
                // To-one: the link shows the linked resource.
                Some(Value::Object(target)) => {
                    assert_eq!(related.body["data"]["id"], target["id"], "{link}");
                    assert_eq!(related.body["data"]["type"], target["type"], "{link}");
                }
                Some(Value::Null) => assert!(related.body["data"].is_null(), "{link}"),
                // To-many: a collection of resources that point back here.
                _ => {
                    assert!(related.body["data"].is_array(), "{name}: {}", related.body);
                    assert!(related.body["links"]["first"].is_string());
                }
            }
        }
    }
    // A to-many link takes the collection's parameters.
    let res = s
        .api(
            "GET",
            "/sequences/1/sequenceSteps?sort=-order&page[size]=2&count=true",
            &d.mia,
            None,
        )
        .await;
    assert_eq!(ids(&res.body), [5, 4]);
    assert_eq!(res.body["meta"]["count"], 5);
    let next = path_of(s, &res.body["links"]["next"]);
    assert!(next.starts_with("/sequences/1/sequenceSteps?"), "{next}");
    assert_eq!(ids(&s.api("GET", &next, &d.mia, None).await.body), [3, 2]);
    d.s.finish().await;
}

fn step_body(sequence: i64, attributes: Value) -> Value {
    json!({ "data": {
        "type": "sequenceStep",
        "attributes": attributes,
        "relationships": { "sequence": { "data": { "type": "sequence", "id": sequence } } }
    } })
}

/// A step's attributes as GraphQL gives them, in the REST spelling.
async fn graphql_step(s: &TestServer, token: &str, id: i64) -> Value {
    let res = s
        .gql(
            token,
            "query($id: ID!) { sequenceStep(id: $id) { bounceCount clickCount createdAt date
                deliverCount displayName failureCount interval negativeReplyCount
                neutralReplyCount openCount optOutCount order positiveReplyCount replyCount
                scheduleCount stepType taskAutoskipDelay taskNote updatedAt } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    let mut step = res.data()["sequenceStep"].clone();
    let wire = step["stepType"].as_str().unwrap().to_lowercase();
    step["stepType"] = json!(wire);
    // GraphQL's DateTime keeps the stored microseconds; /api/v2 renders Outreach's three
    // fractional digits, truncated.
    for key in ["createdAt", "updatedAt"] {
        let at = chrono::DateTime::parse_from_rfc3339(step[key].as_str().unwrap()).unwrap();
        step[key] = json!(
            at.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
    }
    step
}

#[tokio::test]
async fn writes_create_update_and_delete_steps() {
    let d = demo_server().await;
    let s = &d.s;
    let body = step_body(
        1,
        json!({ "stepType": "call", "order": 2, "interval": 3600, "taskNote": "Dial in" }),
    );
    // The media type is required on a body.
    let res = s
        .http
        .post(format!("{}/api/v2/sequenceSteps", s.base))
        .bearer_auth(&d.mia)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = TestServer::read_api(res).await;
    assert_eq!(res.body["errors"][0]["id"], "unsupportedMediaType");
    // A body past the limit: 413, as a JSON:API error.
    let note = "x".repeat(600 * 1024);
    let huge = step_body(
        1,
        json!({ "stepType": "call", "interval": 1, "taskNote": note }),
    );
    let res = s.api("POST", "/sequenceSteps", &d.mia, Some(huge)).await;
    assert_eq!(res.status, 413, "{}", res.body);
    assert_eq!(res.body["errors"][0]["id"], "payloadTooLarge");

    let res = s
        .api(
            "POST",
            "/sequenceSteps?provideAuthorizationMeta=true",
            &d.mia,
            Some(body),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let created = &res.body["data"];
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        res.location.as_deref(),
        Some(format!("{}/api/v2/sequenceSteps/{id}", s.base).as_str())
    );
    assert_eq!(created["attributes"]["order"], 2);
    assert_eq!(created["attributes"]["displayName"], "Step #2 (Call)");
    assert_eq!(created["meta"]["canWrite"], true);
    assert_eq!(created["relationships"]["creator"]["data"]["id"], 2);
    // It reads back identically over GraphQL.
    assert_eq!(created["attributes"], graphql_step(s, &d.mia, id).await);
    // The old step 2 moved down.
    let old = s.api("GET", "/sequenceSteps/2", &d.mia, None).await;
    assert_eq!(old.body["data"]["attributes"]["order"], 3);

    // PATCH is partial: null clears, {data: null} clears a relationship, the rest stays.
    let patch = json!({ "data": { "type": "sequenceStep", "id": id,
        "attributes": { "order": 1, "taskNote": null },
        "relationships": {
            "callPurpose": { "data": { "type": "callPurpose", "id": "1" } },
            "sequence": { "data": { "type": "sequence", "id": 1 } }
        } } });
    let res = s
        .api(
            "PATCH",
            &format!("/sequenceSteps/{id}"),
            &d.mia,
            Some(patch),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let step = &res.body["data"];
    assert_eq!(step["attributes"]["order"], 1);
    assert_eq!(step["attributes"]["taskNote"], Value::Null);
    assert_eq!(step["attributes"]["interval"], 3600);
    assert_eq!(step["relationships"]["callPurpose"]["data"]["id"], 1);
    let patch = json!({ "data": { "type": "sequenceStep",
        "relationships": { "callPurpose": { "data": null } } } });
    let res = s
        .api(
            "PATCH",
            &format!("/sequenceSteps/{id}"),
            &d.mia,
            Some(patch),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.body["data"]["relationships"]["callPurpose"]["data"],
        Value::Null
    );
    assert_eq!(
        res.body["data"]["attributes"],
        graphql_step(s, &d.mia, id).await
    );

    // Bad writes: a typed error with a pointer, and nothing changes.
    let before = s
        .api("GET", &format!("/sequenceSteps/{id}"), &d.mia, None)
        .await
        .body;
    for (method, path, body, status, pointer) in [
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "attributes": { "openCount": 5 } } }),
            422,
            "/data/attributes/openCount",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "attributes": { "colour": "red" } } }),
            422,
            "/data/attributes/colour",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "attributes": { "order": "first" } } }),
            422,
            "/data/attributes/order",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "attributes": { "order": 99 } } }),
            422,
            "/data/attributes/order",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "attributes": { "stepType": "fax" } } }),
            422,
            "/data/attributes/stepType",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "relationships": { "sequence": { "data": { "type": "sequence", "id": 3 } } } } }),
            422,
            "/data/relationships/sequence",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "relationships": { "creator": { "data": { "type": "user", "id": 1 } } } } }),
            422,
            "/data/relationships/creator",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "relationships": { "taskPriority": { "data": { "type": "taskPriority", "id": 999 } } } } }),
            422,
            "/data/relationships/taskPriority",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "relationships": { "tasks": { "data": [] } } } }),
            422,
            "/data/relationships/tasks",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequence", "attributes": {} } }),
            409,
            "/data/type",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "data": { "type": "sequenceStep", "id": 1, "attributes": {} } }),
            409,
            "/data/id",
        ),
        (
            "PATCH",
            format!("/sequenceSteps/{id}"),
            json!({ "nodata": true }),
            400,
            "/data",
        ),
        (
            "POST",
            "/sequenceSteps".to_string(),
            json!({ "data": { "type": "sequenceStep", "attributes": { "stepType": "call", "interval": 1 } } }),
            422,
            "/data/relationships/sequence",
        ),
        (
            "POST",
            "/sequenceSteps".to_string(),
            step_body(1, json!({ "interval": 1 })),
            422,
            "/data/attributes/stepType",
        ),
        (
            "POST",
            "/sequenceSteps".to_string(),
            step_body(1, json!({ "stepType": "call" })),
            422,
            "/data/attributes/interval",
        ),
        (
            "POST",
            "/sequenceSteps".to_string(),
            step_body(999, json!({ "stepType": "call", "interval": 1 })),
            422,
            "/data/relationships/sequence",
        ),
        (
            "POST",
            "/sequenceSteps".to_string(),
            step_body(
                1,
                json!({ "stepType": "call", "interval": 1, "displayName": "x" }),
            ),
            422,
            "/data/attributes/displayName",
        ),
    ] {
        let res = s.api(method, &path, &d.mia, Some(body.clone())).await;
        assert_eq!(res.status, status, "{body}: {}", res.body);
        assert_eq!(res.source(), pointer, "{body}");
    }
    let res = s
        .api(
            "POST",
            "/sequenceSteps",
            &d.mia,
            Some(json!({ "data": { "type": "sequenceStep", "id": 5 } })),
        )
        .await;
    assert_eq!(res.status, 403);
    let after = s
        .api("GET", &format!("/sequenceSteps/{id}"), &d.mia, None)
        .await
        .body;
    assert_eq!(before, after, "a refused write changes nothing");
    let count = s
        .api(
            "GET",
            "/sequenceSteps?filter[sequence][id]=1&count=true",
            &d.mia,
            None,
        )
        .await;
    assert_eq!(count.body["meta"]["count"], 6);

    // Policy: a viewer may not write, a member may not delete a shared step of someone else,
    // nobody sees Mia's private sequence but Mia and the admin.
    let res = s
        .api(
            "PATCH",
            &format!("/sequenceSteps/{id}"),
            &d.val,
            Some(json!({ "data": { "type": "sequenceStep", "attributes": { "order": 2 } } })),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(res.body["errors"][0]["id"], "forbidden");
    let res = s
        .api("DELETE", &format!("/sequenceSteps/{id}"), &d.max, None)
        .await;
    assert_eq!(res.status, 403);
    let res = s
        .api(
            "POST",
            "/sequenceSteps",
            &d.max,
            Some(step_body(2, json!({ "stepType": "call", "interval": 1 }))),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    let res = s.api("DELETE", "/sequenceSteps/6", &d.max, None).await;
    assert_eq!(res.status, 404);

    // DELETE: 204, then 404, and the later steps move up.
    let res = s
        .api("DELETE", &format!("/sequenceSteps/{id}"), &d.mia, None)
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(res.body, Value::Null);
    let res = s
        .api("GET", &format!("/sequenceSteps/{id}"), &d.mia, None)
        .await;
    assert_eq!(res.status, 404);
    let old = s.api("GET", "/sequenceSteps/2", &d.mia, None).await;
    assert_eq!(old.body["data"]["attributes"]["order"], 2);
    d.s.finish().await;
}

#[tokio::test]
async fn a_step_created_over_graphql_reads_the_same_over_rest() {
    let d = demo_server().await;
    let s = &d.s;
    let res = s
        .gql(
            &d.max,
            "mutation { createSequenceStep(input: { sequenceId: \"3\", stepType: MANUAL_EMAIL, date: \"2026-12-24\", taskNote: \"Ho\", taskAutoskipDelay: 60 }) { id } }",
            json!({}),
        )
        .await;
    let id: i64 = res.data()["createSequenceStep"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rest = s
        .api("GET", &format!("/sequenceSteps/{id}"), &d.max, None)
        .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(
        rest.body["data"]["attributes"],
        graphql_step(s, &d.max, id).await
    );
    assert_eq!(rest.body["data"]["attributes"]["date"], "2026-12-24");
    assert_eq!(rest.body["data"]["attributes"]["stepType"], "manual_email");
    d.s.finish().await;
}

#[tokio::test]
async fn includes_cost_the_same_for_5_and_50_steps() {
    let t = crate::loaders::every_relationship_filled().await;
    let s = TestServer::start(t).await;
    let token = s.token_for_role(entity::enums::Role::Member).await;
    let mut counts = Vec::new();
    for n in [5, 50] {
        let res = s
            .api(
                "GET",
                &format!("/sequenceSteps?page[size]={n}&provideAuthorizationMeta=true&count=true&include=sequence,sequence.owner,creator,updater,callPurpose,taskPriority,sequenceTemplates.template,tasks,calls,mailings"),
                &token,
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["data"].as_array().unwrap().len(), n);
        let included = res.body["included"].as_array().unwrap();
        for ty in [
            "sequence",
            "user",
            "callPurpose",
            "taskPriority",
            "sequenceTemplate",
            "template",
            "task",
            "call",
            "mailing",
        ] {
            assert!(included.iter().any(|r| r["type"] == ty), "no {ty} included");
        }
        counts.push(res.statements.expect("x-sql-statements header"));
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 and 50 steps: {counts:?}"
    );
    s.finish().await;
}

/// Behind a proxy, links start with the configured public URL, whatever the request's Host.
#[tokio::test]
async fn links_use_the_configured_public_url() {
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let token = stepgraph::auth::tokens::create(&t.db, "mia.member@example.com", None)
        .await
        .unwrap()
        .token;
    let s = TestServer::start_configured(t, Default::default(), |state| {
        state.public_url = Some("https://api.example.com/".into());
    })
    .await;
    let res = s
        .api("GET", "/sequenceSteps?page[size]=2", &token, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    for link in [
        &res.body["links"]["first"],
        &res.body["links"]["next"],
        &res.body["data"][0]["links"]["self"],
        &res.body["data"][0]["relationships"]["tasks"]["links"]["related"],
    ] {
        let link = link.as_str().unwrap();
        assert!(
            link.starts_with("https://api.example.com/api/v2/"),
            "{link}"
        );
    }
    s.finish().await;
}

/// Outreach's wire format for date-times on every collection: UTC, exactly three fractional
/// digits, `Z` (what clients parsing with `%Y-%m-%dT%H:%M:%S.%fZ` need); and a row's own
/// rendered `updatedAt`, used as both ends of a filter, finds that row (the stored
/// microseconds are truncated on the wire, and an upper bound covers its millisecond).
#[tokio::test]
async fn date_times_are_rendered_as_outreach_does_and_filter_back() {
    let d = demo_server().await;
    let s = &d.s;
    // A step written now carries microseconds, not just whole seconds.
    let created = s
        .api(
            "POST",
            "/sequenceSteps",
            &d.mia,
            Some(step_body(1, json!({ "stepType": "task", "interval": 60 }))),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let outreach = |v: &str| {
        v.len() == 24
            && v.as_bytes()[19] == b'.'
            && v.ends_with('Z')
            && chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok()
    };
    let mut checked = 0;
    for path in [
        "sequenceSteps",
        "sequences",
        "sequenceTemplates",
        "templates",
        "users",
        "tasks",
        "calls",
        "mailings",
        "callPurposes",
        "taskPriorities",
    ] {
        let res = s
            .api("GET", &format!("/{path}?page[size]=1000"), &d.admin, None)
            .await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        let rows = res.body["data"].as_array().unwrap();
        for row in rows {
            for (key, value) in row["attributes"].as_object().unwrap() {
                if key.ends_with("At")
                    && let Some(v) = value.as_str()
                {
                    assert!(outreach(v), "{path}.{key} = {v:?}");
                    checked += 1;
                }
            }
        }
        // Each row's own updatedAt, as both ends of a range, finds it.
        let row = &rows[rows.len() - 1];
        let at = row["attributes"]["updatedAt"].as_str().unwrap();
        let found = s
            .api(
                "GET",
                &format!("/{path}?filter[updatedAt]={at}..{at}&page[size]=1000"),
                &d.admin,
                None,
            )
            .await;
        assert_eq!(found.status, 200, "{path}: {}", found.body);
        assert!(
            found.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == row["id"]),
            "{path}: filter[updatedAt]={at}..{at} misses row {}",
            row["id"]
        );
    }
    assert!(checked > 500, "{checked}");
    d.s.finish().await;
}
