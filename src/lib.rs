//! stepgraph: the Outreach sequence-step model as a GraphQL API and a JSON:API REST surface.
//!
//! Reading order (see ARCHITECTURE.md for the map and the invariants):
//! - [`cli`]: the `stepgraph` command line and its configuration;
//! - [`db`]: connecting from one URL, write transactions;
//! - [`auth`]: the viewer, the pure authorization policy, API tokens;
//! - [`service`]: the model's rules, shared by every API;
//! - [`seed`]: demo and benchmark data;
//! - [`sync`]: `stepgraph sync outreach`, the mirror of an Outreach account;
//! - [`graphql`] and [`rest`]: the two adapters (GraphQL, Outreach's JSON:API) over it;
//! - [`server`]: the HTTP server (health checks, graceful shutdown);
//! - [`error`]: the one application error type.

pub mod cli;
pub mod seed;
pub mod serve;
pub mod sync;
pub mod telemetry;

// The domain, a crate of its own (`crates/domain`): re-exported under the names the
// adapters and the tests use.
pub use stepgraph_domain::{auth, db, error, live, service, time};
// The GraphQL adapter (`crates/graphql`).
pub use stepgraph_graphql as graphql;
// The JSON:API adapter (`crates/rest`).
pub use stepgraph_rest as rest;
// The HTTP server (`crates/server`): state, routes, the GraphQL endpoint, WebSockets.
pub use stepgraph_server as server;
pub use stepgraph_server::http;
