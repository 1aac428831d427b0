//! Parsed documents, kept by their text: a frontend sends the same few documents on every
//! page view, and parsing one (async-graphql's pest parser) cost more than the cost check and
//! validation together (docs/PERFORMANCE.md, 2026-12-02).
//!
//! The cache is bounded in entries, in text per generation and in the length of a document it
//! keeps, so a client sending a new document every time makes it churn, never grow. Two
//! generations approximate "least recently used" without bookkeeping per hit: new documents
//! go into the young map; when it is full it becomes the old map (the previous old one is
//! dropped), and a hit in the old map moves the document back into the young one. A document that does not parse is not
//! kept: its error comes from parsing it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Documents per generation (two generations are kept).
const GENERATION: usize = 256;
/// Text per generation: with the trees parsed from it (a few times the text), the cache
/// holds at most a few megabytes whatever clients send.
const GENERATION_BYTES: usize = 256 * 1024;
/// Longer documents are parsed every time (a frontend's page query is a few kilobytes).
const MAX_CACHED_LEN: usize = 16 * 1024;

type Map = HashMap<Box<str>, Arc<ExecutableDocument>, foldhash::fast::RandomState>;

/// The young and the old generation, and the young one's text in bytes.
#[derive(Default)]
struct Generations {
    young: Map,
    old: Map,
    young_bytes: usize,
}

#[derive(Default)]
pub struct Documents {
    generations: Mutex<Generations>,
}

impl Documents {
    /// The document of `request`, parsed or from the cache; the request holds its own copy
    /// for the executor. `None` when it does not parse (the executor reports why).
    pub fn parse(&self, request: &mut async_graphql::Request) -> Option<Arc<ExecutableDocument>> {
        let doc = self.document(&request.query)?;
        request.set_parsed_query((*doc).clone());
        Some(doc)
    }

    /// The document of `query`, from the cache or parsed (and kept); `None` when it does not
    /// parse. For a look at the document before the request runs (GET refuses mutations)
    /// without giving the request a copy it would only be given again by [`Self::parse`].
    pub fn document(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let cacheable = query.len() <= MAX_CACHED_LEN;
        if cacheable && let Some(doc) = self.get(query) {
            return Some(doc);
        }
        let doc = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        if cacheable {
            self.insert(query, doc.clone());
        }
        Some(doc)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let mut g = self.lock();
        if let Some(doc) = g.young.get(query) {
            return Some(doc.clone());
        }
        let (text, doc) = g.old.remove_entry(query)?;
        g.put(text, doc.clone());
        Some(doc)
    }

    fn insert(&self, query: &str, doc: Arc<ExecutableDocument>) {
        self.lock().put(query.into(), doc);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }
}

impl Generations {
    fn put(&mut self, text: Box<str>, doc: Arc<ExecutableDocument>) {
        if self.young.contains_key(&text) {
            return;
        }
        if self.young.len() >= GENERATION || self.young_bytes + text.len() > GENERATION_BYTES {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        self.young_bytes += text.len();
        self.young.insert(text, doc);
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

    /// GET looks at the document before the request runs; the request then finds it kept.
    #[test]
    fn a_document_looked_at_first_is_the_one_the_request_gets() {
        let docs = Documents::default();
        let query = "{ users { nodes { id } } }";
        let looked = docs.document(query).unwrap();
        let mut req = request(query);
        let parsed = docs.parse(&mut req).unwrap();
        assert!(Arc::ptr_eq(&looked, &parsed));
        assert_eq!(req.parsed_query().unwrap().operations.iter().count(), 1);
        assert!(docs.document("{ users { ").is_none());
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

    #[test]
    fn long_documents_roll_generations_by_size() {
        let docs = Documents::default();
        let padding = "x".repeat(MAX_CACHED_LEN - 100);
        for i in 0..100 {
            docs.parse(&mut request(&format!(
                "{{ users {{ nodes {{ id }} }} }} #{i}{padding}"
            )))
            .unwrap();
            let g = docs.lock();
            assert!(g.young_bytes <= GENERATION_BYTES);
            let old_bytes: usize = g.old.keys().map(|k| k.len()).sum();
            assert!(old_bytes <= GENERATION_BYTES);
        }
        assert!(docs.len() < 2 * GENERATION_BYTES / (MAX_CACHED_LEN - 100) + 2);
    }
}
