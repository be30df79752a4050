//! Who is calling: HS256 session tokens (in the `session` cookie or an
//! `Authorization: Bearer` header), their revocation, the cross-origin check
//! for cookie-authenticated writes and WebSocket upgrades, and the end of a
//! session for what outlives a request (password hashing is in
//! `passwords`).
//!
//! The cross-origin check compares the browser's `Origin` with the origin
//! it used to reach us, in scheme, host and port: the host is the request's
//! authority (HTTP/1 `Host`, HTTP/2 `:authority`), the scheme `https` when
//! a TLS terminator serves us (`server.secure_cookies`) and `http`
//! otherwise, and behind a trusted proxy its `X-Forwarded-Host` and
//! `X-Forwarded-Proto` say both.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use warp::http::uri::Authority;
use warp::http::{HeaderMap, Method};

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
    /// Their email (shared: a cached caller is handed out on every request).
    pub email: Arc<str>,
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
    /// Tokens whose signature and claims were already checked, so a
    /// client does not pay a JWT decode (two base64 decodes, two JSON
    /// parses and an HMAC: most of a poll's own time) on every request.
    /// Expiry and revocation are still checked on every use.
    verified: RwLock<Verified>,
}

/// Verified tokens, in two generations: new ones go into `current`; when
/// it is full it becomes `previous` (the one before is dropped), and a
/// token found in `previous` moves back into `current`. So a crowd as
/// large as [`VERIFIED_GENERATION`] polling in turn keeps hitting (a cache
/// emptied when full missed on nearly every poll of an on-sale's 100,000
/// buyers), and at most two generations are ever held.
///
/// Keyed by the SHA-256 of the whole token, signature included: 32 bytes
/// an entry instead of the ~230 of the token, and a different token cannot
/// find another's entry.
struct Verified {
    current: HashMap<[u8; 32], Caller>,
    previous: HashMap<[u8; 32], Caller>,
}

impl Default for Verified {
    /// Sized for a full generation from the start: a map that grows
    /// rehashes everything it holds at each doubling, under the lock every
    /// request waits on (the longest hold up to 16 ms in a replay of an
    /// on-sale's first 196,618 tokens). The entries' memory is only
    /// touched as they come.
    fn default() -> Self {
        Verified {
            current: HashMap::with_capacity(VERIFIED_GENERATION),
            previous: HashMap::new(),
        }
    }
}

/// Verified tokens per generation of [`Verified`] (an entry is about 130
/// bytes with its email: two full generations hold about 17 MB).
const VERIFIED_GENERATION: usize = 65_536;

impl Verified {
    /// The caller of the token digested to `key`, if verified, and whether
    /// it was found in the current generation.
    fn find(&self, key: &[u8; 32]) -> (Option<Caller>, bool) {
        match self.current.get(key) {
            Some(caller) => (Some(caller.clone()), true),
            None => (self.previous.get(key).cloned(), false),
        }
    }

    /// Keeps `caller` as verified under `key`, in the current generation;
    /// returns the generation this rolled out, if it did, for the caller to
    /// free once it has let go of the lock: every request waits on that
    /// lock, and freeing a full generation (65,536 entries, their emails
    /// too) is milliseconds. The new generation is sized for a full one, as
    /// the first is (see `Default`).
    #[must_use]
    fn insert(&mut self, key: [u8; 32], caller: Caller) -> Option<HashMap<[u8; 32], Caller>> {
        let rolled_out = (self.current.len() >= VERIFIED_GENERATION).then(|| {
            let full = std::mem::replace(
                &mut self.current,
                HashMap::with_capacity(VERIFIED_GENERATION),
            );
            std::mem::replace(&mut self.previous, full)
        });
        self.current.insert(key, caller);
        rolled_out
    }
}

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
        self.caller_of(&req.headers)
    }

    /// The caller of a request with `headers`, as [`Tokens::caller`]: for
    /// a WebSocket upgrade, which is answered before any [`ApiRequest`].
    pub fn caller_of(&self, headers: &HeaderMap) -> Option<Caller> {
        let token = bearer(headers).or_else(|| session_cookie(headers))?;
        let now = self.clock.now();
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let (cached, in_current) = self.verified.read().expect("token cache").find(&key);
        let caller = match cached {
            Some(caller) => caller,
            None => self.verify(token)?,
        };
        if expired(&caller, now) {
            return None;
        }
        if !in_current {
            // New, or found in the previous generation: kept in this one.
            // A generation rolled out is freed after the lock is let go.
            let rolled_out = self
                .verified
                .write()
                .expect("token cache")
                .insert(key, caller.clone());
            drop(rolled_out);
        }
        (!self.sessions.is_revoked(caller.session)).then_some(caller)
    }

    /// Checks `token`'s signature and claims.
    fn verify(&self, token: &str) -> Option<Caller> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let c = data.claims;
        Some(Caller {
            user_id: c.sub.parse().ok()?,
            email: c.email.into(),
            session: c.sid.parse().ok()?,
            expires: Timestamp(c.exp.saturating_mul(1000)),
        })
    }

    /// Resolves when `caller`'s session ends: signed out, or its token
    /// expired. What outlives the request that authenticated it (the
    /// waiting room's socket) stops then.
    pub fn session_end(&self, caller: &Caller) -> impl Future<Output = ()> + Send + 'static {
        let mut signed_out = self.sessions.watch(caller.session);
        // Expired once `exp < now` in whole seconds (see `expired`).
        let expired = Timestamp((caller.expires.0.div_euclid(1000) + 1) * 1000);
        let expiry = self.clock.sleep_until(expired);
        async move {
            tokio::select! {
                () = signed_out.wait() => {}
                () = expiry => {}
            }
        }
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

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// What the server's own origin is made of, from its settings: the scheme
/// browsers use to reach it, and whether a reverse proxy's word on the
/// browser's host and scheme counts.
#[derive(Debug, Clone, Copy)]
pub struct OriginPolicy {
    /// Browsers reach the server over HTTPS, through a TLS terminator in
    /// front (`server.secure_cookies`): its own scheme is `https`, not the
    /// `http` it is spoken to in.
    pub https: bool,
    /// A trusted reverse proxy is in front (`limits.trust_forwarded_for`):
    /// the last entries of its `X-Forwarded-Host` and `X-Forwarded-Proto`
    /// are the host and scheme the browser used. Otherwise those headers
    /// are the client's word and are ignored.
    pub trust_proxy: bool,
}

impl OriginPolicy {
    /// The origin the browser used to reach us, as far as a request with
    /// `headers` for `authority` (its target's, else its `Host`) shows it.
    fn own_origin(self, headers: &HeaderMap, authority: Option<&str>) -> Option<Origin> {
        let forwarded = |name: &str| {
            self.trust_proxy
                .then(|| headers.get(name).and_then(|v| v.to_str().ok()))
                .flatten()
                .and_then(|v| v.rsplit(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let default_scheme = if self.https { "https" } else { "http" };
        let scheme = forwarded("x-forwarded-proto").unwrap_or(default_scheme);
        let authority = forwarded("x-forwarded-host").or(authority)?;
        Origin::new(scheme, authority)
    }

    /// Refuses (403) a request with `headers` for `authority` that carries
    /// the session cookie and an `Origin` other than our own.
    fn same_site(self, headers: &HeaderMap, authority: Option<&str>) -> Result<(), ApiError> {
        if session_cookie(headers).is_none() {
            return Ok(());
        }
        let Some(origin) = headers.get("origin") else {
            return Ok(());
        };
        let theirs = origin.to_str().ok().and_then(Origin::from_header);
        match (theirs, self.own_origin(headers, authority)) {
            (Some(theirs), Some(ours)) if theirs == ours => Ok(()),
            _ => Err(ApiError::CrossOrigin),
        }
    }
}

/// Refuses (403) a state-changing request that carries the session cookie
/// and an `Origin` other than the one the browser used to reach us: same
/// scheme, host and port (see [`OriginPolicy`]).
pub fn check_origin(req: &ApiRequest, policy: OriginPolicy) -> Result<(), ApiError> {
    let writes = matches!(
        req.method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    );
    if !writes {
        return Ok(());
    }
    policy.same_site(&req.headers, req.authority())
}

/// Refuses (403), as [`check_origin`] refuses a write, the WebSocket
/// upgrade `req` that carries the session cookie and a foreign `Origin`.
/// A WebSocket is not bound by CORS: a page of another origin whose
/// requests still carry the cookie (`SameSite=Lax` lets it through from
/// the same site: another port or subdomain) could otherwise read what a
/// signed-in socket pushes, the admission pass included.
pub fn check_upgrade_origin<B>(
    req: &warp::http::Request<B>,
    policy: OriginPolicy,
) -> Result<(), ApiError> {
    let headers = req.headers();
    let authority = req
        .uri()
        .authority()
        .map(Authority::as_str)
        .or_else(|| headers.get("host").and_then(|v| v.to_str().ok()));
    policy.same_site(headers, authority)
}

/// A web origin: scheme, lower-cased host, and port (the scheme's default
/// when none is written, so `http://a` and `http://a:80` are one origin).
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    /// From an `Origin` header: `scheme://host[:port]` and nothing else
    /// (`null`, paths, user info and other schemes give `None`).
    fn from_header(value: &str) -> Option<Self> {
        let (scheme, authority) = value.trim().split_once("://")?;
        Self::new(scheme, authority)
    }

    /// From a scheme (`http` or `https`) and an authority (`host[:port]`).
    fn new(scheme: &str, authority: &str) -> Option<Self> {
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        if authority.contains(['@', '/', '?', '#']) {
            return None;
        }
        let authority: Authority = authority.parse().ok()?;
        let host = authority.host();
        // `Authority` takes `a:port` and `a:` too; a port is digits or absent.
        let port = match &authority.as_str()[host.len()..] {
            "" if https => 443,
            "" => 80,
            written => {
                let digits = written.strip_prefix(':')?;
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                digits.parse().ok()?
            }
        };
        Some(Origin {
            https,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port_with_default_ports() {
        let o = |v: &str| Origin::from_header(v);
        assert_eq!(o("http://Example.com"), o("http://example.com:80"));
        assert_eq!(o("https://example.com:443"), o("https://example.com"));
        assert_ne!(o("https://example.com"), o("http://example.com"));
        assert_ne!(o("http://example.com:443"), o("https://example.com"));
        assert_ne!(o("http://localhost:3000"), o("http://localhost:3001"));
        assert_eq!(o("http://[::1]:3000"), Origin::new("http", "[::1]:3000"));
        for bad in [
            "null",
            "ftp://x",
            "http://",
            "http://a/",
            "http://u@a",
            "http://a:port",
            "http://a:",
            "http://a:99999",
            "http://a:+80",
            "a",
        ] {
            assert_eq!(o(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_verified_token_outlives_one_full_generation_and_is_kept_in_the_next() {
        let caller = |n: u64| Caller {
            user_id: UserId(n),
            email: "a@b.c".into(),
            session: SessionId(n),
            expires: Timestamp(0),
        };
        let key = |n: u64| -> [u8; 32] { Sha256::digest(n.to_le_bytes()).into() };
        let mut v = Verified::default();
        assert!(v.insert(key(0), caller(0)).is_none());
        for n in 1..VERIFIED_GENERATION as u64 {
            assert!(v.insert(key(n), caller(n)).is_none());
        }
        // The first generation fills and becomes the previous one; the
        // (empty) one before it is handed back to be freed.
        let rolled_out = v.insert(key(VERIFIED_GENERATION as u64), caller(0));
        assert_eq!(rolled_out.map(|g| g.len()), Some(0));
        let (found, in_current) = v.find(&key(0));
        assert_eq!(found.map(|c| c.user_id), Some(UserId(0)));
        assert!(!in_current);
        // Found there, it moves into the current generation, so the next
        // rollover keeps it.
        let _ = v.insert(key(0), caller(0));
        let fill = VERIFIED_GENERATION as u64 + 1..2 * VERIFIED_GENERATION as u64 + 1;
        let rolled_out: Vec<_> = fill.filter_map(|n| v.insert(key(n), caller(n))).collect();
        // The second rollover hands back the first generation, whole.
        assert_eq!(rolled_out.len(), 1);
        assert_eq!(rolled_out[0].len(), VERIFIED_GENERATION);
        assert_eq!(v.find(&key(0)).0.map(|c| c.user_id), Some(UserId(0)));
        // One not seen for two generations is gone: at most two are held.
        assert!(v.find(&key(1)).0.is_none());
        assert!(v.current.len() + v.previous.len() <= 2 * VERIFIED_GENERATION);
    }
}
