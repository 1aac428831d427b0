//! `stepgraph sync outreach`: one sync of the mirror (`stepgraph-outreach` does the work),
//! and its report: rows, requests, speed.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use stepgraph_outreach::{Client, Options, Reconcile};

use crate::cli::OutreachArgs;

pub async fn outreach(
    db: &DatabaseConnection,
    client: &Client,
    args: &OutreachArgs,
) -> anyhow::Result<()> {
    let options = Options {
        page_size: args.page_size,
        reconcile: if args.reconcile {
            Reconcile::Now
        } else {
            Reconcile::Every(args.reconcile_every.to_std().unwrap_or(Duration::ZERO))
        },
    };
    tracing::info!(base_url = %client.base_url(), "syncing from Outreach");
    let report = stepgraph_outreach::sync(db, client, &options).await?;
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "resource", "inserted", "updated", "unchanged", "skipped", "deleted"
    );
    for (kind, applied, deleted) in &report.resources {
        println!(
            "{:<18} {:>9} {:>9} {:>9} {:>9} {:>9}",
            kind.wire(),
            applied.inserted,
            applied.updated,
            applied.unchanged,
            applied.skipped.len(),
            deleted
        );
    }
    let rows = report.rows();
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    println!(
        "synced {rows} rows ({} written, {} deleted) in {:.1?}: {:.0} rows/s, {} requests ({:.1} per 1,000 rows), {} retried, {} throttled",
        report.written(),
        report.deleted(),
        report.elapsed,
        rows as f64 / secs,
        report.stats.requests,
        if rows == 0 {
            0.0
        } else {
            report.stats.requests as f64 * 1000.0 / rows as f64
        },
        report.stats.retries,
        report.stats.throttled,
    );
    Ok(())
}
