//! `/api/users`: signup, signin, signout, currentuser; `/healthz`.
//!
//! This module holds the helpers several files share (reading the session
//! cookie, the fastest of timed samples); each submodule one part of the
//! accounts' contract.

mod healthz_and_ui;
mod passwords;
mod sessions;
mod signin;
mod signup;

use serde_json::{json, Value};

use crate::helpers::*;

/// The `session` cookie of a response, as its attribute list (lowercased names).
fn session_cookie(r: &Resp) -> Option<(String, Vec<String>)> {
    r.set_cookies().into_iter().find_map(|c| {
        let mut parts = c.split(';').map(|p| p.trim().to_string());
        let first = parts.next()?;
        let value = first.strip_prefix("session=")?.to_string();
        Some((value, parts.collect()))
    })
}

fn has_attr(attrs: &[String], name: &str) -> bool {
    attrs.iter().any(|a| a.eq_ignore_ascii_case(name))
}
