//! The spans a GraphQL operation makes for traces: the operation (named and attributed as
//! OpenTelemetry's GraphQL conventions say), each loader batch and each relationship page,
//! and the document text a span may carry (every literal value removed).
//!
//! Every span here is at TRACE level under the target `stepgraph::trace`, which only the
//! exporter's layer takes, and is made only inside a sampled trace (the request's server
//! span, `stepgraph_web::trace`): with traces off, or for a request the sampler left out,
//! each costs a look at the current span.

use async_graphql::parser::types::ExecutableDocument;
use opentelemetry::trace::TraceContextExt as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The span of one operation of a request: `query GetSteps`, with its type, its name and its
/// document stripped of literals ([`without_literals`]). `Span::none()` when no layer wants
/// it (the document is not even copied then).
pub fn operation_span(
    doc: Option<&ExecutableDocument>,
    name: Option<&str>,
    query: &str,
) -> tracing::Span {
    if !in_sampled_trace() {
        return tracing::Span::none();
    }
    let span = tracing::trace_span!(
        target: "stepgraph::trace",
        "graphql operation",
        otel.name = Empty,
        otel.status_code = Empty,
        graphql.operation.type = Empty,
        graphql.operation.name = Empty,
        graphql.document = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let kind = doc.and_then(|d| crate::cost::operation_type(d, name));
    let name = crate::cost::operation_name(doc, name);
    match (kind, name) {
        (Some(kind), Some(name)) => span.record(
            "otel.name",
            tracing::field::display(format_args!("{kind} {name}")),
        ),
        (Some(kind), None) => span.record("otel.name", kind),
        (None, _) => span.record("otel.name", "GraphQL Operation"),
    };
    if let Some(kind) = kind {
        span.record("graphql.operation.type", kind);
    }
    if let Some(name) = name {
        span.record("graphql.operation.name", name);
    }
    span.record("graphql.document", without_literals(query).as_str());
    span
}

/// Whether the current span belongs to a sampled trace: spans are made only inside one, so
/// with traces off, or for a request the sampler left out, no span is made at all.
fn in_sampled_trace() -> bool {
    let current = tracing::Span::current();
    !current.is_none() && current.context().span().span_context().is_sampled()
}

/// Marks an operation's span failed (refused, or answered with errors).
pub fn operation_failed(span: &tracing::Span) {
    span.record("otel.status_code", "error");
}

/// A loader batch starting: its size goes to `hook` (the metrics), and its span is returned.
pub fn batch(
    hook: Option<&crate::executor::BatchHook>,
    kind: &'static str,
    loader: &'static str,
    keys: usize,
) -> tracing::Span {
    if let Some(hook) = hook {
        hook(kind, keys);
    }
    batch_span(kind, loader, keys)
}

/// The span of a loader's batch: what it does (`by_id`, `pages`, `counts`), which loader (a
/// type or a relationship), and how many keys it reads at once (for pages, how many parents).
pub fn batch_span(kind: &'static str, loader: &'static str, keys: usize) -> tracing::Span {
    if !in_sampled_trace() {
        return tracing::Span::none();
    }
    let span = tracing::trace_span!(
        target: "stepgraph::trace",
        "loader batch",
        otel.name = Empty,
        stepgraph.loader = loader,
        stepgraph.loader.kind = kind,
        stepgraph.batch.size = keys as i64,
    );
    if !span.is_disabled() {
        span.record(
            "otel.name",
            tracing::field::display(format_args!("{kind} {loader}")),
        );
    }
    span
}

/// The span of one page statement of a relationship (`page Sequence.sequenceSteps`), for
/// `parents` parents at once.
pub fn page_span(relationship: &'static str, parents: usize) -> tracing::Span {
    if !in_sampled_trace() {
        return tracing::Span::none();
    }
    let span = tracing::trace_span!(
        target: "stepgraph::trace",
        "relationship page",
        otel.name = Empty,
        stepgraph.relationship = relationship,
        stepgraph.parents = parents as i64,
    );
    if !span.is_disabled() {
        span.record(
            "otel.name",
            tracing::field::display(format_args!("page {relationship}")),
        );
    }
    span
}

/// A document with every literal value replaced (strings by `""`, numbers by `0`), its
/// comments dropped and its whitespace collapsed: what a trace may show of a client's
/// document. Names (fields, arguments, variables, enum values, `true`/`false`/`null`) are the
/// schema's vocabulary and stay; the values a client chose are gone, whether they were
/// written into the document or sent as variables (variables are never recorded).
///
/// A lexer, not a parser: it works on any text, valid or not, in one pass.
pub fn without_literals(query: &str) -> String {
    let bytes = query.as_bytes();
    let mut out = String::with_capacity(query.len().min(4096));
    // Whether the last token written was a word (name, number, string): two words in a row
    // need a space between them.
    let mut word = false;
    let push_word = |out: &mut String, text: &str, word: &mut bool| {
        if *word {
            out.push(' ');
        }
        out.push_str(text);
        *word = true;
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                i = skip_string(bytes, i);
                push_word(&mut out, "\"\"", &mut word);
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'+' || bytes[i] == b'-')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                push_word(&mut out, "0", &mut word);
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                push_word(&mut out, &query[start..i], &mut word);
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                out.push_str("...");
                word = false;
                i += 3;
            }
            b'$' => {
                if word {
                    out.push(' ');
                }
                out.push('$');
                word = false;
                i += 1;
            }
            b'!' | b'&' | b'(' | b')' | b':' | b'=' | b'@' | b'[' | b']' | b'{' | b'|' | b'}' => {
                out.push(b as char);
                word = false;
                i += 1;
            }
            // Anything else (a byte no GraphQL token starts with, or past a UTF-8 lead
            // byte) is dropped: it cannot be a name, and may be part of a value.
            _ => i += 1,
        }
    }
    out
}

/// The index just past the string starting at `start` (a `"..."` with its escapes, or a
/// `"""..."""` block string), or the end of the text if it never closes.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // A string cannot span lines: the value ends here.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::without_literals;

    #[test]
    fn literal_values_are_removed_and_names_kept() {
        let doc = r#"
            # a comment with a secret: hunter2
            query Steps($first: Int = 25, $name: String = "secret default") {
              sequenceSteps(first: 10, filter: {name: "Hunter \"2\"", ids: [1, -2.5e+3]}, orderBy: NAME) {
                nodes { id, name @include(if: true) ...F }
              }
              note: description(text: """a block "" \""" string""")
            }
            fragment F on SequenceStep { stepType }
        "#;
        assert_eq!(
            without_literals(doc),
            r#"query Steps($first:Int=0 $name:String=""){sequenceSteps(first:0 filter:{name:"" ids:[0 0]}orderBy:NAME){nodes{id name@include(if:true)...F}}note:description(text:"")}fragment F on SequenceStep{stepType}"#
        );
    }

    #[test]
    fn broken_documents_lose_their_values_too() {
        assert_eq!(without_literals(r#"{ a(x: "unterminated"#), r#"{a(x:"""#);
        assert_eq!(
            without_literals("{ a(x: \"line\nnext\") }"),
            r##"{a(x:"" next """##
        );
        assert_eq!(without_literals("{ é(x: 1) }"), "{(x:0)}");
    }
}
