//! How [`AppError`] becomes a GraphQL error: a stable `extensions.code`, the offending field
//! for bad input, and never an internal detail.

use async_graphql::{Error, ErrorExtensions};

use stepgraph_domain::error::AppError;

/// Converts an application error, logging it first when it is the server's fault.
///
/// Resolvers call this explicitly (`.map_err(gql)`): async-graphql's blanket
/// `From<impl Display>` would otherwise turn an `AppError` into an error without a code.
pub fn gql(err: AppError) -> Error {
    err.log();
    let code = err.code();
    let fields: Vec<(String, String)> = err
        .field_errors()
        .iter()
        .map(|f| (f.field.clone(), f.message.clone()))
        .collect();
    Error::new(err.public_message()).extend_with(move |_, ext| {
        ext.set("code", code);
        if let Some((field, _)) = fields.first() {
            ext.set("field", field.as_str());
        }
        if !fields.is_empty() {
            let list: Vec<async_graphql::Value> = fields
                .iter()
                .map(|(f, m)| {
                    let mut obj = async_graphql::indexmap::IndexMap::new();
                    obj.insert(
                        async_graphql::Name::new("field"),
                        async_graphql::Value::from(f.as_str()),
                    );
                    obj.insert(
                        async_graphql::Name::new("message"),
                        async_graphql::Value::from(m.as_str()),
                    );
                    async_graphql::Value::Object(obj)
                })
                .collect();
            ext.set("fieldErrors", async_graphql::Value::List(list));
        }
    })
}

/// The error for a loader failure shared by several fields.
pub fn gql_shared(err: std::sync::Arc<AppError>) -> Error {
    match std::sync::Arc::try_unwrap(err) {
        Ok(err) => gql(err),
        Err(shared) => {
            let code = shared.code();
            shared.log();
            Error::new(shared.public_message()).extend_with(move |_, ext| ext.set("code", code))
        }
    }
}
