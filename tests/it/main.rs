//! The integration suite: one test binary, one module per area.
//!
//! Every test gets its own database (see [`support`]): a fresh SQLite file by default, or a
//! fresh database on the server named by `TEST_DATABASE_URL` (PostgreSQL or MySQL/MariaDB).

mod api;
mod cli;
mod concurrency;
mod constraints;
mod counters;
mod deploy;
mod events;
mod graph;
mod hardening;
mod introspect;
mod joins;
mod layers;
mod live;
mod loaders;
mod metrics;
mod migrations;
mod mirror;
mod node;
mod oidc;
mod pagination;
mod persisted;
mod reads;
mod replicas;
mod rest;
mod security;
mod seed;
mod server;
mod steps;
mod support;
mod tokens;
mod traces;
mod visibility;
