//! Outreach's API v2 as a client reads it: one authenticated GET at a time, paced so a sync
//! never uses more than its share of the account's hourly budget, retried on 5xx and
//! timeouts with backoff, waiting out a 429, and refreshing the OAuth access token before it
//! expires and on a 401.
//!
//! Secrets (tokens, the client secret) live only in [`Auth`] and [`Client`], whose `Debug`
//! output hides them; nothing here logs a header or a token.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value as Json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::SyncError;

/// How the client authenticates, as Outreach's OAuth does it.
#[derive(Clone)]
pub enum Auth {
    /// A bearer access token (`OUTREACH_ACCESS_TOKEN`).
    AccessToken(String),
    /// A refresh token exchanged for access tokens at `token_url`.
    Refresh {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        token_url: String,
        redirect_uri: Option<String>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::AccessToken(_) => f.write_str("AccessToken(<hidden>)"),
            Auth::Refresh {
                client_id,
                token_url,
                ..
            } => f
                .debug_struct("Refresh")
                .field("client_id", client_id)
                .field("token_url", token_url)
                .finish_non_exhaustive(),
        }
    }
}

/// The client's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Outreach's API root, without `/api/v2` (`https://api.outreach.io`).
    pub base_url: Url,
    pub auth: Auth,
    /// The share of the hourly budget (`X-RateLimit-Limit`) one window may use, in (0, 1].
    pub rate_share: f64,
    /// Attempts of a request that fails with 5xx or a transport error, the first included.
    pub attempts: u32,
    /// The first backoff; it doubles with each attempt.
    pub backoff: Duration,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Config {
    pub fn new(base_url: Url, auth: Auth) -> Self {
        Self {
            base_url,
            auth,
            rate_share: 0.5,
            attempts: 5,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
        }
    }
}

/// An access token and when it stops working.
struct Access {
    token: String,
    expires: Option<Instant>,
    /// The refresh token to use next (Outreach may rotate it).
    refresh: Option<String>,
}

/// What the client knows of the rate-limit window.
#[derive(Default)]
struct Window {
    /// Do not send before this instant.
    not_before: Option<Instant>,
}

/// Counts of what the client did, for the sync's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub refreshed: u64,
}

/// An Outreach API v2 client.
pub struct Client {
    http: reqwest::Client,
    config: Config,
    access: Mutex<Option<Access>>,
    window: Mutex<Window>,
    stats: std::sync::Mutex<Stats>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.config.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Renewing this long before the token's expiry keeps a slow page from outliving it.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// A 429 or a paced wait is never longer than one of Outreach's hourly windows.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Consecutive 429s before giving up (each one waited out).
const MAX_THROTTLED: u32 = 10;

impl Client {
    pub fn new(config: Config) -> Result<Self, SyncError> {
        if !(config.rate_share > 0.0 && config.rate_share <= 1.0) {
            return Err(SyncError::Config(
                "the rate share must be above 0 and at most 1".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("stepgraph/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            config,
            access: Mutex::new(None),
            window: Mutex::new(Window::default()),
            stats: std::sync::Mutex::new(Stats::default()),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.config.base_url
    }

    pub fn stats(&self) -> Stats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// `{base}/api/v2/{path}`.
    pub fn url(&self, path: &str) -> Result<Url, SyncError> {
        let base = self.config.base_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/api/v2/{path}"))
            .map_err(|e| SyncError::Config(format!("URL for {path}: {e}")))
    }

    /// Checks that a URL upstream handed us (`links.next`) stays on upstream's origin: the
    /// bearer token is never sent anywhere else.
    pub fn same_origin(&self, url: &str) -> Result<Url, SyncError> {
        let url = self
            .config
            .base_url
            .join(url)
            .map_err(|e| SyncError::Upstream(format!("links.next is not a URL: {e}")))?;
        if url.origin() != self.config.base_url.origin() {
            return Err(SyncError::Upstream(format!(
                "links.next leaves {} (for {}); refusing to send the token there",
                self.config.base_url.origin().ascii_serialization(),
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// GETs a JSON:API document: authenticated, paced, retried.
    pub async fn get(&self, url: &Url) -> Result<Json, SyncError> {
        let (status, body) = self.send(reqwest::Method::GET, url, None).await?;
        if status.is_success() {
            return Ok(body);
        }
        Err(SyncError::Upstream(format!(
            "GET {}: {status}: {}",
            url.path(),
            first_error(&body)
        )))
    }

    /// Sends one request: authenticated and paced; a 429 waited out, a 401 answered by one
    /// token refresh; a 5xx or a transport error retried with backoff, except for a `POST`
    /// (which may have been applied: sending it again could create twice). Any other answer
    /// comes back as it is, with its status, for the caller to read; an empty body is `null`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&Json>,
    ) -> Result<(StatusCode, Json), SyncError> {
        let retry = method != reqwest::Method::POST;
        let mut attempt = 0u32;
        let mut throttled = 0u32;
        let mut reauthenticated = false;
        loop {
            self.wait_for_window().await;
            let token = self.token(false).await?;
            self.count(|s| s.requests += 1);
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&token)
                .header("accept", "application/vnd.api+json");
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/vnd.api+json")
                    .body(body.to_string());
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    attempt += 1;
                    if !retry || attempt >= self.config.attempts {
                        return Err(SyncError::Upstream(format!(
                            "{method} {}: {} (after {attempt} attempts)",
                            url.path(),
                            transport(&e)
                        )));
                    }
                    self.backoff(attempt).await;
                    continue;
                }
            };
            let status = response.status();
            self.pace(response.headers()).await;
            match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    throttled += 1;
                    self.count(|s| s.throttled += 1);
                    if throttled > MAX_THROTTLED {
                        return Err(SyncError::Upstream(format!(
                            "{method} {}: still 429 after waiting {MAX_THROTTLED} times",
                            url.path()
                        )));
                    }
                    let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
                    tracing::info!(
                        path = url.path(),
                        wait_s = wait.as_secs_f64(),
                        "Outreach answered 429; waiting"
                    );
                    self.hold_until(Instant::now() + wait.min(MAX_WAIT)).await;
                }
                StatusCode::UNAUTHORIZED if !reauthenticated && self.can_refresh() => {
                    reauthenticated = true;
                    self.token(true).await?;
                }
                s if retry && (s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT) => {
                    attempt += 1;
                    if attempt >= self.config.attempts {
                        return Err(SyncError::Upstream(format!(
                            "{method} {}: {s} (after {attempt} attempts)",
                            url.path()
                        )));
                    }
                    self.backoff(attempt).await;
                }
                s => {
                    let text = response.text().await.map_err(|e| {
                        SyncError::Upstream(format!("{method} {}: {}", url.path(), transport(&e)))
                    })?;
                    if text.trim().is_empty() {
                        return Ok((s, Json::Null));
                    }
                    let body = serde_json::from_str(&text).map_err(|e| {
                        SyncError::Upstream(format!("{method} {}: {s}, not JSON: {e}", url.path()))
                    })?;
                    return Ok((s, body));
                }
            }
        }
    }

    async fn backoff(&self, attempt: u32) {
        self.count(|s| s.retries += 1);
        let wait = self.config.backoff * 2u32.saturating_pow(attempt.saturating_sub(1));
        tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
    }

    /// Reads the rate-limit headers: once this window's share is used up, no request goes out
    /// before the window resets.
    async fn pace(&self, headers: &HeaderMap) {
        let (Some(limit), Some(remaining)) = (
            number(headers, "x-ratelimit-limit"),
            number(headers, "x-ratelimit-remaining"),
        ) else {
            return;
        };
        let allowed = (limit as f64 * self.config.rate_share).floor() as u64;
        let used = limit.saturating_sub(remaining);
        if used < allowed.max(1) {
            return;
        }
        let wait = reset_in(headers).unwrap_or(Duration::from_secs(1));
        tracing::info!(
            used,
            limit,
            wait_s = wait.as_secs_f64(),
            "this window's share of Outreach's rate limit is used; waiting for the next"
        );
        self.hold_until(Instant::now() + wait.min(MAX_WAIT)).await;
    }

    async fn hold_until(&self, until: Instant) {
        let mut window = self.window.lock().await;
        window.not_before = Some(window.not_before.map_or(until, |t| t.max(until)));
    }

    async fn wait_for_window(&self) {
        let until = self.window.lock().await.not_before;
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    fn can_refresh(&self) -> bool {
        matches!(self.config.auth, Auth::Refresh { .. })
    }

    /// The access token to send; `renew` forces a refresh (after a 401).
    async fn token(&self, renew: bool) -> Result<String, SyncError> {
        let mut access = self.access.lock().await;
        let fresh = access.as_ref().is_some_and(|a| {
            a.expires
                .is_none_or(|e| Instant::now() + REFRESH_MARGIN < e)
        });
        if fresh && !renew {
            return Ok(access.as_ref().map(|a| a.token.clone()).unwrap_or_default());
        }
        let next = match &self.config.auth {
            Auth::AccessToken(token) => Access {
                token: token.clone(),
                expires: None,
                refresh: None,
            },
            Auth::Refresh {
                client_id,
                client_secret,
                refresh_token,
                token_url,
                redirect_uri,
            } => {
                let refresh = access
                    .as_ref()
                    .and_then(|a| a.refresh.clone())
                    .unwrap_or_else(|| refresh_token.clone());
                self.count(|s| s.refreshed += 1);
                refresh_access(
                    &self.http,
                    token_url,
                    client_id,
                    client_secret,
                    &refresh,
                    redirect_uri.as_deref(),
                )
                .await?
            }
        };
        let token = next.token.clone();
        *access = Some(next);
        Ok(token)
    }
}

/// Exchanges a refresh token for an access token (RFC 6749 section 6, as Outreach takes it).
async fn refresh_access(
    http: &reqwest::Client,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
    redirect_uri: Option<&str>,
) -> Result<Access, SyncError> {
    let body = token_request(client_id, client_secret, refresh_token, redirect_uri);
    let response = http
        .post(token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| SyncError::Auth(format!("token request: {}", transport(&e))))?;
    let status = response.status();
    let body: Json = response.json().await.unwrap_or(Json::Null);
    if !status.is_success() {
        // The error code only (`invalid_grant`): the description may echo what was sent.
        let code = body
            .get("error")
            .and_then(Json::as_str)
            .unwrap_or("no error code");
        return Err(SyncError::Auth(format!(
            "the token endpoint refused the refresh token: {status} {code}"
        )));
    }
    let token = body
        .get("access_token")
        .and_then(Json::as_str)
        .ok_or_else(|| SyncError::Auth("the token endpoint sent no access_token".into()))?
        .to_owned();
    let expires = body
        .get("expires_in")
        .and_then(Json::as_u64)
        .map(|s| Instant::now() + Duration::from_secs(s));
    let refresh = body
        .get("refresh_token")
        .and_then(Json::as_str)
        .map(str::to_owned);
    Ok(Access {
        token,
        expires,
        refresh: refresh.or_else(|| Some(refresh_token.to_owned())),
    })
}

/// The form body of a refresh (a plain function: the serializer is not `Send`).
fn token_request(
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
    redirect_uri: Option<&str>,
) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh_token)
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret);
    if let Some(uri) = redirect_uri {
        form.append_pair("redirect_uri", uri);
    }
    form.finish()
}

/// A transport error without the URL (which reqwest includes, query string and all).
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        // reqwest's message names the URL, query string and all: leave it out.
        let text = e.to_string();
        match e.url() {
            Some(url) => text.replace(url.as_str(), "<url>"),
            None => text,
        }
    }
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Until the window resets: `X-RateLimit-Reset` is epoch seconds (Outreach's way).
fn reset_in(headers: &HeaderMap) -> Option<Duration> {
    let reset = number(headers, "x-ratelimit-reset")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

/// How long a 429 asks us to wait: `Retry-After` seconds, else until the window resets.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    number(headers, RETRY_AFTER.as_str())
        .map(|s| Duration::from_secs(s.max(1)))
        .or_else(|| reset_in(headers))
}

/// The first JSON:API error's title and detail, for a refused request.
pub fn first_error(doc: &Json) -> String {
    let Some(err) = doc.get("errors").and_then(|e| e.get(0)) else {
        return "no JSON:API error document".into();
    };
    let title = err.get("title").and_then(Json::as_str).unwrap_or("");
    let detail = err.get("detail").and_then(Json::as_str).unwrap_or("");
    format!("{title}: {detail}").chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let auth = Auth::Refresh {
            client_id: "app".into(),
            client_secret: "s3cret".into(),
            refresh_token: "r3fresh".into(),
            token_url: "https://example.test/oauth/token".into(),
            redirect_uri: None,
        };
        let shown = format!("{auth:?} {:?}", Auth::AccessToken("t0ken".into()));
        for secret in ["s3cret", "r3fresh", "t0ken"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn links_next_must_stay_on_upstreams_origin() {
        let client = Client::new(Config::new(
            Url::parse("https://api.outreach.io").unwrap(),
            Auth::AccessToken("t".into()),
        ))
        .unwrap();
        assert!(
            client
                .same_origin("https://api.outreach.io/api/v2/users?page[after]=x")
                .is_ok()
        );
        assert!(client.same_origin("/api/v2/users?page[after]=x").is_ok());
        let err = client
            .same_origin("https://evil.example/api/v2/users")
            .unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
    }

    #[test]
    fn a_429_waits_for_retry_after_or_the_reset() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        h.insert("x-ratelimit-reset", (now + 30).to_string().parse().unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28));
    }
}
