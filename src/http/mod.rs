//! HTTP adapters: the GraphQL endpoint and the GraphiQL playground.

pub mod graphiql;
pub mod graphql;
