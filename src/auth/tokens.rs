//! API bearer tokens: creation, listing, revocation and authentication.
//!
//! A token is `sgt_` followed by 64 hex digits (256 bits from the operating system's CSPRNG).
//! Only its SHA-256 is stored, so a copy of the database yields no usable token, and lookups
//! go through a unique index on the hash, so there is no timing side channel on a comparison.
//! A slow password hash would add latency per request for no gain: the secret is random, not
//! chosen by a person.
//!
//! Successful authentications are cached in memory for a few seconds ([`CACHE_TTL`]), keyed by
//! the token's hash, so a busy frontend does not cost a database round trip per request.
//! Revoking a token in this process empties the cache at once; a revocation by another process
//! (the `stepgraph token revoke` command, another server instance) takes effect within the TTL.

use std::collections::HashMap;
use std::sync::Mutex;
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
use crate::time::now;

/// Every token starts with this, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "sgt_";
/// How long a successful authentication is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Cache entries kept at most; a full cache is emptied (a burst of distinct tokens only costs
/// the lookups it would have cost anyway).
const CACHE_MAX: usize = 10_000;

/// Token hash -> (viewer, when it was looked up).
static CACHE: Mutex<Option<HashMap<String, (Viewer, Instant)>>> = Mutex::new(None);

fn cache() -> std::sync::MutexGuard<'static, Option<HashMap<String, (Viewer, Instant)>>> {
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forgets every cached authentication (after a revocation).
pub fn clear_cache() {
    *cache() = None;
}

/// How much of a token is kept in clear to tell tokens apart (`sgt_` and 8 hex digits).
const DISPLAY_PREFIX_LEN: usize = 12;

/// A freshly created token: the secret is here once and never again.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub record: api_token::Model,
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
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
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

/// Creates a token for the user with this e-mail address.
pub async fn create(
    db: &impl ConnectionTrait,
    email: &str,
    name: Option<String>,
) -> AppResult<IssuedToken> {
    let owner = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user", email))?;
    let token = generate_secret()?;
    let at = now();
    let record = api_token::ActiveModel {
        user_id: Set(owner.id),
        token_hash: Set(hash_token(&token)),
        prefix: Set(token[..DISPLAY_PREFIX_LEN].to_string()),
        name: Set(name),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(IssuedToken { token, record })
}

/// All tokens, newest first, with their owner's e-mail.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<TokenInfo>> {
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
        })
        .collect())
}

/// Revokes the token with this id or display prefix. Revoking twice is not an error.
pub async fn revoke(db: &impl ConnectionTrait, id_or_prefix: &str) -> AppResult<api_token::Model> {
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
    Ok(active.update(db).await?)
}

/// The viewer a raw bearer token stands for: `Unauthenticated` when it is unknown, revoked,
/// or its user is locked.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> AppResult<Viewer> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let hash = hash_token(token);
    if let Some((viewer, at)) = cache().as_ref().and_then(|c| c.get(&hash)).copied()
        && at.elapsed() < CACHE_TTL
    {
        return Ok(viewer);
    }
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash.clone()))
        .filter(api_token::Column::RevokedAt.is_null())
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((_, Some(user))) if !user.locked => {
            let viewer = Viewer {
                user_id: user.id,
                role: user.role,
            };
            let mut cache = cache();
            let entries = cache.get_or_insert_with(HashMap::new);
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
            entries.insert(hash, (viewer, Instant::now()));
            Ok(viewer)
        }
        _ => Err(AppError::Unauthenticated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
