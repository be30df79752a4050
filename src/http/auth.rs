//! Who is calling: HS256 session tokens (in the `session` cookie or an
//! `Authorization: Bearer` header), their revocation, the cross-origin check
//! for cookie-authenticated writes (password hashing is in `passwords`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use warp::http::Method;

use super::error::ApiError;
use super::request::ApiRequest;
use crate::actors::Sessions;
use crate::clock::Clock;
use crate::domain::{IdGenerator, SessionId, Timestamp, User, UserId};

/// The claims inside a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    email: String,
    sid: String,
    iat: i64,
    exp: i64,
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Their account.
    pub user_id: UserId,
    /// Their email.
    pub email: String,
    /// This session, for signout.
    pub session: SessionId,
    /// When the token expires.
    pub expires: Timestamp,
}

/// Issues and checks session tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime_secs: u64,
    secure_cookies: bool,
    sessions: Arc<Sessions>,
    ids: Arc<IdGenerator>,
    /// What `iat`/`exp` are stamped with and `exp` is checked against
    /// (jsonwebtoken would check it against the OS clock).
    clock: Clock,
    /// Tokens whose signature and claims were already checked, so a busy
    /// client does not pay an HMAC and a JSON parse on every request. Keyed
    /// by the whole token (signature included); expiry and revocation are
    /// still checked on every use.
    verified: RwLock<HashMap<Box<str>, Caller>>,
}

/// Verified tokens kept before the cache is emptied and refilled.
const VERIFIED_CAPACITY: usize = 16_384;

/// Name of the session cookie.
pub const COOKIE: &str = "session";

impl Tokens {
    /// Tokens signed with `secret`, living `lifetime_secs` on `clock`.
    pub fn new(
        secret: &[u8],
        lifetime_secs: u64,
        secure_cookies: bool,
        sessions: Arc<Sessions>,
        ids: Arc<IdGenerator>,
        clock: Clock,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        // `exp` must be there; whether it has passed is checked against the
        // clock in `caller`, not against the OS clock by jsonwebtoken.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime_secs,
            secure_cookies,
            sessions,
            ids,
            clock,
            verified: RwLock::default(),
        }
    }

    /// A new session for `user`: the token.
    pub fn issue(&self, user: &User) -> Result<String, ApiError> {
        let now = self.clock.now().0 / 1000;
        let claims = Claims {
            sub: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            sid: SessionId(self.ids.next()).to_string(),
            iat: now,
            exp: now + self.lifetime_secs as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing a token: {e}")))
    }

    /// `Set-Cookie` value carrying `token`.
    pub fn cookie(&self, token: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
            self.lifetime_secs
        )
    }

    /// `Set-Cookie` value that clears the session cookie.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{secure}")
    }

    /// The caller, from a Bearer header or else the cookie. Any invalid,
    /// expired or revoked token counts as no token.
    pub fn caller(&self, req: &ApiRequest) -> Option<Caller> {
        let token = bearer(req).or_else(|| session_cookie(req))?;
        let now = self.clock.now();
        let cached = self
            .verified
            .read()
            .expect("token cache")
            .get(token)
            .cloned();
        let caller = match cached {
            Some(caller) if expired(&caller, now) => return None,
            Some(caller) => caller,
            None => {
                let caller = self.verify(token).filter(|c| !expired(c, now))?;
                let mut verified = self.verified.write().expect("token cache");
                if verified.len() >= VERIFIED_CAPACITY {
                    verified.clear();
                }
                verified.insert(token.into(), caller.clone());
                caller
            }
        };
        (!self.sessions.is_revoked(caller.session)).then_some(caller)
    }

    /// Checks `token`'s signature and claims.
    fn verify(&self, token: &str) -> Option<Caller> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let c = data.claims;
        Some(Caller {
            user_id: c.sub.parse().ok()?,
            email: c.email,
            session: c.sid.parse().ok()?,
            expires: Timestamp(c.exp.saturating_mul(1000)),
        })
    }

    /// The caller, or 401.
    pub fn require(&self, req: &ApiRequest) -> Result<Caller, ApiError> {
        self.caller(req).ok_or(ApiError::Unauthorized)
    }
}

/// Whether `caller`'s token has expired at `now`: jsonwebtoken's rule with
/// leeway 0, in whole seconds: expired once `exp < now`.
fn expired(caller: &Caller, now: Timestamp) -> bool {
    caller.expires.0.div_euclid(1000) < now.0.div_euclid(1000)
}

fn bearer(req: &ApiRequest) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie(req: &ApiRequest) -> Option<&str> {
    req.headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// Refuses (403) a state-changing request that carries the session cookie
/// and an `Origin` other than the one the browser used to reach us (`Host`,
/// or `X-Forwarded-Host` behind a proxy).
pub fn check_origin(req: &ApiRequest) -> Result<(), ApiError> {
    let writes = matches!(
        req.method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    );
    if !writes || session_cookie(req).is_none() {
        return Ok(());
    }
    let Some(origin) = req.header("origin") else {
        return Ok(());
    };
    let own = req
        .header("x-forwarded-host")
        .and_then(|h| h.split(',').next())
        .or_else(|| req.header("host"))
        .map(|h| h.trim().to_ascii_lowercase());
    match (origin_authority(origin), own) {
        (Some(theirs), Some(ours)) if strip_default_port(&theirs) == strip_default_port(&ours) => {
            Ok(())
        }
        _ => Err(ApiError::CrossOrigin),
    }
}

/// `host[:port]` of an `Origin` value (`null` and garbage give `None`).
fn origin_authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.trim().split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    let rest = rest.to_ascii_lowercase();
    Some(
        rest.strip_suffix(default)
            .map(str::to_owned)
            .unwrap_or(rest),
    )
}

fn strip_default_port(authority: &str) -> &str {
    authority
        .strip_suffix(":80")
        .or_else(|| authority.strip_suffix(":443"))
        .unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_authority_with_default_ports() {
        assert_eq!(
            origin_authority("http://localhost:3000").as_deref(),
            Some("localhost:3000")
        );
        assert_eq!(
            origin_authority("https://Example.com:443").as_deref(),
            Some("example.com")
        );
        assert_eq!(origin_authority("null"), None);
        assert_eq!(origin_authority("ftp://x"), None);
        assert_eq!(strip_default_port("example.com:80"), "example.com");
    }
}
