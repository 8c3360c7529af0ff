//! Compact JWS (RFC 7515) as the engine writes and reads it: a `{alg, typ, kid}` header, JSON
//! claims, and a signature made or checked by whichever key the caller holds.

use auth_ports::TokenError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The protected header: what signed it, what it is, and with which key.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Header<'a> {
    pub alg: &'a str,
    pub typ: &'a str,
    pub kid: &'a str,
}

/// A header as read from a token.
#[derive(serde::Deserialize)]
struct Parsed {
    alg: String,
    typ: String,
    kid: String,
}

/// The compact JWS of `claims` under `header`, signed by `sign` (given the signing input).
pub(crate) fn encode(
    header: &Header<'_>,
    claims: &impl serde::Serialize,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, TokenError>,
) -> Result<String, TokenError> {
    let header = serde_json::to_vec(header).map_err(|_| TokenError::Invalid)?;
    let claims = serde_json::to_vec(claims).map_err(|_| TokenError::Invalid)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let signature = sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// The `kid` in `token`'s header, without verifying anything.
pub(crate) fn kid(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let header = token.split('.').next()?;
    let parsed: Parsed = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    Some(parsed.kid)
}

/// The claims of `token` when its header is exactly `expected` and `check` accepts its signature
/// (given the signing input and the signature).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    token: &str,
    expected: &Header<'_>,
    check: impl FnOnce(&[u8], &[u8]) -> Result<(), TokenError>,
) -> Result<T, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Invalid);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenError::Invalid)
    };
    let parsed: Parsed =
        serde_json::from_slice(&decode(header)?).map_err(|_| TokenError::Invalid)?;
    if parsed.alg != expected.alg || parsed.typ != expected.typ || parsed.kid != expected.kid {
        return Err(TokenError::Invalid);
    }
    let signed = &token[..header.len() + 1 + claims.len()];
    check(signed.as_bytes(), &decode(signature)?)?;
    serde_json::from_slice(&decode(claims)?).map_err(|_| TokenError::Invalid)
}
