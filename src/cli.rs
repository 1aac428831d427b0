//! The `stepgraph` command line. Every flag can also be set with an environment variable,
//! shown in `--help`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;

use crate::auth::tokens;
use crate::db::{self, DbConfig};
use crate::graphql::Limits;
use crate::seed::{demo, sized};

#[derive(Debug, Parser)]
#[command(
    name = "stepgraph",
    version,
    about = "GraphQL and JSON:API server for Outreach sequence steps"
)]
pub struct Cli {
    /// Database URL: sqlite://FILE, postgres://USER@HOST/DB or mysql://USER@HOST/DB.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://stepgraph.db",
        global = true
    )]
    pub database_url: String,

    /// Maximum number of database connections [default: 4 on SQLite, 8 otherwise]: on
    /// PostgreSQL and MySQL half serve the requests' reads (kept open between statements),
    /// half everything else.
    #[arg(long, env = "STEPGRAPH_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// Seconds a statement waits for a pooled connection before the request fails with 503
    /// (also the connect timeout). While the database is down, sqlx retries with a backoff
    /// capped at a fifth of this, so it also bounds how long the server takes to notice the
    /// database is back.
    #[arg(long, env = "STEPGRAPH_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = DbConfig::DEFAULT_ACQUIRE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub db_acquire_timeout_secs: u64,

    /// PostgreSQL only: `generic` plans each prepared statement once per connection
    /// (`plan_cache_mode = force_generic_plan`); `auto` leaves the choice to PostgreSQL, which
    /// plans our statements again on every execution (docs/PERFORMANCE.md).
    #[arg(long, env = "STEPGRAPH_PG_PLAN_CACHE", default_value = "generic", value_parser = parse_plan_cache, global = true)]
    pub pg_plan_cache: db::PlanCache,

    /// Threads that run requests (tokio's worker threads) [default: the cores this process
    /// may use]. Fewer than the cores when the database or other busy processes share the
    /// machine: each thread more adds hand-offs between threads and moves the database's
    /// processes between cores, which costs CPU per request on both sides
    /// (docs/PERFORMANCE.md).
    #[arg(long, env = "STEPGRAPH_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024), global = true)]
    pub worker_threads: Option<u16>,

    /// Log filter, in tracing's EnvFilter syntax (for example `info,sqlx=warn`).
    #[arg(
        long,
        env = "STEPGRAPH_LOG",
        default_value = "info,sea_orm_migration=warn",
        global = true
    )]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object a line, for a log pipeline:
    /// `timestamp`, `level`, `target`, `fields` with the message, and the spans it ran in).
    #[arg(long, env = "STEPGRAPH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (applies pending migrations first).
    Serve(Box<ServeArgs>),
    /// Apply, roll back or inspect schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load demo data or sized benchmark data (applies pending migrations first).
    Seed(SeedArgs),
    /// Create, list or revoke API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Copy an account from an upstream into this database (applies pending migrations first).
    Sync {
        #[command(subcommand)]
        source: SyncSource,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncSource {
    /// Mirror an Outreach account through its API v2: everything the first time, then what
    /// changed since the last sync, keeping Outreach's ids. Authenticates with
    /// `OUTREACH_ACCESS_TOKEN`, or with a refresh token: `OUTREACH_CLIENT_ID`,
    /// `OUTREACH_CLIENT_SECRET` (or `_FILE`), `OUTREACH_REFRESH_TOKEN` (or `_FILE`) and
    /// `OUTREACH_TOKEN_URL`. Secrets are read from the environment or a file only.
    Outreach(OutreachArgs),
}

#[derive(Debug, Args)]
pub struct OutreachArgs {
    /// Outreach's API root (`/api/v2` is added).
    #[arg(
        long,
        env = "OUTREACH_BASE_URL",
        default_value = "https://api.outreach.io"
    )]
    pub base_url: String,
    /// Reconcile ids now: delete here what was deleted upstream (otherwise done when the last
    /// reconciliation is older than --reconcile-every).
    #[arg(long)]
    pub reconcile: bool,
    /// How often ids are reconciled: `30m`, `12h`, `1d`.
    #[arg(long, env = "STEPGRAPH_SYNC_RECONCILE_EVERY", default_value = "24h", value_parser = parse_duration)]
    pub reconcile_every: chrono::Duration,
    /// Resources per request (`page[size]`, at most 1000).
    #[arg(long, env = "STEPGRAPH_SYNC_PAGE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// The share of Outreach's hourly rate limit the sync may use, in (0, 1].
    #[arg(long, env = "STEPGRAPH_SYNC_RATE_SHARE", default_value_t = 0.5, value_parser = parse_share)]
    pub rate_share: f64,
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!(
            "{text:?} is not a share above 0 and at most 1 (0.5 is half)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STEPGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Serve Prometheus metrics at `/metrics` on this address (its own listener, never the
    /// API's; keep it on loopback or a private network). Off when not given.
    #[arg(long, env = "STEPGRAPH_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Log a warning for every GraphQL request that takes at least this many milliseconds,
    /// with its operations, their measured cost, its SQL statement count and its slowest
    /// statement (SQL with placeholders, never bound values); 0 logs every request. Off when
    /// not given.
    #[arg(long, env = "STEPGRAPH_SLOW_OPERATION_MS")]
    pub slow_operation_ms: Option<u64>,
    /// On SIGTERM or Ctrl-C, answer `/readyz` with 503 at once and keep serving for this many
    /// seconds, so a load balancer moves traffic away first; then close WebSockets with 1012
    /// (graphql-ws clients reconnect) and finish the requests in flight.
    #[arg(long, env = "STEPGRAPH_DRAIN_SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_secs: u64,
    /// A PostgreSQL streaming replica to send queries to (repeatable; in the environment,
    /// comma-separated). Mutations, writes, ingest, tokens and subscriptions stay on the
    /// primary; a read that must see a write (`X-Commit-Position`, or its token's last write)
    /// waits for a replica that has replayed it, else reads from the primary.
    #[arg(
        long = "read-database-url",
        env = "STEPGRAPH_READ_DATABASE_URLS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub read_database_urls: Vec<String>,
    /// Skip a replica that lags the primary by more than this many seconds (decimals
    /// allowed), until it catches up.
    #[arg(long, env = "STEPGRAPH_MAX_REPLICA_LAG", default_value_t = 5.0, value_parser = replica_lag)]
    pub max_replica_lag: f64,
    /// How long a read that must see a write waits for a replica to replay it before it reads
    /// from the primary, in milliseconds.
    #[arg(long, env = "STEPGRAPH_REPLICA_WAIT_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub replica_wait_ms: u64,
    /// Accept bearer JWTs from this OpenID Connect issuer beside stepgraph's tokens
    /// (repeatable; in the environment, comma-separated); its keys are found through
    /// `ISSUER/.well-known/openid-configuration`. https, or http on a loopback address.
    #[arg(
        long = "oidc-issuer",
        env = "STEPGRAPH_OIDC_ISSUERS",
        value_delimiter = ','
    )]
    pub oidc_issuers: Vec<String>,
    /// The `aud` every identity provider's JWT must hold (this API's client id there);
    /// required with `--oidc-issuer`.
    #[arg(long, env = "STEPGRAPH_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// The JWT claim that names the stepgraph user, matched against users' emails.
    #[arg(long, env = "STEPGRAPH_OIDC_USER_CLAIM", default_value = "email")]
    pub oidc_user_claim: String,
    /// The JWT signing algorithms accepted (asymmetric only).
    #[arg(long, env = "STEPGRAPH_OIDC_ALGORITHMS", default_value = "RS256,ES256")]
    pub oidc_algorithms: String,
    /// Clock skew allowed on a JWT's `exp` and `nbf`, in seconds.
    #[arg(long, env = "STEPGRAPH_OIDC_LEEWAY_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub oidc_leeway_secs: u64,
    /// On an empty database, load the demo data and print a token per role.
    #[arg(long, env = "STEPGRAPH_DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,
    /// Maximum nesting depth of a GraphQL query.
    #[arg(long, env = "STEPGRAPH_MAX_DEPTH", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Maximum complexity of a GraphQL query (connections multiply by their page size).
    #[arg(long, env = "STEPGRAPH_MAX_COMPLEXITY", default_value_t = Limits::default().max_complexity)]
    pub max_complexity: usize,
    /// Maximum operations in one batched GraphQL request.
    #[arg(long, env = "STEPGRAPH_MAX_BATCH", default_value_t = Limits::default().max_batch)]
    pub max_batch: usize,
    /// Maximum request body size, in bytes.
    #[arg(long, env = "STEPGRAPH_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser, comma-separated (`*` for any).
    /// Empty: same origin only.
    #[arg(long, env = "STEPGRAPH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// `Host` names the server answers, comma-separated (`.example.com` includes its
    /// subdomains; `*` any name). Empty: on a loopback address only loopback names
    /// (`localhost`, `127.0.0.1`, `[::1]`) and the public URL's host, elsewhere any name.
    /// The defence against DNS rebinding.
    #[arg(long, env = "STEPGRAPH_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// The public base URL that JSON:API links start with (`https://api.example.com`), for a
    /// server behind a proxy. Unset: the scheme is http and the host the request's `Host`.
    #[arg(long, env = "STEPGRAPH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Maximum fields a GraphQL document may select once its fragments are expanded.
    #[arg(long, env = "STEPGRAPH_MAX_FIELDS", default_value_t = Limits::default().max_fields)]
    pub max_fields: usize,
    /// Maximum aliases in a GraphQL document.
    #[arg(long, env = "STEPGRAPH_MAX_ALIASES", default_value_t = Limits::default().max_aliases)]
    pub max_aliases: usize,
    /// Maximum root fields in a GraphQL operation.
    #[arg(long, env = "STEPGRAPH_MAX_ROOT_FIELDS", default_value_t = Limits::default().max_root_fields)]
    pub max_root_fields: usize,
    /// Maximum SQL statements one GraphQL request may run.
    #[arg(long, env = "STEPGRAPH_MAX_STATEMENTS", default_value_t = Limits::default().max_statements)]
    pub max_statements: usize,
    /// Maximum items in one list argument or filter (`filter[id]=1,2,...`).
    #[arg(long, env = "STEPGRAPH_MAX_LIST_ITEMS", default_value_t = Limits::default().max_list_items)]
    pub max_list_items: usize,
    /// Maximum API requests in flight at once; one more is answered 503 with Retry-After.
    #[arg(long, env = "STEPGRAPH_MAX_IN_FLIGHT", default_value_t = Limits::default().max_in_flight)]
    pub max_in_flight: usize,
    /// Requests per minute per bearer token, beyond which the API answers 429 (0: no limit).
    #[arg(long, env = "STEPGRAPH_RATE_LIMIT_PER_MINUTE", default_value_t = Limits::default().rate_limit_per_minute)]
    pub rate_limit_per_minute: u32,
    /// Keep the per-token rate limit's buckets in the database (PostgreSQL only), so that it
    /// holds across every instance on it: a token is cut off at the same count whichever
    /// instance it reaches. Costs one statement on the primary per request with a token.
    #[arg(long, env = "STEPGRAPH_SHARED_RATE_LIMIT", value_parser = BoolishValueParser::new())]
    pub shared_rate_limit: bool,
    /// Answer no introspection (`__schema`, `__type`): GraphiQL's docs and autocompletion
    /// stop working; clients keep working.
    #[arg(long, env = "STEPGRAPH_DISABLE_INTROSPECTION", value_parser = BoolishValueParser::new())]
    pub disable_introspection: bool,
    /// Leave "Did you mean ...?" out of validation errors, so they do not reveal field names.
    #[arg(long, env = "STEPGRAPH_DISABLE_SUGGESTIONS", value_parser = BoolishValueParser::new())]
    pub disable_suggestions: bool,
    /// Seconds a successful token lookup is remembered; 0 looks every request up. Unset: on
    /// PostgreSQL 5 s while the change feed's notifications arrive (any revocation or user
    /// change, from any process, empties the cache as it commits); on SQLite 5 s while the
    /// change feed is read every second (a revocation by another process, such as `token
    /// revoke`, takes effect within 2 s; one through this server at once); on MySQL off.
    #[arg(long, env = "STEPGRAPH_TOKEN_CACHE_SECS")]
    pub token_cache_secs: Option<u64>,
    /// Accept mailing events from members' `ingest` tokens too (default: admins only). A
    /// member's events apply only to mailings that member can see.
    #[arg(long, env = "STEPGRAPH_INGEST_MEMBERS", value_parser = BoolishValueParser::new())]
    pub ingest_members: bool,
    /// Most open subscription connections (WebSockets at /graphql); one more gets 503.
    #[arg(long, env = "STEPGRAPH_MAX_WEBSOCKETS", default_value_t = Limits::default().max_websockets)]
    pub max_websockets: usize,
    /// Feed batches a subscription may fall behind (a slow client) before it is ended.
    #[arg(long, env = "STEPGRAPH_SUBSCRIPTION_BACKLOG", default_value_t = Limits::default().subscription_backlog)]
    pub subscription_backlog: usize,
    /// Seconds a request may run before it is answered with 503.
    #[arg(long, env = "STEPGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = Limits::default().timeout_secs)]
    pub request_timeout_secs: u64,
    /// Resolve GraphQL objects through async-graphql's own executor only (no in-place
    /// attributes): for benchmarks comparing the two paths, and as a way out should an
    /// async-graphql upgrade break the fast path. Same answers, more CPU per object.
    #[arg(long, env = "STEPGRAPH_STOCK_RESOLVERS", hide = true, value_parser = BoolishValueParser::new())]
    pub stock_resolvers: bool,
    /// Keep this database a mirror of the Outreach account at this API root: a sync at start,
    /// then one every --mirror-interval-secs (authenticated as `sync outreach` is, by the
    /// OUTREACH_* variables).
    #[arg(long, env = "STEPGRAPH_MIRROR_OUTREACH")]
    pub mirror_outreach: Option<String>,
    /// A manifest of trusted documents (persisted documents by SHA-256): graphql-codegen's
    /// `persisted-documents.json` or Apollo's persisted query manifest. Repeatable; on the
    /// environment, comma-separated. Clients send `documentId: "sha256:<hex>"` (or an APQ
    /// hash) instead of the document.
    #[arg(
        long = "trusted-documents",
        env = "STEPGRAPH_TRUSTED_DOCUMENTS",
        value_delimiter = ','
    )]
    pub trusted_documents: Vec<std::path::PathBuf>,
    /// Run only the documents of --trusted-documents: any other is refused before it is
    /// parsed (TRUSTED_DOCUMENT_REQUIRED), except with a token of the `adhoc` scope.
    #[arg(long, env = "STEPGRAPH_ONLY_TRUSTED_DOCUMENTS", value_parser = BoolishValueParser::new())]
    pub only_trusted_documents: bool,
    /// Seconds between two syncs of --mirror-outreach.
    #[arg(long, env = "STEPGRAPH_MIRROR_INTERVAL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub mirror_interval_secs: u64,
}

impl ServeArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_batch: self.max_batch,
            max_body_bytes: self.max_body_bytes,
            timeout_secs: self.request_timeout_secs,
            max_fields: self.max_fields,
            max_aliases: self.max_aliases,
            max_root_fields: self.max_root_fields,
            max_statements: self.max_statements,
            max_list_items: self.max_list_items,
            max_in_flight: self.max_in_flight,
            rate_limit_per_minute: self.rate_limit_per_minute,
            introspection: !self.disable_introspection,
            suggestions: !self.disable_suggestions,
            max_websockets: self.max_websockets,
            subscription_backlog: self.subscription_backlog,
            stock_resolvers: self.stock_resolvers,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the most recent migrations.
    Down {
        /// How many migrations to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Roll every migration back (dropping every table), then apply all of them (destroys all data).
    Fresh,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["demo", "sequences"])))]
pub struct SeedArgs {
    /// Load the small, hand-written demo data set (into an empty database).
    #[arg(long, env = "STEPGRAPH_SEED_DEMO", conflicts_with = "sequences", value_parser = BoolishValueParser::new())]
    pub demo: bool,
    /// Number of sequences to generate.
    #[arg(
        long,
        env = "STEPGRAPH_SEED_SEQUENCES",
        requires = "steps_per_sequence"
    )]
    pub sequences: Option<u32>,
    /// Steps in each generated sequence.
    #[arg(long, env = "STEPGRAPH_SEED_STEPS_PER_SEQUENCE")]
    pub steps_per_sequence: Option<u32>,
    /// Mailings for each generated step.
    #[arg(long, env = "STEPGRAPH_SEED_MAILINGS_PER_STEP", default_value_t = 3)]
    pub mailings_per_step: u32,
    /// Tasks for each generated step.
    #[arg(long, env = "STEPGRAPH_SEED_TASKS_PER_STEP", default_value_t = 1)]
    pub tasks_per_step: u32,
    /// Calls for each generated step.
    #[arg(long, env = "STEPGRAPH_SEED_CALLS_PER_STEP", default_value_t = 1)]
    pub calls_per_step: u32,
    /// Random seed: the same value gives the same data.
    #[arg(long, env = "STEPGRAPH_SEED", default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token for a user and print it (it is shown this once only).
    Create {
        /// The user's e-mail address.
        #[arg(long, env = "STEPGRAPH_TOKEN_USER")]
        user: String,
        /// A label to tell the token apart later.
        #[arg(long)]
        name: Option<String>,
        /// Make the token expire after this long: `90m`, `12h`, `30d` (default: never).
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<chrono::Duration>,
        /// What the token may do, comma-separated: `api` (GraphQL and JSON:API), `ingest`
        /// (mailing events; only an admin's token is accepted there by default), `adhoc`
        /// (any GraphQL document where the server runs only trusted ones: GraphiQL).
        #[arg(long, value_delimiter = ',', value_parser = parse_scope, default_value = "api")]
        scopes: Vec<tokens::Scope>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id or by its displayed prefix.
    Revoke {
        /// The token's id or prefix, as shown by `token list`.
        token: String,
    },
}

fn parse_plan_cache(text: &str) -> Result<db::PlanCache, String> {
    db::PlanCache::parse(text)
        .ok_or_else(|| format!("{text:?} is not a plan cache mode: use generic or auto"))
}

fn parse_scope(text: &str) -> Result<tokens::Scope, String> {
    tokens::Scope::parse(text)
        .ok_or_else(|| format!("{text:?} is not a scope: use api, ingest or adhoc"))
}

/// The longest lifetime a token may be given: a century, far inside every backend's
/// timestamps (MySQL's stop in 9999) and chrono's arithmetic.
const MAX_TOKEN_LIFETIME_DAYS: i64 = 36_500;

/// `90m`, `12h`, `30d`, `3600s`: a positive duration with its unit, at most a century.
fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration like 90m, 12h or 30d, of at most \
             {MAX_TOKEN_LIFETIME_DAYS}d"
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    let d = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    };
    d.filter(|d| *d <= chrono::Duration::days(MAX_TOKEN_LIFETIME_DAYS))
        .ok_or_else(bad)
}

/// Installs the log subscriber: human-readable lines on stderr, filtered by `filter`; in
/// colour only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>), so a
/// log written to a file or collected by a supervisor holds no escape codes.
pub fn init_logging(filter: &str) {
    init_logging_as(filter, LogFormat::Text);
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// [`init_logging`] in `format`.
pub fn init_logging_as(filter: &str, format: LogFormat) {
    init_logging_with(filter, format, None, false);
}

/// [`init_logging_as`], and spans to `traces` when given (the OpenTelemetry layer of
/// [`crate::telemetry`]).
///
/// Each layer has its own filter: the log's is `filter`; the exporter's takes only the spans
/// made for traces (target `stepgraph::trace`), never log events, so nothing a log line says
/// is sent as a span event.
pub fn init_logging_with(
    filter: &str,
    format: LogFormat,
    traces: Option<crate::telemetry::Layer>,
    pool_waits: bool,
) {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log = match format {
        LogFormat::Text => fmt
            .with_ansi(std::io::stderr().is_terminal() && !no_color)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_filter(filter)
            .boxed(),
    };
    let mut layers = vec![log];
    if pool_waits {
        layers.push(
            PoolWaits
                .with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target(stepgraph_domain::db::ACQUIRE_TARGET, tracing::Level::TRACE),
                )
                .boxed(),
        );
    }
    let has_traces = traces.is_some();
    if let Some(layer) = traces {
        layers.push(
            layer
                .with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target(stepgraph_web::trace::TARGET, tracing::Level::TRACE),
                )
                .boxed(),
        );
    }
    let installed = tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .is_ok();
    if installed && has_traces {
        stepgraph_web::trace::enable();
    }
}

/// Hands sqlx's report of each connection checkout's wait to the metrics
/// (`db_client_connection_wait_time_seconds`; [`DbConfig::report_acquire`]).
struct PoolWaits;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PoolWaits {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Wait(Option<f64>);
        impl tracing::field::Visit for Wait {
            fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
                if field.name() == "acquired_after_secs" {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut wait = Wait(None);
        event.record(&mut wait);
        if let Some(seconds) = wait.0 {
            stepgraph_domain::db::acquired_after(seconds);
        }
    }
}

/// Whether this command serves with metrics, which report the pool's waits.
pub fn reports_pool_waits(cli: &Cli) -> bool {
    matches!(&cli.command, Command::Serve(args) if args.metrics_listen.is_some())
}

/// Opens the database after applying pending migrations (every command but `migrate` itself
/// does, so a fresh database just works). The migrations run over a connection of their own,
/// closed before the pool opens, so no pooled connection has read the schema before they ran.
async fn open(config: &DbConfig) -> anyhow::Result<DatabaseConnection> {
    let migrations = open_for_migrations(config).await?;
    Migrator::up(&migrations, None)
        .await
        .context("applying migrations")?;
    migrations.close().await.ok();
    db::connect(config)
        .await
        .with_context(|| cannot_connect(config))
}

/// One connection, for the schema changes (see [`db::connect_for_migrations`]).
async fn open_for_migrations(config: &DbConfig) -> anyhow::Result<DatabaseConnection> {
    db::connect_for_migrations(config)
        .await
        .with_context(|| cannot_connect(config))
}

fn cannot_connect(config: &DbConfig) -> String {
    format!("cannot connect to {}", redact_url(&config.url))
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// `--max-replica-lag`: seconds, from 0 to an hour.
fn replica_lag(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| (0.0..=3600.0).contains(s))
        .ok_or_else(|| "a number of seconds from 0 to 3600, like 5 or 0.5".to_string())
}

/// Runs the command, as a future made in this crate: the binary then instantiates none of
/// the code below (async bodies are otherwise compiled again in the crate that polls them, and
/// the binary was 40 s of a clean release build; ARCHITECTURE.md, build times).
pub fn run(cli: Cli) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>>>> {
    Box::pin(run_command(cli))
}

async fn run_command(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        database_url: url,
        db_max_connections: max,
        db_acquire_timeout_secs,
        pg_plan_cache,
        command,
        ..
    } = cli;
    let mut config = DbConfig::new(url.as_str());
    if let Some(max) = max {
        config.max_connections = max.max(2);
    }
    config.acquire_timeout = Duration::from_secs(db_acquire_timeout_secs);
    config.pg_plan_cache = pg_plan_cache;
    config.report_acquire =
        matches!(&command, Command::Serve(args) if args.metrics_listen.is_some());
    match command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Serve(args) => {
            let db = open(&config).await?;
            crate::serve::serve(db, &config, &args).await
        }
        Command::Migrate { action } => {
            let db = open_for_migrations(&config).await?;
            migrate(&db, action).await
        }
        Command::Seed(args) => seed(&open(&config).await?, args).await,
        Command::Token { action } => token(&open(&config).await?, action).await,
        Command::Sync {
            source: SyncSource::Outreach(args),
        } => {
            let client = outreach_client(&args.base_url, args.rate_share)?;
            crate::sync::outreach(&open(&config).await?, &client, &args).await
        }
    }
}

/// An Outreach client from the flags and the `OUTREACH_*` environment (secrets never come
/// from flags, which other users of the machine can read in the process list).
pub(crate) fn outreach_client(
    base_url: &str,
    rate_share: f64,
) -> anyhow::Result<stepgraph_outreach::Client> {
    use stepgraph_outreach::{Client, Config};
    let auth = outreach_auth()?;
    let mut config = Config::new(stepgraph_outreach::base_url(base_url)?, auth);
    config.rate_share = rate_share;
    Ok(Client::new(config)?)
}

/// A secret from `NAME`, or from the file `NAME_FILE` names.
pub(crate) fn secret(name: &str) -> anyhow::Result<Option<String>> {
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Ok(Some(v));
    }
    match std::env::var(format!("{name}_FILE"))
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(path) => Ok(Some(
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading {name}_FILE ({path})"))?
                .trim()
                .to_owned(),
        )),
        None => Ok(None),
    }
}

/// Outreach credentials from the environment.
fn outreach_auth() -> anyhow::Result<stepgraph_outreach::Auth> {
    use stepgraph_outreach::Auth;
    Ok(match secret("OUTREACH_ACCESS_TOKEN")? {
        Some(token) => Auth::AccessToken(token),
        None => {
            let need = |name: &str| -> anyhow::Result<String> {
                secret(name)?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "set OUTREACH_ACCESS_TOKEN, or OUTREACH_CLIENT_ID, OUTREACH_CLIENT_SECRET \
                         and OUTREACH_REFRESH_TOKEN (missing: {name})"
                    )
                })
            };
            Auth::Refresh {
                client_id: need("OUTREACH_CLIENT_ID")?,
                client_secret: need("OUTREACH_CLIENT_SECRET")?,
                refresh_token: need("OUTREACH_REFRESH_TOKEN")?,
                token_url: std::env::var("OUTREACH_TOKEN_URL")
                    .unwrap_or_else(|_| "https://api.outreach.io/oauth/token".into()),
                redirect_uri: std::env::var("OUTREACH_REDIRECT_URI").ok(),
            }
        }
    })
}

/// A database error as a plain sentence: the seeds' own refusals are `DbErr::Custom`, whose
/// `Display` would prefix them with "Custom Error:".
pub fn plain(err: sea_orm::DbErr) -> anyhow::Error {
    match err {
        sea_orm::DbErr::Custom(message) => anyhow::anyhow!(message),
        other => other.into(),
    }
}

async fn seed(db: &DatabaseConnection, args: SeedArgs) -> anyhow::Result<()> {
    use sea_orm::{EntityTrait, QueryOrder};
    if !args.demo && (args.sequences.is_none() || args.steps_per_sequence.is_none()) {
        // `STEPGRAPH_SEED_DEMO=0` satisfies clap's "--demo or --sequences" group by being set.
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "seed needs --demo, or --sequences N --steps-per-sequence M",
            )
            .exit();
    }
    // The users this seed makes are the ones after the last user already there.
    let last_user = entity::user::Entity::find()
        .order_by_desc(entity::user::Column::Id)
        .one(db)
        .await?
        .map_or(0, |u| u.id);
    let started = std::time::Instant::now();
    let counts = if args.demo {
        demo::load(db).await.map_err(plain)?
    } else {
        let opts = sized::SizedOptions {
            sequences: args.sequences.unwrap_or(0),
            steps_per_sequence: args.steps_per_sequence.unwrap_or(0),
            mailings_per_step: args.mailings_per_step,
            tasks_per_step: args.tasks_per_step,
            calls_per_step: args.calls_per_step,
            seed: args.seed,
        };
        sized::load(db, opts).await.map_err(plain)?
    };
    println!("seeded {counts} in {:.2?}", started.elapsed());
    print_users(db, last_user).await
}

/// The users a seed made (ids above `after`), and how to get a token for one: the next thing
/// a newcomer needs.
async fn print_users(db: &DatabaseConnection, after: i64) -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let users = entity::user::Entity::find()
        .filter(entity::user::Column::Id.gt(after))
        .order_by_asc(entity::user::Column::Id)
        .all(db)
        .await?;
    println!("users:");
    for u in &users {
        let role = format!("{:?}", u.role).to_lowercase();
        println!("  {role:<7} {}", u.email);
    }
    if let Some(first) = users.first() {
        println!(
            "a token for one of them: stepgraph --database-url URL token create --user {}",
            first.email
        );
    }
    Ok(())
}

async fn migrate(db: &DatabaseConnection, action: MigrateAction) -> anyhow::Result<()> {
    match action {
        MigrateAction::Up => {
            let pending = Migrator::get_pending_migrations(db).await?.len();
            Migrator::up(db, None).await?;
            println!("applied {pending} migration(s)");
        }
        MigrateAction::Down { steps } => {
            Migrator::down(db, Some(steps)).await?;
            println!("rolled back up to {steps} migration(s)");
        }
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(db).await? {
                println!(
                    "{:<12} {}",
                    format!("{:?}", m.status()).to_lowercase(),
                    m.name()
                );
            }
        }
        MigrateAction::Fresh => {
            // Every migration down (each drops what it made, children before parents), then
            // up: sea-orm-migration's `fresh` drops tables in catalogue order, which SQLite's
            // foreign keys refuse once the tables hold rows.
            Migrator::down(db, None).await?;
            Migrator::up(db, None).await?;
            println!("dropped all tables and applied every migration");
        }
    }
    Ok(())
}

async fn token(db: &DatabaseConnection, action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::Create {
            user,
            name,
            expires_in,
            scopes,
        } => {
            let expires_at = expires_in.map(|d| crate::time::now() + d);
            let issued = tokens::create_with(db, &user, name, expires_at, &scopes).await?;
            let until = match issued.record.expires_at {
                Some(at) => format!(", valid until {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
                None => String::new(),
            };
            eprintln!(
                "created token {} for {user}{until}; it is shown once, store it now:",
                issued.record.prefix
            );
            println!("{}", issued.token);
        }
        TokenAction::List => {
            println!(
                "{:<6} {:<14} {:<32} {:<17} {:<17} {:<17} {:<8} {:<11} name",
                "id", "prefix", "user", "created", "expires", "last used", "status", "scopes"
            );
            let minute = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
            let at = crate::time::now();
            for t in tokens::list(db).await? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.is_some_and(|e| e <= at) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<14} {:<32} {:<17} {:<17} {:<17} {:<8} {:<11} {}",
                    t.id,
                    t.prefix,
                    t.user_email,
                    minute(t.created_at),
                    t.expires_at.map_or_else(|| "never".to_string(), minute),
                    t.last_used_at.map_or_else(|| "-".to_string(), minute),
                    status,
                    t.scopes,
                    t.name.unwrap_or_default()
                );
            }
        }
        TokenAction::Revoke { token } => {
            let revoked = tokens::revoke(db, &token).await?;
            println!("revoked token {} ({})", revoked.id, revoked.prefix);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_a_unit() {
        assert_eq!(parse_duration("30d").unwrap(), chrono::Duration::days(30));
        assert!(parse_duration("36500d").is_ok());
        for out_of_range in ["99999999999d", "36501d", "9999999999999999h", "0s", "-1d"] {
            assert!(parse_duration(out_of_range).is_err(), "{out_of_range}");
        }
        assert_eq!(
            parse_duration("90m").unwrap(),
            chrono::Duration::minutes(90)
        );
        for bad in ["", "30", "0d", "-1h", "1w", "d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
