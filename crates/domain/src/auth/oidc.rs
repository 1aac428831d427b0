//! Single sign-on: bearer JWTs from OpenID Connect providers, beside our own tokens (`serve
//! --oidc-issuer`).
//!
//! A bearer that is not one of ours (`sgt_...`) and looks like a JWT is verified here:
//!
//! - **Keys** come from each issuer's JWKS, found through its
//!   `/.well-known/openid-configuration` (whose `issuer` must be the configured one). They are
//!   cached; a token whose key id is unknown makes the keys be fetched again (a provider
//!   rotating its keys), at most once per [`REFETCH_AT_MOST_EVERY`] per issuer, so a stream of
//!   forged key ids cannot turn the server into a load on the provider; cached keys are
//!   refreshed after [`KEYS_FRESH_FOR`] in any case, so a key the provider withdrew stops
//!   working. A fetch that fails keeps the keys there are.
//! - **Checks**: the header's algorithm is in the allow-list (asymmetric only: RS256, ES256,
//!   ...; never `none` or an HMAC, whose "key" would be public) and fits the key's type and
//!   the JWK's own `alg`; the signature; `iss` is the issuer whose key signed; `aud` holds the
//!   configured audience; `exp` and `nbf` hold with [`OidcConfig::leeway`] of clock skew.
//! - **The user**: the configured claim (`email` by default) names a stepgraph user by email.
//!   Role and lock come from our users table, as for our tokens: a locked user's JWT is
//!   refused (401) like their tokens; a verified JWT that names no user is 403 with a clear
//!   message; an `email` claim its provider marks `email_verified: false` is refused.
//!
//! A JWT authenticates for the `api` scope only (never `ingest` or `adhoc`), and its `exp`
//! bounds a WebSocket's session like a token's `expires_at`.
//!
//! Fetching is the caller's ([`Fetch`]): this crate has no HTTP client.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::user;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};

/// A token with an unknown key id fetches an issuer's keys again at most this often.
pub const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(10);
/// Cached keys are fetched again once they are this old.
pub const KEYS_FRESH_FOR: Duration = Duration::from_secs(300);
/// The longest JWT read (a bearer header this long is not a JWT worth parsing).
const MAX_JWT_BYTES: usize = 16 * 1024;

/// GETs a URL's body as text, or says why not (the server's HTTP client, with its timeouts
/// and a bound on the body).
pub type Fetch = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync,
>;

/// What `serve --oidc-*` configures.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Issuer URLs, exactly as the providers' tokens carry them in `iss`.
    pub issuers: Vec<String>,
    /// The `aud` a token must hold (this API's client id at the provider).
    pub audience: String,
    /// The claim that names the user, matched against users' emails.
    pub user_claim: String,
    /// The algorithms accepted (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

/// Parses an allow-list like `RS256,ES256`; HMAC and `none` are refused.
pub fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a.parse::<Algorithm>() {
            Ok(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) | Err(_) => Err(format!(
                "{a:?} is not an asymmetric JWT algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
            )),
            Ok(alg) => Ok(alg),
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|algs| {
            if algs.is_empty() {
                Err("name at least one algorithm".into())
            } else {
                Ok(algs)
            }
        })
}

struct Key {
    key: DecodingKey,
    /// The JWK's own `alg`, when it names one.
    alg: Option<Algorithm>,
}

#[derive(Default)]
struct Keys {
    by_id: HashMap<String, Arc<Key>>,
    /// When they were fetched (`None`: never yet).
    fetched: Option<Instant>,
    /// When a fetch was last tried, whatever came of it.
    tried: Option<Instant>,
}

struct Issuer {
    url: String,
    keys: RwLock<Keys>,
    /// One fetch at a time per issuer.
    fetching: tokio::sync::Mutex<()>,
}

/// The configured providers and their cached keys.
pub struct Oidc {
    config: OidcConfig,
    issuers: Vec<Issuer>,
    fetch: Fetch,
}

static OIDC: OnceLock<Arc<Oidc>> = OnceLock::new();

/// Turns single sign-on on for this process (a process serves one configuration).
pub fn install(oidc: Arc<Oidc>) {
    let _ = OIDC.set(oidc);
}

/// The process's providers, when single sign-on is on.
pub fn installed() -> Option<&'static Arc<Oidc>> {
    OIDC.get()
}

/// Whether a bearer has a JWT's shape (three dot-separated base64url parts, `ey...`).
pub fn looks_like_jwt(token: &str) -> bool {
    token.len() <= MAX_JWT_BYTES
        && token.starts_with("ey")
        && token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// What a verified JWT stands for.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub viewer: Viewer,
    pub expires_at: DateTime<Utc>,
}

impl Oidc {
    pub fn new(config: OidcConfig, fetch: Fetch) -> Arc<Self> {
        let issuers = config
            .issuers
            .iter()
            .map(|url| Issuer {
                url: url.clone(),
                keys: RwLock::default(),
                fetching: tokio::sync::Mutex::new(()),
            })
            .collect();
        Arc::new(Self {
            config,
            issuers,
            fetch,
        })
    }

    /// Fetches every issuer's keys (at startup: a provider that cannot be reached is logged
    /// and tried again when a token needs it). Returns how many keys each issuer has.
    pub async fn prefetch(&self) -> Vec<(String, Result<usize, String>)> {
        let mut out = Vec::new();
        for issuer in &self.issuers {
            let got = self.refresh(issuer).await.map(|()| {
                issuer
                    .keys
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .by_id
                    .len()
            });
            out.push((issuer.url.clone(), got));
        }
        out
    }

    /// Fetches an issuer's discovery document and then its JWKS; replaces its keys.
    async fn refresh(&self, issuer: &Issuer) -> Result<(), String> {
        {
            let mut keys = issuer.keys.write().unwrap_or_else(|p| p.into_inner());
            keys.tried = Some(Instant::now());
        }
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.url.trim_end_matches('/')
        );
        let discovery: Value = serde_json::from_str(&(self.fetch)(discovery_url.clone()).await?)
            .map_err(|e| format!("{discovery_url}: not JSON ({e})"))?;
        if discovery["issuer"].as_str() != Some(issuer.url.as_str()) {
            return Err(format!(
                "{discovery_url} names the issuer {}, not {}",
                discovery["issuer"], issuer.url
            ));
        }
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| format!("{discovery_url} has no jwks_uri"))?
            .to_string();
        let set: JwkSet = serde_json::from_str(&(self.fetch)(jwks_uri.clone()).await?)
            .map_err(|e| format!("{jwks_uri}: not a JWKS ({e})"))?;
        let mut by_id = HashMap::new();
        for jwk in &set.keys {
            // Keys for encryption, keys without an id and symmetric keys are never used.
            let signing = jwk
                .common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature);
            let symmetric = matches!(
                jwk.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
            );
            let (Some(kid), true, false) = (&jwk.common.key_id, signing, symmetric) else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            by_id.insert(kid.clone(), Arc::new(Key { key, alg }));
        }
        let mut keys = issuer.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.by_id = by_id;
        keys.fetched = Some(Instant::now());
        Ok(())
    }

    /// The key `kid` of `issuer`, fetching the keys again when they are stale, or when the
    /// id is unknown and the last try is not too recent.
    async fn key(&self, issuer: &Issuer, kid: &str) -> Option<Arc<Key>> {
        let (found, stale, may_refetch) = {
            let keys = issuer.keys.read().unwrap_or_else(|p| p.into_inner());
            (
                keys.by_id.get(kid).cloned(),
                keys.fetched.is_none_or(|at| at.elapsed() >= KEYS_FRESH_FOR),
                keys.tried
                    .is_none_or(|at| at.elapsed() >= REFETCH_AT_MOST_EVERY),
            )
        };
        if (found.is_some() && !stale) || !may_refetch {
            return found;
        }
        let _one = issuer.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let tried_since = {
            let keys = issuer.keys.read().unwrap_or_else(|p| p.into_inner());
            keys.tried
                .is_some_and(|at| at.elapsed() < REFETCH_AT_MOST_EVERY)
        };
        if !tried_since && let Err(err) = self.refresh(issuer).await {
            tracing::warn!(issuer = %issuer.url, error = %err, "cannot fetch the identity provider's keys");
        }
        let keys = issuer.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.by_id.get(kid).cloned()
    }

    /// Verifies a JWT and finds its user: `Unauthenticated` for a token that does not verify
    /// (or whose user is locked), `Forbidden` for a verified one that names no user.
    pub async fn verify(
        &self,
        db: &(impl ConnectionTrait + 'static),
        token: &str,
    ) -> AppResult<Verified> {
        let refuse = |why: &str| {
            tracing::debug!(reason = why, "a JWT was refused");
            AppError::Unauthenticated
        };
        let header = jsonwebtoken::decode_header(token).map_err(|_| refuse("no JWT header"))?;
        if !self.config.algorithms.contains(&header.alg) {
            return Err(refuse("algorithm not allowed"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| refuse("no key id"))?;
        // The issuer is read before the signature is checked only to pick whose keys to try;
        // the validation below requires the same `iss` of a signed token.
        let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| refuse("claims are not JSON"))?;
        let iss = unverified["iss"].as_str().ok_or_else(|| refuse("no iss"))?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.url == iss)
            .ok_or_else(|| refuse("unknown issuer"))?;
        let key = self
            .key(issuer, kid)
            .await
            .ok_or_else(|| refuse("unknown key id"))?;
        if key.key.family() != header.alg.family() || key.alg.is_some_and(|a| a != header.alg) {
            return Err(refuse("the algorithm does not fit the key"));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[iss]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        let claims: Value = jsonwebtoken::decode(token, &key.key, &validation)
            .map_err(|e| refuse(&e.to_string()))?
            .claims;
        let expires_at = claims["exp"]
            .as_i64()
            .and_then(|exp| DateTime::from_timestamp(exp, 0))
            .ok_or_else(|| refuse("exp is not a time"))?;
        let claim = &self.config.user_claim;
        let name = claims[claim].as_str().ok_or_else(|| {
            AppError::Forbidden(format!(
                "the identity provider's token has no `{claim}` claim to find a stepgraph user by"
            ))
        })?;
        if claim == "email" && claims["email_verified"] == Value::Bool(false) {
            return Err(AppError::Forbidden(
                "the identity provider has not verified this token's email".into(),
            ));
        }
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(name))
            .one(db)
            .await?;
        match found {
            Some(user) if user.locked => Err(refuse("the user is locked")),
            Some(user) => Ok(Verified {
                viewer: Viewer {
                    user_id: user.id,
                    role: user.role,
                },
                expires_at,
            }),
            None => Err(AppError::Forbidden(format!(
                "no stepgraph user has the email {name:?} that the identity provider's token names; \
                 an administrator adds users"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asymmetric_algorithms_are_allowed() {
        assert_eq!(
            parse_algorithms("RS256, ES256").unwrap(),
            vec![Algorithm::RS256, Algorithm::ES256]
        );
        for bad in ["HS256", "none", "RS256,HS512", "", "rs256"] {
            assert!(parse_algorithms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jwt_shapes() {
        assert!(looks_like_jwt("eyJhbGciOi.eyJpc3Mi.c2ln"));
        assert!(!looks_like_jwt("sgt_0123"));
        assert!(!looks_like_jwt("eyJ.only-two"));
        assert!(!looks_like_jwt("eyJ.a.b c"));
    }
}
