//! Accounts and sessions. `AccountIndex` is the one actor that admits new
//! accounts, so two signups can never take the same email; `Sessions` keeps
//! the revoked sessions that authentication checks on every request, and
//! tells the connections that outlive a request (the waiting room's
//! socket) when their session is signed out.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use actix::prelude::*;

use super::listeners::{Listener, Listeners};
use super::CommandError;
use crate::clock::Clock;
use crate::domain::{DomainError, Email, IdGenerator, SessionId, Timestamp, User, UserId};
use crate::storage::{Storage, Write};

/// The actor owning the email -> account index: the one place an account
/// is admitted.
pub struct AccountIndex {
    storage: Storage,
    ids: Arc<IdGenerator>,
    clock: Clock,
    by_email: HashMap<Email, User>,
    /// Emails of accounts being stored now: taken for other signups, not
    /// yet visible to signin.
    registering: HashSet<Email>,
}

impl AccountIndex {
    /// An index over `users` (from storage at start-up); new accounts are
    /// stamped by `clock`.
    pub fn new(storage: Storage, ids: Arc<IdGenerator>, clock: Clock, users: Vec<User>) -> Self {
        let by_email = users.into_iter().map(|u| (u.email.clone(), u)).collect();
        AccountIndex {
            storage,
            ids,
            clock,
            by_email,
            registering: HashSet::new(),
        }
    }

    /// One account per email: refuses an email taken, or being registered
    /// right now.
    fn admits(&self, email: &Email) -> Result<(), DomainError> {
        if self.by_email.contains_key(email) || self.registering.contains(email) {
            Err(DomainError::EmailInUse)
        } else {
            Ok(())
        }
    }
}

impl Actor for AccountIndex {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
    }
}

/// Admit a new account.
#[derive(Message)]
#[rtype(result = "Result<User, CommandError>")]
pub struct Register {
    /// The normalised email.
    pub email: Email,
    /// bcrypt hash of the password.
    pub password_hash: String,
}

/// Register: refuse a taken email (or one being registered right now), else
/// store the account; it joins the index, and can sign in, only once it is
/// durable. Signups do not wait for each other: each one's write is in
/// flight while the next message is handled, so they share flushes.
impl Handler<Register> for AccountIndex {
    type Result = ResponseActFuture<Self, Result<User, CommandError>>;

    fn handle(&mut self, msg: Register, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.admits(&msg.email) {
            return Box::pin(fut::ready(Err(e.into())));
        }
        let user = User {
            id: UserId(self.ids.next()),
            email: msg.email,
            password_hash: msg.password_hash,
            created_at: self.clock.now(),
        };
        self.registering.insert(user.email.clone());
        let durable = self.storage.commit(vec![Write::User(user.clone())]);
        Box::pin(durable.into_actor(self).map(move |res, act, _| {
            act.registering.remove(&user.email);
            res?;
            act.by_email.insert(user.email.clone(), user.clone());
            Ok(user)
        }))
    }
}

/// Ask whether an email could be registered now.
#[derive(Message)]
#[rtype(result = "Result<(), CommandError>")]
pub struct CheckFree(pub Email);

/// CheckFree: `EmailInUse` if [`Register`] would refuse it now.
impl Handler<CheckFree> for AccountIndex {
    type Result = Result<(), CommandError>;

    fn handle(&mut self, msg: CheckFree, _: &mut Self::Context) -> Self::Result {
        Ok(self.admits(&msg.0)?)
    }
}

/// Look up an account by email.
#[derive(Message)]
#[rtype(result = "Option<User>")]
pub struct FindByEmail(pub Email);

/// FindByEmail: the account, if any.
impl Handler<FindByEmail> for AccountIndex {
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
    /// A signal per session that open sockets live on, ended when it is
    /// signed out (which wakes every [`SignOut`] of it).
    watched: Arc<Listeners<SessionId>>,
}

/// Resolves once a session is signed out (see [`Sessions::watch`]); cheap
/// to hold: nothing runs until then.
pub struct SignOut {
    signed_out: Listener<SessionId>,
}

impl SignOut {
    /// Waits until the session is signed out (at once if it already is).
    pub async fn wait(&mut self) {
        // Nothing is ever signalled: the signal only ends.
        while self.signed_out.changed().await.is_ok() {}
    }
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
            watched: Arc::default(),
        }
    }

    /// A watch on `sid` that resolves when it is signed out, for a
    /// connection that lives on it.
    pub fn watch(&self, sid: SessionId) -> SignOut {
        let signed_out = self.watched.listen(sid);
        // `revoke` marks the session before it ends the signal: either
        // that is seen here, or the signal just listened to ends.
        if self.is_revoked(sid) {
            self.watched.end(sid);
        }
        SignOut { signed_out }
    }

    /// Whether `sid` was signed out.
    pub fn is_revoked(&self, sid: SessionId) -> bool {
        self.revoked
            .read()
            .expect("sessions lock")
            .contains_key(&sid)
    }

    /// Signs `sid` out for good; it counts as revoked once that is durable.
    /// Revocations whose tokens have expired are forgotten on the way.
    pub async fn revoke(&self, sid: SessionId, expires: Timestamp) -> Result<(), CommandError> {
        let now = self.clock.now();
        let expired: Vec<SessionId> = {
            let revoked = self.revoked.read().expect("sessions lock");
            revoked
                .iter()
                .filter(|(_, exp)| **exp <= now)
                .map(|(old, _)| *old)
                .collect()
        };
        let mut writes = vec![Write::RevokeSession(sid, expires)];
        writes.extend(expired.iter().copied().map(Write::ForgetSession));
        self.storage.commit(writes).await?;
        let mut revoked = self.revoked.write().expect("sessions lock");
        for old in &expired {
            revoked.remove(old);
        }
        revoked.insert(sid, expires);
        drop(revoked);
        // Wakes the session's sockets.
        self.watched.end(sid);
        Ok(())
    }
}
