//! Tokens signed by the engine's own signer (`auth-crypto`), and forgeries of them, against a
//! key source that counts its fetches.

use async_trait::async_trait;
use auth_crypto::{KeyVault, MasterKey, RsaTokens};
use auth_domain::SigningKey;
use auth_domain::ids::AppId;
use auth_ports::TokenCodec;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{AccessClaims, CachePolicy, KeySource, LicenseClaims, Options, Verifier, VerifyError};

const ISSUER: &str = "https://auth.example.com";
const APP: &str = "school-app";
/// The instant the cases verify at; tokens are issued a minute before.
const NOW: i64 = 1_800_000_000;

/// The JWKS an engine would publish, changeable mid-test, counting how often it is fetched.
#[derive(Debug, Default)]
struct Published {
    keys: Mutex<serde_json::Value>,
    fetches: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Clone)]
struct Source(Arc<Published>);

#[async_trait]
impl KeySource for Source {
    async fn fetch(&self) -> Result<JwkSet, VerifyError> {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        // A fetch takes a moment, as over a network.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if self.0.down.load(Ordering::SeqCst) {
            return Err(VerifyError::KeysUnavailable("connection refused".into()));
        }
        let keys = self.0.keys.lock().unwrap().clone();
        Ok(serde_json::from_value(keys).unwrap())
    }
}

/// An app's signing key, made and used by the engine's signer.
struct Engine {
    tokens: RsaTokens,
    key: SigningKey,
    /// The public key as `JWT_PUBLIC_KEY` hands it out.
    pem: String,
}

impl Engine {
    async fn new() -> Self {
        let tokens = RsaTokens::new(KeyVault::new(&MasterKey::from_bytes([9; 32])));
        let material = tokens.generate_key().await;
        let pem = material.public_key_pem;
        let key = SigningKey {
            kid: material.kid,
            app_id: AppId::from_trusted("app_school".into()),
            encrypted_private_key: material.encrypted_private_key,
            public_key_der: material.public_key_der,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            retired_at: None,
            withdrawn_at: None,
        };
        Self { tokens, key, pem }
    }

    fn jwk(&self) -> serde_json::Value {
        let public = self.tokens.public_jwk(&self.key).unwrap();
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256",
            "kid": public.kid, "n": public.n, "e": public.e,
        })
    }

    fn sign(&self, claims: &AccessClaims) -> String {
        self.tokens.sign_access(&self.key, claims).unwrap()
    }
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        aud: APP.into(),
        sub: "usr_ada".into(),
        exp: NOW + 840,
        iat: NOW - 60,
        nbf: NOW - 60,
        jti: "jti_1".into(),
        sid: "ses_1".into(),
        app_id: "app_school".into(),
        phone: Some("+919876543210".into()),
        email: None,
        tenants: [("springfield".to_owned(), vec!["teacher".to_owned()])].into(),
        tenant: None,
        roles: None,
        tenants_truncated: None,
    }
}

fn verifier_of(published: &Arc<Published>, min_refresh: Duration) -> Verifier {
    let options = Options {
        keys: CachePolicy {
            max_age: Duration::from_secs(300),
            min_refresh,
        },
        ..Options::default()
    };
    Verifier::with_source(ISSUER, APP, Source(Arc::clone(published)), options)
}

/// An engine with one key, its JWKS published, and a verifier that may refresh at any time.
async fn setup() -> (Engine, Arc<Published>, Verifier) {
    let engine = Engine::new().await;
    let published = Arc::new(Published::default());
    *published.keys.lock().unwrap() = serde_json::json!({ "keys": [engine.jwk()] });
    let verifier = verifier_of(&published, Duration::ZERO);
    (engine, published, verifier)
}

/// A token with this header and the payload of `claims()`, signed by `sign` over its input.
fn forged(header: &serde_json::Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
    );
    let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{signature}")
}

fn is_invalid(result: &Result<AccessClaims, VerifyError>) -> bool {
    matches!(result, Err(VerifyError::Invalid { .. }))
}

#[tokio::test]
async fn a_token_the_engine_signed_verifies_to_its_typed_claims() {
    let (engine, published, verifier) = setup().await;

    let first = verifier
        .verify_access_at(&engine.sign(&claims()), NOW)
        .await;
    let second = verifier
        .verify_access_at(&engine.sign(&claims()), NOW)
        .await;

    let claims = first.unwrap();
    assert_eq!(claims.sub, "usr_ada");
    assert!(claims.has_role("springfield", "teacher"));
    assert!(!claims.has_role("springfield", "principal"));
    assert!(second.is_ok());
    assert_eq!(
        published.fetches.load(Ordering::SeqCst),
        1,
        "keys are cached"
    );
}

#[tokio::test]
async fn alg_none_and_hs256_keyed_with_the_public_key_are_refused_before_any_key_is_fetched() {
    let (engine, published, verifier) = setup().await;
    let kid = engine.key.kid.clone();
    let none = forged(
        &serde_json::json!({ "alg": "none", "typ": "at+jwt", "kid": kid }),
        |_| Vec::new(),
    );
    let hmac_with = |secret: Vec<u8>| {
        let header = serde_json::json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid });
        forged(&header, move |input| {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            ring::hmac::sign(&key, input).as_ref().to_vec()
        })
    };
    let with_pem = hmac_with(engine.pem.clone().into_bytes());
    let with_der = hmac_with(engine.key.public_key_der.clone());

    for token in [none, with_pem, with_der] {
        let result = verifier.verify_access_at(&token, NOW).await;
        assert!(is_invalid(&result), "{result:?}");
    }
    assert_eq!(published.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_kids_arriving_at_once_cause_one_refresh_and_are_refused() {
    let (engine, published, _) = setup().await;
    let verifier = verifier_of(&published, Duration::from_millis(300));
    verifier
        .verify_access_at(&engine.sign(&claims()), NOW)
        .await
        .unwrap();
    let stranger = Engine::new().await;
    let forged = stranger.sign(&claims());

    let racers: Vec<_> = (0..5)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), forged.clone());
            tokio::spawn(async move { verifier.verify_access_at(&token, NOW).await })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }

    assert!(results.iter().all(is_invalid), "{results:?}");
    assert_eq!(
        published.fetches.load(Ordering::SeqCst),
        2,
        "one fetch at start, one for all the unknown kids"
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_its_first_token_and_the_old_one_keeps_working() {
    // The new key's first token comes right after a fetch: it waits for the next one, not a 401.
    let (old, published, _) = setup().await;
    let verifier = verifier_of(&published, Duration::from_millis(300));
    verifier
        .verify_access_at(&old.sign(&claims()), NOW)
        .await
        .unwrap();
    let new = Engine::new().await;
    *published.keys.lock().unwrap() = serde_json::json!({ "keys": [new.jwk(), old.jwk()] });

    let from_new = verifier.verify_access_at(&new.sign(&claims()), NOW).await;
    let from_old = verifier.verify_access_at(&old.sign(&claims()), NOW).await;

    assert!(from_new.is_ok(), "{from_new:?}");
    assert!(from_old.is_ok(), "{from_old:?}");
    assert_eq!(published.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn another_apps_audience_another_issuer_or_another_token_type_is_refused() {
    let (engine, _, verifier) = setup().await;
    let other_app = engine.sign(&AccessClaims {
        aud: "other-app".into(),
        ..claims()
    });
    let other_issuer = engine.sign(&AccessClaims {
        iss: "https://evil.example".into(),
        ..claims()
    });
    let license = engine
        .tokens
        .sign_license(
            &engine.key,
            &LicenseClaims {
                iss: ISSUER.into(),
                aud: APP.into(),
                sub: "lic_1".into(),
                exp: NOW + 60,
                iat: NOW,
                nbf: NOW,
                jti: "jti_2".into(),
                app_id: "app_school".into(),
                act: "act_1".into(),
                product: None,
                device: "d".into(),
                entitlements: None,
            },
        )
        .unwrap();

    for token in [other_app, other_issuer, license.clone()] {
        let result = verifier.verify_access_at(&token, NOW).await;
        assert!(is_invalid(&result), "{result:?}");
    }
    let as_license = verifier.verify_license_at(&license, NOW).await;
    assert_eq!(as_license.unwrap().act, "act_1");
}

#[tokio::test]
async fn expiry_and_not_before_hold_within_a_small_leeway() {
    let (engine, _, verifier) = setup().await;
    let token = engine.sign(&claims());
    let (exp, nbf) = (claims().exp, claims().nbf);

    let just_before_expiry_plus_leeway = verifier.verify_access_at(&token, exp + 29).await;
    let expired = verifier.verify_access_at(&token, exp + 30).await;
    let early_within_leeway = verifier.verify_access_at(&token, nbf - 30).await;
    let not_yet_valid = verifier.verify_access_at(&token, nbf - 31).await;

    assert!(just_before_expiry_plus_leeway.is_ok());
    assert_eq!(expired.unwrap_err(), VerifyError::Expired);
    assert!(early_within_leeway.is_ok());
    assert!(is_invalid(&not_yet_valid), "{not_yet_valid:?}");
}

#[tokio::test]
async fn a_tampered_payload_or_signature_does_not_verify() {
    let (engine, _, verifier) = setup().await;
    let token = engine.sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let promoted = AccessClaims {
        tenants: [("springfield".to_owned(), vec!["principal".to_owned()])].into(),
        ..claims()
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&promoted).unwrap());
    let tampered_payload = format!("{}.{payload}.{}", parts[0], parts[2]);
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let tampered_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );

    for token in [tampered_payload, tampered_signature, "not.a.token".into()] {
        let result = verifier.verify_access_at(&token, NOW).await;
        assert!(is_invalid(&result), "{result:?}");
    }
    assert_eq!(
        verifier.verify_access_at("", NOW).await.unwrap_err(),
        VerifyError::Missing
    );
}

#[tokio::test]
async fn known_keys_outlive_an_unreachable_engine_and_unknown_ones_say_it_is_unavailable() {
    let (engine, published, _) = setup().await;
    let verifier = Verifier::with_source(
        ISSUER,
        APP,
        Source(Arc::clone(&published)),
        Options {
            keys: CachePolicy {
                max_age: Duration::ZERO,
                min_refresh: Duration::ZERO,
            },
            ..Options::default()
        },
    );
    let never_fetched = verifier_of(&published, Duration::ZERO);
    verifier
        .verify_access_at(&engine.sign(&claims()), NOW)
        .await
        .unwrap();
    published.down.store(true, Ordering::SeqCst);

    let known = verifier
        .verify_access_at(&engine.sign(&claims()), NOW)
        .await;
    let unknown = never_fetched
        .verify_access_at(&engine.sign(&claims()), NOW)
        .await;

    assert!(known.is_ok(), "{known:?}");
    let error = unknown.unwrap_err();
    assert_eq!(error.code(), "service_unavailable");
    assert_eq!(error.status(), 503);
}

#[cfg(feature = "actix")]
mod extractor {
    use super::*;
    use crate::Authenticated;
    use actix_web::test::{TestRequest, call_service, init_service, read_body_json};
    use actix_web::{App, HttpResponse, web};

    async fn grades(user: Authenticated) -> HttpResponse {
        if user.claims.has_role("springfield", "teacher") {
            HttpResponse::Ok().body(user.claims.sub)
        } else {
            HttpResponse::Forbidden().finish()
        }
    }

    #[actix_web::test]
    async fn a_protected_route_answers_401_in_the_engines_shape_and_runs_for_a_valid_token() {
        let (engine, _, verifier) = setup().await;
        // The extractor reads the wall clock: give these tokens lifetimes far from it.
        let valid = engine.sign(&AccessClaims {
            nbf: 0,
            exp: i64::from(u32::MAX),
            ..claims()
        });
        let expired = engine.sign(&AccessClaims {
            nbf: 0,
            exp: 1,
            ..claims()
        });
        let app = init_service(
            App::new()
                .app_data(verifier)
                .route("/grades", web::get().to(grades)),
        )
        .await;
        let get = |token: Option<&str>| {
            let request = TestRequest::get()
                .uri("/grades")
                .insert_header(("x-request-id", "req_test"));
            match token {
                Some(token) => request.insert_header(("authorization", format!("Bearer {token}"))),
                None => request,
            }
            .to_request()
        };

        let missing = call_service(&app, get(None)).await;
        let stale = call_service(&app, get(Some(&expired))).await;
        let garbage = call_service(&app, get(Some("garbage"))).await;
        let allowed = call_service(&app, get(Some(&valid))).await;

        assert_eq!(missing.status(), 401);
        assert_eq!(stale.status(), 401);
        assert_eq!(
            stale.headers().get("www-authenticate").unwrap(),
            r#"Bearer error="invalid_token""#
        );
        let body: serde_json::Value = read_body_json(stale).await;
        assert_eq!(
            body,
            serde_json::json!({
                "error": "token_expired",
                "message": "the access token has expired; refresh it",
                "request_id": "req_test",
            })
        );
        let body: serde_json::Value = read_body_json(missing).await;
        assert_eq!(body["error"], "token_missing");
        let body: serde_json::Value = read_body_json(garbage).await;
        assert_eq!(body["error"], "token_invalid");
        assert_eq!(allowed.status(), 200);
    }
}
