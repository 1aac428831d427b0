//! Parsed documents, kept by their text: a frontend sends the same few documents on every
//! page view, and parsing one (async-graphql's pest parser) cost more than the cost check and
//! validation together (docs/PERFORMANCE.md, 2026-12-02).
//!
//! The cache is bounded in entries and in the length of a document it keeps, so a client
//! sending a new document every time makes it churn, never grow. Two generations approximate
//! "least recently used" without bookkeeping per hit: new documents go into the young map;
//! when it is full it becomes the old map (the previous old one is dropped), and a hit in the
//! old map moves the document back into the young one. A document that does not parse is not
//! kept: its error comes from parsing it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Documents per generation (two generations are kept).
const GENERATION: usize = 256;
/// Longer documents are parsed every time: no frontend's page query is this long, and it
/// bounds the cache's memory at about `2 * GENERATION * MAX_CACHED_LEN` of text plus trees.
const MAX_CACHED_LEN: usize = 16 * 1024;

type Map = HashMap<Box<str>, Arc<ExecutableDocument>, foldhash::fast::RandomState>;

#[derive(Default)]
pub struct Documents {
    generations: Mutex<(Map, Map)>,
}

impl Documents {
    /// The document of `request`, parsed or from the cache; the request holds its own copy
    /// for the executor. `None` when it does not parse (the executor reports why).
    pub fn parse(&self, request: &mut async_graphql::Request) -> Option<Arc<ExecutableDocument>> {
        let cacheable = request.query.len() <= MAX_CACHED_LEN;
        if cacheable && let Some(doc) = self.get(&request.query) {
            request.set_parsed_query((*doc).clone());
            return Some(doc);
        }
        // Parses, or returns what an earlier call set on this request.
        let doc = Arc::new(request.parsed_query().ok()?.clone());
        if cacheable {
            self.insert(&request.query, doc.clone());
        }
        Some(doc)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Map, Map)> {
        self.generations.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let mut guard = self.lock();
        let (young, old) = &mut *guard;
        if let Some(doc) = young.get(query) {
            return Some(doc.clone());
        }
        let (text, doc) = old.remove_entry(query)?;
        Self::put(young, old, text, doc.clone());
        Some(doc)
    }

    fn insert(&self, query: &str, doc: Arc<ExecutableDocument>) {
        let mut guard = self.lock();
        let (young, old) = &mut *guard;
        Self::put(young, old, query.into(), doc);
    }

    fn put(young: &mut Map, old: &mut Map, text: Box<str>, doc: Arc<ExecutableDocument>) {
        if young.len() >= GENERATION && !young.contains_key(&text) {
            *old = std::mem::take(young);
        }
        young.insert(text, doc);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let guard = self.lock();
        guard.0.len() + guard.1.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> async_graphql::Request {
        async_graphql::Request::new(query)
    }

    #[test]
    fn a_document_is_parsed_once_and_shared() {
        let docs = Documents::default();
        let a = docs
            .parse(&mut request("{ users { nodes { id } } }"))
            .unwrap();
        let mut again = request("{ users { nodes { id } } }");
        let b = docs.parse(&mut again).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // The request carries the document for the executor too.
        assert_eq!(again.parsed_query().unwrap().operations.iter().count(), 1);
    }

    #[test]
    fn documents_that_do_not_parse_or_are_long_are_not_kept() {
        let docs = Documents::default();
        assert!(docs.parse(&mut request("{ users { ")).is_none());
        let long = format!(
            "{{ users {{ nodes {{ id }} }} }} #{}",
            "x".repeat(MAX_CACHED_LEN)
        );
        assert!(docs.parse(&mut request(&long)).is_some());
        assert_eq!(docs.len(), 0);
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_what_is_used() {
        let docs = Documents::default();
        let hot = "{ sequenceSteps { nodes { id } } }";
        let hot_doc = docs.parse(&mut request(hot)).unwrap();
        for i in 0..(5 * GENERATION) {
            docs.parse(&mut request(&format!(
                "{{ users {{ nodes {{ id }} }} }} #{i}"
            )))
            .unwrap();
            if i % (GENERATION / 2) == 0 {
                // Used now and then: it survives every generation change.
                let again = docs.parse(&mut request(hot)).unwrap();
                assert!(Arc::ptr_eq(&hot_doc, &again), "evicted after {i}");
            }
            assert!(docs.len() <= 2 * GENERATION);
        }
    }
}
