//! Accounts and sessions. `UserSupervisor` is the one actor that admits new
//! accounts, so two signups can never take the same email; `Sessions` keeps
//! the revoked sessions that the auth filter checks on every request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::prelude::*;

use super::CommandError;
use crate::clock::Clock;
use crate::domain::{DomainError, Email, IdGenerator, SessionId, Timestamp, User, UserId};
use crate::storage::{Storage, Write};

/// Owns the email -> account index.
pub struct UserSupervisor {
    storage: Storage,
    ids: Arc<IdGenerator>,
    clock: Clock,
    by_email: HashMap<Email, User>,
}

impl UserSupervisor {
    /// An index over `users` (from storage at start-up); new accounts are
    /// stamped by `clock`.
    pub fn new(storage: Storage, ids: Arc<IdGenerator>, clock: Clock, users: Vec<User>) -> Self {
        let by_email = users.into_iter().map(|u| (u.email.clone(), u)).collect();
        UserSupervisor {
            storage,
            ids,
            clock,
            by_email,
        }
    }
}

impl Actor for UserSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
    }
}

/// Admit a new account.
#[derive(Message)]
#[rtype(result = "Result<(User, u64), CommandError>")]
pub struct Register {
    /// The normalised email.
    pub email: Email,
    /// bcrypt hash of the password.
    pub password_hash: String,
}

/// Register: refuse a taken email, else store the account. Returns the write's
/// sequence number; the caller waits for it to be durable, so signups share
/// flushes instead of queueing behind each other's.
impl Handler<Register> for UserSupervisor {
    type Result = Result<(User, u64), CommandError>;

    fn handle(&mut self, msg: Register, _: &mut Self::Context) -> Self::Result {
        if self.by_email.contains_key(&msg.email) {
            return Err(DomainError::EmailInUse.into());
        }
        let user = User {
            id: UserId(self.ids.next()),
            email: msg.email,
            password_hash: msg.password_hash,
            created_at: self.clock.now(),
        };
        let seq = self.storage.apply(vec![Write::User(user.clone())])?;
        self.by_email.insert(user.email.clone(), user.clone());
        Ok((user, seq))
    }
}

/// Look up an account by email.
#[derive(Message)]
#[rtype(result = "Option<User>")]
pub struct FindByEmail(pub Email);

/// FindByEmail: the account, if any.
impl Handler<FindByEmail> for UserSupervisor {
    type Result = Option<User>;

    fn handle(&mut self, msg: FindByEmail, _: &mut Self::Context) -> Self::Result {
        self.by_email.get(&msg.0).cloned()
    }
}

/// Revoked sessions, until their tokens would have expired anyway.
pub struct Sessions {
    storage: Storage,
    clock: Clock,
    revoked: RwLock<HashMap<SessionId, Timestamp>>,
}

impl Sessions {
    /// Revocations from storage; ones past their expiry on `clock` are
    /// dropped.
    pub fn new(storage: Storage, clock: Clock, revoked: Vec<(SessionId, Timestamp)>) -> Self {
        let now = clock.now();
        let live = revoked.into_iter().filter(|(_, exp)| *exp > now).collect();
        Sessions {
            storage,
            clock,
            revoked: RwLock::new(live),
        }
    }

    /// Whether `sid` was signed out.
    pub fn is_revoked(&self, sid: SessionId) -> bool {
        self.revoked
            .read()
            .expect("sessions lock")
            .contains_key(&sid)
    }

    /// Signs `sid` out for good (durably); forgets revocations that expired.
    pub async fn revoke(&self, sid: SessionId, expires: Timestamp) -> Result<(), CommandError> {
        let now = self.clock.now();
        let mut writes = vec![Write::RevokeSession(sid, expires)];
        {
            let mut revoked = self.revoked.write().expect("sessions lock");
            revoked.retain(|old, exp| {
                let keep = *exp > now;
                if !keep {
                    writes.push(Write::ForgetSession(*old));
                }
                keep
            });
            revoked.insert(sid, expires);
        }
        self.storage.commit(writes).await?;
        Ok(())
    }
}
