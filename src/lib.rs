//! stepgraph: the Outreach sequence-step model as a GraphQL API and a JSON:API REST surface.
//!
//! Reading order (see ARCHITECTURE.md for the map and the invariants):
//! - [`cli`]: the `stepgraph` command line and its configuration;
//! - [`db`]: connecting from one URL, write transactions;
//! - [`auth`]: the viewer, the pure authorization policy, API tokens;
//! - [`service`]: the model's rules, shared by every API;
//! - [`seed`]: demo and benchmark data;
//! - [`graphql`] and [`rest`]: the two adapters (GraphQL, Outreach's JSON:API) over it;
//! - [`server`]: the HTTP server (health checks, graceful shutdown);
//! - [`error`]: the one application error type.

pub mod auth;
pub mod cli;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod live;
pub mod rest;
pub mod seed;
pub mod server;
pub mod service;
pub mod time;
