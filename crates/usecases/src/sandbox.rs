//! The sandbox: an app made in the portal sends codes only to its owner and to at most
//! [`MAX_TEST_IDENTIFIERS`] test identifiers the owner lists, until the operator approves it. A
//! stranger who signs up to the portal therefore cannot send texts to anyone through the engine.

use auth_domain::app::MAX_TEST_IDENTIFIERS;
use auth_domain::ids::UserId;
use auth_domain::{App, AuditKind, Identifier};
use auth_ports::AddTestIdentifier;

use crate::apps::no_such_app;
use crate::{AuthError, AuthService, Caller};

impl AuthService {
    /// Refuses a send from a sandboxed app to anyone but its owner and its test identifiers, with
    /// a `sandbox_refused` record; nothing is counted or delivered.
    pub(crate) async fn refuse_outside_sandbox(
        &self,
        app: &App,
        identifier: &Identifier,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        if !app.sandboxed || self.ports.sandbox.may_receive(app, identifier).await? {
            return Ok(());
        }
        let event = self
            .event(Some(&app.id), AuditKind::SandboxRefused, caller, self.now())
            .actor("app")
            .details(serde_json::json!({ "destination_hint": identifier.hint() }));
        self.ports.audit.append(event).await?;
        Err(AuthError::AppInSandbox)
    }

    /// Approves the app (`sandboxed = false`: it may send to anyone) or puts it back in the
    /// sandbox (operator CLI), with an `app_approved` or `app_sandboxed` record.
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug or the portal's own app; store failures.
    pub async fn set_app_sandboxed(
        &self,
        slug: &str,
        sandboxed: bool,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let app = self.app_named(slug).await?;
        if sandboxed && app.slug.is_reserved() {
            // Its developers sign in with it: in the sandbox, none but a listed few could.
            return Err(AuthError::invalid_field(
                "slug",
                "is the developer portal's own app, which cannot be sandboxed",
            ));
        }
        let kind = if sandboxed {
            AuditKind::AppSandboxed
        } else {
            AuditKind::AppApproved
        };
        let event = self
            .event(Some(&app.id), kind, caller, self.now())
            .actor("operator")
            .subject(app.id.as_str());
        if self
            .ports
            .sandbox
            .set_sandboxed(&app.id, sandboxed, event)
            .await?
        {
            Ok(())
        } else {
            Err(no_such_app())
        }
    }

    /// The test identifiers of `developer`'s app.
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn developer_test_identifiers(
        &self,
        developer: &UserId,
        slug: &str,
    ) -> Result<Vec<Identifier>, AuthError> {
        let app = self.owned_app(developer, slug).await?;
        Ok(self.ports.sandbox.test_identifiers(&app.id).await?)
    }

    /// Lists `identifier` as a test identifier of `developer`'s app, with a
    /// `test_identifier_added` record. Listing one already listed changes nothing.
    ///
    /// # Errors
    /// `invalid_request` naming `identifier` when the app has [`MAX_TEST_IDENTIFIERS`] already,
    /// or for an app that is not theirs; store failures.
    pub async fn add_developer_test_identifier(
        &self,
        developer: &UserId,
        slug: &str,
        identifier: &Identifier,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let app = self.owned_app(developer, slug).await?;
        let now = self.now();
        let event =
            self.test_identifier_event(&app, AuditKind::TestIdentifierAdded, identifier, caller);
        match self
            .ports
            .sandbox
            .add_test_identifier(&app.id, identifier, MAX_TEST_IDENTIFIERS, now, event)
            .await?
        {
            AddTestIdentifier::Added | AddTestIdentifier::AlreadyListed => Ok(()),
            AddTestIdentifier::Full => Err(AuthError::invalid_field(
                "identifier",
                format!(
                    "an app may have at most {MAX_TEST_IDENTIFIERS} test identifiers; remove one first"
                ),
            )),
        }
    }

    /// Takes `identifier` off the test identifiers of `developer`'s app, with a
    /// `test_identifier_removed` record when it was listed.
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn remove_developer_test_identifier(
        &self,
        developer: &UserId,
        slug: &str,
        identifier: &Identifier,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let app = self.owned_app(developer, slug).await?;
        let event =
            self.test_identifier_event(&app, AuditKind::TestIdentifierRemoved, identifier, caller);
        self.ports
            .sandbox
            .remove_test_identifier(&app.id, identifier, event)
            .await?;
        Ok(())
    }

    /// The developer's record of a change to `app`'s test identifiers: masked, as in every record.
    fn test_identifier_event(
        &self,
        app: &App,
        kind: AuditKind,
        identifier: &Identifier,
        caller: &Caller,
    ) -> auth_domain::AuditEvent {
        self.event(Some(&app.id), kind, caller, self.now())
            .actor("developer")
            .subject(app.id.as_str())
            .details(serde_json::json!({ "destination_hint": identifier.hint() }))
    }
}

#[cfg(test)]
mod tests {
    use crate::AuthError;
    use crate::test_kit::{Kit, phone_request};
    use auth_domain::AuditKind;
    use auth_domain::ids::{RANDOM_ID_BYTES, UserId};

    fn sandboxed_kit(may_receive: bool) -> Kit {
        let mut kit = Kit::new();
        kit.apps.checkpoint();
        kit.apps.expect_find_app().returning(|_| {
            let mut app = crate::test_kit::app();
            app.sandboxed = true;
            app.owner = Some(UserId::from_random(&[3; RANDOM_ID_BYTES]));
            Ok(Some(app))
        });
        kit.sandbox
            .expect_may_receive()
            .withf(|app, _| app.sandboxed && app.owner.is_some())
            .times(1)
            .returning(move |_, _| Ok(may_receive));
        kit
    }

    #[tokio::test]
    async fn a_sandboxed_app_sending_to_a_stranger_is_refused_before_anything_is_counted() {
        // Arrange
        let mut kit = sandboxed_kit(false);
        kit.limiter
            .expect_hit()
            .withf(|key, _, _, _| !key.starts_with("app-auth-fail:"))
            .times(0);
        kit.notifier.expect_deliver().times(0);
        let recorded = kit.record_audit();

        // Act
        let result = kit.service().send_otp(phone_request()).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::AppInSandbox);
        let recorded = recorded.lock().unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].kind, AuditKind::SandboxRefused);
        assert_eq!(recorded[0].details["destination_hint"], "+91******3210");
    }

    #[tokio::test]
    async fn a_sandboxed_app_delivers_to_its_own_recipients() {
        // Arrange
        let mut kit = sandboxed_kit(true);
        kit.allow_all_limits();
        kit.notifier.expect_deliver().times(1).returning(|_| Ok(()));
        kit.otps.expect_insert_otp().returning(|_, _| Ok(()));

        // Act
        let result = kit.service().send_otp(phone_request()).await;

        // Assert
        assert!(result.is_ok(), "{result:?}");
    }
}
