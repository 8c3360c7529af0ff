//! Issuing an access token and the token response that goes with it.

use auth_domain::claims::TenantRoles;
use auth_domain::ids::{OtpId, RANDOM_ID_BYTES, SessionId, base32};
use auth_domain::otp::OtpCode;
use auth_domain::session::RefreshToken;
use auth_domain::{AccessClaims, App, SigningKey, TenantClaims, TenantSlug, User};
use auth_ports::{Digest, MacPurpose};
use time::{Duration, OffsetDateTime};

use crate::{AuthError, AuthService};

/// The most a database outage lengthens a retry window.
pub(crate) const OUTAGE_ALLOWANCE: std::time::Duration = std::time::Duration::from_secs(60);

/// What a successful login or refresh hands back.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: String,
    pub expires_in: Duration,
    pub refresh_token: RefreshToken,
    pub refresh_expires_in: Duration,
    pub session_id: SessionId,
    /// Only for a login: whether this verification created the user.
    pub is_new_user: Option<bool>,
    pub user: User,
}

impl AuthService {
    /// The engine's token policy with `app`'s own lifetimes in it.
    pub(crate) fn token_policy(&self, app: &App) -> auth_domain::session::TokenPolicy {
        app.tokens.apply(&self.settings.tokens)
    }

    /// How long after a rotation (or a login) presenting its token (or code) again is a retry:
    /// the app's reuse grace, lengthened by the time the database was unreachable lately (at most
    /// [`OUTAGE_ALLOWANCE`]). A client that waited out an outage to retry, its answer lost in it,
    /// has not used up its window; a thief gains one step at most, seen at the next rotation.
    pub(crate) fn retry_grace(&self, app: &App) -> Duration {
        let grace = self.token_policy(app).reuse_grace;
        if grace <= Duration::ZERO {
            return grace;
        }
        let window = std::time::Duration::try_from(grace)
            .unwrap_or_default()
            .saturating_add(OUTAGE_ALLOWANCE);
        let lost = self
            .ports
            .health
            .unavailable_within(window)
            .min(OUTAGE_ALLOWANCE);
        grace + lost
    }

    /// The key `app`'s tokens are signed with now. Read before a login or rotation commits, so
    /// that nothing which can fail runs after it: a client retrying after a failure then finds its
    /// rotation done and gets the same answer, never a reuse.
    pub(crate) async fn signing_key(&self, app: &App) -> Result<SigningKey, AuthError> {
        self.ports.apps.current_key(&app.id).await?.ok_or_else(|| {
            tracing::error!(app_id = %app.id, "app has no signing key");
            AuthError::Internal
        })
    }

    /// Signs a fresh access token for `user` in `session_id` with `key`: no database call.
    pub(crate) fn access_token(
        &self,
        app: &App,
        key: &SigningKey,
        user: &User,
        session_id: &SessionId,
        now: OffsetDateTime,
        tenants: TenantClaims,
    ) -> Result<String, AuthError> {
        let issued = now.unix_timestamp();
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            aud: app.slug.as_str().to_owned(),
            sub: user.id.as_str().to_owned(),
            exp: issued + self.token_policy(app).access_ttl.whole_seconds(),
            iat: issued,
            nbf: issued,
            jti: base32(&self.random_bytes::<16>()),
            sid: session_id.as_str().to_owned(),
            app_id: app.id.as_str().to_owned(),
            phone: user.phone.as_ref().map(|phone| phone.as_str().to_owned()),
            email: user.email.as_ref().map(|email| email.as_str().to_owned()),
            tenants: tenants.tenants,
            tenant: tenants.scope.as_ref().map(|(slug, _)| slug.clone()),
            roles: tenants.scope.map(|(_, roles)| roles),
            tenants_truncated: tenants.truncated.then_some(true),
        };
        self.ports
            .tokens
            .sign_access(key, &claims)
            .map_err(|error| {
                tracing::error!(%error, kid = %key.kid, "signing failed");
                AuthError::Internal
            })
    }

    /// The session id and first refresh token of the login that `code` of `otp_id` makes.
    /// Derived, not drawn, so a verification retried after its answer was lost is answered with
    /// the same session and token; the code is single-use, so no two logins share them.
    pub(crate) fn first_login(&self, otp_id: &OtpId, code: &OtpCode) -> (SessionId, RefreshToken) {
        let derive = |label: &str| {
            let input = format!("{label}:{otp_id}:{}", code.reveal());
            self.ports.mac.mac(MacPurpose::FirstLogin, input.as_bytes())
        };
        let session = derive("session");
        let mut id = [0u8; RANDOM_ID_BYTES];
        id.copy_from_slice(&session[..RANDOM_ID_BYTES]);
        (
            SessionId::from_random(&id),
            RefreshToken::from_bytes(&derive("refresh")),
        )
    }

    /// The token that replaces `token` when it is rotated. Derived, not drawn, so a retry of the
    /// same rotation can be answered with the same successor without storing any token.
    pub(crate) fn successor_of(&self, token: &RefreshToken) -> RefreshToken {
        RefreshToken::from_bytes(
            &self
                .ports
                .mac
                .mac(MacPurpose::RefreshSuccessor, token.reveal().as_bytes()),
        )
    }

    /// How a refresh token is looked up in storage.
    pub(crate) fn refresh_hash(&self, token: &RefreshToken) -> Digest {
        self.ports
            .mac
            .mac(MacPurpose::RefreshToken, token.reveal().as_bytes())
    }

    /// The tenant claims for a user with `tenants`, scoped to `scope` when asked.
    pub(crate) fn tenant_claims(
        tenants: &TenantRoles,
        scope: Option<&TenantSlug>,
    ) -> Result<TenantClaims, AuthError> {
        TenantClaims::build(tenants, scope.map(TenantSlug::as_str))
            .map_err(|_| AuthError::TenantNotFound)
    }
}
