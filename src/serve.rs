//! `stepgraph serve`: the server ([`crate::server`]) configured from the command line, with
//! the demo data and tokens of `--demo`. Here, not in the server crate, because it is where
//! the command line and the seed meet the server (the server knows neither).

use std::net::SocketAddr;

use anyhow::Context;
use entity::user;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use tokio::net::TcpListener;

use crate::auth::tokens;
use crate::http;
use crate::seed::demo;
use crate::server::{AppState, run, shutdown_signal};

/// The browser origins `--demo` allows when `--cors-origins` is not given: local dev servers.
pub const DEMO_CORS_ORIGINS: [&str; 6] = [
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "http://localhost:4200",
    "http://127.0.0.1:4200",
];

/// `stepgraph serve`: optional demo data, then serve until a signal.
pub async fn serve(
    db: DatabaseConnection,
    config: &crate::db::DbConfig,
    args: &crate::cli::ServeArgs,
) -> anyhow::Result<()> {
    let listen = args.listen;
    // Statements outside the counted paths (the event ingest, webhooks) are traced too.
    let mut state = AppState::new(stepgraph_web::observed(&db, None), args.limits());
    state.cors_origins = args.cors_origins.clone();
    if args.demo && state.cors_origins.is_empty() {
        // A frontend's dev server calls the demo from its own origin; these are the usual ones
        // (Vite, Create React App and Next.js, Angular). `--cors-origins` replaces them.
        state.cors_origins = DEMO_CORS_ORIGINS.map(String::from).to_vec();
        println!("CORS: allowing {} (--demo)", DEMO_CORS_ORIGINS.join(", "));
    }
    if !args.trusted_documents.is_empty() || args.only_trusted_documents {
        let persisted = crate::graphql::persisted::Persisted::with_manifests(
            &args.trusted_documents,
            args.only_trusted_documents,
        )
        .map_err(|e| anyhow::anyhow!("--trusted-documents: {e}"))?;
        println!(
            "trusted documents: {} loaded{}",
            persisted.trusted_len(),
            if persisted.only_trusted() {
                "; only these run (tokens with the adhoc scope may send others)"
            } else {
                ""
            }
        );
        state.persisted = std::sync::Arc::new(persisted);
    }
    state.public_url = args.public_url.clone();
    state.slow_operation = args.slow_operation_ms.map(std::time::Duration::from_millis);
    state.drain = std::time::Duration::from_secs(args.drain_secs);
    if !args.oidc_issuers.is_empty() {
        start_oidc(args).await?;
    }
    if !args.read_database_urls.is_empty() {
        state.replicas = Some(open_replicas(&state.db, config, args).await?);
    }
    if args.shared_rate_limit {
        let shedding = http::shed::Shedding::new(
            state.limits.max_in_flight,
            state.limits.rate_limit_per_minute,
        )
        .shared(state.db.clone())
        .map_err(|e| anyhow::anyhow!("--shared-rate-limit: {e}"))?;
        state.shedding = std::sync::Arc::new(shedding);
        println!("rate limit: shared by every instance on this database");
    }
    state.ingest_members = args.ingest_members;
    state.allowed_hosts =
        http::hosts::HostPolicy::from_list(&args.allowed_hosts, args.public_url.as_deref());
    tokens::set_cache_ttl(args.token_cache_secs.map(std::time::Duration::from_secs));
    // From the environment or a file only: a flag would show the secret in the process list.
    state.outreach_webhook_secret = crate::cli::secret("STEPGRAPH_OUTREACH_WEBHOOK_SECRET")?
        .map(|s| std::sync::Arc::from(s.into_bytes()));
    if state.outreach_webhook_secret.is_some() {
        println!("Outreach webhooks: accepted at /webhooks/outreach (signed deliveries only)");
    }
    let mirrored =
        args.mirror_outreach.is_some() || crate::service::mirror::is_mirror(&state.db).await?;
    crate::service::mirror::serve_as_mirror(mirrored);
    if mirrored {
        println!(
            "serving a mirror of Outreach: step writes {}; mailing writes are refused (409)",
            if args.mirror_outreach.is_some() {
                "go to Outreach first"
            } else {
                "are refused (409) without --mirror-outreach"
            }
        );
    }
    let mirror = match &args.mirror_outreach {
        Some(url) => {
            let client = std::sync::Arc::new(crate::cli::outreach_client(url, 0.5)?);
            // Step writes go to Outreach first, and come back from its answer.
            state.upstream = Some(std::sync::Arc::new(
                stepgraph_outreach::OutreachWrites::new(client.clone()),
            ));
            println!("writes of sequence steps are passed through to Outreach at {url}");
            let interval = std::time::Duration::from_secs(args.mirror_interval_secs);
            Some(tokio::spawn(mirror_loop(
                state.db.clone(),
                client,
                interval,
            )))
        }
        None => None,
    };
    if args.demo {
        state.graphiql_token = prepare_demo(&state.db, listen).await?;
    }
    let metrics = match args.metrics_listen {
        Some(at) => {
            let metrics = std::sync::Arc::new(http::metrics::Metrics::new(&state.db));
            state.set_metrics(metrics.clone());
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (--metrics-listen)"))?;
            let addr = listener.local_addr()?;
            println!("metrics: http://{addr}/metrics");
            Some(tokio::spawn(async move {
                if let Err(err) = http::metrics::serve(listener, metrics).await {
                    tracing::error!(error = %err, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, graphiql_offline = http::graphiql::offline(), "listening");
    println!("stepgraph is listening on http://{addr}");
    println!("  GraphiQL: http://{addr}/graphiql   GraphQL: http://{addr}/graphql");
    println!("  JSON:API: http://{addr}/api/v2/sequenceSteps");
    println!("  health:   http://{addr}/healthz    readiness: http://{addr}/readyz");
    let served = run(listener, state, shutdown_signal()).await;
    // A sync stopped mid-page rolls its transaction back and resumes from its checkpoint.
    if let Some(mirror) = mirror {
        mirror.abort();
    }
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served?;
    Ok(())
}

/// `--mirror-outreach`: a sync now, then one every `interval`. A failed sync is logged and
/// tried again at the next tick (the checkpoints make every sync resume where the last one
/// stopped).
async fn mirror_loop(
    db: DatabaseConnection,
    client: std::sync::Arc<stepgraph_outreach::Client>,
    interval: std::time::Duration,
) {
    let options = stepgraph_outreach::Options::default();
    loop {
        match stepgraph_outreach::sync(&db, &client, &options).await {
            Ok(report) => tracing::info!(
                rows = report.rows(),
                written = report.written(),
                deleted = report.deleted(),
                requests = report.stats.requests,
                elapsed_ms = report.elapsed.as_millis() as u64,
                "mirrored Outreach"
            ),
            Err(err) => {
                tracing::error!(error = %err, "mirroring Outreach failed; trying again later")
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// Loads the demo data into an empty database, then prints one fresh token per role, on every
/// start: only token hashes are stored, so the way to hand a newcomer working tokens again is
/// to issue new ones (labelled `demo`; `stepgraph token list` shows them). Returns the member's
/// token to pre-fill in GraphiQL, unless the server listens beyond this machine: a page
/// anyone on the network can open must not hand out a live token.
async fn prepare_demo(
    db: &DatabaseConnection,
    listen: SocketAddr,
) -> anyhow::Result<Option<String>> {
    if user::Entity::find().count(db).await? == 0 {
        let counts = demo::load(db).await.map_err(crate::cli::plain)?;
        println!("loaded demo data: {counts}");
    } else if demo::is_loaded(db).await? {
        println!("the demo data is already loaded");
    } else {
        println!(
            "the database holds other data: --demo loads nothing and issues no tokens \
             (create one with `stepgraph token create --user EMAIL`)"
        );
        return Ok(None);
    }
    // The previous start's demo tokens stop working, so restarts do not pile up live tokens.
    let mut revoked = 0;
    for t in tokens::list(db).await? {
        let demo_user = demo::DEMO_USERS
            .iter()
            .any(|(email, _)| *email == t.user_email);
        if demo_user && t.name.as_deref() == Some("demo") && t.revoked_at.is_none() {
            tokens::revoke(db, &t.id.to_string()).await?;
            revoked += 1;
        }
    }
    if revoked > 0 {
        println!("revoked the {revoked} demo tokens of the previous start");
    }
    println!("one fresh token per role (each shown once):");
    let mut prefill = None;
    for (email, role) in demo::DEMO_USERS {
        let issued = tokens::create(db, email, Some("demo".into())).await?;
        let role = format!("{role:?}").to_lowercase();
        println!(
            "  {role:<7} {email:<26} Authorization: Bearer {}",
            issued.token
        );
        if prefill.is_none() && role == "member" {
            prefill = Some(issued.token);
        }
    }
    if listen.ip().is_loopback() {
        Ok(prefill)
    } else {
        println!(
            "GraphiQL is not pre-filled with a token: {} is reachable from other machines",
            listen.ip()
        );
        Ok(None)
    }
}

/// The replicas of `--read-database-url`, watched from now on. Their pools connect lazily: a
/// replica that is down at startup is skipped until it answers, never an error.
async fn open_replicas(
    primary: &DatabaseConnection,
    config: &crate::db::DbConfig,
    args: &crate::cli::ServeArgs,
) -> anyhow::Result<std::sync::Arc<stepgraph_web::replicas::Replicas>> {
    if primary.get_database_backend() != sea_orm::DbBackend::Postgres {
        anyhow::bail!("--read-database-url: read replicas need PostgreSQL (streaming replication)");
    }
    let mut replicas = Vec::new();
    for url in &args.read_database_urls {
        let label = crate::cli::redact_url(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            anyhow::bail!("--read-database-url {label}: a replica is a postgres:// URL");
        }
        let mut replica = config.clone();
        replica.url = url.clone();
        replica.lazy = true;
        let db = crate::db::connect(&replica)
            .await
            .map_err(|e| anyhow::anyhow!("--read-database-url {label}: {e}"))?;
        replicas.push((label, stepgraph_web::observed(&db, None)));
    }
    println!(
        "reads: {} replica(s), skipped when more than {} s behind; a read of a write waits up to {} ms",
        replicas.len(),
        args.max_replica_lag,
        args.replica_wait_ms
    );
    Ok(stepgraph_web::replicas::Replicas::start(
        primary.clone(),
        replicas,
        std::time::Duration::from_secs_f64(args.max_replica_lag),
        std::time::Duration::from_millis(args.replica_wait_ms),
    ))
}

/// Single sign-on (`--oidc-issuer`): checks the configuration, fetches each issuer's keys
/// (one that cannot be reached now is tried again when a token needs it) and installs it.
async fn start_oidc(args: &crate::cli::ServeArgs) -> anyhow::Result<()> {
    use stepgraph_domain::auth::oidc;
    let audience = args
        .oidc_audience
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--oidc-issuer needs --oidc-audience: without it, a token the provider issued to any other application would be accepted"
            )
        })?;
    for issuer in &args.oidc_issuers {
        let url = reqwest::Url::parse(issuer)
            .map_err(|e| anyhow::anyhow!("--oidc-issuer {issuer}: not a URL ({e})"))?;
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            anyhow::bail!(
                "--oidc-issuer {issuer}: an issuer is an https:// URL (http only on a loopback address)"
            );
        }
    }
    let algorithms = oidc::parse_algorithms(&args.oidc_algorithms)
        .map_err(|e| anyhow::anyhow!("--oidc-algorithms: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()?;
    let fetch: oidc::Fetch = std::sync::Arc::new(move |url: String| {
        let client = client.clone();
        Box::pin(async move { fetch_bounded(&client, &url).await })
    });
    let provider = oidc::Oidc::new(
        oidc::OidcConfig {
            issuers: args.oidc_issuers.clone(),
            audience,
            user_claim: args.oidc_user_claim.clone(),
            algorithms,
            leeway: std::time::Duration::from_secs(args.oidc_leeway_secs),
        },
        fetch,
    );
    for (issuer, keys) in provider.prefetch().await {
        match keys {
            Ok(n) => println!("single sign-on: {issuer} ({n} signing keys)"),
            Err(err) => {
                tracing::warn!(issuer, error = %err, "cannot fetch the identity provider's keys yet");
                println!("single sign-on: {issuer} (keys not fetched yet: {err})");
            }
        }
    }
    oidc::install(provider);
    Ok(())
}

/// A discovery document or a JWKS: GET, 200 only, at most 1 MiB.
async fn fetch_bounded(client: &reqwest::Client, url: &str) -> Result<String, String> {
    const MAX: usize = 1024 * 1024;
    let mut res = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url}: HTTP {}", res.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > MAX {
            return Err(format!("{url}: more than {MAX} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| format!("{url}: not UTF-8"))
}
