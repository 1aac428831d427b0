//! Latency benchmark: sends one GraphQL query to a running server many times and prints the
//! latency distribution and the SQL statements per request.
//!
//! ```sh
//! cargo run --release --example bench_query -- URL TOKEN [RUNS] [FIRST] [QUERY_FILE]
//! ```
//! `bench/latency.sh` seeds a database, starts the server and runs this.

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: bench_query URL TOKEN [RUNS] [FIRST] [QUERY_FILE]");
        std::process::exit(2);
    }
    let url = format!("{}/graphql", args[1].trim_end_matches('/'));
    let token = &args[2];
    let runs: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(50);
    let first: i64 = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(50);
    let query = match args.get(5) {
        Some(path) => std::fs::read_to_string(path).expect("read the query file"),
        None => include_str!("../bench/two_levels.graphql").to_string(),
    };
    let body = serde_json::json!({ "query": query, "variables": { "n": first } });
    let client = reqwest::Client::new();
    let mut samples = Vec::with_capacity(runs);
    let mut statements = None;
    // Two warm-up requests fill the connection pool and the database's caches.
    for i in 0..runs + 2 {
        let started = Instant::now();
        let res = client
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        statements = res
            .headers()
            .get("x-sql-statements")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = res.text().await.expect("body");
        let elapsed = started.elapsed();
        assert!(
            status.is_success() && !text.contains("\"errors\""),
            "request failed: {status} {text}"
        );
        if i >= 2 {
            samples.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "runs={runs} first={first} statements={} min={:.1}ms median={:.1}ms p90={:.1}ms max={:.1}ms",
        statements.unwrap_or_else(|| "?".into()),
        samples[0],
        pct(0.5),
        pct(0.9),
        samples[samples.len() - 1]
    );
}
