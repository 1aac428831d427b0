//! GraphQL subscriptions over a real WebSocket (graphql-transport-ws): changes arrive, only
//! visible ones, across server instances on one database, and a revoked token ends them.

use std::time::Duration;

use entity::enums::StepType;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stepgraph::auth::tokens::{self, Scope};
use stepgraph::service::steps::{self, NewStep};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::server::TestServer;
use crate::support::{TestDb, fixture};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws client.
pub struct Client {
    socket: Socket,
}

impl Client {
    /// Opens a socket; `None` when the server refused the upgrade.
    pub async fn open(base: &str) -> Socket {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        socket
    }

    /// Connects and authenticates with `connection_init`.
    pub async fn connect(base: &str, token: &str) -> Self {
        let mut client = Self {
            socket: Self::open(base).await,
        };
        client
            .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
            .await;
        let ack = client
            .next(Duration::from_secs(5))
            .await
            .expect("an answer");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next protocol message (pings answered, pongs skipped); `None` after `wait`, or
    /// `Some({"type": "close", "code": ..})` when the server closed the socket.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match msg {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    match value["type"].as_str() {
                        Some("ping") => self.send(json!({"type": "pong"})).await,
                        Some("pong") => {}
                        _ => return Some(value),
                    }
                }
                Ok(Message::Close(frame)) => {
                    return Some(
                        json!({"type": "close", "code": frame.map(|f| u16::from(f.code))}),
                    );
                }
                Ok(_) => {}
                Err(_) => return Some(json!({"type": "close", "code": null})),
            }
        }
    }
}

const STEPS: &str = "subscription($filter: SequenceStepFilter) { sequenceStepChanged(filter: $filter) { kind id node { id order canWrite sequence { id name } } } }";

/// A task step in `sequence_id`, every optional field left out.
pub(crate) fn new_step(sequence_id: i64) -> NewStep {
    NewStep {
        sequence_id,
        step_type: StepType::Task,
        order: None,
        interval: Some(60),
        date: None,
        task_note: None,
        task_autoskip_delay: None,
        call_purpose_id: None,
        task_priority_id: None,
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// A member subscribed to every step hears of steps in sequences they can see, and nothing
/// of another member's private sequence.
#[tokio::test]
async fn subscribers_only_hear_of_rows_they_can_see() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let s = TestServer::start(t).await;
    let token = s.token(&f.other).await;
    let mut client = Client::connect(&s.base, &token).await;
    client.subscribe("1", STEPS, json!({})).await;
    // Let the subscription reach the feed before writing.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let private = steps::create(&s.db.db, &f.owner, new_step(f.interval_private.id))
        .await
        .unwrap();
    let shared = steps::create(&s.db.db, &f.owner, new_step(f.interval_shared.id))
        .await
        .unwrap();
    let msg = client.next(WAIT).await.expect("a change");
    assert_eq!(msg["type"], "next", "{msg}");
    let change = &msg["payload"]["data"]["sequenceStepChanged"];
    assert_eq!(change["kind"], "CREATED");
    assert_eq!(
        change["id"],
        json!(shared.id.to_string()),
        "not the private step {}",
        private.id
    );
    assert_eq!(
        change["node"]["sequence"]["id"],
        json!(f.interval_shared.id.to_string())
    );
    // Resolved as the subscriber: what this member's own query says.
    let seen = s
        .gql(
            &token,
            "query($id: ID!) { sequenceStep(id: $id) { canWrite } }",
            json!({"id": shared.id.to_string()}),
        )
        .await;
    assert_eq!(
        change["node"]["canWrite"],
        seen.data()["sequenceStep"]["canWrite"]
    );

    // Updating and deleting the private step tells this member nothing either.
    steps::delete(&s.db.db, &f.owner, private.id, None)
        .await
        .unwrap();
    steps::delete(&s.db.db, &f.owner, shared.id, None)
        .await
        .unwrap();
    let msg = client.next(WAIT).await.expect("a change");
    let change = &msg["payload"]["data"]["sequenceStepChanged"];
    assert_eq!(
        (change["kind"].as_str(), change["id"].as_str()),
        (Some("DELETED"), Some(shared.id.to_string().as_str())),
        "{msg}"
    );
    assert_eq!(change["node"], Value::Null);
    assert!(client.next(Duration::from_millis(1500)).await.is_none());
    s.finish().await;
}

/// Two server instances on one database: a change written through A reaches a subscriber of
/// B (PostgreSQL: through NOTIFY; the other backends: by polling the feed).
#[tokio::test]
async fn changes_reach_subscribers_of_another_instance() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let second = t.connect_again().await;
    let a = TestServer::start(t).await;
    let b = TestServer::start(TestDb::sharing(second)).await;
    let token = a.token(&f.owner).await;
    let mut client = Client::connect(&b.base, &token).await;
    client
        .subscribe(
            "s",
            STEPS,
            json!({"filter": {"sequence": {"id": [f.interval_shared.id.to_string()]}}}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Written through A's HTTP API.
    let created = a
        .gql(
            &token,
            "mutation($s: ID!) { createSequenceStep(input: { sequenceId: $s, stepType: TASK, interval: 60 }) { id } }",
            json!({"s": f.interval_shared.id.to_string()}),
        )
        .await;
    let id = created.data()["createSequenceStep"]["id"].clone();
    // A step in another sequence does not match the filter.
    steps::create(&a.db.db, &f.owner, new_step(f.interval_private.id))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let msg = client
        .next(WAIT)
        .await
        .expect("the change, through the other instance");
    let change = &msg["payload"]["data"]["sequenceStepChanged"];
    assert_eq!(
        (change["kind"].as_str(), &change["id"]),
        (Some("CREATED"), &id),
        "{msg}"
    );
    assert_eq!(change["node"]["canWrite"], json!(true));
    if a.db.backend() == sea_orm::DbBackend::Postgres {
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "NOTIFY, not the 1 s poll"
        );
    }
    assert!(client.next(Duration::from_millis(1500)).await.is_none());
    b.finish().await;
    a.finish().await;
}

/// Mailing events move counters, and subscribers see the step and the sequence update.
#[tokio::test]
async fn counter_moves_are_updates() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let s = TestServer::start(t).await;
    let step = steps::create(&s.db.db, &f.owner, new_step(f.interval_shared.id))
        .await
        .unwrap();
    let admin = s.token(&f.admin).await;
    let created = s
        .api(
            "POST",
            "/mailings",
            &admin,
            Some(json!({"data": {"type": "mailing", "relationships": {"sequenceStep": {"data": {"type": "sequenceStep", "id": step.id}}}}})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let mailing = created.body["data"]["id"].as_i64().unwrap();

    let mut client = Client::connect(&s.base, &admin).await;
    client
        .subscribe(
            "steps",
            "subscription($id: ID!) { sequenceStepChanged(filter: { id: [$id] }) { kind node { openCount } } }",
            json!({"id": step.id.to_string()}),
        )
        .await;
    client
        .subscribe(
            "seq",
            "subscription($id: ID) { sequenceChanged(id: $id) { kind id node { openCount } } }",
            json!({"id": f.interval_shared.id.to_string()}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ingest = tokens::create_with(&s.db.db, "user0@test.example", None, None, &[Scope::Ingest])
        .await
        .unwrap()
        .token;
    let res = s
        .http
        .post(format!("{}/events/mailings", s.base))
        .bearer_auth(&ingest)
        .json(&json!({"events": [{"idempotencyKey": "o1", "mailingId": mailing, "type": "opened", "occurredAt": "2026-11-20T10:00:00Z"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let mut got = std::collections::HashMap::new();
    for _ in 0..2 {
        let msg = client.next(WAIT).await.expect("an update");
        got.insert(
            msg["id"].as_str().unwrap().to_string(),
            msg["payload"]["data"].clone(),
        );
    }
    assert_eq!(
        got["steps"]["sequenceStepChanged"],
        json!({"kind": "UPDATED", "node": {"openCount": 1}})
    );
    assert_eq!(got["seq"]["sequenceChanged"]["node"]["openCount"], json!(1));
    s.finish().await;
}

/// Revoking the token closes its socket (4403) at once; a connection without a valid token
/// is refused, and queries are sent over HTTP.
#[tokio::test]
async fn a_revoked_token_ends_its_subscriptions() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let s = TestServer::start(t).await;
    let email = format!("user{}@test.example", 1);
    let issued = tokens::create(&s.db.db, &email, None).await.unwrap();
    assert_eq!(issued.record.user_id, f.owner.user_id);
    let mut client = Client::connect(&s.base, &issued.token).await;
    client.subscribe("1", STEPS, json!({})).await;
    client.subscribe("q", "{ viewer { id } }", json!({})).await;
    let refused = client.next(WAIT).await.unwrap();
    assert_eq!(refused["id"], "q", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokens::revoke(&s.db.db, &issued.record.id.to_string())
        .await
        .unwrap();
    // The socket itself is closed with 4403, subscriptions and all: no new `subscribe` on it.
    let mut last = None;
    while let Some(msg) = client.next(Duration::from_secs(5)).await {
        if msg["type"] == "close" {
            last = Some(msg);
            break;
        }
        assert_ne!(msg["type"], "next", "data after the revocation: {msg}");
    }
    assert_eq!(last, Some(json!({"type": "close", "code": 4403})));

    // No token, or a bad one: the connection is closed with 4403.
    let mut socket = Client {
        socket: Client::open(&s.base).await,
    };
    socket
        .send(json!({"type": "connection_init", "payload": {"Authorization": "Bearer sgt_nope"}}))
        .await;
    let closed = socket.next(WAIT).await.unwrap();
    assert_eq!(closed, json!({"type": "close", "code": 4403}));
    // A member's api token is fine, an ingest-only one is not.
    let ingest = tokens::create_with(&s.db.db, "user0@test.example", None, None, &[Scope::Ingest])
        .await
        .unwrap();
    let mut socket = Client {
        socket: Client::open(&s.base).await,
    };
    socket
        .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", ingest.token)}}))
        .await;
    assert_eq!(socket.next(WAIT).await.unwrap()["code"], 4403);
    s.finish().await;
}

/// A subscriber that stops reading is ended once it falls `subscription_backlog` batches
/// behind: the server stops at what the socket holds and never queues changes for it.
#[tokio::test]
async fn a_subscriber_that_stops_reading_is_ended_not_buffered() {
    use stepgraph::service::Patch;
    use stepgraph::service::steps::StepChanges;
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let limits = stepgraph::graphql::Limits {
        subscription_backlog: 4,
        ..Default::default()
    };
    let s = TestServer::start_with(t, limits).await;
    let step = steps::create(&s.db.db, &f.owner, new_step(f.interval_shared.id))
        .await
        .unwrap();
    let token = s.token(&f.owner).await;
    let mut client = Client::connect(&s.base, &token).await;
    client
        .subscribe(
            "big",
            "subscription { sequenceStepChanged { node { taskNote } } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 60,000-character notes: the sockets' buffers fill after some changes (a few MB), the
    // server stops polling this subscription, and the feed runs ahead of it. The updates are
    // spaced out so that each is a batch of its own: the feed reads a burst in one batch
    // (live::COALESCE, 5 ms), and repeated updates of one row collapse into one change.
    let note = "x".repeat(60_000);
    let updates = 400;
    for i in 0..updates {
        let changes = StepChanges {
            task_note: Patch::Set(format!("{i} {note}")),
            ..Default::default()
        };
        steps::update(&s.db.db, &f.owner, step.id, changes)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(12)).await;
    }
    // Now read what was sent: some changes, then the overflow error, then the end.
    let mut received = 0;
    let mut overflow = false;
    while let Some(msg) = client.next(WAIT).await {
        match msg["type"].as_str() {
            Some("next") if msg["payload"]["errors"].is_array() => {
                overflow |=
                    msg["payload"]["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_OVERFLOW";
            }
            Some("next") => received += 1,
            Some("complete") => break,
            other => panic!("unexpected {other:?}: {msg}"),
        }
    }
    assert!(overflow, "the subscription was told it fell behind");
    assert!(
        received < updates,
        "{received} of {updates} changes were sent"
    );
    s.finish().await;
}

/// A socket that never sends `connection_init` is dropped after the 10 s init timeout, so idle
/// sockets cannot hold the server's connection slots.
#[tokio::test]
async fn a_socket_that_never_authenticates_is_dropped() {
    let t = TestDb::new().await;
    let s = TestServer::start(t).await;
    let mut socket = Client {
        socket: Client::open(&s.base).await,
    };
    let started = std::time::Instant::now();
    let answer = socket.next(Duration::from_secs(20)).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
    assert!(
        answer.as_ref().is_none_or(|m| m["type"] == "close"),
        "nothing but the close: {answer:?}"
    );
    s.finish().await;
}

/// A socket never outlives its token: it closes (4403) the moment the token expires (a timer,
/// not a poll), and a `subscribe` after the user was locked behind the server's back (no
/// feed event: SQL by hand) closes it too, before any data; a `subscribe` before
/// `connection_init` is 4401, as graphql-transport-ws says.
#[tokio::test]
async fn a_websocket_never_outlives_its_token() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let s = TestServer::start(t).await;
    let email = "user1@test.example";

    // 4401 before init.
    let mut early = Client {
        socket: Client::open(&s.base).await,
    };
    early.subscribe("1", STEPS, json!({})).await;
    assert_eq!(
        early.next(WAIT).await,
        Some(json!({"type": "close", "code": 4401}))
    );

    // Expiry: a token good for two more seconds.
    let expires_at = stepgraph::time::now() + chrono::Duration::seconds(2);
    let issued = tokens::create_with(&s.db.db, email, None, Some(expires_at), &[Scope::Api])
        .await
        .unwrap();
    let mut client = Client::connect(&s.base, &issued.token).await;
    client.subscribe("1", STEPS, json!({})).await;
    let started = std::time::Instant::now();
    let closed = client.next(WAIT).await;
    assert_eq!(closed, Some(json!({"type": "close", "code": 4403})));
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(6),
        "closed {waited:?} after subscribing to a token that expired in 2 s"
    );

    // A user locked by hand in SQL (no feed event on SQLite and MySQL): the next `subscribe`
    // looks the token up again and closes the socket before any data.
    let issued = tokens::create(&s.db.db, email, None).await.unwrap();
    let mut client = Client::connect(&s.base, &issued.token).await;
    s.db.exec(&format!(
        "UPDATE users SET locked = TRUE WHERE id = {}",
        f.owner.user_id
    ))
    .await
    .unwrap();
    client.subscribe("2", STEPS, json!({})).await;
    steps::create(&s.db.db, &f.admin, new_step(f.interval_shared.id))
        .await
        .unwrap();
    let mut last = None;
    while let Some(msg) = client.next(WAIT).await {
        if msg["type"] == "close" {
            last = Some(msg);
            break;
        }
        assert!(
            msg["payload"]["data"].is_null(),
            "data for a locked user: {msg}"
        );
    }
    assert_eq!(last, Some(json!({"type": "close", "code": 4403})));
    s.finish().await;
}
