//! API tokens: only the hash is stored, revocation works, locked users are refused.

use entity::api_token;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use stepgraph::auth::tokens;

use crate::support::{TestDb, fixture};

#[tokio::test]
async fn tokens_are_stored_hashed_and_can_be_revoked() {
    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let issued = tokens::create(&t.db, "user1@test.example", Some("laptop".into()))
        .await
        .unwrap();
    assert!(issued.token.starts_with(tokens::TOKEN_PREFIX));
    assert!(issued.token.len() >= 4 + 64, "at least 256 bits of hex");

    // The raw token appears nowhere in the table; its SHA-256 does.
    let rows = api_token::Entity::find().all(&t.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    let dump = format!("{rows:?}");
    assert!(
        !dump.contains(&issued.token[4..]),
        "the secret is not stored"
    );
    assert_eq!(rows[0].token_hash, tokens::hash_token(&issued.token));
    assert!(issued.token.starts_with(&rows[0].prefix));

    let viewer = tokens::authenticate(&t.db, &issued.token).await.unwrap();
    assert_eq!(viewer, f.owner);
    for bad in [
        "",
        "sgt_",
        "Bearer x",
        &issued.token[..issued.token.len() - 1],
    ] {
        assert_eq!(
            tokens::authenticate(&t.db, bad).await.unwrap_err().code(),
            "UNAUTHENTICATED"
        );
    }
    assert_eq!(
        tokens::create(&t.db, "nobody@test.example", None)
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );

    let listed = tokens::list(&t.db).await.unwrap();
    assert_eq!(listed[0].user_email, "user1@test.example");
    assert!(listed[0].revoked_at.is_none());

    tokens::revoke(&t.db, &rows[0].prefix).await.unwrap();
    assert_eq!(
        tokens::authenticate(&t.db, &issued.token)
            .await
            .unwrap_err()
            .code(),
        "UNAUTHENTICATED"
    );
    assert!(tokens::list(&t.db).await.unwrap()[0].revoked_at.is_some());

    // A locked user's tokens stop working.
    let other = tokens::create(&t.db, "user2@test.example", None)
        .await
        .unwrap();
    assert!(tokens::authenticate(&t.db, &other.token).await.is_ok());
    let mut u = entity::user::Entity::find_by_id(f.other.user_id)
        .one(&t.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    u.locked = Set(true);
    u.update(&t.db).await.unwrap();
    // Nothing is cached by default: the lock shows at once.
    assert_eq!(
        tokens::authenticate(&t.db, &other.token)
            .await
            .unwrap_err()
            .code(),
        "UNAUTHENTICATED"
    );
    t.finish().await;
}

#[tokio::test]
async fn tokens_expire_record_their_last_use_and_never_print_their_secret() {
    let t = TestDb::new().await;
    fixture(&t.db).await;
    let now = chrono::Utc::now();
    let expired = tokens::create_with(
        &t.db,
        "user1@test.example",
        None,
        Some(now - chrono::Duration::minutes(1)),
        &[tokens::Scope::Api],
    )
    .await
    .unwrap();
    assert_eq!(
        tokens::authenticate(&t.db, &expired.token)
            .await
            .unwrap_err()
            .code(),
        "UNAUTHENTICATED"
    );
    let valid = tokens::create_with(
        &t.db,
        "user1@test.example",
        Some("ci".into()),
        Some(now + chrono::Duration::hours(1)),
        &[tokens::Scope::Api],
    )
    .await
    .unwrap();
    let last_used = async || {
        tokens::list(&t.db)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.id == valid.record.id)
            .unwrap()
            .last_used_at
    };
    assert_eq!(last_used().await, None);
    tokens::authenticate(&t.db, &valid.token).await.unwrap();
    let first = last_used().await.expect("the first use is recorded");
    // Later uses within a minute write nothing.
    for _ in 0..3 {
        tokens::authenticate(&t.db, &valid.token).await.unwrap();
    }
    assert_eq!(last_used().await, Some(first));
    // Debug output names the token by its prefix only.
    let shown = format!("{valid:?}");
    assert!(!shown.contains(&valid.token), "{shown}");
    assert!(shown.contains(&valid.record.prefix), "{shown}");
    t.finish().await;
}

/// A running server notices a revocation or a locked user made by another process, even by
/// hand in SQL: where it remembers authentications for a few seconds, a trigger puts the
/// change into the change feed, which empties the cache when the server reads it (at once
/// through PostgreSQL's NOTIFY; on SQLite within `POLL_STALE`, 2 s); on MySQL nothing is
/// remembered, so the very next request is refused.
#[tokio::test]
async fn out_of_band_revocations_reach_a_running_server() {
    use sea_orm::{ConnectionTrait, Statement};
    use serde_json::json;

    let t = TestDb::new().await;
    let f = fixture(&t.db).await;
    let backend = t.backend();
    let elsewhere = t.connect_again().await;
    let s = crate::server::TestServer::start(t).await;
    let revoked = s.token(&f.owner).await;
    let locked = s.token(&f.other).await;
    let hash = tokens::hash_token(&revoked);
    let changes: [(&str, String); 2] = [
        (
            &revoked,
            format!("UPDATE api_tokens SET revoked_at = updated_at WHERE token_hash = '{hash}'"),
        ),
        (
            &locked,
            format!(
                "UPDATE users SET locked = true WHERE id = {}",
                f.other.user_id
            ),
        ),
    ];
    for (token, sql) in changes {
        // Authenticated (and, where the server caches, remembered) a few times first.
        for _ in 0..3 {
            let ok = s.gql(token, "{ viewer { id } }", json!({})).await;
            assert!(ok.body["errors"].is_null(), "{}", ok.body);
        }
        elsewhere
            .execute_raw(Statement::from_string(backend, sql.clone()))
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            let res = s.gql(token, "{ viewer { id } }", json!({})).await;
            if res.status == 401 {
                assert_eq!(res.code(), "UNAUTHENTICATED");
                break;
            }
            assert!(
                backend != sea_orm::DbBackend::MySql,
                "nothing is cached here, so `{sql}` shows on the next request: {}",
                res.body
            );
            assert!(
                std::time::Instant::now() < deadline,
                "`{sql}` by another process did not reach the server within 3 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    if backend != sea_orm::DbBackend::MySql {
        // The cache is really on: a revocation that bypasses the triggers (PostgreSQL's
        // replica mode skips them; on SQLite they are dropped first) goes unnoticed while the
        // entry lives.
        let unheard = s.token(&f.admin).await;
        for _ in 0..3 {
            let ok = s.gql(&unheard, "{ viewer { id } }", json!({})).await;
            assert!(ok.body["errors"].is_null(), "{}", ok.body);
        }
        let hash = tokens::hash_token(&unheard);
        let revoke =
            format!("UPDATE api_tokens SET revoked_at = updated_at WHERE token_hash = '{hash}'");
        let bypass = match backend {
            sea_orm::DbBackend::Postgres => {
                vec!["SET LOCAL session_replication_role = replica".to_string()]
            }
            _ => vec!["DROP TRIGGER api_tokens_auth_changed".to_string()],
        };
        let txn = sea_orm::TransactionTrait::begin(&elsewhere).await.unwrap();
        for sql in bypass.into_iter().chain([revoke]) {
            txn.execute_raw(Statement::from_string(backend, sql))
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
        let cached = s.gql(&unheard, "{ viewer { id } }", json!({})).await;
        assert!(
            cached.body["errors"].is_null(),
            "still remembered: {}",
            cached.body
        );
        // The triggers, not the test, wrote the feed rows that emptied the cache.
        let row = elsewhere
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT count(*) AS n FROM change_feed WHERE entity = 'api_token'",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 2);
    }
    elsewhere.close().await.unwrap();
    s.finish().await;
}
