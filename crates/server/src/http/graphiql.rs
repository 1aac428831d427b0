//! The GraphiQL playground page and its assets.
//!
//! The JavaScript and CSS are embedded at build time (see build.rs: from `graphiql/vendor/`
//! or fetched from the npm registry, checked against pinned hashes), so the page works with
//! no internet access. A build without them loads the same pinned versions from a CDN, with
//! `integrity` attributes so the browser runs nothing else. The page is public: it holds no
//! data, and every query it sends carries the token in its header editor (pre-filled only by
//! `serve --demo` on a loopback address).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::SharedState;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/graphiql_assets.rs"));
}

const CDN: [&str; 4] = [
    "https://unpkg.com/graphiql@3.9.0/graphiql.min.css",
    "https://unpkg.com/react@18.3.1/umd/react.production.min.js",
    "https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js",
    "https://unpkg.com/graphiql@3.9.0/graphiql.min.js",
];
const LOCAL: [&str; 4] = [
    "/graphiql/assets/graphiql.min.css",
    "/graphiql/assets/react.production.min.js",
    "/graphiql/assets/react-dom.production.min.js",
    "/graphiql/assets/graphiql.min.js",
];

/// Whether the assets are served by stepgraph itself.
pub fn offline() -> bool {
    assets::OFFLINE
}

fn js_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace("</", "<\\/")
}

/// The `integrity` and `crossorigin` attributes of a CDN asset (nothing when served locally).
fn integrity(sri: &str) -> String {
    if offline() {
        String::new()
    } else {
        format!(r#" integrity="{sri}" crossorigin="anonymous""#)
    }
}

/// `GET /graphiql`.
pub async fn page(State(state): State<SharedState>) -> Html<String> {
    let [css, react, react_dom, graphiql] = if offline() { LOCAL } else { CDN };
    let [css_sri, react_sri, react_dom_sri, graphiql_sri] = [
        assets::GRAPHIQL_CSS_SRI,
        assets::REACT_JS_SRI,
        assets::REACT_DOM_JS_SRI,
        assets::GRAPHIQL_JS_SRI,
    ]
    .map(integrity);
    let headers = match &state.graphiql_token {
        Some(token) => format!("{{\n  \"Authorization\": \"Bearer {token}\"\n}}"),
        None => {
            "{\n  \"Authorization\": \"Bearer <paste a token from `stepgraph token create`>\"\n}"
                .into()
        }
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stepgraph GraphiQL</title>
<link rel="stylesheet" href="{css}"{css_sri}>
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{react}"{react_sri}></script>
<script src="{react_dom}"{react_dom_sri}></script>
<script src="{graphiql}"{graphiql_sri}></script>
<script>
// Subscriptions go over a WebSocket to the same path; GraphiQL sends the headers editor's
// values (the Authorization header) as the connection_init payload.
const fetcher = GraphiQL.createFetcher({{
  url: "/graphql",
  subscriptionUrl: (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql",
}});
const root = ReactDOM.createRoot(document.getElementById("graphiql"));
root.render(React.createElement(GraphiQL, {{
  fetcher,
  defaultHeaders: {headers},
  isHeadersEditorEnabled: true,
  shouldPersistHeaders: true,
  defaultEditorToolsVisibility: "headers",
  defaultQuery: {query},
}}));
</script>
</body>
</html>
"#,
        headers = js_string(&headers),
        query = js_string(&default_query(state.graphiql_token.is_some())),
    ))
}

/// The first query, under a welcome that says what to do first: run it when the Headers tab
/// already holds a token (`serve --demo` on loopback), else set one.
fn default_query(prefilled: bool) -> String {
    let welcome = if prefilled {
        "# Welcome to stepgraph. The Headers tab below holds a demo member's token: press the run\n\
         # button (or Ctrl-Enter) to see the steps they can see. Docs: the book icon, top left.\n"
    } else {
        "# Welcome to stepgraph. Put your token in the Headers tab below (create one with\n\
         # `stepgraph token create --user EMAIL`), then run this query.\n"
    };
    format!("{welcome}{FIRST_STEPS}")
}

const FIRST_STEPS: &str = "query FirstSteps {
  viewer { name role }
  sequenceSteps(first: 5, orderBy: [{ field: CREATED_AT, direction: DESC }]) {
    totalCount
    nodes {
      id
      displayName
      stepType
      sequence { name shareType }
      openCount
      replyCount
      canWrite
      canDelete
    }
    pageInfo { hasNextPage endCursor }
  }
}
";

/// `GET /graphiql/assets/{file}`: the embedded files, cached for a day.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, mime): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (assets::GRAPHIQL_JS, "text/javascript; charset=utf-8"),
        "graphiql.min.css" => (assets::GRAPHIQL_CSS, "text/css; charset=utf-8"),
        "react.production.min.js" => (assets::REACT_JS, "text/javascript; charset=utf-8"),
        "react-dom.production.min.js" => (assets::REACT_DOM_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if body.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
