//! Outreach as stepgraph's upstream: `stepgraph sync outreach` copies an Outreach account
//! through its API v2 into this database, keeping Outreach's ids.
//!
//! [`client`] speaks HTTP (authentication, pacing, retries); [`sync`] walks the resources in
//! dependency order and hands each page to [`stepgraph_domain::service::mirror`], which owns
//! the rows and the checkpoints. The first sync of a resource pulls everything, sorted by
//! `updatedAt`; later ones ask only for `filter[updatedAt]=<checkpoint>..inf`, following
//! `links.next`. Outreach sends no tombstones, so deletions are found by comparing id lists
//! ([`Reconcile`]).

pub mod client;
pub mod writes;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Url;
use sea_orm::DatabaseConnection;
use serde_json::Value as Json;
use stepgraph_domain::error::AppError;
use stepgraph_domain::service::mirror::{self, Applied, Kind, UpstreamRow};

pub use client::{Auth, Client, Config, Stats};
pub use writes::OutreachWrites;

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The settings cannot work (a bad URL, a missing secret).
    #[error("{0}")]
    Config(String),
    /// Authentication with Outreach failed.
    #[error("authentication: {0}")]
    Auth(String),
    /// Outreach answered something we cannot use, or kept failing.
    #[error("upstream: {0}")]
    Upstream(String),
    /// Writing the mirror failed.
    #[error("database: {0}")]
    Database(#[from] AppError),
}

/// When the id reconciliation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconcile {
    /// Now (`--reconcile`).
    Now,
    /// When the last one is older than this.
    Every(Duration),
}

/// What one sync should do.
#[derive(Debug, Clone)]
pub struct Options {
    /// `page[size]`: at most 1,000, Outreach's maximum.
    pub page_size: u32,
    pub reconcile: Reconcile,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            page_size: 1000,
            reconcile: Reconcile::Every(Duration::from_secs(24 * 3600)),
        }
    }
}

/// What a sync did, per resource and in all.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub resources: Vec<(Kind, Applied, usize)>,
    pub stats: Stats,
    pub elapsed: Duration,
}

impl Report {
    /// Rows read from upstream (written, unchanged or skipped).
    pub fn rows(&self) -> usize {
        self.resources
            .iter()
            .map(|(_, a, _)| a.written() + a.unchanged + a.skipped.len())
            .sum()
    }

    pub fn written(&self) -> usize {
        self.resources.iter().map(|(_, a, _)| a.written()).sum()
    }

    pub fn deleted(&self) -> usize {
        self.resources.iter().map(|(_, _, d)| d).sum()
    }
}

/// Copies what changed upstream since the last sync (everything, the first time), then
/// reconciles ids when due.
pub async fn sync(
    db: &DatabaseConnection,
    client: &Client,
    options: &Options,
) -> Result<Report, SyncError> {
    if !(1..=1000).contains(&options.page_size) {
        return Err(SyncError::Config(
            "the page size must be between 1 and 1000".into(),
        ));
    }
    if mirror::has_local_rows(db).await? {
        return Err(SyncError::Config(
            "this database holds rows that were not mirrored from Outreach (a seed or local \
             writes); mirror into an empty database"
                .into(),
        ));
    }
    let started = Instant::now();
    let mut report = Report::default();
    for kind in Kind::ALL {
        let applied = pull(db, client, kind, options.page_size).await?;
        for (id, reason) in &applied.skipped {
            tracing::warn!(resource = kind.wire(), id, reason, "row not mirrored");
        }
        tracing::info!(
            resource = kind.wire(),
            inserted = applied.inserted,
            updated = applied.updated,
            unchanged = applied.unchanged,
            skipped = applied.skipped.len(),
            "pulled"
        );
        report.resources.push((kind, applied, 0));
    }
    // Children before parents, so no deletion cascades over a row unrecorded.
    for kind in Kind::ALL.into_iter().rev() {
        let due = match options.reconcile {
            Reconcile::Now => true,
            Reconcile::Every(every) => mirror::checkpoint(db, kind)
                .await?
                .reconciled_at
                .is_none_or(|at| {
                    Utc::now()
                        .signed_duration_since(at)
                        .to_std()
                        .unwrap_or_default()
                        >= every
                }),
        };
        if !due {
            continue;
        }
        let ids = upstream_ids(client, kind, options.page_size).await?;
        let deleted = mirror::reconcile(db, kind, &ids).await?;
        if deleted > 0 {
            tracing::info!(resource = kind.wire(), deleted, "deleted upstream");
        }
        if let Some(entry) = report.resources.iter_mut().find(|(k, _, _)| *k == kind) {
            entry.2 = deleted;
        }
    }
    report.stats = client.stats();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Pulls one resource from its checkpoint on, a page per transaction.
async fn pull(
    db: &DatabaseConnection,
    client: &Client,
    kind: Kind,
    page_size: u32,
) -> Result<Applied, SyncError> {
    let checkpoint = mirror::checkpoint(db, kind).await?;
    let size = page_size.to_string();
    let since = checkpoint.cursor.as_ref().map(|c| format!("{c}..inf"));
    let mut query = vec![("sort", "updatedAt"), ("page[size]", size.as_str())];
    if let Some(since) = &since {
        query.push(("filter[updatedAt]", since));
    }
    let mut url = with_query(client.url(kind.wire())?, &query);
    let mut total = Applied::default();
    let mut cursor = checkpoint.cursor;
    loop {
        let doc = client.get(&url).await?;
        let rows = rows(&doc)?;
        cursor = latest(cursor, &rows);
        let applied = mirror::apply_page(db, kind, &rows, cursor.as_deref()).await?;
        total.add(applied);
        match next_link(&doc) {
            Some(next) => url = client.same_origin(next)?,
            None => break,
        }
    }
    Ok(total)
}

/// Every id upstream has of `kind` (attributes left out with an empty sparse fieldset).
async fn upstream_ids(
    client: &Client,
    kind: Kind,
    page_size: u32,
) -> Result<HashSet<i64>, SyncError> {
    let size = page_size.to_string();
    let mut url = with_query(client.url(kind.wire())?, &[("page[size]", size.as_str())]);
    let mut ids = HashSet::new();
    loop {
        let doc = client.get(&url).await?;
        for row in rows(&doc)? {
            ids.insert(row.id);
        }
        match next_link(&doc) {
            Some(next) => url = client.same_origin(next)?,
            None => break,
        }
    }
    Ok(ids)
}

/// `url` with this query string (a plain function: the serializer is not `Send`, so it must
/// not live across an `await`).
pub(crate) fn with_query(mut url: Url, pairs: &[(&str, &str)]) -> Url {
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

fn next_link(doc: &Json) -> Option<&str> {
    doc.get("links")?.get("next")?.as_str()
}

/// The later of the checkpoint and the page's greatest `updatedAt`, as upstream spelled it.
fn latest(cursor: Option<String>, rows: &[UpstreamRow]) -> Option<String> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
    let mut best = cursor.and_then(|c| parse(&c).map(|t| (t, c)));
    for row in rows {
        let Some(text) = row.attributes.get("updatedAt").and_then(Json::as_str) else {
            continue;
        };
        let Some(t) = parse(text) else { continue };
        if best.as_ref().is_none_or(|(b, _)| t > *b) {
            best = Some((t, text.to_owned()));
        }
    }
    best.map(|(_, text)| text)
}

/// The resource objects of a collection document.
pub fn rows(doc: &Json) -> Result<Vec<UpstreamRow>, SyncError> {
    let data = doc
        .get("data")
        .and_then(Json::as_array)
        .ok_or_else(|| SyncError::Upstream("a collection document without a data array".into()))?;
    data.iter()
        .map(|obj| UpstreamRow::from_resource(obj).map_err(SyncError::Upstream))
        .collect()
}

/// The base URL as given on the command line: `https://api.outreach.io`, with or without a
/// trailing `/api/v2`.
pub fn base_url(text: &str) -> Result<Url, SyncError> {
    let trimmed = text.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v2").unwrap_or(trimmed);
    let url =
        Url::parse(trimmed).map_err(|e| SyncError::Config(format!("--base-url {text:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SyncError::Config(format!(
            "--base-url {text:?}: expected http(s)://host"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cursor_is_the_latest_updated_at_as_spelled() {
        let at = |id, t: &str| UpstreamRow {
            id,
            attributes: json!({ "updatedAt": t }).as_object().unwrap().clone(),
            ..UpstreamRow::default()
        };
        let rows = [
            at(1, "2026-10-01T09:00:00.500Z"),
            at(2, "2026-10-01T10:00:00.000+01:00"),
        ];
        assert_eq!(
            latest(Some("2026-10-01T08:00:00.000Z".into()), &rows).as_deref(),
            Some("2026-10-01T09:00:00.500Z")
        );
        assert_eq!(
            latest(Some("2026-12-01T00:00:00.000Z".into()), &rows).as_deref(),
            Some("2026-12-01T00:00:00.000Z")
        );
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            base_url("https://api.outreach.io/api/v2/")
                .unwrap()
                .as_str(),
            "https://api.outreach.io/"
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("not a url").is_err());
    }
}
