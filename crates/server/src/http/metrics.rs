//! Prometheus metrics, served in the text format on a listener of their own
//! (`serve --metrics-listen`, off by default) so they are never exposed with the API.
//!
//! Names follow OpenTelemetry's semantic conventions as Prometheus exporters spell them (dots
//! to underscores, the unit as a suffix): `http_server_request_duration_seconds`,
//! `http_server_active_requests`, `db_client_connection_count`. Every label set is bounded
//! before it is recorded: the HTTP route is the route's template (`/api/v2/sequenceSteps/{id}`,
//! never the path a client sent), and a GraphQL operation name counts under its own name only
//! for the first [`MAX_OPERATION_NAMES`] names seen, as `other` after that, so a client making
//! names up cannot grow the series without limit.
//!
//! Recording is a few atomic additions and a lookup in a small map per request; with no
//! `--metrics-listen` nothing is recorded at all (`AppState::metrics` is `None`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::graphql::executor::BatchHook;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sea_orm::{DatabaseConnection, DbBackend};
use stepgraph_domain::db::pool_max;

/// GraphQL operation names counted under their own name; later ones count as `other`.
pub const MAX_OPERATION_NAMES: usize = 100;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    http_request_method: &'static str,
    http_route: &'static str,
    http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    http_request_method: &'static str,
    http_route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    replica: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadLabels {
    read: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    http_request_method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    graphql_operation_type: &'static str,
    graphql_operation_name: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DbLabels {
    db_system_name: &'static str,
    db_operation_name: &'static str,
    db_collection_name: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoaderLabels {
    stepgraph_loader_kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DocumentLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShedLabels {
    http_response_status_code: u16,
    reason: &'static str,
}

/// How a GraphQL operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The document did not parse or validate, or its variables did not fit: nothing ran.
    ValidationError,
    /// It ran, and some field answered an error.
    FieldError,
    /// Refused by the cost check before it ran.
    RefusedByCost,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ValidationError => "validation_error",
            Self::FieldError => "field_error",
            Self::RefusedByCost => "refused_by_cost",
        }
    }
}

/// The metrics of one server process.
pub struct Metrics {
    registry: Registry,
    /// The read replicas whose health each scrape reads (`serve --read-database-url`).
    replicas: Mutex<Option<Arc<stepgraph_web::replicas::Replicas>>>,
    replica_lag: Family<ReplicaLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    replica_usable: Family<ReplicaLabels, Gauge>,
    reads: Family<ReadLabels, Counter>,
    db: DatabaseConnection,
    http_duration: Family<HttpLabels, Histogram>,
    http_active: Family<MethodLabels, Gauge>,
    operations: Family<OperationLabels, Counter>,
    statements: Histogram,
    shed: Family<ShedLabels, Counter>,
    connections: Family<ConnectionLabels, Gauge>,
    costs: Histogram,
    request_sizes: Family<RouteLabels, Histogram>,
    response_sizes: Family<RouteLabels, Histogram>,
    websockets: Gauge,
    /// Statement durations, recorded through [`Metrics::statement_hook`].
    statement_hook: stepgraph_web::StatementHook,
    /// Loader batch sizes, recorded through [`Metrics::batch_hook`].
    batch_hook: BatchHook,
    documents: Family<DocumentLabels, Counter>,
    events: Family<EventLabels, Counter>,
    subscriptions: Gauge,
    feed_lag: Histogram,
    connection_waits: Histogram,
    /// The server's WebSocket permits and their number, read at each scrape.
    websocket_permits: Mutex<Option<(Arc<tokio::sync::Semaphore>, usize)>>,
    /// The requests' read pool (`entity::reads`), whose connections count with the pool's.
    read_pool: Mutex<Option<Arc<entity::reads::ReadPool>>>,
    connections_max: Gauge,
    /// Route templates and operation names, each kept once for the life of the process
    /// (both sets are bounded: the routes by the router, the names by
    /// [`MAX_OPERATION_NAMES`]).
    interned: Interner,
}

/// Label values kept once as `&'static str` for the life of the process. Values asked for
/// as `counted` are kept only while fewer than `limit` of them are (`None` past that); the
/// others (route templates, bounded by the router) always.
struct Interner {
    kept: RwLock<HashMap<String, &'static str>>,
    counted: Mutex<usize>,
    limit: usize,
}

impl Interner {
    fn new(limit: usize) -> Self {
        Self {
            kept: RwLock::default(),
            counted: Mutex::new(0),
            limit,
        }
    }

    /// `text` as a `&'static str`, kept once.
    fn get(&self, text: &str, counted: bool) -> Option<&'static str> {
        if let Some(found) = self
            .kept
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(text)
        {
            return Some(found);
        }
        let mut n = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        if counted && *n >= self.limit {
            return None;
        }
        let mut map = self.kept.write().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = map.get(text) {
            return Some(found);
        }
        if counted {
            *n += 1;
        }
        let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
        map.insert(text.to_owned(), kept);
        Some(kept)
    }
}

impl Metrics {
    pub fn new(db: &DatabaseConnection) -> Self {
        let max_connections = pool_max(db);
        let mut registry = Registry::default();
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ])
        });
        registry.register(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests",
            http_duration.clone(),
        );
        let http_active = Family::<MethodLabels, Gauge>::default();
        registry.register(
            "http_server_active_requests",
            "Number of active HTTP server requests",
            http_active.clone(),
        );
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "graphql_server_operations",
            "GraphQL operations by type, name and outcome (ok, validation_error, field_error, refused_by_cost)",
            operations.clone(),
        );
        let statements =
            Histogram::new([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 50.0, 100.0, 500.0]);
        registry.register(
            "db_client_statements_per_request",
            "SQL statements run by one API request",
            statements.clone(),
        );
        let shed = Family::<ShedLabels, Counter>::default();
        registry.register(
            "stepgraph_requests_shed",
            "Requests refused before they ran: 503 past the in-flight bound, 429 past a token's rate",
            shed.clone(),
        );
        let connections = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "db_client_connection_count",
            "Pooled database connections by state (idle, used)",
            connections.clone(),
        );
        let connections_max: Gauge = Gauge::default();
        connections_max.set(i64::from(max_connections));
        registry.register(
            "db_client_connection_max",
            "The most connections the server opens (the pool and the read pool)",
            connections_max.clone(),
        );
        let costs = Histogram::new([
            1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, 20000.0,
        ]);
        registry.register(
            "graphql_server_operation_cost",
            "The complexity the cost check measured each GraphQL operation at before it ran",
            costs.clone(),
        );
        let sizes = || {
            Histogram::new([
                100.0,
                1000.0,
                10_000.0,
                100_000.0,
                1_000_000.0,
                10_000_000.0,
            ])
        };
        let request_sizes = Family::<RouteLabels, Histogram>::new_with_constructor(sizes);
        registry.register(
            "http_server_request_body_size_bytes",
            "Size of HTTP server request bodies (as their Content-Length says)",
            request_sizes.clone(),
        );
        let response_sizes = Family::<RouteLabels, Histogram>::new_with_constructor(sizes);
        registry.register(
            "http_server_response_body_size_bytes",
            "Size of HTTP server response bodies (when known before they are sent)",
            response_sizes.clone(),
        );
        let websockets: Gauge = Gauge::default();
        registry.register(
            "stepgraph_websocket_connections",
            "Open GraphQL WebSocket (subscription) connections",
            websockets.clone(),
        );
        let statement_durations = Family::<DbLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5,
            ])
        });
        registry.register(
            "db_client_operation_duration_seconds",
            "Duration of SQL statements, by operation and the table they read or write first",
            statement_durations.clone(),
        );
        let statement_hook = statement_hook(db.get_database_backend(), statement_durations);
        let batches = Family::<LoaderLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0])
        });
        registry.register(
            "stepgraph_loader_batch_size",
            "Keys one GraphQL loader batch read in one go, by loader kind (by_id, pages, counts)",
            batches.clone(),
        );
        let batch_hook: BatchHook = Arc::new(move |kind: &'static str, keys: usize| {
            batches
                .get_or_create(&LoaderLabels {
                    stepgraph_loader_kind: kind,
                })
                .observe(keys as f64);
        });
        let documents = Family::<DocumentLabels, Counter>::default();
        registry.register(
            "graphql_server_documents",
            "GraphQL operations by how their document came: ad_hoc (its text), apq (an automatic persisted query's hash), trusted (a manifest's documentId), refused",
            documents.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "stepgraph_events_ingested",
            "Mailing events sent to POST /events/mailings, by status (applied, duplicate, rejected)",
            events.clone(),
        );
        let subscriptions: Gauge = Gauge::default();
        registry.register(
            "stepgraph_subscriptions_active",
            "GraphQL subscriptions running on this server's WebSockets",
            subscriptions.clone(),
        );
        let feed_lag = Histogram::new([
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        registry.register(
            "stepgraph_change_feed_lag_seconds",
            "Seconds from a change's commit to its broadcast to this server's subscriptions",
            feed_lag.clone(),
        );
        let connection_waits = Histogram::new([
            0.00001, 0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]);
        registry.register(
            "db_client_connection_wait_time_seconds",
            "Seconds a statement waited for a pooled connection (reported by sqlx when the server runs with metrics)",
            connection_waits.clone(),
        );
        let replica_lag =
            Family::<ReplicaLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "stepgraph_replica_lag_seconds",
            "How far each read replica is behind the primary at the monitor's last look (NaN: it did not answer)",
            replica_lag.clone(),
        );
        let replica_usable = Family::<ReplicaLabels, Gauge>::default();
        registry.register(
            "stepgraph_replica_usable",
            "1 while a read replica answers and lags no more than --max-replica-lag, else 0",
            replica_usable.clone(),
        );
        let reads = Family::<ReadLabels, Counter>::default();
        registry.register(
            "stepgraph_reads",
            "Reads by where they ran: replica, primary_no_replica, primary_behind (no replica had the client's writes in time), primary_retry (the replica failed under it)",
            reads.clone(),
        );
        Self {
            registry,
            replicas: Mutex::new(None),
            replica_lag,
            replica_usable,
            reads,
            db: db.clone(),
            statement_hook,
            connection_waits,
            batch_hook,
            documents,
            events,
            subscriptions,
            feed_lag,
            costs,
            request_sizes,
            response_sizes,
            websockets,
            websocket_permits: Mutex::new(None),
            read_pool: Mutex::new(None),
            connections_max,
            http_duration,
            http_active,
            operations,
            statements,
            shed,
            connections,
            interned: Interner::new(MAX_OPERATION_NAMES),
        }
    }

    /// Reads the replicas' health at each scrape, and counts where reads go.
    pub fn watch_replicas(&self, replicas: Arc<stepgraph_web::replicas::Replicas>) {
        let reads = self.reads.clone();
        replicas.observe_reads(Arc::new(move |read| {
            reads.get_or_create(&ReadLabels { read }).inc();
        }));
        *self.replicas.lock().unwrap_or_else(|p| p.into_inner()) = Some(replicas);
    }

    /// Counts the read pool's connections with the pool's, at each scrape (and its size in
    /// the maximum): together they are the connections the server holds.
    pub fn watch_read_pool(&self, pool: Arc<entity::reads::ReadPool>) {
        let cap = i64::try_from(pool.cap()).unwrap_or(i64::MAX);
        self.connections_max
            .set(i64::from(pool_max(&self.db)).saturating_add(cap));
        *self.read_pool.lock().unwrap_or_else(|p| p.into_inner()) = Some(pool);
    }

    /// Reads the open WebSockets at each scrape from the server's permits (`max` of them).
    pub fn watch_websockets(&self, permits: Arc<tokio::sync::Semaphore>, max: usize) {
        *self
            .websocket_permits
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((permits, max));
    }

    /// What counts each statement's duration ([`stepgraph_web::counted`] and
    /// [`stepgraph_web::observed`] call it).
    pub fn statement_hook(&self) -> &stepgraph_web::StatementHook {
        &self.statement_hook
    }

    /// What records each loader batch's size (a request's `BatchQueue` hands it to its
    /// loaders).
    pub fn batch_hook(&self) -> &BatchHook {
        &self.batch_hook
    }

    /// How an operation's document came (`ad_hoc`, `apq`, `trusted`, `refused`).
    pub fn document(&self, source: &'static str) {
        self.documents
            .get_or_create(&DocumentLabels { source })
            .inc();
    }

    /// An ingested event's status (`applied`, `duplicate`, `rejected`).
    pub fn event(&self, status: &'static str) {
        self.events.get_or_create(&EventLabels { status }).inc();
    }

    /// The gauge of running subscriptions.
    pub fn subscriptions(&self) -> &Gauge {
        &self.subscriptions
    }

    /// The histogram of waits for a pooled connection.
    pub fn connection_waits(&self) -> &Histogram {
        &self.connection_waits
    }

    /// A change broadcast `seconds` after its commit.
    pub fn feed_lag(&self, seconds: f64) {
        self.feed_lag.observe(seconds.max(0.0));
    }

    /// The complexity the cost check measured an operation at.
    pub fn cost(&self, complexity: usize) {
        self.costs.observe(complexity as f64);
    }

    /// A request that ran through the API's middleware, with its body sizes when known.
    pub fn request(
        &self,
        method: &'static str,
        route: Option<&str>,
        status: u16,
        seconds: f64,
        statements: Option<u64>,
        sizes: (Option<u64>, Option<u64>),
    ) {
        let route = route.map_or("other", |r| self.interned.get(r, false).unwrap_or("other"));
        let labels = RouteLabels {
            http_request_method: method,
            http_route: route,
        };
        if let Some(n) = sizes.0 {
            self.request_sizes.get_or_create(&labels).observe(n as f64);
        }
        if let Some(n) = sizes.1 {
            self.response_sizes.get_or_create(&labels).observe(n as f64);
        }
        self.http_duration
            .get_or_create(&HttpLabels {
                http_request_method: method,
                http_route: route,
                http_response_status_code: status,
            })
            .observe(seconds);
        if let Some(n) = statements {
            self.statements.observe(n as f64);
        }
    }

    /// The gauge of requests in flight with `method`.
    pub fn active(&self, method: &'static str) -> Gauge {
        self.http_active
            .get_or_create(&MethodLabels {
                http_request_method: method,
            })
            .clone()
    }

    /// A GraphQL operation that ended with `outcome`.
    pub fn operation(&self, kind: &'static str, name: Option<&str>, outcome: Outcome) {
        let name = match name {
            None => "",
            Some(name) => self.interned.get(name, true).unwrap_or("other"),
        };
        self.operations
            .get_or_create(&OperationLabels {
                graphql_operation_type: kind,
                graphql_operation_name: name,
                outcome: outcome.label(),
            })
            .inc();
    }

    /// A request refused by load shedding.
    pub fn shed(&self, status: u16, reason: &'static str) {
        self.shed
            .get_or_create(&ShedLabels {
                http_response_status_code: status,
                reason,
            })
            .inc();
    }

    /// The metrics in Prometheus's text format, the pool's gauges read now.
    pub fn render(&self) -> String {
        let (mut size, mut idle) = pool_counts(&self.db);
        if let Some(reads) = &*self.read_pool.lock().unwrap_or_else(|p| p.into_inner()) {
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            size = size.saturating_add(count(reads.held()));
            idle = idle.saturating_add(count(reads.idle_count()));
        }
        self.connections
            .get_or_create(&ConnectionLabels { state: "idle" })
            .set(i64::from(idle));
        self.connections
            .get_or_create(&ConnectionLabels { state: "used" })
            .set(i64::from(size.saturating_sub(idle)));
        if let Some((permits, max)) = &*self
            .websocket_permits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
        {
            let open = max.saturating_sub(permits.available_permits());
            self.websockets.set(i64::try_from(open).unwrap_or(i64::MAX));
        }
        if let Some(replicas) = &*self.replicas.lock().unwrap_or_else(|p| p.into_inner()) {
            for health in replicas.health() {
                let labels = ReplicaLabels {
                    replica: health.label,
                };
                self.replica_lag
                    .get_or_create(&labels)
                    .set(health.lag.map_or(f64::NAN, |l| l.as_secs_f64()));
                self.replica_usable
                    .get_or_create(&labels)
                    .set(i64::from(health.usable));
            }
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Tables named in statement metrics; statements name only the schema's tables, so this is
/// a guard, not a limit ever reached.
const MAX_TABLES: usize = 64;

/// The hook that records each statement's duration by operation and first table
/// ([`stepgraph_web::trace::summarize`]).
fn statement_hook(
    backend: DbBackend,
    durations: Family<DbLabels, Histogram>,
) -> stepgraph_web::StatementHook {
    let system = stepgraph_web::trace::system_name(backend);
    let tables = Interner::new(MAX_TABLES);
    Arc::new(
        move |sql: &str, elapsed: std::time::Duration, _failed: bool| {
            let (operation, table) = stepgraph_web::trace::summarize(sql);
            let table = table.map_or("", |t| tables.get(t, true).unwrap_or("other"));
            durations
                .get_or_create(&DbLabels {
                    db_system_name: system,
                    db_operation_name: operation,
                    db_collection_name: table,
                })
                .observe(elapsed.as_secs_f64());
        },
    )
}

/// The pool's open and idle connections.
fn pool_counts(db: &DatabaseConnection) -> (u32, u32) {
    let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
        DbBackend::MySql => {
            let pool = db.get_mysql_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
    }
}

/// An HTTP method as a label: the standard ones by name, anything else `_OTHER` (as
/// OpenTelemetry's conventions say), so a client cannot add label values.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

/// Copies the route template a request matched into its response, for the request log and
/// the metrics, which run outside the router where the template is not known.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(route);
    }
    res
}

/// The metrics listener's routes: `GET /metrics`.
pub fn router(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(metrics)
}

/// Serves [`router`] on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics)).await
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        metrics.render(),
    )
        .into_response()
}
