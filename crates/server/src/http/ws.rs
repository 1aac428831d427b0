//! GraphQL subscriptions over WebSocket at `GET /graphql` (an upgrade request), with the
//! `graphql-transport-ws` protocol that Apollo Client, urql and GraphiQL speak (and the legacy
//! `graphql-ws` one).
//!
//! The token travels in the `connection_init` payload (`{"Authorization": "Bearer ..."}`,
//! as GraphiQL sends its headers); a connection without a valid token is closed with 4403,
//! and a `subscribe` before `connection_init` with 4401, as graphql-transport-ws says.
//!
//! A connection's token is its session's, for as long as it stays open ([`Guard`]): it is
//! looked up again (never from a cache) on every `subscribe`, a timer fires at its
//! `expires_at`, and every authentication change the feed carries (a revocation from any
//! instance; on PostgreSQL also a locked or re-roled user, by triggers) makes it look again.
//! The moment the token no longer authenticates as the same viewer, the socket is closed
//! with 4403 and every subscription on it ends. A change the feed cannot carry (a user
//! locked by hand in SQL on SQLite or MySQL) is caught by the next `subscribe` or within
//! [`RECHECK_EVERY`].
//! Only subscriptions run here: queries and mutations go over HTTP, where their cost checks
//! and batching live. Each subscription document passes the same cost check as an HTTP
//! request. Bounds: [`MAX_PER_CONNECTION`] subscriptions per connection and
//! `--max-websockets` connections per server; a slow reader is ended by the feed (see
//! [`crate::live`]), never buffered without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

use async_graphql::futures_util::{self as futures_util, SinkExt};
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};

use crate::auth::Viewer;
use crate::auth::tokens::{self, Scope};
use crate::error::AppError;
use crate::graphql::context::{Budget, RequestCtx};
use crate::graphql::cost;
use crate::graphql::executor::BatchQueue;
use crate::graphql::subscription::LiveCtx;
use crate::http::graphql::error_response;
use crate::{AppState, SharedState};
use tokio::sync::broadcast::error::RecvError;

/// Subscriptions one connection may hold open at once.
pub const MAX_PER_CONNECTION: usize = 100;
/// How long a new socket may take to authenticate (`connection_init`).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The fallback re-check of an open connection's token, for changes the feed cannot carry.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);
/// graphql-transport-ws: the session is not (or no longer) authorised.
const FORBIDDEN: u16 = 4403;
/// graphql-transport-ws: a `subscribe` before the connection was acknowledged.
const UNAUTHORIZED: u16 = 4401;
/// Service Restart (RFC 6455's registry): the server is going away; graphql-ws clients
/// retry on it.
const SERVICE_RESTART: u16 = 1012;
/// The most a connection's unsent output may hold (a slow reader is otherwise ended by its
/// subscription backlog, see [`crate::live`]).
const MAX_WRITE_BUFFER: usize = 4 * 1024 * 1024;

/// `GET /graphql`: a WebSocket upgrade for subscriptions, else a query in the query string.
pub async fn get(State(state): State<SharedState>, req: axum::extract::Request) -> HttpResponse {
    use axum::extract::FromRequestParts;
    let (mut parts, _body) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(_) => {
            let query = RawQuery(parts.uri.query().map(str::to_owned));
            return crate::http::graphql::get(State(state), parts.headers, query).await;
        }
    };
    let protocol = parts
        .headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "ask for the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
        );
    };
    let Ok(permit) = state.websockets.clone().try_acquire_owned() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "too many open subscription connections; retry later",
        );
    };
    let guard = Arc::new(Guard::default());
    let executor = LiveExecutor {
        state: state.clone(),
        open: Arc::new(AtomicUsize::new(0)),
        guard: guard.clone(),
    };
    let max_message = state.limits.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // Small buffers: a connection mostly idles, and a thousand of them at the default
        // 128 KiB each would cost more than the rest of the server. Changes are written as
        // they come (no write batching), and what a client sends is bounded like an HTTP body.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| async move {
            let mut closing = state.closing.subscribe();
            let acked = Arc::new(AtomicBool::new(false));
            // A socket that never authenticates gives its slot back (graphql-ws closes it
            // with 4408 after its init timeout; dropping it is the same to the client).
            let unauthenticated = {
                let acked = acked.clone();
                async move {
                    tokio::time::sleep(INIT_TIMEOUT).await;
                    if acked.load(Ordering::Relaxed) {
                        std::future::pending::<()>().await;
                    }
                }
            };
            // At shutdown `serve` sends its close frame; a socket that cannot take it within
            // a second is dropped.
            let backstop = async move {
                let _ = closing.wait_for(|closing| *closing).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            };
            tokio::select! {
                () = serve(socket, executor, protocol, state.clone(), guard, acked) => {}
                () = backstop => {}
                () = unauthenticated => {}
            }
            drop(permit);
        })
        .into_response()
}

/// Runs the protocol over one socket: async-graphql's loop, with the close codes
/// graphql-transport-ws asks for (a rejected `connection_init` closes with 4403 Forbidden,
/// not 1002; a `subscribe` before it with 4401, not 1011), and the session's [`Guard`], which
/// closes the socket with 4403 the moment its token stops authenticating.
async fn serve(
    socket: WebSocket,
    executor: LiveExecutor,
    protocol: WebSocketProtocols,
    state: SharedState,
    guard: Arc<Guard>,
    acked: Arc<AtomicBool>,
) {
    let db = state.db.clone();
    let init_guard = guard.clone();
    let (mut sink, input) = socket.split();
    let input = input
        .take_while(|res| std::future::ready(res.is_ok()))
        .filter_map(|msg| {
            std::future::ready(match msg {
                Ok(msg @ (Message::Text(_) | Message::Binary(_))) => Some(msg.into_data()),
                _ => None,
            })
        });
    let refused = Arc::new(AtomicBool::new(false));
    let refused_in_init = refused.clone();
    let messages = async_graphql::http::WebSocket::new(executor, input, protocol)
        .on_connection_init(move |payload| async move {
            let authenticated = match bearer(&payload) {
                None => Err(async_graphql::Error::new(
                    "send {\"Authorization\": \"Bearer <token>\"} in connection_init",
                )),
                Some(token) => match tokens::session(&db, &token, Scope::Api).await {
                    Ok(session) => Ok((token, session)),
                    Err(e) => Err(async_graphql::Error::new(e.public_message())),
                },
            };
            match authenticated {
                Ok((token, session)) => {
                    acked.store(true, Ordering::Relaxed);
                    init_guard.open(token, session);
                    Ok(Data::default())
                }
                Err(err) => {
                    refused_in_init.store(true, Ordering::Relaxed);
                    Err(err)
                }
            }
        })
        .keepalive_timeout(Duration::from_secs(60));
    futures_util::pin_mut!(messages);
    let watch = guard.watch(&state);
    futures_util::pin_mut!(watch);
    let mut closing = state.closing.subscribe();
    loop {
        let msg = tokio::select! {
            // (The guard `wait_for` returns is dropped before the close frame is sent.)
            () = async { drop(closing.wait_for(|closing| *closing).await) } => {
                // 1012 (service restart): graphql-ws clients reconnect, to another instance
                // once the load balancer has moved away from this one.
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: SERVICE_RESTART,
                        reason: "the server is restarting; reconnect".into(),
                    })))
                    .await;
                break;
            }
            msg = messages.next() => match msg {
                Some(msg) => msg,
                None => break,
            },
            reason = &mut watch => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: FORBIDDEN,
                        reason: reason.into(),
                    })))
                    .await;
                break;
            }
        };
        let msg = match msg {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => {
                let (code, reason) = match code {
                    1002 if refused.load(Ordering::Relaxed) => (FORBIDDEN, reason),
                    1011 if guard.current().is_none() => (
                        UNAUTHORIZED,
                        "Unauthorized: send connection_init first".into(),
                    ),
                    _ => (code, reason),
                };
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
            }
        };
        if sink.send(msg).await.is_err() {
            break;
        }
    }
}

/// A connection's session: the token `connection_init` authenticated, checked again for as
/// long as the connection stays open (see the module's documentation).
#[derive(Default)]
struct Guard {
    /// The token and what it stood for at `connection_init`; `None` before.
    session: tokio::sync::watch::Sender<Option<(Arc<str>, tokens::Session)>>,
    /// Set by a failed check on `subscribe`: the connection must close.
    end: tokio::sync::Notify,
}

impl Guard {
    fn open(&self, token: String, session: tokens::Session) {
        self.session.send_replace(Some((token.into(), session)));
    }

    /// The token and session `connection_init` authenticated, if it has run.
    fn current(&self) -> Option<(Arc<str>, tokens::Session)> {
        self.session.borrow().clone()
    }

    /// Looks the token up again: `Ok` with the (same) viewer, `Err(None)` when the token no
    /// longer authenticates as that viewer (the connection is then closed), `Err(Some(e))`
    /// when the database could not answer (nothing is decided).
    async fn check(
        &self,
        db: &sea_orm::DatabaseConnection,
    ) -> Result<tokens::Session, Option<AppError>> {
        let Some((token, opened)) = self.current() else {
            return Err(None);
        };
        match tokens::session(db, &token, Scope::Api).await {
            Ok(now) if now.viewer == opened.viewer => Ok(now),
            Ok(_) | Err(AppError::Unauthenticated | AppError::Forbidden(_)) => {
                self.end.notify_one();
                Err(None)
            }
            Err(err) => Err(Some(err)),
        }
    }

    /// Resolves, with the reason, when the connection must close: its token expired, was
    /// revoked, lost its scope or its user changed (locked, re-roled, deleted). Pending until
    /// `connection_init` authenticated.
    async fn watch(&self, state: &AppState) -> &'static str {
        let mut opened = self.session.subscribe();
        let found = match opened.wait_for(Option::is_some).await {
            Ok(session) => session.clone(),
            Err(_) => None,
        };
        let Some((_, mut session)) = found else {
            return std::future::pending().await;
        };
        let mut feed = state.feed.watch();
        let mut recheck = tokio::time::Instant::now() + RECHECK_EVERY;
        loop {
            // A timer at the expiry, not a poll: the token stops working on the dot.
            let expiry = session.expires_at.map(|at| {
                let left = (at - crate::time::now()).to_std().unwrap_or_default();
                tokio::time::Instant::now() + left
            });
            let expired = async {
                match expiry {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = expired => return "the token of this connection expired",
                () = self.end.notified() => {
                    return "the token of this connection no longer authenticates";
                }
                received = feed.recv() => match received {
                    Ok(batch) if !batch.revokes_tokens() => continue,
                    // An authentication change, or batches missed: look again.
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => feed = state.feed.watch(),
                },
                () = tokio::time::sleep_until(recheck) => {}
            }
            recheck = tokio::time::Instant::now() + RECHECK_EVERY;
            match self.check(&state.db).await {
                Ok(now) => session = now,
                Err(None) => return "the token of this connection was revoked, or its user changed",
                // The database is away: keep the connection, check again later.
                Err(Some(_)) => {}
            }
        }
    }
}

/// The token in a `connection_init` payload: `Authorization` (any case) as `Bearer <token>`,
/// or a bare `token`.
fn bearer(payload: &serde_json::Value) -> Option<String> {
    let obj = payload.as_object()?;
    let value = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.as_str())
        .and_then(stepgraph_web::strip_bearer)
        .or_else(|| obj.get("token").and_then(|v| v.as_str()))?;
    Some(value.trim().to_string())
}

/// Runs subscription documents for one connection.
#[derive(Clone)]
struct LiveExecutor {
    state: SharedState,
    /// Subscriptions open on this connection.
    open: Arc<AtomicUsize>,
    /// The connection's session.
    guard: Arc<Guard>,
}

fn refuse(code: &'static str, message: &str) -> BoxStream<'static, Response> {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    err.extensions = Some(ext);
    stream::once(async move { Response::from_errors(vec![err]) }).boxed()
}

/// Gives a subscription's slot back when its stream is dropped (and takes it off the
/// server's gauge of running subscriptions, when metrics are on).
struct Slot(
    Arc<AtomicUsize>,
    Option<prometheus_client::metrics::gauge::Gauge>,
);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        if let Some(running) = &self.1 {
            running.dec();
        }
    }
}

impl Executor for LiveExecutor {
    async fn execute(&self, _request: Request) -> Response {
        let mut err = ServerError::new(
            "queries and mutations are sent over HTTP (POST /graphql); this WebSocket carries subscriptions",
            None,
        );
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "BAD_REQUEST");
        err.extensions = Some(ext);
        Response::from_errors(vec![err])
    }

    fn execute_stream(
        &self,
        request: Request,
        _session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if self.guard.current().is_none() {
            return refuse("UNAUTHENTICATED", "authenticate in connection_init first");
        }
        // Every `subscribe` looks the token up again, so a socket never outlives its token
        // by a new subscription.
        let this = self.clone();
        stream::once(async move {
            match this.guard.check(&this.state.db).await {
                Ok(session) => {
                    // Where only trusted documents run, a subscription is one of them too
                    // (by its APQ hash in `extensions`), checked before it is parsed.
                    let mut request = request;
                    let ad_hoc = session.scopes.contains(Scope::AdHoc);
                    match this.state.persisted.resolve(&mut request, None, ad_hoc) {
                        Ok(_) => this.start(request, session.viewer),
                        Err(refusal) => {
                            stream::once(async move { refusal.into_response() }).boxed()
                        }
                    }
                }
                Err(None) => refuse(
                    "UNAUTHENTICATED",
                    "the token of this connection no longer authenticates",
                ),
                Err(Some(err)) => refuse(err.code(), &err.public_message()),
            }
        })
        .flatten()
        .boxed()
    }
}

impl LiveExecutor {
    /// Runs one subscription document as `viewer`, after the cost check.
    fn start(&self, mut request: Request, viewer: Viewer) -> BoxStream<'static, Response> {
        let limits = self.state.limits;
        let operation = request.operation_name.clone();
        let doc = match request.parsed_query() {
            Ok(doc) => doc.clone(),
            // The executor reports a document that does not parse.
            Err(_) => return crate::graphql::execute_stream(self.state.schema.full(), request),
        };
        if let Err(refusal) = cost::check(
            &doc,
            operation.as_deref(),
            &request.variables,
            cost::shape(),
            &limits,
        ) {
            return stream::once(async move { refusal.into_response() }).boxed();
        }
        let is_subscription = cost::selected_operation(&doc, operation.as_deref())
            .is_some_and(|op| op.node.ty == OperationType::Subscription);
        if !is_subscription {
            return refuse(
                "BAD_REQUEST",
                "only subscriptions run over WebSocket; send queries and mutations with POST /graphql",
            );
        }
        if self.open.fetch_add(1, Ordering::Relaxed) >= MAX_PER_CONNECTION {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return refuse(
                "TOO_MANY_SUBSCRIPTIONS",
                &format!("at most {MAX_PER_CONNECTION} subscriptions per connection"),
            );
        }
        let running = self.state.metrics.as_ref().map(|m| {
            let running = m.subscriptions().clone();
            running.inc();
            running
        });
        let slot = Slot(self.open.clone(), running);
        let ctx = RequestCtx::new(
            viewer,
            entity::reads::Db::plain(self.state.db.clone()),
            BatchQueue::spawning(),
            Budget::new(limits.max_statements),
        );
        let live = LiveCtx {
            feed: self.state.feed.clone(),
            db: self.state.db.clone(),
        };
        request = request.data(ctx).data(live);
        let responses = crate::graphql::execute_stream(self.state.schema.full(), request);
        // The slot lives as long as the stream.
        responses
            .map(move |r| {
                let _ = &slot;
                r
            })
            .boxed()
    }
}
