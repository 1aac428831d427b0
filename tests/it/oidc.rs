//! Single sign-on (`serve --oidc-issuer`): bearer JWTs from an OpenID Connect provider beside
//! our tokens. The test is the provider: it generates an RSA key (with the `openssl` command)
//! and P-256 keys, serves a discovery document and a JWKS, signs tokens, and rotates a key.
//! Through `serve` itself, since the providers are the process's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::cli::{Cli, free_port, spawn_serve, stop};

const AUDIENCE: &str = "stepgraph-test";

struct SigningKey {
    kid: &'static str,
    alg: Algorithm,
    key: EncodingKey,
}

impl SigningKey {
    fn rsa(kid: &'static str, dir: &std::path::Path) -> Self {
        let pem = dir.join(format!("{kid}.pem"));
        let der = dir.join(format!("{kid}.der"));
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            pem.to_str().unwrap(),
        ]);
        run(&[
            "rsa",
            "-in",
            pem.to_str().unwrap(),
            "-traditional",
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ]);
        Self {
            kid,
            alg: Algorithm::RS256,
            key: EncodingKey::from_rsa_der(&std::fs::read(der).unwrap()),
        }
    }

    fn ec(kid: &'static str) -> Self {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        Self {
            kid,
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
        }
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.to_string());
        jwk
    }

    /// A JWT of `claims` signed with this key, under `kid` (normally its own).
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.kid, claims)
    }
}

/// The provider: a discovery document and a JWKS that the test can change, counting the
/// JWKS fetches.
struct Provider {
    issuer: String,
    keys: Arc<Mutex<Vec<Jwk>>>,
    fetches: Arc<AtomicUsize>,
}

async fn provider(keys: Vec<Jwk>) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") });
    let (k, f) = (keys.clone(), fetches.clone());
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || async move {
                f.fetch_add(1, Ordering::SeqCst);
                let set = JwkSet {
                    keys: k.lock().unwrap().clone(),
                };
                axum::Json(serde_json::to_value(set).unwrap())
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Provider {
        issuer,
        keys,
        fetches,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_provider_tokens_sign_users_in() {
    let cli = Cli::new();
    let ours = cli.demo_token("ada.admin@example.com");
    let dir = tempdir();
    let rsa = SigningKey::rsa("rsa-1", &dir);
    let ec = SigningKey::ec("ec-1");
    let rotated = SigningKey::ec("ec-2");
    let p = provider(vec![rsa.jwk(), ec.jwk()]).await;
    let port = free_port();
    let started = Instant::now();
    let child = spawn_serve(
        &cli,
        "127.0.0.1",
        port,
        &["--oidc-issuer", &p.issuer, "--oidc-audience", AUDIENCE],
        std::process::Stdio::null,
    );
    assert_eq!(
        p.fetches.load(Ordering::SeqCst),
        1,
        "keys fetched at startup"
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let ask = async |token: &str| {
        let res = http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": "{ viewer { email role } }" }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap())
    };
    let claims = |email: &str| {
        json!({ "iss": p.issuer, "aud": AUDIENCE, "sub": "u-1", "email": email,
                "iat": now(), "exp": now() + 600 })
    };

    // RS256 and ES256 sign users in; role comes from our users table.
    let (status, body) = ask(&rsa.sign(&claims("ada.admin@example.com"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["email"], "ada.admin@example.com");
    assert_eq!(body["data"]["viewer"]["role"], "ADMIN");
    let (status, body) = ask(&ec.sign(&claims("mia.member@example.com"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["role"], "MEMBER");
    // Our own tokens still work.
    assert_eq!(ask(&ours).await.0, 200);

    // Refused with 401: expired beyond the leeway, not yet valid, another audience, another
    // issuer, no audience, a signature by another key under this key's id, an algorithm off
    // the allow-list (HMAC keyed with the public JWKS, and `none`).
    let mut refused = Vec::new();
    let mut c = claims("ada.admin@example.com");
    c["exp"] = json!(now() - 120);
    refused.push(("expired", rsa.sign(&c)));
    let mut c = claims("ada.admin@example.com");
    c["nbf"] = json!(now() + 300);
    refused.push(("not yet valid", rsa.sign(&c)));
    let mut c = claims("ada.admin@example.com");
    c["aud"] = json!("another-app");
    refused.push(("audience", ec.sign(&c)));
    let mut c = claims("ada.admin@example.com");
    c["iss"] = json!("http://127.0.0.1:1");
    refused.push(("issuer", ec.sign(&c)));
    let mut c = claims("ada.admin@example.com");
    c.as_object_mut().unwrap().remove("aud");
    refused.push(("no audience", ec.sign(&c)));
    refused.push((
        "forged",
        rotated.sign_as("ec-1", &claims("ada.admin@example.com")),
    ));
    let hmac =
        EncodingKey::from_secret(serde_json::to_string(&rsa.jwk()).unwrap().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    refused.push((
        "HS256",
        jsonwebtoken::encode(&header, &claims("ada.admin@example.com"), &hmac).unwrap(),
    ));
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    refused.push((
        "none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "ec-1", "typ": "JWT"})),
            b64(&claims("ada.admin@example.com"))
        ),
    ));
    for (what, token) in &refused {
        let (status, body) = ask(token).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}"
        );
    }

    // Verified, but no such user: 403 that says so; an email the provider has not verified.
    let (status, body) = ask(&ec.sign(&claims("nobody@example.com"))).await;
    assert_eq!(status, 403, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nobody@example.com"), "{message}");
    let mut c = claims("ada.admin@example.com");
    c["email_verified"] = json!(false);
    assert_eq!(ask(&ec.sign(&c)).await.0, 403);

    // Key rotation. A token under a key id the JWKS does not have is refused; a stream of
    // them fetches the keys at most once per 10 s (bounded by the time since startup, so a
    // slow machine cannot make this flaky).
    let most_fetches = |started: Instant| 1 + started.elapsed().as_secs() as usize / 10;
    let unknown_key_ids = async || {
        for _ in 0..20 {
            let token = rotated.sign_as("nope", &claims("ada.admin@example.com"));
            assert_eq!(ask(&token).await.0, 401);
        }
    };
    unknown_key_ids().await;
    let fetched = p.fetches.load(Ordering::SeqCst);
    assert!(
        fetched <= most_fetches(started),
        "{fetched} fetches in {:?}",
        started.elapsed()
    );
    // The provider publishes a new key and signs with it: the unknown id fetches the keys
    // again once the last fetch is old enough, and the new key works.
    p.keys.lock().unwrap().push(rotated.jwk());
    let signed_in = loop {
        let (status, _) = ask(&rotated.sign(&claims("ada.admin@example.com"))).await;
        if status == 200 || started.elapsed() > Duration::from_secs(40) {
            break status;
        }
        assert_eq!(status, 401);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(signed_in, 200, "the rotated key was never fetched");
    let fetched = p.fetches.load(Ordering::SeqCst);
    assert!(
        fetched >= 2 && fetched <= most_fetches(started),
        "{fetched} fetches in {:?}",
        started.elapsed()
    );
    unknown_key_ids().await;
    assert!(p.fetches.load(Ordering::SeqCst) <= fetched + 1);

    // A WebSocket signed in with a JWT ends when the JWT expires.
    let mut c = claims("ada.admin@example.com");
    c["exp"] = json!(now() + 2);
    let mut socket = crate::live::Client::connect(&base, &ec.sign(&c)).await;
    socket
        .subscribe(
            "1",
            "subscription { sequenceStepChanged { id } }",
            json!({}),
        )
        .await;
    let closed = socket.next(Duration::from_secs(8)).await;
    assert_eq!(
        closed,
        Some(json!({"type": "close", "code": 4403})),
        "{closed:?}"
    );

    // A locked user's JWT is refused like their tokens.
    let db = sea_orm::Database::connect(cli.url()).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("UPDATE users SET locked = true WHERE email = 'mia.member@example.com'")
        .await
        .unwrap();
    assert_eq!(
        ask(&ec.sign(&claims("mia.member@example.com"))).await.0,
        401
    );
    stop(child);
    let _ = std::fs::remove_dir_all(dir);
}

/// `--oidc-issuer` without an audience, or with an http issuer elsewhere than loopback, or
/// an HMAC algorithm, is refused at startup with the reason.
#[test]
fn misconfigured_single_sign_on_is_refused_at_startup() {
    let cli = Cli::new();
    for (args, says) in [
        (
            vec!["--oidc-issuer", "https://id.example.com"],
            "--oidc-audience",
        ),
        (
            vec![
                "--oidc-issuer",
                "http://id.example.com",
                "--oidc-audience",
                "a",
            ],
            "https://",
        ),
        (
            vec![
                "--oidc-issuer",
                "https://id.example.com",
                "--oidc-audience",
                "a",
                "--oidc-algorithms",
                "HS256",
            ],
            "asymmetric",
        ),
    ] {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend(args);
        let out = cli.run(&all);
        assert!(!out.status.success(), "{all:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stepgraph-oidc-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
