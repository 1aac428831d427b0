//! What a public GraphQL endpoint must refuse, and the public pages.

use serde_json::json;
use stepgraph::graphql::Limits;

use crate::server::TestServer;
use crate::support::{Fixture, TestDb, fixture};

async fn server() -> (TestServer, String) {
    let (s, f) = server_with(Limits::default()).await;
    let token = s.token(&f.owner).await;
    (s, token)
}

/// A server with these limits over the fixture.
async fn server_with(limits: Limits) -> (TestServer, Fixture) {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    (TestServer::start_with(t, limits).await, f)
}

#[tokio::test]
async fn transport_rules() {
    let (s, token) = server().await;
    let url = format!("{}/graphql", s.base);
    // JSON only.
    let res = s
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{\"query\":\"{viewer{id}}\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    // Queries over GET work; mutations over GET do not.
    let res = s
        .http
        .get(&url)
        .bearer_auth(&token)
        .query(&[("query", "{ viewer { id } }")])
        .send()
        .await
        .unwrap();
    assert!(TestServer::read(res).await.data()["viewer"]["id"].is_string());
    let res = s
        .http
        .get(&url)
        .bearer_auth(&token)
        .query(&[("query", "mutation { deleteSequenceStep(id: \"1\") }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    // Batches: a small one runs, an oversized one is refused.
    let two = json!([{ "query": "{ viewer { id } }" }, { "query": "{ taskPriorities { nodes { id } } }" }]);
    let res = TestServer::read(
        s.http
            .post(&url)
            .bearer_auth(&token)
            .json(&two)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body.as_array().map(Vec::len), Some(2));
    let many: Vec<_> = (0..11)
        .map(|_| json!({ "query": "{ viewer { id } }" }))
        .collect();
    let res = s
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&many)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Oversized bodies are refused before parsing.
    let big = json!({ "query": format!("{{ viewer {{ id }} }} #{}", "x".repeat(Limits::default().max_body_bytes)) });
    let res = s
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // Not JSON at all.
    let res = s
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    s.finish().await;
}

#[tokio::test]
async fn query_limits_and_argument_checks() {
    let (s, token) = server().await;
    // Too deep.
    let level = "sequenceSteps(first: 1) { nodes { sequence { ";
    let deep = format!("{{ {} id {} }}", level.repeat(7), "} } }".repeat(7));
    let res = s.gql(&token, &deep, json!({})).await;
    assert!(res.message().contains("nested too deep"), "{}", res.body);
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED");
    // Too complex: 100 steps x 100 tasks x 100 calls... well past the limit.
    let wide = "{ sequenceSteps(first: 100) { nodes { tasks(first: 100) { nodes { id note state action dueAt } } calls(first: 100) { nodes { id note } } } } }";
    let res = s.gql(&token, wide, json!({})).await;
    assert!(res.message().contains("too complex"), "{}", res.body);
    // Page sizes outside 0..=100, and cursors that were never issued.
    for args in [
        "first: 101",
        "first: -1",
        "last: 500",
        "after: \"nonsense\"",
        "first: 2, last: 2",
    ] {
        let res = s
            .gql(
                &token,
                &format!("{{ sequenceSteps({args}) {{ nodes {{ id }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(res.code(), "BAD_USER_INPUT", "{args}: {}", res.body);
    }
    // A cursor from one ordering does not work with another.
    let res = s
        .gql(
            &token,
            "{ sequenceSteps(first: 1, orderBy: [{field: ORDER}]) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = res.data()["sequenceSteps"]["pageInfo"]["endCursor"].clone();
    if cursor.is_string() {
        let res = s
            .gql(
                &token,
                "query($c: String) { sequenceSteps(after: $c) { nodes { id } } }",
                json!({ "c": cursor }),
            )
            .await;
        assert_eq!(res.code(), "BAD_USER_INPUT");
    }
    // Introspection (what GraphiQL sends: graphql-js 16's query) fits within the limits.
    let introspection = include_str!("introspection_query.graphql");
    let res = s.gql(&token, introspection, json!({})).await;
    assert!(res.data()["__schema"]["types"].as_array().unwrap().len() > 20);
    s.finish().await;
}

/// A request that must be refused at once, before it runs anything.
async fn refused_fast(
    s: &TestServer,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> crate::server::Gql {
    let started = std::time::Instant::now();
    let res = s.gql(token, query, variables).await;
    let took = started.elapsed();
    assert!(took.as_secs_f64() < 2.0, "took {took:?}");
    assert!(res.body["data"].is_null(), "{}", res.body);
    assert_eq!(res.statements, Some(0), "{}", res.body);
    res
}

/// The probes of the hardening issue: small documents that used to take the server down.
#[tokio::test]
async fn small_documents_cannot_make_big_work() {
    let (s, token) = server().await;
    // 27 fragments, each spreading the next twice: 2^26 fields once expanded.
    let mut bomb = String::from("query { ...F0 }\n");
    for i in 0..26 {
        bomb.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    bomb.push_str("fragment F26 on Query { __typename }\n");
    assert!(bomb.len() < 2100);
    let res = refused_fast(&s, &token, &bomb, json!({})).await;
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED");
    assert!(
        res.message().contains("STEPGRAPH_MAX_FIELDS"),
        "{}",
        res.body
    );
    // The server is still there for everyone else.
    let ok = s.gql(&token, "{ viewer { id } }", json!({})).await;
    ok.data();

    // 8 aliases x 8 connection levels written through fragments.
    let mut doc = String::from("query { ...L0 }\n");
    for i in 0..8 {
        let aliases: Vec<String> = (0..8)
            .map(|a| {
                format!(
                    "a{a}: sequenceSteps(first: 100) {{ nodes {{ sequence {{ ...L{} }} }} }}",
                    i + 1
                )
            })
            .collect();
        let on = if i == 0 { "Query" } else { "Sequence" };
        doc.push_str(&format!(
            "fragment L{i} on {on} {{ {} }}\n",
            aliases.join(" ")
        ));
    }
    doc.push_str("fragment L8 on Sequence { id }\n");
    let res = refused_fast(&s, &token, &doc, json!({})).await;
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED");

    // Complexity beyond any integer saturates, never wraps to a small number.
    let mut inner = String::from("id");
    for _ in 0..6 {
        inner = format!("sequenceSteps(first: 100) {{ nodes {{ sequence {{ {inner} }} }} }}");
    }
    let roots: Vec<String> = (0..40)
        .map(|i| format!("r{i}: sequences(first: 100) {{ nodes {{ {inner} }} }}"))
        .collect();
    let res = refused_fast(&s, &token, &format!("{{ {} }}", roots.join(" ")), json!({})).await;
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED");

    // 3,000 aliased counts: refused before a single COUNT runs.
    let counts: Vec<String> = (0..3000)
        .map(|i| format!("c{i}: sequenceSteps(first: 0) {{ totalCount }}"))
        .collect();
    let res = refused_fast(
        &s,
        &token,
        &format!("{{ {} }}", counts.join(" ")),
        json!({}),
    )
    .await;
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED");

    // Circular introspection.
    let res = refused_fast(
        &s,
        &token,
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED");

    // More ids in a filter than a list takes: the client's error, named.
    let ids: Vec<String> = (1..=5_000).map(|i| i.to_string()).collect();
    let res = refused_fast(
        &s,
        &token,
        "query($ids: [ID!]!) { sequenceSteps(filter: { id: $ids }) { nodes { id } } }",
        json!({ "ids": ids }),
    )
    .await;
    assert_eq!(res.code(), "BAD_USER_INPUT");
    assert_eq!(
        res.body["errors"][0]["extensions"]["field"], "filter.id",
        "{}",
        res.body
    );
    s.finish().await;
}

/// A forged cursor whose values do not have their sort keys' types is the client's error,
/// on both APIs, never a database error.
#[tokio::test]
async fn forged_cursors_are_bad_input() {
    use base64::Engine;
    let (s, token) = server().await;
    let forge = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    for cursor in [
        forge(r#"["ORDER,ID",[{"s":"x"},{"i":1}]]"#),
        forge(r#"["ORDER,ID",[{"i":1},{"t":"2026-01-01T00:00:00Z"}]]"#),
        forge(r#"["ORDER,ID",[{"i":1}]]"#),
    ] {
        let res = s
            .gql(
                &token,
                "query($c: String) { sequenceSteps(after: $c, orderBy: [{field: ORDER}]) { nodes { id } } }",
                json!({ "c": cursor }),
            )
            .await;
        assert_eq!(res.code(), "BAD_USER_INPUT", "{}", res.body);
        let res = s
            .api(
                "GET",
                &format!("/sequenceSteps?sort=order&page[after]={cursor}"),
                &token,
                None,
            )
            .await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(res.source(), "page[after]");
    }
    s.finish().await;
}

/// A request that would run more SQL statements than the budget stops with a code.
#[tokio::test]
async fn the_statement_budget_holds() {
    let (s, f) = server_with(Limits {
        max_statements: 3,
        ..Limits::default()
    })
    .await;
    let token = s.token(&f.owner).await;
    let five = "{ a: sequences { nodes { id } } b: sequences { nodes { id } } c: sequences { nodes { id } } d: sequences { nodes { id } } e: sequences { nodes { id } } }";
    let res = s.gql(&token, five, json!({})).await;
    let codes: Vec<&str> = res.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", res.body))
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"QUERY_TOO_EXPENSIVE"), "{}", res.body);
    assert!(res.statements.unwrap() <= 3, "{:?}", res.statements);
    // Within the budget, the same fields answer.
    let res = s
        .gql(&token, "{ a: sequences { nodes { id } } }", json!({}))
        .await;
    res.data();
    s.finish().await;
}

/// A nested connection whose statement is over the budget is reported under each parent that
/// asked for it, at the path its field has there (a row of a nested list resolved with every
/// other parent's rows still names its own parent and index).
#[tokio::test]
async fn a_nested_statement_over_the_budget_is_reported_under_each_parent() {
    use stepgraph::seed::sized;
    let t = TestDb::sized(sized::SizedOptions {
        sequences: 3,
        steps_per_sequence: 2,
        mailings_per_step: 0,
        tasks_per_step: 1,
        calls_per_step: 0,
        seed: 5,
    })
    .await;
    let limits = Limits {
        max_statements: 2,
        ..Limits::default()
    };
    let s = TestServer::start_with(t, limits).await;
    let token = s.token_for_role(entity::enums::Role::Admin).await;
    // Two statements: the sequences, then their steps; the steps' tasks would be a third.
    let within = "{ sequences(first: 3) { nodes { sequenceSteps(first: 2) { nodes { id } } } } }";
    let res = s.gql(&token, within, json!({})).await;
    let data = res.data();
    let mut expected = Vec::new();
    for (i, sequence) in data["sequences"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for j in 0..sequence["sequenceSteps"]["nodes"].as_array().unwrap().len() {
            expected.push(json!([
                "sequences",
                "nodes",
                i,
                "sequenceSteps",
                "nodes",
                j,
                "tasks"
            ]));
        }
    }
    assert_eq!(expected.len(), 6, "three sequences of two steps: {data}");
    let over = "{ sequences(first: 3) { nodes { sequenceSteps(first: 2) { nodes { id tasks(first: 1) { nodes { id } } } } } } }";
    let res = s.gql(&token, over, json!({})).await;
    let errors = res.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", res.body));
    for error in errors {
        assert_eq!(
            error["extensions"]["code"], "QUERY_TOO_EXPENSIVE",
            "{}",
            res.body
        );
    }
    let mut paths: Vec<serde_json::Value> = errors.iter().map(|e| e["path"].clone()).collect();
    paths.sort_by_key(|p| p.to_string());
    expected.sort_by_key(|p| p.to_string());
    assert_eq!(paths, expected, "{}", res.body);
    assert!(res.statements.unwrap() <= 2, "{:?}", res.statements);
    s.finish().await;
}

#[tokio::test]
async fn public_pages() {
    let (s, _) = server().await;
    let get = |path: &str| s.http.get(format!("{}{path}", s.base)).send();
    assert_eq!(get("/healthz").await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let page = get("/graphiql").await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("GraphiQL") && html.contains("Authorization"));
    if stepgraph::http::graphiql::offline() {
        assert!(html.contains("/graphiql/assets/graphiql.min.js") && !html.contains("unpkg.com"));
        let js = get("/graphiql/assets/graphiql.min.js").await.unwrap();
        assert_eq!(js.status(), 200);
        assert!(js.bytes().await.unwrap().len() > 100_000);
    } else {
        // Built without the assets (no npm): every outside file must carry its pinned hash.
        let tags = html.matches("unpkg.com").count();
        assert_eq!(tags, 4, "{html}");
        assert_eq!(
            html.matches(r#"integrity="sha384-"#).count(),
            tags,
            "every CDN asset is pinned by its hash: {html}"
        );
    }
    assert_eq!(
        get("/graphiql/assets/../../etc/passwd")
            .await
            .unwrap()
            .status(),
        404
    );
    s.finish().await;
}

#[tokio::test]
async fn cors_admits_configured_origins_only() {
    let t = TestDb::new().await;
    let s = TestServer::start_configured(t, Limits::default(), |state| {
        state.cors_origins = vec!["http://app.example".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let ok = preflight("http://app.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://app.example"
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let other = preflight("http://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    s.finish().await;
}

#[test]
fn schema_graphql_is_what_the_code_builds() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let built = stepgraph::graphql::sdl();
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, &built).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == built,
        "schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test --test it schema` (or `stepgraph schema > schema.graphql`) and commit it"
    );
}

#[tokio::test]
async fn every_type_and_field_has_a_description() {
    let (s, token) = server().await;
    let q = "{ __schema { types { name kind description fields { name description args { name description } } inputFields { name description } } } }";
    let res = s.gql(&token, q, json!({})).await;
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let mut missing = Vec::new();
    for t in res.data()["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if t["description"].as_str().is_none_or(str::is_empty) {
            missing.push(name.to_string());
        }
        for list in ["fields", "inputFields"] {
            for f in t[list].as_array().into_iter().flatten() {
                if f["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{name}.{}", f["name"].as_str().unwrap()));
                }
                for a in f["args"].as_array().into_iter().flatten() {
                    if a["description"].as_str().is_none_or(str::is_empty) {
                        missing.push(format!(
                            "{name}.{}({})",
                            f["name"].as_str().unwrap(),
                            a["name"].as_str().unwrap()
                        ));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
    s.finish().await;
}

/// A 429 whose Retry-After is the refill of one request of a 5-a-minute bucket (12 s at most).
fn assert_refused_for_a_while(res: &reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
}

/// Each token has its own bucket; an empty one is answered 429 with Retry-After, in each
/// API's format, and every answer says what is left.
#[tokio::test]
async fn tokens_are_rate_limited() {
    let (s, f) = server_with(Limits {
        rate_limit_per_minute: 5,
        ..Limits::default()
    })
    .await;
    let token = s.token(&f.owner).await;
    let other = s.token(&f.viewer).await;
    let url = format!("{}/graphql", s.base);
    for left in (0..5).rev() {
        let res = s
            .http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": "{ viewer { id } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["ratelimit-limit"], "5");
        assert_eq!(
            res.headers()["ratelimit-remaining"],
            left.to_string().as_str()
        );
    }
    let res = s
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { id } }" }))
        .send()
        .await
        .unwrap();
    assert_refused_for_a_while(&res);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // JSON:API, in Outreach's way: `X-RateLimit-*` beside the IETF names, the reset as the
    // epoch second the bucket is full again (Outreach clients sleep until it).
    let res = s
        .http
        .get(format!("{}/api/v2/sequenceSteps", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let header = |name: &str| res.headers()[name].to_str().unwrap().to_string();
    assert_eq!(header("x-ratelimit-limit"), "5");
    assert_eq!(header("x-ratelimit-remaining"), "0");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let reset: u64 = header("x-ratelimit-reset").parse().unwrap();
    let retry: u64 = header("retry-after").parse().unwrap();
    assert!(
        reset >= now && reset <= now + retry + 2,
        "reset {reset}, now {now}, retry {retry}"
    );
    let res = TestServer::read_api(res).await;
    assert_eq!(res.body["errors"][0]["status"], "429");
    assert_eq!(res.body["errors"][0]["id"], "rateLimitExceeded");
    // Another token is not affected.
    let res = s.gql(&other, "{ viewer { id } }", json!({})).await;
    res.data();
    s.finish().await;
}

/// `--shared-rate-limit`: two instances on one PostgreSQL database share each token's
/// bucket, so the token is cut off at the same count whichever instance it reaches; the
/// headers count down across both. Other backends refuse the option.
#[tokio::test]
async fn a_shared_rate_limit_holds_across_instances() {
    use stepgraph::http::shed::Shedding;
    let t = TestDb::new().await;
    if t.backend() != sea_orm::DbBackend::Postgres {
        let refused = Shedding::new(8, 5).shared(t.db.clone());
        assert!(refused.is_err(), "{:?}", refused.err());
        t.finish().await;
        return;
    }
    let f = fixture(&t.db).await;
    let second = t.connect_again().await;
    let limits = Limits {
        rate_limit_per_minute: 5,
        ..Limits::default()
    };
    let shared = |db: sea_orm::DatabaseConnection| {
        move |state: &mut stepgraph::server::AppState| {
            state.shedding = std::sync::Arc::new(Shedding::new(8, 5).shared(db).unwrap());
        }
    };
    let first = t.db.clone();
    let a = TestServer::start_configured(t, limits, shared(first)).await;
    let b =
        TestServer::start_configured(TestDb::sharing(second.clone()), limits, shared(second)).await;
    let token = a.token(&f.owner).await;
    let other = a.token(&f.viewer).await;
    let ask = |s: &TestServer, token: &str| {
        s.http
            .post(format!("{}/graphql", s.base))
            .bearer_auth(token)
            .json(&json!({ "query": "{ viewer { id } }" }))
            .send()
    };
    for (i, left) in (0..5).rev().enumerate() {
        let s = if i % 2 == 0 { &a } else { &b };
        let res = ask(s, &token).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["ratelimit-remaining"],
            left.to_string().as_str(),
            "request {i}"
        );
    }
    // The sixth is refused by either instance, with a Retry-After of the bucket's refill.
    for s in [&b, &a] {
        let res = ask(s, &token).await.unwrap();
        assert_refused_for_a_while(&res);
        assert_eq!(res.headers()["ratelimit-remaining"], "0");
    }
    // Another token has its own bucket.
    let res = ask(&b, &other).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["ratelimit-remaining"], "4");
    b.finish().await;
    a.finish().await;
}

/// Beyond the in-flight bound a request is answered 503 at once, not queued.
#[tokio::test]
async fn requests_beyond_the_in_flight_bound_are_shed() {
    use tokio::io::AsyncWriteExt;
    let (s, f) = server_with(Limits {
        max_in_flight: 1,
        ..Limits::default()
    })
    .await;
    let token = s.token(&f.owner).await;
    // A request whose body never finishes holds the only slot.
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"query\""
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let res = s.post_query(&token, "{ viewer { id } }").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(started.elapsed().as_millis() < 1000);
    let res = s.api("GET", "/sequenceSteps", &token, None).await;
    assert_eq!(res.status, 503);
    // Health checks are not shed.
    let res = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(slow);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let res = s.gql(&token, "{ viewer { id } }", json!({})).await;
    res.data();
    s.finish().await;
}

/// A database that cannot be reached is SERVICE_UNAVAILABLE with Retry-After, on every
/// surface, never INTERNAL_SERVER_ERROR.
#[tokio::test]
async fn an_unreachable_database_is_503_with_retry_after() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let s = TestServer::start(t).await;
    let token = s.token(&f.owner).await;
    // Close the pool the server shares: every statement now fails to get a connection.
    s.db.db.clone().close().await.unwrap();
    let res = s.post_query(&token, "{ viewer { id } }").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    let res = s.api("GET", "/sequenceSteps", &token, None).await;
    assert_eq!(res.status, 503, "{}", res.body);
    assert_eq!(res.body["errors"][0]["id"], "serviceUnavailable");
    let res = s
        .http
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    s.finish().await;
}

/// A pooled connection the database closed (a restart, a failover, an administrator's kill)
/// costs at most one request per connection an "unavailable" answer with Retry-After (503, or
/// a SERVICE_UNAVAILABLE error in a GraphQL 200), never an internal error, and the pool then
/// opens new ones: connections in steady use are not pinged before each statement
/// (`db::connect`), so a dead one is found by its next statement. SQLite's connections are
/// threads of the server and cannot be closed from outside.
#[tokio::test]
async fn connections_the_database_closed_are_replaced() {
    let t = TestDb::new().await;
    let backend = t.backend();
    if backend == sea_orm::DbBackend::Sqlite {
        return t.finish().await;
    }
    let f = fixture(&t.db).await;
    let admin = t.connect_again().await;
    let s = TestServer::start(t).await;
    let token = s.token(&f.owner).await;
    let query = "{ sequenceSteps(first: 5) { nodes { id sequence { name } } } }";
    // Warm the pool: several connections in use at once.
    let warm = (0..6).map(|_| s.gql(&token, query, json!({})));
    for res in futures_util::future::join_all(warm).await {
        res.data();
    }
    assert!(
        close_other_connections(&admin, backend).await > 0,
        "the server held connections"
    );
    // Each answer is clean ("ok"), or says the database was unavailable: 503 when the
    // failing statement was the token's, else a GraphQL error with that code in a 200; both
    // with Retry-After.
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let res = s.post_query(&token, query).await;
        let status = res.status().as_u16();
        let retry = res.headers().get("retry-after").cloned();
        let body: serde_json::Value = res.json().await.unwrap();
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        let outcome = match status {
            200 if errors.is_empty() => "ok",
            200 | 503
                if errors
                    .iter()
                    .all(|e| e["extensions"]["code"] == "SERVICE_UNAVAILABLE") =>
            {
                assert_eq!(retry.as_ref().map(|v| v.to_str().unwrap()), Some("1"));
                "unavailable"
            }
            _ => panic!("after the connections were closed: {status} {body} ({outcomes:?})"),
        };
        outcomes.push(outcome);
    }
    eprintln!("after the database closed the connections: {outcomes:?}");
    let unavailable = outcomes.iter().filter(|o| **o == "unavailable").count();
    assert!(
        unavailable <= 8,
        "one unavailable answer at most per pooled connection: {outcomes:?}"
    );
    assert!(
        outcomes[10..].iter().all(|o| *o == "ok"),
        "the pool recovers: {outcomes:?}"
    );
    admin.close().await.ok();
    s.finish().await;
}

/// Closes, from the database's side, every connection to `db`'s database but `db`'s own;
/// how many it closed.
async fn close_other_connections(
    db: &sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
) -> usize {
    use sea_orm::{ConnectionTrait, Statement};
    let query = |sql: &str| db.query_all_raw(Statement::from_string(backend, sql.to_owned()));
    if backend == sea_orm::DbBackend::Postgres {
        let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                   WHERE datname = current_database() AND pid <> pg_backend_pid()";
        return query(sql).await.unwrap().len();
    }
    let sql = "SELECT id FROM information_schema.processlist \
               WHERE db = DATABASE() AND id <> CONNECTION_ID()";
    let ids = query(sql).await.unwrap();
    for row in &ids {
        let id: i64 = row.try_get_by_index(0).unwrap();
        // A connection may have closed on its own meanwhile.
        db.execute_unprepared(&format!("KILL {id}")).await.ok();
    }
    ids.len()
}

/// A request like one that ran without error is not validated again (`graphql::schemas`);
/// any other is, in full: the same document with variables of the wrong type, or with a
/// value it has not run with, is refused with the validation error, nothing run, as on a
/// server that never saw the document.
#[tokio::test]
async fn validation_is_skipped_only_for_requests_that_ran_cleanly() {
    let (s, token) = server().await;
    let query = "query Q($first: Int, $state: [TaskState!]) { \
                 sequenceSteps(first: $first) { nodes { id } } \
                 tasks(first: 1, filter: { state: $state }) { nodes { id } } }";
    let good = json!({ "first": 2, "state": ["INCOMPLETE"] });
    let first = s.gql(&token, query, good.clone()).await;
    first.data();
    let again = s.gql(&token, query, good.clone()).await;
    assert_eq!(again.text, first.text, "the same request, the same answer");
    for bad in [
        json!({ "first": "two", "state": ["INCOMPLETE"] }),
        json!({ "first": 2, "state": ["NOT_A_STATE"] }),
        json!({ "first": 2, "state": [null] }),
    ] {
        let refused = s.gql(&token, query, bad.clone()).await;
        assert!(refused.body["data"].is_null(), "{bad}: {}", refused.body);
        let errors = refused.body["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{bad}: {}", refused.body);
        assert!(
            errors.iter().all(|e| e.get("path").is_none()),
            "a request error, before anything ran: {}",
            refused.body
        );
        let code = &errors[0]["extensions"]["code"];
        assert!(
            code == "BAD_USER_INPUT" || code == "GRAPHQL_VALIDATION_FAILED",
            "{}",
            refused.body
        );
        // And it stays refused the second time.
        let twice = s.gql(&token, query, bad).await;
        assert_eq!(twice.text, refused.text);
    }
    let later = s.gql(&token, query, good).await;
    assert_eq!(later.text, first.text);
    s.finish().await;
}

/// Production switches: no introspection, no field suggestions.
#[tokio::test]
async fn introspection_and_suggestions_can_be_turned_off() {
    let (s, f) = server_with(Limits {
        introspection: false,
        suggestions: false,
        ..Limits::default()
    })
    .await;
    let token = s.token(&f.owner).await;
    let res = s
        .gql(&token, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(res.data()["__schema"].is_null(), "{}", res.body);
    let res = s.gql(&token, "{ sequenceStepz { id } }", json!({})).await;
    let message = res.body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    // Queries still work.
    s.gql(&token, "{ viewer { id } }", json!({})).await.data();
    s.finish().await;
}
