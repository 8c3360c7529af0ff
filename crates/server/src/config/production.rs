//! What a production engine refuses to start with: every problem at once, so an operator fixes
//! them in one go.

use base64::Engine as _;
use std::collections::HashSet;
use std::net::IpAddr;

use super::env::{ConfigError, Problem};
use super::{Config, NotifierKind};

/// The fewest distinct byte values a master key may have: a key of repeated or patterned bytes
/// (all zeros, a copied example) is not a secret.
const MIN_DISTINCT_KEY_BYTES: usize = 16;

/// Refuses a production configuration that is unsafe, naming every problem.
pub(super) fn refuse_unsafe(config: &Config) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    let mut refuse = |variable: &'static str, problem: String| {
        problems.push(Problem { variable, problem });
    };
    if config.notifier == NotifierKind::Console {
        refuse(
            "AUTH_NOTIFIER",
            "console prints codes and is refused with AUTH_ENV=production".into(),
        );
    }
    match &config.master_key {
        None => refuse(
            "AUTH_MASTER_KEY",
            "is required with AUTH_ENV=production (a generated key is development only)".into(),
        ),
        Some(encoded) => {
            if let Some(problem) = weak_master_key(encoded) {
                refuse("AUTH_MASTER_KEY", problem);
            }
        }
    }
    if let Some(problem) = config.new_master_key.as_deref().and_then(weak_master_key) {
        refuse("AUTH_NEW_MASTER_KEY", problem);
    }
    match &config.public_url {
        None => refuse(
            "AUTH_PUBLIC_URL",
            "is required with AUTH_ENV=production".into(),
        ),
        Some(url) if is_plain_http(url) => refuse(
            "AUTH_PUBLIC_URL",
            "must be https:// with AUTH_ENV=production (portal cookies would lack Secure)".into(),
        ),
        Some(_) => {}
    }
    for (variable, url) in config.notifier.code_urls() {
        if is_plain_http(url) {
            refuse(
                variable,
                "must be https:// with AUTH_ENV=production: it carries codes".into(),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { problems })
    }
}

/// Why a master key is unfit for production, if it is.
fn weak_master_key(encoded: &str) -> Option<String> {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return Some("must be base64 of 32 bytes".into());
    };
    if bytes.len() != 32 {
        return Some(format!("must be base64 of 32 bytes, got {}", bytes.len()));
    }
    let distinct = bytes.iter().collect::<HashSet<_>>().len();
    (distinct < MIN_DISTINCT_KEY_BYTES).then(|| {
        format!(
            "has only {distinct} distinct byte values (at least {MIN_DISTINCT_KEY_BYTES}): generate one with `openssl rand -base64 32`"
        )
    })
}

/// Whether `url` is `http://` to a host other than this machine's loopback.
fn is_plain_http(url: &str) -> bool {
    let Some(rest) = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .and_then(|_| url.get(7..))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    !is_loopback(host)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_except_to_this_machine() {
        for plain in [
            "http://auth.example.com",
            "http://10.0.0.1:8080/x",
            "HTTP://a.b",
            "http://user@evil.example:80",
        ] {
            assert!(is_plain_http(plain), "{plain}");
        }
        for fine in [
            "https://auth.example.com",
            "http://127.0.0.1:9000/hook",
            "http://localhost/x",
            "http://[::1]:80/",
            "http://127.8.0.1",
        ] {
            assert!(!is_plain_http(fine), "{fine}");
        }
    }

    #[test]
    fn a_master_key_of_few_distinct_bytes_is_weak() {
        let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(weak_master_key(&encode(&[0; 32])).is_some());
        let fifteen: Vec<u8> = (0..32).map(|i| i % 15).collect();
        assert!(weak_master_key(&encode(&fifteen)).is_some());
        let sixteen: Vec<u8> = (0..32).map(|i| i % 16).collect();
        assert_eq!(weak_master_key(&encode(&sixteen)), None);
        assert!(weak_master_key("not base64!").is_some());
        assert!(weak_master_key(&encode(&[7; 16])).is_some());
    }
}
