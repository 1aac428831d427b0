//! API bearer tokens: creation, listing, revocation and authentication.
//!
//! A token is `sgt_` followed by 64 hex digits (256 bits from the operating system's CSPRNG).
//! Only its SHA-256 is stored, so a copy of the database yields no usable token, and lookups
//! go through a unique index on the hash, so there is no timing side channel on a comparison.
//! A slow password hash would add latency per request for no gain: the secret is random, not
//! chosen by a person.
//!
//! A server may remember a successful authentication for a few seconds ([`AuthCache`]), so
//! most requests cost no lookup, without delaying a revocation. By default the cache is on
//! only while the server's change-feed reader hears of commits as they happen (PostgreSQL
//! `LISTEN`, see [`crate::live`]): there, triggers put every change that can end an
//! authentication (a token revoked, expired, re-scoped or deleted; a user locked, re-roled or
//! deleted, by stepgraph or by hand in SQL) into the change feed, and the reader empties the
//! cache when it reads one, milliseconds after the commit. Elsewhere (SQLite, MySQL, a lost
//! `LISTEN` connection) every request looks its token up, so a revocation from any process
//! takes effect at once; `--token-cache-secs` sets a TTL explicitly (0 turns the cache off).
//! Revocations by this process empty the cache at once in every mode.
//!
//! `last_used_at` is recorded without a write per request: only when the stored value is
//! more than [`LAST_USED_RESOLUTION`] old. Tokens may expire (`expires_at`); the secret is
//! shown once at creation, and neither logs nor `Debug` output ever carry it, only its
//! display prefix.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{api_token, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::service::changes::{self, Change};
use crate::time::now;

/// Every token starts with this, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "sgt_";
/// `--token-cache-secs` in milliseconds, or [`AUTO`] (the default): see [`AuthCache`].
static CACHE_TTL_MS: AtomicU64 = AtomicU64::new(AUTO);
const AUTO: u64 = u64::MAX;
/// The TTL of the automatic cache: a safety net only, since changes empty it as they commit.
const AUTO_TTL: Duration = Duration::from_secs(5);
/// Bumped by [`clear_cache`]: an entry cached under an older generation is never used, so one
/// call empties every server's cache in the process.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// `last_used_at` is written when the stored value is older than this.
pub const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

/// Sets the TTL of every [`AuthCache`] (zero: off), or `None` for the automatic one.
pub fn set_cache_ttl(ttl: Option<Duration>) {
    let ms = ttl.map_or(AUTO, |t| (t.as_millis() as u64).min(AUTO - 1));
    CACHE_TTL_MS.store(ms, Ordering::Relaxed);
    clear_cache();
}

/// Cache entries kept at most; a full cache is emptied (a burst of distinct tokens only costs
/// the lookups it would have cost anyway).
const CACHE_MAX: usize = 10_000;

/// Token hash -> (viewer, the token's scopes, until when the entry may be used, generation).
type CacheMap = HashMap<String, (Viewer, Scopes, Instant, u64)>;

/// One server's remembered authentications (`http` authenticates through it; the CLI,
/// WebSocket `connection_init` and subscriptions' re-checks always look up).
///
/// With no explicit TTL, it is on only while its server's change-feed reader keeps up with
/// every commit: triggers put every change that can end an authentication into the feed
/// (PostgreSQL and SQLite; migration `m20261201_000001_auth_feed` and its SQLite twin), and the
/// reader empties the cache when it reads one. On PostgreSQL the reader is told of each commit
/// as it happens ([`AuthCache::set_pushed`], by `LISTEN`), so a revocation by another process
/// takes effect within moments. On SQLite it reads the feed at least once a second
/// ([`AuthCache::polled`]), so a revocation by another process (the CLI, or SQL by hand) takes
/// effect within [`POLL_STALE`]; one through this server's own API empties the cache as it
/// commits. Elsewhere (MySQL, no triggers) nothing is remembered.
#[derive(Default)]
pub struct AuthCache {
    pushed: AtomicBool,
    /// When the last complete read of a polled feed began ([`since_start`] + 1), or 0.
    polled: AtomicU64,
    entries: Mutex<Option<CacheMap>>,
}

/// The longest a revocation by another process goes unseen on SQLite: the cache answers only
/// while the feed's last complete read began less than this ago, and a read sees every commit
/// before it began (the reader reads once a second, so a healthy one stays well inside it).
pub const POLL_STALE: Duration = Duration::from_secs(2);

/// Nanoseconds since an hour before the first call, for instants kept in atomics (an hour
/// back, so that an instant taken just before the first call is not clamped to it).
fn since_start(at: Instant) -> u64 {
    static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(|| {
        let now = Instant::now();
        now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
    });
    at.saturating_duration_since(*START).as_nanos() as u64
}

impl AuthCache {
    /// Reports that commits are heard as they happen (`true`) or may go unheard (`false`,
    /// which also forgets every entry).
    pub fn set_pushed(&self, pushed: bool) {
        self.pushed.store(pushed, Ordering::Release);
        if !pushed {
            *self.entries() = None;
        }
    }

    /// Reports that a polled feed's read that began at `began` read everything committed
    /// before then (and emptied this cache of what it found).
    pub fn polled(&self, began: Instant) {
        self.polled
            .fetch_max(since_start(began) + 1, Ordering::AcqRel);
    }

    /// Whether a polled feed's last complete read began less than [`POLL_STALE`] ago.
    fn polled_lately(&self) -> bool {
        match self.polled.load(Ordering::Acquire) {
            0 => false,
            at => since_start(Instant::now()) < at - 1 + POLL_STALE.as_nanos() as u64,
        }
    }

    fn ttl(&self) -> Duration {
        match CACHE_TTL_MS.load(Ordering::Relaxed) {
            AUTO if self.pushed.load(Ordering::Acquire) => AUTO_TTL,
            AUTO if self.polled_lately() => AUTO_TTL,
            AUTO => Duration::ZERO,
            ms => Duration::from_millis(ms),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Option<CacheMap>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, hash: &str) -> Option<(Viewer, Scopes)> {
        if self.ttl().is_zero() {
            return None;
        }
        let generation = GENERATION.load(Ordering::Acquire);
        let (viewer, scopes, until, at) = self.entries().as_ref()?.get(hash).copied()?;
        (at == generation && Instant::now() < until).then_some((viewer, scopes))
    }

    /// Remembers an authentication read at `generation` (never past the token's expiry).
    fn put(
        &self,
        hash: String,
        found: (Viewer, Scopes),
        expires_in: Option<Duration>,
        generation: u64,
    ) {
        let ttl = self.ttl();
        if ttl.is_zero() {
            return;
        }
        let until = Instant::now() + expires_in.map_or(ttl, |left| left.min(ttl));
        let mut entries = self.entries();
        let entries = entries.get_or_insert_with(HashMap::new);
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash, (found.0, found.1, until, generation));
    }
}

/// Forgets every cached authentication of every server in this process (after a revocation).
pub fn clear_cache() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// How much of a token is kept in clear to tell tokens apart (`sgt_` and 8 hex digits).
const DISPLAY_PREFIX_LEN: usize = 12;

/// What a token may be used for. A token holds one or more; `api` is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The GraphQL and JSON:API surfaces, as its user.
    Api,
    /// Reporting mailing events (`POST /events/mailings`).
    Ingest,
    /// GraphQL documents that are not trusted documents, where the server runs only those
    /// (`--only-trusted-documents`): an operator's GraphiQL.
    AdHoc,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Api, Scope::Ingest, Scope::AdHoc];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Api => "api",
            Scope::Ingest => "ingest",
            Scope::AdHoc => "adhoc",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Bit of this scope in a [`Scopes`] set.
    const fn bit(self) -> u8 {
        match self {
            Scope::Api => 1,
            Scope::Ingest => 2,
            Scope::AdHoc => 4,
        }
    }
}

/// A set of scopes, as stored (`api ingest`) and as carried by a cached authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub fn of(scopes: &[Scope]) -> Self {
        Scopes(scopes.iter().fold(0, |bits, s| bits | s.bit()))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Parses the stored form; names this version does not know grant nothing.
    pub fn parse_stored(stored: &str) -> Self {
        Scopes(
            stored
                .split_whitespace()
                .filter_map(Scope::parse)
                .fold(0, |bits, s| bits | s.bit()),
        )
    }

    pub fn to_stored(self) -> String {
        Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A freshly created token: the secret is here once and never again.
pub struct IssuedToken {
    pub token: String,
    pub record: api_token::Model,
}

/// Shows the display prefix, never the secret (a token must not reach a log by accident).
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &format_args!("{}…", self.record.prefix))
            .field("id", &self.record.id)
            .field("user_id", &self.record.user_id)
            .field("expires_at", &self.record.expires_at)
            .finish()
    }
}

/// A token as listed to an operator: never the secret.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: i64,
    pub prefix: String,
    pub name: Option<String>,
    pub user_email: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: String,
}

/// Lower-case hex, two digits a byte. By table rather than `write!("{b:02x}")`, which went
/// through the formatting machinery 32 times for every request's token hash (2% of a lookup
/// by id's instructions).
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Lower-case hex SHA-256 of a token, as stored in `api_tokens.token_hash`.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

fn generate_secret() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness available: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", to_hex(&bytes)))
}

/// Creates an `api` token for the user with this e-mail address, valid until revoked.
pub async fn create(
    db: &(impl ConnectionTrait + 'static),
    email: &str,
    name: Option<String>,
) -> AppResult<IssuedToken> {
    create_with(db, email, name, None, &[Scope::Api]).await
}

/// Creates a token with these scopes that stops working at `expires_at` (`None`: never).
pub async fn create_with(
    db: &(impl ConnectionTrait + 'static),
    email: &str,
    name: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    scopes: &[Scope],
) -> AppResult<IssuedToken> {
    let owner = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user", email))?;
    if scopes.is_empty() {
        return Err(AppError::Validation(vec![crate::error::FieldError::new(
            "scopes",
            "a token needs at least one scope",
        )]));
    }

    let token = generate_secret()?;
    let at = now();
    let record = api_token::ActiveModel {
        user_id: Set(owner.id),
        token_hash: Set(hash_token(&token)),
        prefix: Set(token[..DISPLAY_PREFIX_LEN].to_string()),
        name: Set(name),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(expires_at),
        scopes: Set(Scopes::of(scopes).to_stored()),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(IssuedToken { token, record })
}

/// All tokens, newest first, with their owner's e-mail.
pub async fn list(db: &(impl ConnectionTrait + 'static)) -> AppResult<Vec<TokenInfo>> {
    let rows = api_token::Entity::find()
        .find_also_related(user::Entity)
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(t, u)| TokenInfo {
            id: t.id,
            prefix: t.prefix,
            name: t.name,
            user_email: u.map(|u| u.email).unwrap_or_default(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            expires_at: t.expires_at,
            scopes: t.scopes,
        })
        .collect())
}

/// Revokes the token with this id or display prefix. Revoking twice is not an error.
pub async fn revoke(
    db: &(impl ConnectionTrait + 'static),
    id_or_prefix: &str,
) -> AppResult<api_token::Model> {
    let find = api_token::Entity::find();
    let found = match id_or_prefix.parse::<i64>() {
        Ok(id) => find.filter(api_token::Column::Id.eq(id)).one(db).await?,
        Err(_) => {
            find.filter(api_token::Column::Prefix.eq(id_or_prefix))
                .one(db)
                .await?
        }
    };
    let token = found.ok_or_else(|| AppError::not_found("token", id_or_prefix))?;
    clear_cache();
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let at = now();
    let mut active: api_token::ActiveModel = token.into();
    active.revoked_at = Set(Some(at));
    active.updated_at = Set(at);
    let revoked = active.update(db).await?;
    // Again after the commit: a request may have cached the token in between.
    clear_cache();
    // Subscriptions this token authenticated end, on every instance; a failure to record it
    // leaves them to the periodic re-check.
    if let Err(err) = changes::record(db, &[Change::token(revoked.id)]).await {
        tracing::warn!(error = %err, "cannot record a token revocation in the change feed");
    }
    changes::poke();
    Ok(revoked)
}

/// The viewer a raw bearer token stands for on the API (`api` scope); see
/// [`authenticate_for`].
pub async fn authenticate(db: &(impl ConnectionTrait + 'static), token: &str) -> AppResult<Viewer> {
    authenticate_for(db, token, Scope::Api, None).await
}

/// The viewer a raw bearer token stands for, for a use that needs `scope`:
/// `Unauthenticated` when the token is unknown, revoked, expired, or its user is locked;
/// `Forbidden` when it is valid but lacks the scope. With a `cache`, a recent answer may be
/// reused (see [`AuthCache`]).
pub async fn authenticate_for(
    db: &(impl ConnectionTrait + 'static),
    token: &str,
    scope: Scope,
    cache: Option<&AuthCache>,
) -> AppResult<Viewer> {
    Ok(authenticate_scoped(db, token, scope, cache).await?.0)
}

/// As [`authenticate_for`], with all the scopes the token holds (for a use that depends on
/// another scope too, such as `adhoc`).
pub async fn authenticate_scoped(
    db: &(impl ConnectionTrait + 'static),
    token: &str,
    scope: Scope,
    cache: Option<&AuthCache>,
) -> AppResult<(Viewer, Scopes)> {
    let (viewer, scopes) = lookup(db, token, cache).await?;
    require(scopes, scope)?;
    Ok((viewer, scopes))
}

/// `Forbidden` unless `scopes` holds `scope`.
fn require(scopes: Scopes, scope: Scope) -> AppResult<()> {
    if scopes.contains(scope) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "this token lacks the `{}` scope",
            scope.as_str()
        )))
    }
}

/// The stored hash of a raw token; `Unauthenticated` for what cannot be one of ours.
fn stored_hash(token: &str) -> AppResult<String> {
    if token.starts_with(TOKEN_PREFIX) {
        Ok(hash_token(token))
    } else {
        Err(AppError::Unauthenticated)
    }
}

/// What a live token stands for: its viewer, its scopes and when it stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub viewer: Viewer,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The session a raw bearer token stands for, for a use that needs `scope`, always read from
/// the database (never the cache): a WebSocket session checks its token with this when it
/// opens and on every `subscribe`, and times its end by `expires_at`.
pub async fn session(
    db: &(impl ConnectionTrait + 'static),
    token: &str,
    scope: Scope,
) -> AppResult<Session> {
    let found = match sso(token) {
        Some(oidc) => {
            let verified = oidc.verify(db, token).await?;
            Session {
                viewer: verified.viewer,
                scopes: Scopes::of(&[Scope::Api]),
                expires_at: Some(verified.expires_at),
            }
        }
        None => lookup_stored(db, &stored_hash(token)?).await?,
    };
    require(found.scopes, scope)?;
    Ok(found)
}

async fn lookup(
    db: &(impl ConnectionTrait + 'static),
    token: &str,
    cache: Option<&AuthCache>,
) -> AppResult<(Viewer, Scopes)> {
    if let Some(oidc) = sso(token) {
        return lookup_jwt(oidc, db, token, cache).await;
    }
    let hash = stored_hash(token)?;
    if let Some(found) = cache.and_then(|c| c.get(&hash)) {
        return Ok(found);
    }
    // Read before the lookup: a revocation that clears caches while it runs makes the answer
    // uncacheable.
    let generation = GENERATION.load(Ordering::Acquire);
    let found = lookup_stored(db, &hash).await?;
    if let Some(cache) = cache {
        let expires_in = found
            .expires_at
            .map(|expires| (expires - now()).to_std().unwrap_or_default());
        cache.put(hash, (found.viewer, found.scopes), expires_in, generation);
    }
    Ok((found.viewer, found.scopes))
}

/// The identity providers a bearer goes to: when single sign-on is on and the bearer is a
/// JWT rather than one of our tokens.
fn sso(token: &str) -> Option<&'static super::oidc::Oidc> {
    super::oidc::installed()
        .filter(|_| !token.starts_with(TOKEN_PREFIX) && super::oidc::looks_like_jwt(token))
        .map(|o| &**o)
}

/// A provider's JWT, through the same cache as our tokens (keyed by its hash, until its
/// `exp`): the changes that empty the cache (a user locked or re-roled) apply to it too.
async fn lookup_jwt(
    oidc: &super::oidc::Oidc,
    db: &(impl ConnectionTrait + 'static),
    token: &str,
    cache: Option<&AuthCache>,
) -> AppResult<(Viewer, Scopes)> {
    let hash = hash_token(token);
    if let Some(found) = cache.and_then(|c| c.get(&hash)) {
        return Ok(found);
    }
    let generation = GENERATION.load(Ordering::Acquire);
    let verified = oidc.verify(db, token).await?;
    let scopes = Scopes::of(&[Scope::Api]);
    if let Some(cache) = cache {
        let expires_in = (verified.expires_at - now()).to_std().unwrap_or_default();
        cache.put(
            hash,
            (verified.viewer, scopes),
            Some(expires_in),
            generation,
        );
    }
    Ok((verified.viewer, scopes))
}

/// The stored token with this hash, if it is live (not revoked, not expired, its user not
/// locked); records its use.
async fn lookup_stored(db: &(impl ConnectionTrait + 'static), hash: &str) -> AppResult<Session> {
    let at = now();
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(api_token::Column::ExpiresAt.is_null())
                .add(api_token::Column::ExpiresAt.gt(crate::db::timestamp_param(at))),
        )
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((record, Some(user))) if !user.locked => {
            touch(db, &record, at).await;
            Ok(Session {
                viewer: Viewer {
                    user_id: user.id,
                    role: user.role,
                },
                scopes: Scopes::parse_stored(&record.scopes),
                expires_at: record.expires_at,
            })
        }
        _ => Err(AppError::Unauthenticated),
    }
}

/// Records that a token was used, when the stored time is older than
/// [`LAST_USED_RESOLUTION`]: a write per token per minute at most, not per request. A failure
/// here never fails the request.
async fn touch(
    db: &(impl ConnectionTrait + 'static),
    record: &api_token::Model,
    at: DateTime<Utc>,
) {
    let stale = record
        .last_used_at
        .is_none_or(|last| (at - last).to_std().unwrap_or_default() >= LAST_USED_RESOLUTION);
    if !stale {
        return;
    }
    let written = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(crate::db::timestamp_param(at)),
        )
        .filter(api_token::Column::Id.eq(record.id))
        .exec(db)
        .await;
    if let Err(err) = written {
        tracing::warn!(token = %record.prefix, error = %err, "cannot record a token's last use");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A polled feed's cache answers only while the feed's last complete read is recent: a
    /// reader that stopped (or never read) turns it off, whatever the entries' TTL.
    #[test]
    fn a_polled_cache_answers_only_while_the_feed_is_read() {
        let cache = AuthCache::default();
        let found = (
            Viewer {
                user_id: 7,
                role: entity::enums::Role::Member,
            },
            Scopes::of(&[Scope::Api]),
        );
        let remember = |cache: &AuthCache| {
            let generation = GENERATION.load(Ordering::Acquire);
            cache.put("h".into(), found, None, generation);
            cache.get("h")
        };
        // Never read: nothing is remembered.
        assert_eq!(remember(&cache), None);
        // Read long ago: still nothing.
        cache.polled(Instant::now() - POLL_STALE - Duration::from_millis(100));
        assert_eq!(remember(&cache), None);
        // Read just now: remembered.
        cache.polled(Instant::now());
        assert_eq!(remember(&cache), Some(found));
        // An older read reported late does not move the mark back.
        cache.polled(Instant::now() - POLL_STALE * 2);
        assert_eq!(cache.get("h"), Some(found));
    }

    #[test]
    fn hash_is_sha256_hex() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert!(
            a[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
    }
}
