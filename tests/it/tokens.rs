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
