//! Registered people.

use serde::{Deserialize, Serialize};

use super::{Email, Timestamp, UserId};

/// A person with an account. The password is kept only as a bcrypt hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The normalised email, unique among users.
    pub email: Email,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// When the account was made.
    pub created_at: Timestamp,
}
