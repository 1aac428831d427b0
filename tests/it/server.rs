//! A real stepgraph server on port 0 over a test database, and a small GraphQL client.

use serde_json::{Value, json};
use stepgraph::auth::{Viewer, tokens};
use stepgraph::graphql::Limits;
use stepgraph::server::{self, AppState};
use tokio::sync::oneshot;

use crate::support::TestDb;

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
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
        let (stop, stopped) = oneshot::channel::<()>();
        let mut state = AppState::new(db.db.clone(), limits);
        configure(&mut state);
        let task = tokio::spawn(server::run(listener, state, async {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            db,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task,
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

    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Gql {
        let res = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
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
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Gql {
            status,
            body,
            statements,
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
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
        self.db.finish().await;
    }
}
