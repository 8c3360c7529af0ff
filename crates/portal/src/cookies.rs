//! Reading the portal's cookies and writing them: HttpOnly, SameSite=Strict, scoped to `/portal`,
//! Secure when served over https.

use actix_web::HttpRequest;
use actix_web::http::header;

/// The access token of the developer's session.
pub const ACCESS: &str = "portal_access";
/// The refresh token of the developer's session.
pub const REFRESH: &str = "portal_refresh";
/// The browser's anti-forgery secret.
pub const CSRF: &str = "portal_csrf";

/// The value of cookie `name` in `request`, if it is there and not empty.
pub fn read(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value for `name`, kept `max_age_secs` (0 deletes it).
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/portal; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` values that end the session in this browser.
pub fn clear_session(secure: bool) -> Vec<String> {
    vec![set(ACCESS, "", 0, secure), set(REFRESH, "", 0, secure)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cookies_are_read_by_exact_name_across_headers() {
        let request = TestRequest::default()
            .insert_header((header::COOKIE, "other=1; portal_access_x=no"))
            .append_header((header::COOKIE, "portal_access=tok.en; portal_refresh="))
            .to_http_request();

        assert_eq!(read(&request, ACCESS).as_deref(), Some("tok.en"));
        assert_eq!(
            read(&request, REFRESH),
            None,
            "an empty cookie is no cookie"
        );
        assert_eq!(read(&request, CSRF), None);
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_over_https() {
        let plain = set(ACCESS, "v", 900, false);
        let secure = set(REFRESH, "v", 60, true);

        assert_eq!(
            plain,
            "portal_access=v; Path=/portal; Max-Age=900; HttpOnly; SameSite=Strict"
        );
        assert!(secure.ends_with("; HttpOnly; SameSite=Strict; Secure"));
        assert!(clear_session(false).iter().all(|c| c.contains("Max-Age=0")));
    }
}
