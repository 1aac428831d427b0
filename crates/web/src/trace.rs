//! OpenTelemetry traces at the HTTP edge: the server span of a request (continuing a W3C
//! `traceparent`), the span of each SQL statement, and the ids a log line names.
//!
//! Traces are off unless the binary installed an exporter and called [`enable`] (the
//! `OTEL_*` environment, `src/telemetry.rs`); until then every function here returns at once
//! and makes no span. Spans carry no secret: no header, no query string, no variable value,
//! no bound SQL value (statements are recorded with their placeholders).
//!
//! Why SQL spans are made here with OpenTelemetry's own API and not as `tracing` spans: a
//! statement is seen only once it has run (SeaORM's metric callback, with its duration), and a
//! `tracing` span cannot be given a start time in the past.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Method};
use memchr::memmem;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use sea_orm::DbBackend;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of every span stepgraph makes for traces: the exporter's layer listens to it
/// only, so log events never become span events, and the log's layer sees these spans only
/// at the levels it was asked for.
pub const TARGET: &str = "stepgraph::trace";

static ON: AtomicBool = AtomicBool::new(false);

/// Turns span making on (the binary, once the exporter is installed).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Whether traces are on.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Reads `traceparent`/`tracestate` out of request headers for the propagator.
struct Headers<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Where the log's layer finds a traced request's ids: a span of its own target, which the
/// exporter's layer does not take.
pub const LOG_TARGET: &str = "stepgraph::request";

/// The spans of a request the sampler kept: the server span (a child of the trace a valid
/// `traceparent` names) and, around it, the span that puts its `trace_id` and `span_id` on
/// every log line written inside it. Both are `Span::none()` when traces are off or the
/// request was not sampled: then no span at all is made below it (each asks whether the
/// current span is sampled first: `stepgraph_graphql::trace`, [`statement`]), so a request
/// left out at 1% sampling costs one sampling decision.
pub struct RequestSpans {
    pub server: tracing::Span,
    pub log: tracing::Span,
}

impl RequestSpans {
    /// No spans: the request is not traced.
    pub fn none() -> Self {
        Self {
            server: tracing::Span::none(),
            log: tracing::Span::none(),
        }
    }
}

/// The spans of a request ([`RequestSpans`]).
pub fn request_span(method: &Method, path: &str, headers: &HeaderMap) -> RequestSpans {
    if !on() {
        return RequestSpans::none();
    }
    // TRACE, like every span for the exporter: the log's layer, at its usual levels, sees
    // only the log span below.
    let server = tracing::trace_span!(
        target: TARGET,
        "request",
        otel.name = method.as_str(),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method.as_str(),
        url.path = path,
        http.route = Empty,
        http.response.status_code = Empty,
    );
    let parent = global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
    // Only fails when no exporter layer is installed, in which case there is no trace.
    let _ = server.set_parent(parent);
    let cx = server.context();
    let sc = cx.span().span_context().clone();
    if !sc.is_sampled() {
        return RequestSpans::none();
    }
    let log = tracing::info_span!(
        target: LOG_TARGET,
        "request",
        trace_id = %sc.trace_id(),
        span_id = %sc.span_id(),
    );
    RequestSpans { server, log }
}

/// Completes a request's server span with the route that matched and the status: named
/// `{method} {route}` as the semantic conventions ask; a 5xx marks it an error.
pub fn finish_request(span: &tracing::Span, method: &Method, route: Option<&str>, status: u16) {
    if span.is_none() {
        return;
    }
    if let Some(route) = route {
        span.record("http.route", route);
        // The span has started (its ids were read), and `tracing-opentelemetry` applies a
        // recorded `otel.name` only before that: rename the OpenTelemetry span itself.
        span.context()
            .span()
            .update_name(format!("{} {route}", method.as_str()));
    }
    // As an integer attribute (`tracing-opentelemetry` writes unsigned values as text).
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

fn tracer() -> &'static global::BoxedTracer {
    static TRACER: OnceLock<global::BoxedTracer> = OnceLock::new();
    TRACER.get_or_init(|| global::tracer("stepgraph"))
}

/// `db.system.name` of a backend, as the semantic conventions spell it.
pub fn system_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgresql",
        DbBackend::MySql => "mysql",
        DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    }
}

/// Records a statement that just ran as a client span of the current span, when that span is
/// sampled: its SQL with placeholders (never the bound values), its operation and table, and
/// when it started and ended.
pub fn statement(system: &'static str, sql: &str, elapsed: Duration, failed: bool) {
    if !on() {
        return;
    }
    let current = tracing::Span::current();
    if current.is_none() {
        return;
    }
    let parent = current.context();
    if !parent.span().span_context().is_sampled() {
        return;
    }
    statement_in(&parent, system, sql, elapsed, failed);
}

fn statement_in(
    parent: &Context,
    system: &'static str,
    sql: &str,
    elapsed: Duration,
    failed: bool,
) {
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let (operation, table) = summarize(sql);
    let name: Cow<'static, str> = match table {
        Some(table) => format!("{operation} {table}").into(),
        None => operation.to_owned().into(),
    };
    let mut attributes = Vec::with_capacity(4);
    attributes.push(KeyValue::new("db.system.name", system));
    attributes.push(KeyValue::new("db.operation.name", operation.to_owned()));
    if let Some(table) = table {
        attributes.push(KeyValue::new("db.collection.name", table.to_owned()));
    }
    attributes.push(KeyValue::new("db.query.text", sql.to_owned()));
    let tracer = tracer();
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes(attributes)
        .start_with_context(tracer, parent);
    if failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// A statement's operation (its first keyword, upper case) and the table it reads or writes
/// first: the first name after `FROM` or `JOIN` (`INTO` for an insert, `UPDATE` for an
/// update) that is a table, not a function (`json_each(?)`, `unnest($1)`, whose rows are the
/// parents of a page) nor a sub-select (whose own `FROM` is looked at next).
pub fn summarize(sql: &str) -> (&'static str, Option<&str>) {
    let sql = sql.trim_start();
    let end = sql
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(sql.len());
    let operation = match &sql[..end] {
        w if w.eq_ignore_ascii_case("select") => "SELECT",
        w if w.eq_ignore_ascii_case("insert") => "INSERT",
        w if w.eq_ignore_ascii_case("update") => "UPDATE",
        w if w.eq_ignore_ascii_case("delete") => "DELETE",
        w if w.eq_ignore_ascii_case("with") => "WITH",
        _ => return ("OTHER", None),
    };
    // Keywords in upper case (sea-query's, and every statement written by hand here) or
    // lower case; found with a vectorised substring search, since this runs for every
    // statement when metrics are on and a statement's text is a few kilobytes of columns.
    let finders = keyword_finders();
    let keywords: &[memmem::Finder<'static>] = match operation {
        "INSERT" => &finders[4..6],
        "UPDATE" => &finders[6..8],
        _ => &finders[0..4],
    };
    let mut at = 0;
    while let Some(next) = keywords
        .iter()
        .filter_map(|k| keyword_end(&sql[at..], k).map(|end| at + end))
        .min()
    {
        // `INSERT INTO t (columns)`: the parenthesis is not a call there.
        if let Some(table) = table(&sql[next..], operation == "INSERT") {
            return (operation, Some(table));
        }
        at = next;
    }
    (operation, None)
}

/// The keywords [`summarize`] looks for, each searcher built once: FROM, from, JOIN, join,
/// INTO, into, UPDATE, update.
fn keyword_finders() -> &'static [memmem::Finder<'static>; 8] {
    static FINDERS: OnceLock<[memmem::Finder<'static>; 8]> = OnceLock::new();
    FINDERS.get_or_init(|| {
        [
            "FROM", "from", "JOIN", "join", "INTO", "into", "UPDATE", "update",
        ]
        .map(|k| memmem::Finder::new(k.as_bytes()))
    })
}

/// Where the first `keyword` (as written, a whole word) ends.
fn keyword_end(sql: &str, keyword: &memmem::Finder<'_>) -> Option<usize> {
    let bytes = sql.as_bytes();
    let n = keyword.needle().len();
    keyword.find_iter(bytes).find_map(|i| {
        let before = i == 0 || !is_word(bytes[i - 1]);
        let after = bytes.get(i + n).is_none_or(|b| !is_word(*b));
        (before && after).then_some(i + n)
    })
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'"' || b == b'`'
}

/// The table named at the start of `s` (after spaces), without its quotes: `None` for a
/// sub-select or a function call.
fn table(s: &str, columns_follow: bool) -> Option<&str> {
    let s = s.trim_start();
    let (quote, rest) = match s.as_bytes().first()? {
        b'"' => (Some('"'), &s[1..]),
        b'`' => (Some('`'), &s[1..]),
        _ => (None, s),
    };
    let (end, after) = match quote {
        Some(q) => {
            let end = rest.find(q)?;
            (end, end + 1)
        }
        None => {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (end, end)
        }
    };
    let name = &rest[..end];
    let call = !columns_follow && rest[after..].trim_start().starts_with('(');
    (!name.is_empty() && !call).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn statements_are_summarized_by_operation_and_first_table() {
        assert_eq!(
            summarize(r#"SELECT "sequence_step"."id" FROM "sequence_step" WHERE "id" = $1"#),
            ("SELECT", Some("sequence_step"))
        );
        assert_eq!(
            summarize("INSERT INTO `mailing` (`id`) VALUES (?)"),
            ("INSERT", Some("mailing"))
        );
        assert_eq!(
            summarize(r#"UPDATE "task" SET "x" = $1"#),
            ("UPDATE", Some("task"))
        );
        assert_eq!(
            summarize("delete from api_token where id = ?"),
            ("DELETE", Some("api_token"))
        );
        // A sub-select's table is the one read; a column called `from_x` is not the keyword.
        assert_eq!(
            summarize(r#"SELECT "from_x" FROM (SELECT 1) AS "t""#),
            ("SELECT", None)
        );
        assert_eq!(
            summarize(r#"SELECT "t"."id" FROM (SELECT "id" FROM "tasks") AS "t""#),
            ("SELECT", Some("tasks"))
        );
        // A page's parents come from a function: the table is the joined one.
        assert_eq!(
            summarize(
                r#"SELECT "c".* FROM json_each(?) AS sg_p CROSS JOIN "sequence_steps" AS "c""#
            ),
            ("SELECT", Some("sequence_steps"))
        );
        assert_eq!(
            summarize(
                r#"SELECT sg_c.* FROM unnest($1::bigint[]) AS sg_p(id) CROSS JOIN LATERAL (SELECT * FROM "sequence_steps" WHERE "sequence_id" = sg_p.id) AS sg_c"#
            ),
            ("SELECT", Some("sequence_steps"))
        );
        assert_eq!(summarize("BEGIN"), ("OTHER", None));
    }
}
