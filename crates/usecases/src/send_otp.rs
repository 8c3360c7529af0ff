//! POST /auth/send-otp: deliver a fresh code, then make it the only usable one.

use auth_domain::ids::OtpId;
use auth_domain::otp::OtpCode;
use auth_domain::{AuditKind, Channel, Identifier};
use auth_ports::{MacPurpose, NewOtp, OtpMessage};
use time::Duration;

use crate::{AppCredentials, AuthError, AuthService, Caller};

/// A request for a code.
#[derive(Debug, Clone)]
pub struct SendOtp {
    pub credentials: AppCredentials,
    pub identifier: Identifier,
    pub caller: Caller,
}

/// What the caller learns: the same whether or not the person has an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpSent {
    pub otp_request_id: OtpId,
    pub channel: Channel,
    pub expires_in: Duration,
    pub resend_after: Duration,
    pub destination_hint: String,
}

impl AuthService {
    /// Sends a six-digit code to a phone or email address.
    ///
    /// The code is delivered before it is stored, so a failed delivery leaves nothing usable; once
    /// delivered, storing it supersedes every earlier unused code sent for the same person to the
    /// same caller (codes another caller asked for stay usable).
    ///
    /// # Errors
    /// Credential errors, [`AuthError::AppInSandbox`], [`AuthError::RateLimited`],
    /// [`AuthError::DeliveryFailed`], store failures.
    pub async fn send_otp(&self, request: SendOtp) -> Result<OtpSent, AuthError> {
        let SendOtp {
            credentials,
            identifier,
            caller,
        } = request;
        let app = self.authenticate(&credentials, &caller).await?;
        let channel = identifier.channel();
        // The request field that names this channel's destination.
        let field = match channel {
            Channel::Sms => "phone",
            Channel::Email => "email",
        };
        if !self.ports.notifier.supports(channel) {
            return Err(AuthError::invalid_field(
                field,
                format!(
                    "{} delivery is not configured on this engine",
                    channel.as_str()
                ),
            ));
        }
        if !app.channels.allows(channel) {
            return Err(AuthError::invalid_field(
                field,
                format!("this app does not accept {} sign-in", channel.as_str()),
            ));
        }
        if let Identifier::Phone(phone) = &identifier
            && !app.delivery.allows(phone)
        {
            let event = self
                .event(
                    Some(&app.id),
                    AuditKind::SmsCountryRefused,
                    &caller,
                    self.now(),
                )
                .actor("app")
                .details(serde_json::json!({ "destination_hint": identifier.hint() }));
            self.ports.audit.append(event).await?;
            return Err(AuthError::invalid_field(
                "phone",
                "this app does not send SMS to this country",
            ));
        }
        self.refuse_outside_sandbox(&app, &identifier, &caller)
            .await?;
        let cooldown_key = self.enforce_send_limits(&app, &identifier, &caller).await?;
        let email_template = match channel {
            Channel::Sms => None,
            Channel::Email => self.ports.apps.email_template(&app.id).await?,
        };
        let otp_policy = self.settings.otp;

        let otp_id = self.random_id(OtpId::from_random);
        let code = self.fresh_code();
        let message = OtpMessage {
            channel: identifier.channel(),
            to: identifier.as_str().to_owned(),
            message: format!(
                "{} is your {} verification code. It expires in {} minutes.",
                code.reveal(),
                app.name,
                otp_policy.ttl.whole_minutes()
            ),
            code: code.clone(),
            app_name: app.name.clone(),
            expires_in_minutes: otp_policy.ttl.whole_minutes(),
            email_template,
            app_slug: app.slug.as_str().to_owned(),
            otp_request_id: otp_id.as_str().to_owned(),
        };
        if let Err(error) = self.ports.notifier.deliver(&message).await {
            tracing::warn!(%error, channel = channel.as_str(), "code delivery failed");
            // The person never got this code: do not make them wait out a cooldown for it.
            if let Err(error) = self.ports.limiter.reset(&cooldown_key).await {
                tracing::warn!(%error, "could not clear the resend cooldown");
            }
            let event = self
                .event(
                    Some(&app.id),
                    AuditKind::OtpDeliveryFailed,
                    &caller,
                    self.now(),
                )
                .actor("app")
                .subject(otp_id.as_str())
                .details(serde_json::json!({
                    "channel": channel.as_str(),
                    "destination_hint": identifier.hint(),
                    "provider_status": error.0,
                }));
            if let Err(error) = self.ports.audit.append(event).await {
                tracing::warn!(%error, "could not record the failed delivery");
            }
            return Err(AuthError::DeliveryFailed);
        }

        let now = self.now();
        let otp = NewOtp {
            id: otp_id.clone(),
            app_id: app.id.clone(),
            identifier: identifier.clone(),
            caller_key: self.caller_key(&app.id, caller.limit_ip()),
            code_hash: self.code_hash(&otp_id, &code),
            created_at: now,
            expires_at: now + otp_policy.ttl,
        };
        let event = self
            .event(Some(&app.id), AuditKind::OtpSent, &caller, now)
            .actor("app")
            .subject(otp_id.as_str())
            .details(serde_json::json!({ "channel": identifier.channel().as_str(), "destination_hint": identifier.hint() }));
        self.ports.otps.insert_otp(otp, event).await?;

        Ok(OtpSent {
            otp_request_id: otp_id,
            channel: identifier.channel(),
            expires_in: otp_policy.ttl,
            resend_after: otp_policy.resend_cooldown,
            destination_hint: identifier.hint(),
        })
    }

    /// A uniformly random six-digit code from the CSPRNG.
    fn fresh_code(&self) -> OtpCode {
        loop {
            if let Some(code) = OtpCode::from_random(u32::from_be_bytes(self.random_bytes())) {
                return code;
            }
        }
    }

    /// The keyed hash a code is stored and compared as, bound to its request id.
    pub(crate) fn code_hash(&self, otp_id: &OtpId, code: &OtpCode) -> auth_ports::Digest {
        let input = format!("{otp_id}:{}", code.reveal());
        self.ports.mac.mac(MacPurpose::OtpCode, input.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::SendOtp;
    use crate::AuthError;
    use crate::test_kit::{Kit, NOW, fake_mac, phone_request};
    use auth_domain::{AuditKind, Channel, Email, EmailTemplate, Identifier};
    use auth_ports::{DeliveryError, MacPurpose, RateDecision};
    use std::sync::{Arc, Mutex};
    use time::Duration;

    /// A kit whose app is changed by `change`, where nothing may be counted (beyond a failed
    /// credential check) or delivered.
    fn refused_before_counting(change: fn(&mut auth_domain::App)) -> Kit {
        let mut kit = Kit::new();
        kit.apps.checkpoint();
        kit.apps.expect_find_app().returning(move |_| {
            let mut app = crate::test_kit::app();
            change(&mut app);
            Ok(Some(app))
        });
        kit.limiter.expect_hit_all().times(0);
        kit.notifier.expect_deliver().times(0);
        kit
    }

    #[tokio::test]
    async fn the_delivered_code_is_stored_only_as_its_keyed_hash() {
        // Arrange
        let mut kit = Kit::new();
        kit.allow_all_limits();
        let delivered = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&delivered);
        kit.notifier
            .expect_deliver()
            .times(1)
            .returning(move |message| {
                *seen.lock().unwrap() = Some((
                    message.code.reveal().to_owned(),
                    message.otp_request_id.clone(),
                ));
                Ok(())
            });
        let stored = Arc::new(Mutex::new(None));
        let keep = Arc::clone(&stored);
        kit.otps
            .expect_insert_otp()
            .times(1)
            .returning(move |otp, event| {
                assert_eq!(event.kind, AuditKind::OtpSent);
                *keep.lock().unwrap() = Some(otp);
                Ok(())
            });
        let service = kit.service();

        // Act
        let sent = service.send_otp(phone_request()).await.unwrap();

        // Assert
        let (code, otp_id) = delivered.lock().unwrap().clone().unwrap();
        let otp = stored.lock().unwrap().clone().unwrap();
        assert_eq!(code.len(), 6);
        assert_eq!(otp_id, sent.otp_request_id.as_str());
        assert_eq!(otp.id, sent.otp_request_id);
        assert_eq!(
            otp.code_hash,
            fake_mac(MacPurpose::OtpCode, format!("{otp_id}:{code}").as_bytes())
        );
        assert_eq!(otp.expires_at, NOW + Duration::seconds(300));
        assert_eq!(sent.channel, Channel::Sms);
        assert_eq!(sent.expires_in, Duration::seconds(300));
        assert_eq!(sent.resend_after, Duration::seconds(60));
        assert_eq!(sent.destination_hint, "+91******3210");
    }

    #[tokio::test]
    async fn an_email_carries_the_apps_own_template_to_the_notifier() {
        // Arrange
        let mut kit = Kit::new();
        kit.allow_all_limits();
        let template = EmailTemplate::new("{{code}}", "Code {{code}}", "<p>{{code}}</p>").unwrap();
        let stored = template.clone();
        kit.apps
            .expect_email_template()
            .withf(|app_id| *app_id == crate::test_kit::app().id)
            .times(1)
            .returning(move |_| Ok(Some(stored.clone())));
        kit.notifier
            .expect_deliver()
            .withf(move |message| message.email_template.as_ref() == Some(&template))
            .times(1)
            .returning(|_| Ok(()));
        kit.otps.expect_insert_otp().returning(|_, _| Ok(()));
        let email = SendOtp {
            identifier: Identifier::Email(Email::parse("a@example.com").unwrap()),
            ..phone_request()
        };

        // Act
        let sent = kit.service().send_otp(email).await;

        // Assert: an SMS never reads the template (the mock would refuse the call).
        assert_eq!(sent.map(|sent| sent.channel), Ok(Channel::Email));
    }

    #[tokio::test]
    async fn a_failed_delivery_stores_nothing_and_lifts_the_cooldown() {
        // Arrange
        let mut kit = Kit::new();
        kit.allow_all_limits();
        kit.notifier
            .expect_deliver()
            .returning(|_| Err(DeliveryError("gateway down".into())));
        kit.otps.expect_insert_otp().times(0);
        kit.limiter
            .expect_reset()
            .withf(|key| key.starts_with("cooldown:"))
            .times(1)
            .returning(|_| Ok(()));
        let recorded = kit.record_audit();
        let service = kit.service();

        // Act
        let result = service.send_otp(phone_request()).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::DeliveryFailed);
        let recorded = recorded.lock().unwrap().clone();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].kind, AuditKind::OtpDeliveryFailed);
        assert_eq!(
            recorded[0].details,
            serde_json::json!({
                "channel": "sms",
                "destination_hint": "+91******3210",
                "provider_status": "gateway down",
            })
        );
    }

    #[tokio::test]
    async fn a_number_outside_the_apps_countries_is_refused_and_recorded_without_counting() {
        // Arrange: the app sends SMS to the UK only.
        let mut kit = refused_before_counting(|app| {
            app.delivery.sms_countries = Some(vec!["44".into()]);
        });
        let recorded = kit.record_audit();

        // Act
        let result = kit.service().send_otp(phone_request()).await;

        // Assert
        let Err(AuthError::InvalidRequest(problems)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(problems[0].name, "phone");
        let recorded = recorded.lock().unwrap();
        assert_eq!(recorded[0].kind, AuditKind::SmsCountryRefused);
        assert_eq!(recorded[0].details["destination_hint"], "+91******3210");
    }

    #[tokio::test]
    async fn past_the_apps_daily_sms_cap_the_send_is_refused_with_an_alert() {
        // Arrange: every limit allows, except the app's daily SMS cap.
        let mut kit = Kit::new();
        kit.decide_limits(|limit| {
            if limit.key.starts_with("sms-app-day:") {
                assert_eq!((limit.limit, limit.window), (1000, Duration::days(1)));
                assert!(limit.counted);
                RateDecision::Limited {
                    retry_after: Duration::hours(3),
                }
            } else {
                RateDecision::Allowed
            }
        });
        kit.notifier.expect_deliver().times(0);
        let recorded = kit.record_audit();

        // Act
        let result = kit.service().send_otp(phone_request()).await;

        // Assert
        assert_eq!(
            result.unwrap_err(),
            AuthError::RateLimited {
                retry_after: Duration::hours(3)
            }
        );
        let recorded = recorded.lock().unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].kind, AuditKind::DeliveryCapReached);
        assert_eq!(
            recorded[0].details,
            serde_json::json!({ "limit": "sms-app-day", "cap": 1000, "retry_after": 10_800 })
        );
    }

    #[tokio::test]
    async fn a_channel_the_app_turned_off_is_refused_before_anything_is_counted() {
        // Arrange: the app takes email sign-in only.
        let kit = refused_before_counting(|app| app.channels.sms = false);

        // Act
        let result = kit.service().send_otp(phone_request()).await;

        // Assert
        let Err(AuthError::InvalidRequest(problems)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(problems[0].name, "phone");
        assert!(
            problems[0].problem.contains("does not accept sms"),
            "{problems:?}"
        );
    }

    #[tokio::test]
    async fn a_channel_the_engine_cannot_deliver_on_is_refused_naming_it() {
        // Arrange: only email is configured.
        let mut kit = Kit::new();
        kit.allow_all_limits();
        kit.notifier.checkpoint();
        kit.notifier
            .expect_supports()
            .returning(|channel| channel == Channel::Email);
        kit.notifier.expect_deliver().times(0);
        kit.otps.expect_insert_otp().times(0);
        let service = kit.service();

        // Act
        let result = service.send_otp(phone_request()).await;

        // Assert
        let Err(AuthError::InvalidRequest(problems)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(problems[0].name, "phone");
        assert!(problems[0].problem.contains("sms"), "{problems:?}");
    }

    #[tokio::test]
    async fn a_resend_inside_the_cooldown_is_refused_before_anything_is_sent() {
        // Arrange
        let mut kit = Kit::new();
        kit.decide_limits(|limit| {
            if limit.key.starts_with("cooldown:") {
                assert_eq!((limit.limit, limit.window), (1, Duration::seconds(60)));
                RateDecision::Limited {
                    retry_after: Duration::seconds(42),
                }
            } else {
                RateDecision::Allowed
            }
        });
        kit.notifier.expect_deliver().times(0);
        kit.audit
            .expect_append()
            .withf(|event| event.kind == AuditKind::RateLimited)
            .times(1)
            .returning(|_| Ok(()));
        let service = kit.service();

        // Act
        let result = service.send_otp(phone_request()).await;

        // Assert
        assert_eq!(
            result.unwrap_err(),
            AuthError::RateLimited {
                retry_after: Duration::seconds(42)
            }
        );
    }

    #[tokio::test]
    async fn per_ip_limits_count_the_end_user_ip_not_the_backend() {
        // Arrange
        let mut kit = Kit::new();
        kit.decide_limits(|limit| {
            let key = &limit.key;
            assert!(
                !key.contains("10.0.0.1"),
                "the peer address was counted: {key}"
            );
            if key.starts_with("send-ip:") {
                assert!(key.ends_with(":203.0.113.7"));
                return RateDecision::Limited {
                    retry_after: Duration::minutes(10),
                };
            }
            RateDecision::Allowed
        });
        kit.audit.expect_append().returning(|_| Ok(()));
        let service = kit.service();

        // Act
        let result = service.send_otp(phone_request()).await;

        // Assert
        assert!(matches!(result, Err(AuthError::RateLimited { .. })));
    }

    #[tokio::test]
    async fn too_many_failures_for_a_person_from_this_address_refuse_new_codes_to_it() {
        // Arrange
        let mut kit = Kit::new();
        kit.decide_limits(|limit| {
            if limit.counted {
                return RateDecision::Allowed;
            }
            assert!(
                limit.key.starts_with("fail-id-ip:") && limit.key.ends_with(":203.0.113.7"),
                "{limit:?}"
            );
            assert_eq!(limit.limit, 15);
            RateDecision::Limited {
                retry_after: Duration::hours(3),
            }
        });
        kit.notifier.expect_deliver().times(0);
        kit.audit.expect_append().returning(|_| Ok(()));
        let service = kit.service();

        // Act
        let result = service.send_otp(phone_request()).await;

        // Assert
        assert_eq!(
            result.unwrap_err(),
            AuthError::RateLimited {
                retry_after: Duration::hours(3)
            }
        );
    }

    #[tokio::test]
    async fn every_person_limit_counts_per_address_and_has_a_larger_ceiling_across_addresses() {
        // Arrange: record every counter the send touches.
        let mut kit = Kit::new();
        let counted = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&counted);
        kit.decide_limits(move |limit| {
            seen.lock()
                .unwrap()
                .push((limit.key.clone(), limit.limit, limit.counted));
            RateDecision::Allowed
        });
        kit.notifier.expect_deliver().returning(|_| Ok(()));
        let stored = Arc::new(Mutex::new(None));
        let keep = Arc::clone(&stored);
        kit.otps.expect_insert_otp().returning(move |otp, _| {
            *keep.lock().unwrap() = Some(otp);
            Ok(())
        });

        // Act
        kit.service().send_otp(phone_request()).await.unwrap();

        // Assert
        let counted = counted.lock().unwrap();
        let limit_of = |prefix: &str, per_address: bool| {
            counted
                .iter()
                .find(|(key, _, _)| {
                    key.starts_with(prefix) && key.ends_with(":203.0.113.7") == per_address
                })
                .map(|(_, limit, counted)| (*limit, *counted))
                .unwrap_or_else(|| panic!("{prefix} per_address={per_address}: {counted:?}"))
        };
        assert_eq!(limit_of("send-id-ip:", true), (10, true));
        assert_eq!(limit_of("send-id:", false), (50, true));
        assert_eq!(limit_of("fail-id-ip:", true), (15, false));
        assert_eq!(limit_of("fail-id:", false), (100, false));
        assert_eq!(limit_of("cooldown:", true), (1, true));
        let order: Vec<&str> = counted
            .iter()
            .map(|(key, _, _)| key.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            order,
            [
                "send-ip",
                "fail-id-ip",
                "fail-id",
                "send-id-ip",
                "send-id",
                "cooldown",
                "sms-app-day",
                "sms-global-day"
            ],
            "the caps come last: only sends every other limit let through count against them"
        );
        let otp = stored.lock().unwrap().clone().unwrap();
        assert!(!otp.caller_key.is_empty());
        assert!(!otp.caller_key.contains("203.0.113.7"));
    }
}
