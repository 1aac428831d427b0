//! stepgraph's domain: everything both APIs share, and nothing about either of them.
//!
//! - [`db`]: connecting from one URL, write transactions, migrations over one connection;
//! - [`error`]: [`error::AppError`], the one application error type;
//! - [`auth`]: the viewer, the pure authorization policy and its SQL twin, API tokens;
//! - [`service`]: the model's rules (lists, relationships, pages, steps, mailings,
//!   counters, the change feed's writes);
//! - [`live`]: one server's change-feed reader;
//! - [`time`]: the clock, truncated to what every backend stores.
//!
//! Boundary: no crate here knows HTTP, GraphQL or JSON:API (nothing imports axum or
//! async-graphql); the adapters (`stepgraph-graphql`, the JSON:API in the root crate) depend
//! on this crate, never the other way round, and the compiler holds that line.

pub mod auth;
pub mod db;
pub mod error;
pub mod live;
pub mod service;
pub mod time;
