//! The schemas a request runs on ([`Schemas`]): the one that validates, and for a request
//! already validated, one that does not validate again.
//!
//! async-graphql validates every request with every rule of the spec (22 visitors over the
//! document, each argument's value checked against its type, variables included) before it
//! runs it: a fifth of the server's instructions for a lookup by id (docs/PERFORMANCE.md).
//! A frontend sends the same few documents with the same few variable sets over and over, and
//! validation is a function of the document, the operation chosen and the variables' values
//! (the schema is fixed for the life of the process). So a request whose document, operation
//! name and variables (as JSON) are those of a request that ran without any error is run
//! through a second schema built with async-graphql's `ValidationMode::Fast`, which still
//! checks fragment cycles and computes the complexity and depth limits, and skips the rest.
//! Anything else, and every request until one like it has run cleanly, is validated in full:
//! an invalid request is always told why, whatever ran before it.
//!
//! What is remembered is a 128-bit digest keyed with two random SipHash keys chosen when the
//! process starts, so a client cannot make up a request that collides with one that ran
//! (nor learn which ones did). The set is bounded; when full it starts again empty.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;

use crate::{AppSchema, Limits};

/// Digests kept before the set starts again (16 bytes each).
const CAPACITY: usize = 8192;
/// Requests whose variables serialise to more than this are validated every time.
const MAX_VARIABLES_BYTES: usize = 16 * 1024;

/// A request's digest: document, operation name and variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u64, u64);

/// The schema with its limits, twice: validating every request, and validating only what
/// [`ValidationMode::Fast`](async_graphql::ValidationMode::Fast) does, for requests already
/// validated. Built together from the same limits, so the two answer alike.
pub struct Schemas {
    full: AppSchema,
    trusting: AppSchema,
    keys: (RandomState, RandomState),
    seen: Mutex<HashSet<Key, foldhash::fast::RandomState>>,
}

impl Schemas {
    pub fn new(limits: Limits) -> Self {
        Self {
            full: crate::build_schema(limits),
            trusting: crate::build_schema_with(limits, async_graphql::ValidationMode::Fast),
            keys: (RandomState::new(), RandomState::new()),
            seen: Mutex::default(),
        }
    }

    /// The schema that validates every request (subscriptions, and any request not known).
    pub fn full(&self) -> &AppSchema {
        &self.full
    }

    /// The schema to run a request with `key` on: the one that does not validate again when
    /// a request with the same key ran without error, else the full one.
    pub fn for_key(&self, key: Option<Key>) -> &AppSchema {
        match key {
            Some(key) if self.lock().contains(&key) => &self.trusting,
            _ => &self.full,
        }
    }

    /// The digest of `request`, or `None` when it is not worth remembering (variables that
    /// are large, or that do not serialise).
    pub fn key(&self, request: &async_graphql::Request) -> Option<Key> {
        let mut a = self.keys.0.build_hasher();
        let mut b = self.keys.1.build_hasher();
        let mut both = Both(&mut a, &mut b, 0);
        // Length-prefixed, so no two different requests feed the same bytes.
        both.field(request.query.as_bytes());
        match &request.operation_name {
            Some(name) => both.field(name.as_bytes()),
            None => both.feed(&[0xff]),
        }
        if !request.variables.is_empty() {
            serde_json::to_writer(&mut both, &request.variables).ok()?;
            if both.2 > MAX_VARIABLES_BYTES {
                return None;
            }
        }
        Some(Key(a.finish(), b.finish()))
    }

    /// Remembers that a request with `key` was validated (it ran without error).
    pub fn remember(&self, key: Key) {
        let mut seen = self.lock();
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Key, foldhash::fast::RandomState>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Feeds two hashers at once, counting the bytes of variables written through `io::Write`.
struct Both<'a, A: Hasher, B: Hasher>(&'a mut A, &'a mut B, usize);

impl<A: Hasher, B: Hasher> Both<'_, A, B> {
    fn feed(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
        self.1.write(bytes);
    }

    fn field(&mut self, bytes: &[u8]) {
        self.feed(&(bytes.len() as u64).to_le_bytes());
        self.feed(bytes);
    }
}

impl<A: Hasher, B: Hasher> std::io::Write for Both<'_, A, B> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.2 += bytes.len();
        if self.2 > MAX_VARIABLES_BYTES {
            return Err(std::io::Error::other("variables too large to remember"));
        }
        self.feed(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, op: Option<&str>, vars: serde_json::Value) -> async_graphql::Request {
        let mut r =
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
        if let Some(op) = op {
            r = r.operation_name(op);
        }
        r
    }

    #[test]
    fn a_key_is_the_document_the_operation_and_the_variables() {
        let v = Schemas::new(Limits::default());
        let q = "query A($id: ID!) { sequenceStep(id: $id) { id } } query B { viewer { id } }";
        let base = v
            .key(&request(q, Some("A"), serde_json::json!({ "id": "1" })))
            .unwrap();
        let same = v
            .key(&request(q, Some("A"), serde_json::json!({ "id": "1" })))
            .unwrap();
        assert_eq!(base, same);
        for other in [
            request(q, Some("B"), serde_json::json!({ "id": "1" })),
            request(q, None, serde_json::json!({ "id": "1" })),
            request(q, Some("A"), serde_json::json!({ "id": "2" })),
            request(q, Some("A"), serde_json::json!({ "id": 1 })),
            request(q, Some("A"), serde_json::json!({})),
            request(
                &format!("{q} "),
                Some("A"),
                serde_json::json!({ "id": "1" }),
            ),
        ] {
            assert_ne!(v.key(&other), Some(base), "{:?}", other.operation_name);
        }
        // Another process (other random keys) digests the same request differently.
        let w = Schemas::new(Limits::default());
        assert_ne!(
            w.key(&request(q, Some("A"), serde_json::json!({ "id": "1" }))),
            Some(base)
        );
    }

    #[test]
    fn only_remembered_keys_skip_validation_and_the_set_is_bounded() {
        let v = Schemas::new(Limits::default());
        let key = v.key(&request("{ viewer { id } }", None, serde_json::json!({})));
        assert!(std::ptr::eq(v.for_key(key), v.full()));
        v.remember(key.unwrap());
        assert!(std::ptr::eq(v.for_key(key), &v.trusting));
        assert!(std::ptr::eq(v.for_key(None), v.full()));
        for i in 0..CAPACITY as u64 {
            v.remember(Key(i, i));
        }
        assert!(v.lock().len() <= CAPACITY);
        let big = serde_json::json!({ "x": "y".repeat(MAX_VARIABLES_BYTES) });
        assert_eq!(v.key(&request("{ viewer { id } }", None, big)), None);
    }
}
