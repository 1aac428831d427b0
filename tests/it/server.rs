//! A real stepgraph server on port 0 over a test database, and a small GraphQL client.

use serde_json::{Value, json};
use stepgraph::auth::{Viewer, tokens};
use stepgraph::graphql::Limits;
use stepgraph::server::{self, AppState};
use tokio::sync::watch;

use crate::support::TestDb;

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub http: reqwest::Client,
    stop: Option<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The same server with `stock_resolvers` (async-graphql's own executor for every
    /// object, no `graphql::fast`): [`TestServer::gql`] sends every query to both and
    /// compares the answers byte for byte.
    stock: String,
    stock_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The outcome of one JSON:API request.
#[derive(Debug)]
pub struct Api {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub statements: Option<u64>,
    pub body: Value,
}

impl Api {
    /// The first error's `source.parameter` or `source.pointer`.
    pub fn source(&self) -> &str {
        let source = &self.body["errors"][0]["source"];
        source["parameter"]
            .as_str()
            .or_else(|| source["pointer"].as_str())
            .unwrap_or_else(|| panic!("no error source in {}", self.body))
    }
}

/// The outcome of one GraphQL request.
#[derive(Debug)]
pub struct Gql {
    pub status: u16,
    pub body: Value,
    pub statements: Option<u64>,
    /// The body as sent.
    pub text: String,
}

impl Gql {
    /// `data`, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The message of the first error.
    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {}", self.body))
    }

    /// The `extensions.code` of the first error.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }
}

impl TestServer {
    pub async fn start(db: TestDb) -> Self {
        Self::start_with(db, Limits::default()).await
    }

    pub async fn start_with(db: TestDb, limits: Limits) -> Self {
        Self::start_configured(db, limits, |_| {}).await
    }

    /// Starts with the state adjusted by `configure` (CORS origins, ...).
    pub async fn start_configured(
        db: TestDb,
        limits: Limits,
        configure: impl FnOnce(&mut AppState),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop_signal = watch::Sender::new(false);
        let mut state = AppState::new(db.db.clone(), limits);
        configure(&mut state);
        // The twin shares the database, the change feed and the parsed documents; it has its
        // own schema and its own limits' counters (so it never rate-limits the test).
        let mut stock = state.clone();
        stock.schema = std::sync::Arc::new(stepgraph::graphql::schemas::Schemas::new(Limits {
            stock_resolvers: true,
            ..limits
        }));
        // Its requests are not the server's: the metrics count the server's only.
        stock.metrics = None;
        stock.shedding = std::sync::Arc::new(stepgraph::http::shed::Shedding::new(
            limits.max_in_flight,
            0,
        ));
        let stock_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stock_addr = stock_listener.local_addr().unwrap();
        let mut stock_stopped = stop_signal.subscribe();
        let stock_task = tokio::spawn(server::run(stock_listener, stock, async move {
            let _ = stock_stopped.changed().await;
        }));
        let mut stopped = stop_signal.subscribe();
        let task = tokio::spawn(server::run(listener, state, async move {
            let _ = stopped.changed().await;
        }));
        Self {
            base: format!("http://{addr}"),
            db,
            http: reqwest::Client::new(),
            stop: Some(stop_signal),
            task,
            stock: format!("http://{stock_addr}"),
            stock_task,
        }
    }

    /// A fresh token for a viewer.
    pub async fn token(&self, viewer: &Viewer) -> String {
        use sea_orm::EntityTrait;
        let user = entity::user::Entity::find_by_id(viewer.user_id)
            .one(&self.db.db)
            .await
            .unwrap()
            .unwrap();
        tokens::create(&self.db.db, &user.email, None)
            .await
            .unwrap()
            .token
    }

    /// A fresh token for the first user with this role (the sized seed has one admin).
    pub async fn token_for_role(&self, role: entity::enums::Role) -> String {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let user = entity::user::Entity::find()
            .filter(entity::user::Column::Role.eq(role))
            .order_by_asc(entity::user::Column::Id)
            .one(&self.db.db)
            .await
            .unwrap()
            .expect("a user with that role");
        self.token(&Viewer {
            user_id: user.id,
            role: user.role,
        })
        .await
    }

    /// A GraphQL request. A query (not a mutation or subscription) is also sent to the twin
    /// that resolves through async-graphql's own executor, and both answers must be the same
    /// bytes: `graphql::fast` may change how fast an answer comes, never what it says.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Gql {
        let body = json!({ "query": query, "variables": variables });
        let mut res = self.post_graphql(&self.base, token, &body).await;
        let trimmed = query.trim_start();
        if res.status != 200
            || trimmed.starts_with("mutation")
            || trimmed.starts_with("subscription")
        {
            return res;
        }
        // A test that writes concurrently may change the data between two requests. So the
        // stock answer is compared with the fast answers just before and just after it: a
        // difference while those two agree is a disagreement of the executors (the tests'
        // writes only move forward: `updatedAt`, counters); while they differ the data is
        // moving and the next round tries again.
        for _ in 0..5 {
            let stock = self.post_graphql(&self.stock, token, &body).await;
            if stock.status != 200 || stock.text == res.text {
                return res;
            }
            let after = self.post_graphql(&self.base, token, &body).await;
            assert!(
                after.text != res.text,
                "graphql::fast and async-graphql's own executor disagree on\n{query}\n\
                 fast:  {}\nstock: {}",
                res.text,
                stock.text
            );
            res = after;
        }
        res
    }

    /// A GraphQL query posted to the server alone, its response as it came (status, headers
    /// and body unread): for tests that look at more than [`Gql`] keeps.
    pub async fn post_query(&self, token: &str, query: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
    }

    async fn post_graphql(&self, base: &str, token: &str, body: &Value) -> Gql {
        let res = self
            .http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        Self::read(res).await
    }

    pub async fn read(res: reqwest::Response) -> Gql {
        let status = res.status().as_u16();
        let statements = res
            .headers()
            .get("x-sql-statements")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Gql {
            status,
            body,
            statements,
            text,
        }
    }

    /// A JSON:API request under `/api/v2` (`path` starts with `/`); a body is sent as
    /// `application/vnd.api+json`.
    pub async fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Api {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}/api/v2{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/vnd.api+json")
                .body(body.to_string());
        }
        Self::read_api(req.send().await.unwrap()).await
    }

    pub async fn read_api(res: reqwest::Response) -> Api {
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let location = header("location");
        let statements = header("x-sql-statements").and_then(|v| v.parse().ok());
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Api {
            status,
            content_type,
            location,
            statements,
            body,
        }
    }

    /// Stops the server (gracefully) and drops the test database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        self.task.await.unwrap().unwrap();
        self.stock_task.await.unwrap().unwrap();
        self.db.finish().await;
    }
}
