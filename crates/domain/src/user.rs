//! An end user of one app.

use crate::identifier::{Email, Phone};
use crate::ids::{AppId, UserId};
use time::OffsetDateTime;

/// A user is created on the first successful verification for an app and identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub app_id: AppId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub created_at: OffsetDateTime,
}
