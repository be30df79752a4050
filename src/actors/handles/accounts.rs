//! [`Accounts`]: the typed API for accounts and sessions, over the
//! [`AccountIndex`] actor and the revoked [`Sessions`].

use std::sync::Arc;

use actix::Addr;

use crate::actors::accounts::{CheckFree, FindByEmail, Register};
use crate::actors::{AccountIndex, CommandError, Sessions};
use crate::domain::{Email, SessionId, Timestamp, User};

/// Accounts: admit one, find one, sign a session out.
#[derive(Clone)]
pub struct Accounts {
    index: Addr<AccountIndex>,
    sessions: Arc<Sessions>,
}

impl Accounts {
    /// The handle over the `index` actor and the revoked `sessions`.
    pub(crate) fn new(index: Addr<AccountIndex>, sessions: Arc<Sessions>) -> Self {
        Accounts { index, sessions }
    }

    /// Refuses an email already taken (or being registered now) with
    /// `EmailInUse`: a cheap answer before a password is hashed;
    /// [`Accounts::register`] decides for good.
    pub async fn check_free(&self, email: Email) -> Result<(), CommandError> {
        self.index
            .send(CheckFree(email))
            .await
            .map_err(index_unreachable)?
    }

    /// Admits an account for `email` with the bcrypt `password_hash`, once
    /// it is durable; refuses a taken email with `EmailInUse`.
    pub async fn register(
        &self,
        email: Email,
        password_hash: String,
    ) -> Result<User, CommandError> {
        let register = Register {
            email,
            password_hash,
        };
        self.index.send(register).await.map_err(index_unreachable)?
    }

    /// The account of `email`, if any.
    pub async fn find(&self, email: Email) -> Result<Option<User>, CommandError> {
        self.index
            .send(FindByEmail(email))
            .await
            .map_err(index_unreachable)
    }

    /// Signs session `sid` out for good (its token expires at `expires`).
    pub async fn sign_out(&self, sid: SessionId, expires: Timestamp) -> Result<(), CommandError> {
        self.sessions.revoke(sid, expires).await
    }
}

/// The account index's mailbox is closed or full: the actor system is
/// stopping (a 503 for the client).
fn index_unreachable(e: actix::MailboxError) -> CommandError {
    tracing::warn!(error = %e, "account index unreachable");
    CommandError::ShuttingDown
}
