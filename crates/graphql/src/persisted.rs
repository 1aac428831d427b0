//! Persisted documents: a request may name its document by its SHA-256 instead of sending it.
//!
//! Two protocols over one idea:
//! - **Automatic persisted queries** (Apollo's APQ): `extensions.persistedQuery {version: 1,
//!   sha256Hash}`. The hash alone answers `PERSISTED_QUERY_NOT_FOUND` until the client sends
//!   the document with its hash (Apollo Client's `createPersistedQueryLink` retries that way);
//!   the server checks that the hash is the document's, keeps the document and runs it. What
//!   it keeps is bounded in entries and in bytes, oldest out first ([`LEARNT_ENTRIES`],
//!   [`LEARNT_BYTES`]), so clients can make it churn, never grow.
//! - **Trusted documents** (GraphQL over HTTP, appendix A "Persisted Documents"):
//!   `documentId: "sha256:<hex>"`, looked up in manifests loaded at start
//!   (`--trusted-documents`): graphql-codegen's client preset (`persisted-documents.json`,
//!   `{"sha256:<hex>": "<document>"}`, the prefix optional) or Apollo's persisted query manifest (`{"format":
//!   "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body", ...}]}`).
//!   An APQ hash that a manifest holds is served from the manifest too.
//!
//! With `only_trusted` (`--only-trusted-documents`) a document that no manifest holds is
//! refused before it is parsed, whatever way it came, unless the token may send ad-hoc
//! documents (the `adhoc` scope: an operator's GraphiQL). Trusted documents still pass the
//! cost check like any other.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::Value;
use sha2::{Digest, Sha256};

/// Documents learnt through APQ: at most this many ...
pub const LEARNT_ENTRIES: usize = 1_000;
/// ... and at most this much text in all.
pub const LEARNT_BYTES: usize = 4 * 1024 * 1024;

type Hash = [u8; 32];

/// How a request gave its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The text, with no hash.
    AdHoc,
    /// An APQ hash, the text learnt now or earlier.
    Apq,
    /// A document of a manifest.
    Trusted,
}

/// Why a request's document was refused (nothing was parsed or run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// APQ: the hash is not known; send the document with it.
    NotFound,
    /// `documentId` names no document of the manifests.
    UnknownDocument(String),
    /// `extensions.persistedQuery` or `documentId` is not in the protocol's shape.
    Malformed(String),
    /// The document sent is not the one the hash names.
    HashMismatch,
    /// Only trusted documents run here, and this one is not.
    NotTrusted,
}

impl Refusal {
    /// The `extensions.code` of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            Refusal::UnknownDocument(_) => "PERSISTED_DOCUMENT_NOT_FOUND",
            Refusal::Malformed(_) => "BAD_REQUEST",
            Refusal::HashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Refusal::NotTrusted => "TRUSTED_DOCUMENT_REQUIRED",
        }
    }

    pub fn message(&self) -> String {
        match self {
            // Apollo Client's link recognises the message as well as the code.
            Refusal::NotFound => "PersistedQueryNotFound".into(),
            Refusal::UnknownDocument(id) => format!("no trusted document has the id {id}"),
            Refusal::Malformed(why) => why.clone(),
            Refusal::HashMismatch => {
                "provided sha256Hash does not match the query (the SHA-256 of its text, in hex)"
                    .into()
            }
            Refusal::NotTrusted => "this server runs only its trusted documents: send a \
                                    `documentId` (or an APQ hash) of a document in its manifests"
                .into(),
        }
    }

    /// The response to a refused request.
    pub fn into_response(self) -> async_graphql::Response {
        let mut err = async_graphql::ServerError::new(self.message(), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code());
        err.extensions = Some(ext);
        async_graphql::Response::from_errors(vec![err])
    }
}

/// APQ documents learnt from clients, oldest first out.
#[derive(Default)]
struct Learnt {
    texts: HashMap<Hash, Arc<str>>,
    order: VecDeque<Hash>,
    bytes: usize,
}

impl Learnt {
    fn insert(&mut self, hash: Hash, text: &str) {
        if text.len() > LEARNT_BYTES || self.texts.contains_key(&hash) {
            return;
        }
        while self.texts.len() >= LEARNT_ENTRIES || self.bytes + text.len() > LEARNT_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(t) = self.texts.remove(&old) {
                self.bytes -= t.len();
            }
        }
        self.bytes += text.len();
        self.texts.insert(hash, text.into());
        self.order.push_back(hash);
    }
}

/// The trusted documents and the APQ store of one server. `Default`: APQ on, no trusted
/// documents, so any document may run.
#[derive(Default)]
pub struct Persisted {
    trusted: HashMap<Hash, Arc<str>>,
    only_trusted: bool,
    learnt: Mutex<Learnt>,
}

impl Persisted {
    /// With the trusted documents of these manifests; `only_trusted` refuses every other
    /// document (but for tokens that may send ad-hoc documents). An error names the file and
    /// the entry that is wrong.
    pub fn with_manifests(paths: &[impl AsRef<Path>], only_trusted: bool) -> Result<Self, String> {
        let mut trusted = HashMap::new();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read the manifest: {e}", path.display()))?;
            for (id, body) in manifest_entries(&text)
                .map_err(|e| format!("{}: not a trusted-documents manifest: {e}", path.display()))?
            {
                // graphql-codegen writes `sha256:<hex>` (its `documentId`), Apollo bare hex.
                let hex = id.strip_prefix("sha256:").unwrap_or(&id);
                let hash = parse_hex(hex).ok_or_else(|| {
                    format!(
                        "{}: entry {id:?}: the id must be a SHA-256 in hex (64 digits, \
                         `sha256:` before them or not)",
                        path.display()
                    )
                })?;
                if sha256(&body) != hash {
                    return Err(format!(
                        "{}: entry {id}: the id is not the SHA-256 of its document",
                        path.display()
                    ));
                }
                if let Err(e) = async_graphql::parser::parse_query(&body) {
                    return Err(format!(
                        "{}: entry {id}: the document does not parse: {e}",
                        path.display()
                    ));
                }
                trusted.insert(hash, Arc::from(body));
            }
        }
        if only_trusted && trusted.is_empty() {
            return Err("--only-trusted-documents needs at least one document \
                        (--trusted-documents PATH)"
                .into());
        }
        Ok(Self {
            trusted,
            only_trusted,
            learnt: Mutex::default(),
        })
    }

    /// How many trusted documents the manifests held.
    pub fn trusted_len(&self) -> usize {
        self.trusted.len()
    }

    pub fn only_trusted(&self) -> bool {
        self.only_trusted
    }

    /// Settles the document of `request`: fills `request.query` from a `documentId` or an
    /// APQ hash, learns an APQ document sent with its hash, and refuses what may not run.
    /// `ad_hoc` says the token may send documents no manifest holds.
    pub fn resolve(
        &self,
        request: &mut async_graphql::Request,
        document_id: Option<&str>,
        ad_hoc: bool,
    ) -> Result<Source, Refusal> {
        if let Some(id) = document_id {
            if !request.query.is_empty() {
                return Err(Refusal::Malformed(
                    "send either `documentId` or `query`, not both".into(),
                ));
            }
            let hash = id
                .strip_prefix("sha256:")
                .and_then(parse_hex)
                .ok_or_else(|| {
                    Refusal::Malformed(format!(
                        "`documentId` must be \"sha256:\" and 64 hex digits, not {:?}",
                        truncate(id)
                    ))
                })?;
            let text = self
                .trusted
                .get(&hash)
                .ok_or_else(|| Refusal::UnknownDocument(truncate(id).to_string()))?;
            request.query = text.to_string();
            return Ok(Source::Trusted);
        }
        let may_run_any = ad_hoc || !self.only_trusted;
        let Some(persisted) = request.extensions.0.get("persistedQuery") else {
            if may_run_any || self.trusted.contains_key(&sha256(&request.query)) {
                return Ok(Source::AdHoc);
            }
            return Err(Refusal::NotTrusted);
        };
        let hash = apq_hash(persisted)?;
        if request.query.is_empty() {
            if let Some(text) = self.trusted.get(&hash) {
                request.query = text.to_string();
                return Ok(Source::Trusted);
            }
            let learnt = self.learnt.lock().unwrap_or_else(|p| p.into_inner());
            return match learnt.texts.get(&hash) {
                Some(text) if may_run_any => {
                    request.query = text.to_string();
                    Ok(Source::Apq)
                }
                _ => Err(Refusal::NotFound),
            };
        }
        if sha256(&request.query) != hash {
            return Err(Refusal::HashMismatch);
        }
        if self.trusted.contains_key(&hash) {
            return Ok(Source::Trusted);
        }
        if !may_run_any {
            return Err(Refusal::NotTrusted);
        }
        self.learnt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash, &request.query);
        Ok(Source::Apq)
    }
}

/// The hash of `extensions.persistedQuery`, which must be `{version: 1, sha256Hash: hex}`.
fn apq_hash(persisted: &Value) -> Result<Hash, Refusal> {
    let Value::Object(fields) = persisted else {
        return Err(Refusal::Malformed(
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<hex>\"}".into(),
        ));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => {
            return Err(Refusal::Malformed(
                "extensions.persistedQuery.version must be 1".into(),
            ));
        }
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hex)) => parse_hex(hex).ok_or_else(|| {
            Refusal::Malformed("extensions.persistedQuery.sha256Hash must be 64 hex digits".into())
        }),
        _ => Err(Refusal::Malformed(
            "extensions.persistedQuery.sha256Hash must be 64 hex digits".into(),
        )),
    }
}

/// The `(id, document)` pairs of a manifest in either format.
fn manifest_entries(text: &str) -> Result<Vec<(String, String)>, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = json else {
        return Err("the manifest must be a JSON object".into());
    };
    if map.get("format").and_then(|f| f.as_str()) == Some("apollo-persisted-query-manifest") {
        if map.get("version").and_then(|v| v.as_u64()) != Some(1) {
            return Err("only version 1 of Apollo's manifest format is known".into());
        }
        let ops = map
            .get("operations")
            .and_then(|o| o.as_array())
            .ok_or("an Apollo manifest needs an `operations` list")?;
        return ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let field = |name: &str| {
                    op.get(name)
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                        .ok_or_else(|| format!("operations[{i}] has no string `{name}`"))
                };
                Ok((field("id")?, field("body")?))
            })
            .collect();
    }
    map.into_iter()
        .map(|(id, body)| match body {
            serde_json::Value::String(body) => Ok((id, body)),
            _ => Err(format!("entry {id:?}: the document must be a string")),
        })
        .collect()
}

pub fn sha256(text: &str) -> Hash {
    Sha256::digest(text.as_bytes()).into()
}

/// 64 hex digits (either case) as a hash.
fn parse_hex(hex: &str) -> Option<Hash> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// An id as an error may quote it: at most 80 characters.
fn truncate(id: &str) -> &str {
    match id.char_indices().nth(80) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(hash: Hash) -> String {
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn apq(query: &str, hash: &str) -> async_graphql::Request {
        let mut r = async_graphql::Request::new(query);
        r.extensions.0.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({"version": 1, "sha256Hash": hash})).unwrap(),
        );
        r
    }

    #[test]
    fn apq_learns_a_document_sent_with_its_hash() {
        let p = Persisted::default();
        let doc = "{ viewer { id } }";
        let h = hex(sha256(doc));
        assert_eq!(
            p.resolve(&mut apq("", &h), None, false),
            Err(Refusal::NotFound)
        );
        assert_eq!(
            p.resolve(&mut apq("{ viewer { name } }", &h), None, false),
            Err(Refusal::HashMismatch)
        );
        assert_eq!(p.resolve(&mut apq(doc, &h), None, false), Ok(Source::Apq));
        let mut again = apq("", &h);
        assert_eq!(p.resolve(&mut again, None, false), Ok(Source::Apq));
        assert_eq!(again.query, doc);
    }

    #[test]
    fn the_store_is_bounded_in_entries_and_bytes() {
        let mut l = Learnt::default();
        for i in 0..LEARNT_ENTRIES + 10 {
            let text = format!("{{ a{i}: viewer {{ id }} }}");
            l.insert(sha256(&text), &text);
        }
        assert_eq!(l.texts.len(), LEARNT_ENTRIES);
        assert!(!l.texts.contains_key(&sha256("{ a0: viewer { id } }")));
        let big = "x".repeat(LEARNT_BYTES / 3);
        for i in 0..5 {
            let text = format!("{big}{i}");
            l.insert(sha256(&text), &text);
        }
        assert!(l.bytes <= LEARNT_BYTES, "{}", l.bytes);
        assert_eq!(l.texts.len(), l.order.len());
        let total: usize = l.texts.values().map(|t| t.len()).sum();
        assert_eq!(total, l.bytes);
    }

    #[test]
    fn malformed_hashes_and_versions_are_refused() {
        let p = Persisted::default();
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63)] {
            assert!(matches!(
                p.resolve(&mut apq("", bad), None, false),
                Err(Refusal::Malformed(_))
            ));
        }
        let mut r = async_graphql::Request::new("");
        r.extensions.0.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({"version": 2, "sha256Hash": "a".repeat(64)}))
                .unwrap(),
        );
        assert!(matches!(
            p.resolve(&mut r, None, false),
            Err(Refusal::Malformed(_))
        ));
        for id in ["abc", "sha256:xyz", "md5:0123"] {
            assert!(matches!(
                p.resolve(&mut async_graphql::Request::new(""), Some(id), false),
                Err(Refusal::Malformed(_))
            ));
        }
    }

    #[test]
    fn manifests_in_both_formats() {
        let dir = std::env::temp_dir().join(format!("sg-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = "query A { viewer { id } }";
        let b = "query B { viewer { name } }";
        let codegen = dir.join("persisted-documents.json");
        std::fs::write(
            &codegen,
            serde_json::json!({ format!("sha256:{}", hex(sha256(a))): a }).to_string(),
        )
        .unwrap();
        let apollo = dir.join("apollo.json");
        std::fs::write(
            &apollo,
            serde_json::json!({"format": "apollo-persisted-query-manifest", "version": 1,
                "operations": [{"id": hex(sha256(b)), "name": "B", "type": "query", "body": b}]})
            .to_string(),
        )
        .unwrap();
        let p = Persisted::with_manifests(&[&codegen, &apollo], true).unwrap();
        assert_eq!(p.trusted_len(), 2);
        let mut r = async_graphql::Request::new("");
        let id = format!("sha256:{}", hex(sha256(a)));
        assert_eq!(p.resolve(&mut r, Some(&id), false), Ok(Source::Trusted));
        assert_eq!(r.query, a);
        // An APQ hash of a manifest's document, and the document's own text, run too.
        assert_eq!(
            p.resolve(&mut apq("", &hex(sha256(b))), None, false),
            Ok(Source::Trusted)
        );
        assert_eq!(
            p.resolve(&mut async_graphql::Request::new(b), None, false),
            Ok(Source::AdHoc)
        );
        // Anything else is refused, unless the token may send ad-hoc documents.
        let other = "{ viewer { email } }";
        assert_eq!(
            p.resolve(&mut async_graphql::Request::new(other), None, false),
            Err(Refusal::NotTrusted)
        );
        assert_eq!(
            p.resolve(&mut apq(other, &hex(sha256(other))), None, false),
            Err(Refusal::NotTrusted)
        );
        assert_eq!(
            p.resolve(&mut async_graphql::Request::new(other), None, true),
            Ok(Source::AdHoc)
        );
        let unknown = format!("sha256:{}", "0".repeat(64));
        assert!(matches!(
            p.resolve(&mut async_graphql::Request::new(""), Some(&unknown), false),
            Err(Refusal::UnknownDocument(_))
        ));
        // A wrong entry stops loading, naming the file and the entry.
        let bad = dir.join("bad.json");
        std::fs::write(&bad, serde_json::json!({ "0".repeat(64): a }).to_string()).unwrap();
        let err = Persisted::with_manifests(&[&bad], false).err().unwrap();
        assert!(
            err.contains("bad.json") && err.contains(&"0".repeat(64)),
            "{err}"
        );
        std::fs::write(
            &bad,
            serde_json::json!({ hex(sha256("{")): "{" }).to_string(),
        )
        .unwrap();
        let err = Persisted::with_manifests(&[&bad], false).err().unwrap();
        assert!(err.contains("does not parse"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
