//! `/api/users`: signup, signin, signout, currentuser.

use serde_json::json;
use warp::http::StatusCode;

use super::error::ApiError;
use super::inputs::{SigninBody, SignupBody};
use super::openapi::{BodilessWriteRefusals, WriteRefusals};
use super::request::ApiRequest;
use super::{reply, Reply, State};
use crate::domain::MAX_PASSWORD_BYTES;
use crate::views::{CurrentUser, ErrorBody, Session, UserView};

/// The address the per-address limit counts: the TCP peer, or, behind a
/// trusted reverse proxy (`limits.trust_forwarded_for`), the address that
/// proxy appended last to `X-Forwarded-For` (earlier entries are the
/// client's word and could be forged).
fn client_key(state: &State, req: &ApiRequest) -> std::net::IpAddr {
    let forwarded = state
        .limits
        .trust_forwarded_for
        .then(|| req.header("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse().ok());
    forwarded.unwrap_or(req.remote.ip())
}

/// POST `/api/users/signup` `{email, password}` → 201 `{id, email, token}` + cookie.
#[utoipa::path(post, path = "/api/users/signup", tag = "users", operation_id = "signup",
    request_body = SignupBody,
    responses(
        (status = 201, description = "Signed up; sets the session cookie", body = Session),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn signup(state: &State, req: ApiRequest) -> Reply {
    state.limits.auth_per_addr.take(&client_key(state, &req))?;
    let (email, password) = req.json::<SignupBody>()?.validate()?;

    // Cheap refusal before paying for a hash; `register` decides for good.
    state.accounts.check_free(email.clone()).await?;
    let password_hash = state.passwords.hash(password).await?;
    let user = state.accounts.register(email, password_hash).await?;
    signed_in(state, &user, StatusCode::CREATED)
}

/// A new session for `user`: `{id, email, token}` with `status`, and the
/// session cookie.
fn signed_in(state: &State, user: &crate::domain::User, status: StatusCode) -> Reply {
    let token = state.tokens.issue(user)?;
    let cookie = state.tokens.cookie(&token);
    let body = Session {
        id: user.id.to_string(),
        email: user.email.as_str().to_owned(),
        token,
    };
    Ok(reply::with_cookie(reply::json(status, &body), &cookie))
}

/// POST `/api/users/signin` `{email, password}` → 200 `{id, email, token}` + cookie.
#[utoipa::path(post, path = "/api/users/signin", tag = "users", operation_id = "signin",
    request_body = SigninBody,
    responses(
        (status = 200, description = "Signed in; sets the session cookie", body = Session),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn signin(state: &State, req: ApiRequest) -> Reply {
    state.limits.auth_per_addr.take(&client_key(state, &req))?;
    let (email, password) = req.json::<SigninBody>()?.validate()?;

    // Charged before the check, refunded on success: concurrent guesses
    // cannot all pass, and a locked email refuses even the right password.
    state.limits.failed_signins.take(&email)?;
    let user = state.accounts.find(email.clone()).await?;
    // bcrypt reads 72 bytes: a longer password would pass as its first 72.
    // Signup refuses those, so it is no account's password; it is checked
    // against the dummy hash all the same, to cost what a wrong one costs.
    let hash = user
        .as_ref()
        .filter(|_| password.len() <= MAX_PASSWORD_BYTES)
        .map(|u| u.password_hash.clone());
    let ok = state.passwords.verify(password, hash).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => return Err(ApiError::BadRequest("Invalid credentials".into())),
    };
    state.limits.failed_signins.refund(&email);
    signed_in(state, &user, StatusCode::OK)
}

/// POST `/api/users/signout` → 200 `{}`, cookie cleared, session revoked.
#[utoipa::path(post, path = "/api/users/signout", tag = "users", operation_id = "signout",
    security(("bearerAuth" = []), ("cookieAuth" = []), ()),
    responses(
        (status = 200, description = "Signed out; the cookie is cleared and the session revoked", body = serde_json::Value),
        BodilessWriteRefusals
    ))]
pub async fn signout(state: &State, req: ApiRequest) -> Reply {
    if let Some(caller) = state.tokens.caller(&req) {
        state
            .accounts
            .sign_out(caller.session, caller.expires)
            .await?;
    }
    Ok(reply::with_cookie(
        reply::json(StatusCode::OK, &json!({})),
        &state.tokens.clear_cookie(),
    ))
}

/// GET `/api/users/currentuser` → `{"currentUser": {id, email} | null}`.
#[utoipa::path(get, path = "/api/users/currentuser", tag = "users", operation_id = "currentUser",
    security(("bearerAuth" = []), ("cookieAuth" = []), ()),
    responses(
        (status = 200, description = "Who is signed in", body = CurrentUser)
    ))]
pub async fn current_user(state: &State, req: ApiRequest) -> Reply {
    let current_user = state.tokens.caller(&req).map(|c| UserView {
        id: c.user_id.to_string(),
        email: c.email.to_string(),
    });
    Ok(reply::json(StatusCode::OK, &CurrentUser { current_user }))
}
