//! Verifying access tokens the way an integrating backend would: against the app's JWKS.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use super::server::{AppCreds, PUBLIC_URL, TestServer};

/// The app's JWKS document; asserts the endpoint answered 200.
pub async fn fetch_jwks(server: &TestServer, app: &AppCreds) -> Value {
    let reply = server
        .get(&format!("/apps/{}/jwks.json", app.app_slug))
        .await;
    reply.assert_ok();
    reply.body
}

pub fn jwks_keys(jwks: &Value) -> &[Value] {
    jwks["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn decoding_key(jwk: &Value) -> Result<DecodingKey, String> {
    let (Some(n), Some(e)) = (jwk["n"].as_str(), jwk["e"].as_str()) else {
        return Err(format!("JWK without n/e: {jwk}"));
    };
    DecodingKey::from_rsa_components(n, e).map_err(|error| format!("bad JWK {jwk}: {error}"))
}

/// Strict RS256 validation: signature, `aud`, `iss`, `exp` and `nbf`, all required.
fn validation(audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[PUBLIC_URL]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 5;
    validation
}

/// Verifies `token` with the JWKS key its `kid` names and returns the claims.
pub fn verify_with_kid(token: &str, jwks: &Value, audience: &str) -> Result<Value, String> {
    let header = decode_header(token).map_err(|error| format!("undecodable header: {error}"))?;
    let kid = header.kid.ok_or("token header has no kid")?;
    let jwk = jwks_keys(jwks)
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .ok_or_else(|| format!("kid {kid} is not in the JWKS {jwks}"))?;
    decode::<Value>(token, &decoding_key(jwk)?, &validation(audience))
        .map(|data| data.claims)
        .map_err(|error| format!("verification failed: {error}"))
}

/// Whether any key of `jwks` verifies `token` for `audience`, whatever its `kid` says.
pub fn verifies_with_any_key(token: &str, jwks: &Value, audience: &str) -> bool {
    jwks_keys(jwks).iter().any(|jwk| {
        decoding_key(jwk)
            .and_then(|key| {
                decode::<Value>(token, &key, &validation(audience))
                    .map_err(|error| error.to_string())
            })
            .is_ok()
    })
}

/// The claims of a token verified against its app's published keys; panics when it does not verify.
pub async fn verified_claims(server: &TestServer, app: &AppCreds, token: &str) -> Value {
    let jwks = fetch_jwks(server, app).await;
    verify_with_kid(token, &jwks, &app.app_slug)
        .unwrap_or_else(|error| panic!("access token does not verify: {error}"))
}

/// The JOSE `typ` of the license tokens that `/licenses/activate` returns.
pub const LICENSE_TOKEN_TYP: &str = "license+jwt";

/// Verifies a license token the way a client does offline: the header must say RS256 and
/// `typ: license+jwt` (jsonwebtoken's `Validation` does not look at `typ`), and the key its `kid`
/// names in `jwks` must verify it for `audience` (signature, `iss`, `aud`, `exp`, `nbf`).
pub fn verify_license_token(token: &str, jwks: &Value, audience: &str) -> Result<Value, String> {
    let header = decode_header(token).map_err(|error| format!("undecodable header: {error}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!("alg is {:?}, not RS256", header.alg));
    }
    if header.typ.as_deref() != Some(LICENSE_TOKEN_TYP) {
        return Err(format!("typ is {:?}, not {LICENSE_TOKEN_TYP}", header.typ));
    }
    verify_with_kid(token, jwks, audience)
}

/// The claims of a license token verified against its app's published keys; panics when it does
/// not verify.
pub async fn verified_license_claims(server: &TestServer, app: &AppCreds, token: &str) -> Value {
    let jwks = fetch_jwks(server, app).await;
    verify_license_token(token, &jwks, &app.app_slug)
        .unwrap_or_else(|error| panic!("license token does not verify: {error}"))
}

/// The JOSE `typ` of the checkpoints `auth-engine audit archive` signs.
pub const CHECKPOINT_TYP: &str = "audit-checkpoint+jwt";

/// The JOSE `typ` of the signed last line of an export.
pub const EXPORT_TYP: &str = "audit-export+jwt";

/// The engine's audit key set (`GET /audit/keys.json`); asserts the endpoint answered 200.
pub async fn fetch_audit_keys(server: &TestServer) -> Value {
    let reply = server.get("/audit/keys.json").await;
    reply.assert_ok();
    reply.body
}

/// Verifies a statement of the audit log (a checkpoint or the last line of an export) the way a
/// third party does offline: the header must say EdDSA and `typ`, its `kid` must name a key of the
/// engine's audit key set `keys`, whose Ed25519 key must verify it; `iss` must be the engine.
pub fn verify_audit_statement(token: &str, typ: &str, keys: &Value) -> Result<Value, String> {
    let header = decode_header(token).map_err(|error| format!("undecodable header: {error}"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(format!("alg is {:?}, not EdDSA", header.alg));
    }
    if header.typ.as_deref() != Some(typ) {
        return Err(format!("typ is {:?}, not {typ}", header.typ));
    }
    let kid = header.kid.ok_or("the header has no kid")?;
    let jwk = jwks_keys(keys)
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .ok_or_else(|| format!("kid {kid} is not in the audit key set {keys}"))?;
    if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
        return Err(format!("not an Ed25519 key: {jwk}"));
    }
    let x = jwk["x"].as_str().ok_or("the key has no x")?;
    let key =
        DecodingKey::from_ed_components(x).map_err(|error| format!("bad key {jwk}: {error}"))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[PUBLIC_URL]);
    validation.set_required_spec_claims(&["iss"]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|error| format!("verification failed: {error}"))
}
