//! Admission passes of the waiting room: proof, signed by the server, that
//! an account was admitted to an event's line, until when. The order path
//! checks a pass by its signature alone, with no round trip to the line;
//! that it is used for one order only is checked against the buyer's
//! orders, under the lock that also guards the buyer's seat limit.
//!
//! A pass is an HS256 JWT under a key of its own (the server's secret with
//! a suffix), so a session token is never a pass, nor a pass a session.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::line::Entry;
use crate::domain::{DomainError, EventId, Timestamp, UserId};

/// What a pass says.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The account, as an id.
    sub: String,
    /// The event.
    evt: String,
    /// When it was admitted (ms).
    adm: i64,
    /// When the pass runs out (ms); `exp` in seconds for JWT tools.
    until: i64,
    exp: i64,
}

/// A checked pass: when its holder was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// When the pass was issued: an order of the event made since then
    /// used it.
    pub admitted_at: Timestamp,
}

/// Signs and checks passes.
pub struct Passes {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Passes {
    /// Passes signed with a key derived from the server's `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let mut key = secret.to_vec();
        key.extend_from_slice(b"/queue-pass");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        // Expiry is checked against the core's clock, below.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Passes {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
        }
    }

    /// The pass of an admitted `entry`, if it has one.
    pub fn issue(&self, entry: &Entry) -> Option<String> {
        let (admitted, until) = (entry.admitted_at?, entry.pass_expires_at?);
        let claims = Claims {
            sub: entry.user.to_string(),
            evt: entry.event.to_string(),
            adm: admitted.0,
            until: until.0,
            exp: until.0.div_euclid(1000),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()
    }

    /// Checks `pass` for `user` ordering seats of `event` at `now`: the
    /// admission it proves, or `Wait for your turn in the queue`.
    pub fn check(
        &self,
        pass: Option<&str>,
        event: EventId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Admission, DomainError> {
        let refused = DomainError::QueuePassRequired;
        let data = jsonwebtoken::decode::<Claims>(
            pass.ok_or(refused.clone())?,
            &self.decoding,
            &self.validation,
        )
        .map_err(|_| refused.clone())?;
        let c = data.claims;
        if c.sub != user.to_string() || c.evt != event.to_string() || now.0 >= c.until {
            return Err(refused);
        }
        Ok(Admission {
            admitted_at: Timestamp(c.adm),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::line::EntryStatus;

    #[test]
    fn a_pass_is_good_for_its_account_its_event_and_its_time_only() {
        let passes = Passes::new(b"secret");
        let entry = Entry {
            event: EventId(5),
            user: UserId(7),
            joined_at: Timestamp(0),
            place: Some(1),
            status: EntryStatus::Admitted,
            admitted_at: Some(Timestamp(1_000)),
            pass_expires_at: Some(Timestamp(61_000)),
            order: None,
        };
        let pass = passes.issue(&entry).unwrap();
        let ok = passes.check(Some(&pass), EventId(5), UserId(7), Timestamp(60_999));
        assert_eq!(
            ok,
            Ok(Admission {
                admitted_at: Timestamp(1_000)
            })
        );
        let no = Err(DomainError::QueuePassRequired);
        assert_eq!(
            passes.check(Some(&pass), EventId(5), UserId(8), Timestamp(2)),
            no
        );
        assert_eq!(
            passes.check(Some(&pass), EventId(6), UserId(7), Timestamp(2)),
            no
        );
        assert_eq!(
            passes.check(Some(&pass), EventId(5), UserId(7), Timestamp(61_000)),
            no
        );
        assert_eq!(passes.check(None, EventId(5), UserId(7), Timestamp(2)), no);
        let other = Passes::new(b"other").issue(&entry).unwrap();
        assert_eq!(
            passes.check(Some(&other), EventId(5), UserId(7), Timestamp(2)),
            no
        );
    }
}
