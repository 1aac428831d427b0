//! The GraphQL adapter: schema, types, loaders and limits. Thin over [`stepgraph_domain::service`].

pub mod connection;
pub mod context;
pub mod cost;
pub mod documents;
pub mod error;
pub mod executor;
pub mod fast;
pub mod inputs;
pub mod joins;
pub mod loaders;
pub mod mutation;
pub mod nested;
pub mod node;
pub mod persisted;
pub mod query;
pub mod raw;
pub mod resolve;
pub mod response_order;
pub mod scalars;
pub mod schemas;
pub mod subscription;
pub mod trace;
pub mod types;

use async_graphql::{Schema, SchemaBuilder};

pub use context::RequestCtx;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Runs one request. Not generic, not inlined, and its future boxed, on purpose:
/// async-graphql's executor is generic over the schema's root types, so a crate that polled
/// `AppSchema::execute`'s future, or an `async fn` wrapping it, would compile the whole
/// executor and every resolver again (a small `async fn` body is inlined across crates in a
/// release build, whatever `#[inline(never)]` says of the function that makes the future, and
/// a release build shares no generic code between crates). Behind `dyn Future` the poll and
/// drop code of the whole tree is compiled here, once: the server crate's release build went
/// from 526 s to the figure in ARCHITECTURE.md's build-time table.
#[inline(never)]
pub fn execute(
    schema: &AppSchema,
    request: async_graphql::Request,
) -> futures_util::future::BoxFuture<'_, async_graphql::Response> {
    Box::pin(schema.execute(request))
}

/// Runs one subscription request (see [`execute`]).
#[inline(never)]
pub fn execute_stream(
    schema: &AppSchema,
    request: async_graphql::Request,
) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
    use futures_util::StreamExt;
    schema.execute_stream(request).boxed()
}

/// Protective limits of the GraphQL endpoint; each is configurable (see the CLI).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting depth of a query. GraphiQL's introspection query needs 15.
    pub max_depth: usize,
    /// Maximum complexity: each field costs 1, and a connection multiplies its children by
    /// its page size.
    pub max_complexity: usize,
    /// Maximum operations in one batched (JSON array) request.
    pub max_batch: usize,
    /// Maximum request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may run before it is answered with 503.
    pub timeout_secs: u64,
    /// Most fields a document may select once its fragments are expanded.
    pub max_fields: usize,
    /// Most aliases in a document.
    pub max_aliases: usize,
    /// Most root fields in an operation.
    pub max_root_fields: usize,
    /// Most SQL statements one GraphQL request may run.
    pub max_statements: usize,
    /// Most items in one list argument (`filter: {id: [...]}`, `filter[id]=a,b,...`).
    pub max_list_items: usize,
    /// Most API requests in flight at once (beyond: 503 at once).
    pub max_in_flight: usize,
    /// Requests per minute per bearer token (beyond: 429); 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// Answer `__schema` / `__type` (GraphiQL's docs and autocompletion need it).
    pub introspection: bool,
    /// "Did you mean ...?" in validation errors (they reveal field names).
    pub suggestions: bool,
    /// Most open subscription (WebSocket) connections.
    pub max_websockets: usize,
    /// Feed batches a subscription may fall behind before it is ended (SUBSCRIPTION_OVERFLOW).
    pub subscription_backlog: usize,
    /// Resolve every object through async-graphql's own executor instead of [`fast`]'s
    /// in-place attributes. Answers are the same (a test compares them byte for byte); this
    /// is for measuring the difference and for ruling the fast path out after an upgrade.
    pub stock_resolvers: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 20_000,
            max_batch: 10,
            max_body_bytes: 512 * 1024,
            timeout_secs: 30,
            max_fields: 5_000,
            max_aliases: 100,
            max_root_fields: 50,
            max_statements: 500,
            max_list_items: 1_000,
            max_in_flight: 128,
            rate_limit_per_minute: 3_000,
            introspection: true,
            suggestions: true,
            max_websockets: 10_000,
            subscription_backlog: 256,
            stock_resolvers: false,
        }
    }
}

fn builder() -> SchemaBuilder<query::Query, mutation::Mutation, subscription::Subscription> {
    Schema::build(
        query::Query::default(),
        mutation::Mutation,
        subscription::Subscription,
    )
}

/// The schema with its limits. Per-request data ([`RequestCtx`]) is added to each request.
pub fn build_schema(limits: Limits) -> AppSchema {
    build_schema_with(limits, async_graphql::ValidationMode::Strict)
}

/// The schema with its limits, validating requests as `mode` says (see [`schemas`]).
pub fn build_schema_with(limits: Limits, mode: async_graphql::ValidationMode) -> AppSchema {
    let mut b = builder()
        .validation_mode(mode)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(8);
    if !limits.introspection {
        b = b.disable_introspection();
    }
    if !limits.suggestions {
        b = b.disable_suggestions();
    }
    if limits.stock_resolvers {
        b = b.data(fast::StockResolvers);
    }
    b.finish()
}

/// The SDL of the schema, sorted so it is stable (this is `schema.graphql`).
pub fn sdl() -> String {
    use async_graphql::SDLExportOptions;
    builder().finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
