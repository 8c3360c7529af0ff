//! An app's users and their sessions, as the developer portal shows them: who has signed in, how
//! many sessions each holds, and ending a session (or all of a user's) from the portal.

use auth_domain::ids::{SessionId, UserId};
use auth_domain::session::Session;
use auth_domain::{AuditKind, Identifier, User};
use auth_ports::{RevokeSessions, UserQuery, UserSessions};

use crate::tenants::Page;
use crate::{AuthError, AuthService, Caller};

/// The newest sessions a user's page shows.
pub const SESSIONS_SHOWN: u32 = 50;

impl AuthService {
    /// A page of the users of `developer`'s app in id order, each with their live sessions; only
    /// the one who signs in with `identifier` when it is given.
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn developer_users(
        &self,
        developer: &UserId,
        slug: &str,
        identifier: Option<Identifier>,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Page<UserSessions>, AuthError> {
        let app = self.owned_app(developer, slug).await?;
        let query = UserQuery {
            app_id: app.id,
            identifier,
            after,
            limit: limit + 1,
            now: self.now(),
        };
        let users = self.ports.sessions.users(query).await?;
        Ok(Page::from_overfetch(users, limit, |found| {
            found.user.id.as_str().to_owned()
        }))
    }

    /// A user of `developer`'s app and their newest [`SESSIONS_SHOWN`] sessions, newest first, each
    /// with whether it is live now.
    ///
    /// # Errors
    /// `user_not_found` for a user of another app, as for one that does not exist;
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn developer_user(
        &self,
        developer: &UserId,
        slug: &str,
        user_id: &UserId,
    ) -> Result<(User, Vec<(Session, bool)>), AuthError> {
        let app = self.owned_app(developer, slug).await?;
        let (user, sessions) = self
            .ports
            .sessions
            .user_sessions(&app.id, user_id, SESSIONS_SHOWN)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        let now = self.now();
        let sessions = sessions
            .into_iter()
            .map(|session| {
                let live = session.is_active(now);
                (session, live)
            })
            .collect();
        Ok((user, sessions))
    }

    /// Ends one live session of a user of `developer`'s app, or every one (`session` `None`), and
    /// returns how many ended. The user's refresh tokens stop at once and `/auth/me` refuses their
    /// access tokens. Recorded as `session_revoked` by the developer when any session ended.
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn developer_revoke_sessions(
        &self,
        developer: &UserId,
        slug: &str,
        user_id: &UserId,
        session: Option<SessionId>,
        caller: &Caller,
    ) -> Result<u64, AuthError> {
        let app = self.owned_app(developer, slug).await?;
        let now = self.now();
        let event = self
            .event(Some(&app.id), AuditKind::SessionRevoked, caller, now)
            .actor("developer");
        let revoke = RevokeSessions {
            app_id: app.id,
            user_id: user_id.clone(),
            session,
            now,
        };
        Ok(self.ports.sessions.revoke_sessions(revoke, event).await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::AuthError;
    use crate::test_kit::{Kit, NOW, app, caller};
    use auth_domain::ids::{RANDOM_ID_BYTES, SessionId, UserId};
    use auth_domain::{App, AuditKind, User};
    use auth_ports::UserSessions;

    fn id(n: u8) -> UserId {
        UserId::from_random(&[n; RANDOM_ID_BYTES])
    }

    fn owned_by(kit: &mut Kit, owner: u8) {
        kit.apps.expect_find_app_by_slug().returning(move |_| {
            Ok(Some(App {
                owner: Some(id(owner)),
                ..app()
            }))
        });
    }

    fn user(n: u8) -> UserSessions {
        UserSessions {
            user: User {
                id: id(n),
                app_id: app().id,
                phone: None,
                email: None,
                created_at: NOW,
            },
            live_sessions: 1,
        }
    }

    #[tokio::test]
    async fn users_are_paged_by_id_in_the_developers_app_only() {
        // Arrange
        let mut kit = Kit::new();
        owned_by(&mut kit, 1);
        kit.sessions
            .expect_users()
            .withf(|query| query.app_id == app().id && query.limit == 3 && query.now == NOW)
            .times(1)
            .returning(|_| Ok(vec![user(7), user(8), user(9)]));
        let service = kit.service();

        // Act
        let page = service
            .developer_users(&id(1), "demo-app", None, None, 2)
            .await
            .unwrap();

        // Assert
        assert_eq!(page.items, [user(7), user(8)]);
        assert_eq!(page.next_cursor.as_deref(), Some(id(8).as_str()));
    }

    #[tokio::test]
    async fn another_developer_reads_and_revokes_nothing() {
        // Arrange: the sessions port has no expectations, so any call to it fails the test.
        let mut kit = Kit::new();
        owned_by(&mut kit, 1);
        let service = kit.service();
        let stranger = id(2);

        // Act
        let listed = service
            .developer_users(&stranger, "demo-app", None, None, 10)
            .await;
        let shown = service.developer_user(&stranger, "demo-app", &id(7)).await;
        let revoked = service
            .developer_revoke_sessions(&stranger, "demo-app", &id(7), None, &caller())
            .await;

        // Assert
        for error in [
            listed.unwrap_err(),
            shown.unwrap_err(),
            revoked.unwrap_err(),
        ] {
            assert!(matches!(error, AuthError::InvalidRequest(_)), "{error:?}");
        }
    }

    #[tokio::test]
    async fn a_user_of_no_app_of_theirs_is_user_not_found() {
        let mut kit = Kit::new();
        owned_by(&mut kit, 1);
        kit.sessions
            .expect_user_sessions()
            .returning(|_, _, _| Ok(None));

        let shown = kit
            .service()
            .developer_user(&id(1), "demo-app", &id(7))
            .await;

        assert_eq!(shown.unwrap_err(), AuthError::UserNotFound);
    }

    #[tokio::test]
    async fn a_revocation_names_the_session_and_is_the_developers_act() {
        // Arrange
        let mut kit = Kit::new();
        owned_by(&mut kit, 1);
        let session = SessionId::from_random(&[5; RANDOM_ID_BYTES]);
        let expected = session.clone();
        kit.sessions
            .expect_revoke_sessions()
            .withf(move |revoke, event| {
                revoke.app_id == app().id
                    && revoke.user_id == id(7)
                    && revoke.session.as_ref() == Some(&expected)
                    && event.kind == AuditKind::SessionRevoked
                    && event.actor.as_deref() == Some("developer")
            })
            .times(1)
            .returning(|_, _| Ok(1));
        let service = kit.service();

        // Act
        let revoked = service
            .developer_revoke_sessions(&id(1), "demo-app", &id(7), Some(session), &caller())
            .await;

        // Assert
        assert_eq!(revoked, Ok(1));
    }
}
