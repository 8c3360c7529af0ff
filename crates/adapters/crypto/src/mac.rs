//! HMAC-SHA256 with one derived key per purpose.

use auth_ports::{Digest, KeyedHasher, MacPurpose};
use ring::hmac;

use crate::MasterKey;

/// Keyed hashing for lookups and comparisons of secrets that are never stored in the clear.
#[derive(Debug, Clone)]
pub struct HmacKeys {
    otp_code: hmac::Key,
    refresh_token: hmac::Key,
    refresh_successor: hmac::Key,
    app_secret: hmac::Key,
    rate_limit_key: hmac::Key,
    license_key: hmac::Key,
    device_fingerprint: hmac::Key,
    portal_secret: hmac::Key,
    portal_csrf: hmac::Key,
    master_key_check: hmac::Key,
    first_login: hmac::Key,
    audit_seal: hmac::Key,
}

impl HmacKeys {
    #[must_use]
    pub fn new(master: &MasterKey) -> Self {
        let key = |purpose: &str| hmac::Key::new(hmac::HMAC_SHA256, &master.derive(purpose));
        Self {
            otp_code: key("hmac/otp-code"),
            refresh_token: key("hmac/refresh-token"),
            refresh_successor: key("hmac/refresh-successor"),
            app_secret: key("hmac/app-secret"),
            rate_limit_key: key("hmac/rate-limit-key"),
            license_key: key("hmac/license-key"),
            device_fingerprint: key("hmac/device-fingerprint"),
            portal_secret: key("hmac/portal-secret"),
            portal_csrf: key("hmac/portal-csrf"),
            master_key_check: key("hmac/master-key-check"),
            first_login: key("hmac/first-login"),
            audit_seal: key("hmac/audit-seal"),
        }
    }
}

impl KeyedHasher for HmacKeys {
    fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Digest {
        let key = match purpose {
            MacPurpose::OtpCode => &self.otp_code,
            MacPurpose::RefreshToken => &self.refresh_token,
            MacPurpose::RefreshSuccessor => &self.refresh_successor,
            MacPurpose::AppSecret => &self.app_secret,
            MacPurpose::RateLimitKey => &self.rate_limit_key,
            MacPurpose::LicenseKey => &self.license_key,
            MacPurpose::DeviceFingerprint => &self.device_fingerprint,
            MacPurpose::PortalSecret => &self.portal_secret,
            MacPurpose::PortalCsrf => &self.portal_csrf,
            MacPurpose::MasterKeyCheck => &self.master_key_check,
            MacPurpose::FirstLogin => &self.first_login,
            MacPurpose::AuditSeal => &self.audit_seal,
        };
        let tag = hmac::sign(key, data);
        let mut digest = [0u8; 32];
        digest.copy_from_slice(tag.as_ref());
        digest
    }

    fn sha256(&self, data: &[u8]) -> Digest {
        let mut digest = [0u8; 32];
        digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_and_master_keys_give_different_digests() {
        let keys = HmacKeys::new(&MasterKey::from_bytes([1; 32]));
        let other = HmacKeys::new(&MasterKey::from_bytes([2; 32]));
        let a = keys.mac(MacPurpose::OtpCode, b"123456");
        assert_eq!(a, keys.mac(MacPurpose::OtpCode, b"123456"));
        assert_ne!(a, keys.mac(MacPurpose::RefreshToken, b"123456"));
        assert_ne!(a, other.mac(MacPurpose::OtpCode, b"123456"));
    }
}
