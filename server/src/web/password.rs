//! One's own account (issue 28): the name and phone the homes a volunteer
//! helps see, and the password, changed by its owner; a person who forgot
//! theirs opens the one-time reset link an admin made for them on the
//! Accounts page (`/invite/<token>`, like an invitation).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{
    argon2_hash, cookie, csrf_field, field, form_token, form_token_ok, frame, i18n, lang_of, limited_form, logged_in,
    t, with_cookie, FormMap, Lang, Session, WebError, SESSION_COOKIE,
};
use crate::leaves::secrets::sha256_hex;
use crate::records::accounts::{self, AccountError};
use crate::records::audit::Actor;
use crate::AppState;

/// The routes of this page, who may use each.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/account", Access::Account, page)
        .post("/account/password", Access::Account, change)
        .post("/account/profile", Access::Account, set_profile)
        .body_limit(super::FORM_LIMIT)
}

/// At least this many characters, as for an invitation.
const MIN_CHARS: usize = 10;

async fn account_page(app: &AppState, session: &Session, error: Option<&str>, done: Option<&str>) -> Response {
    let lang = session.lang;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let id = session.user_id;
    let (name, phone) = app.db.call(move |conn| accounts::profile(conn, id)).await.unwrap_or_default();
    let body = html! {
        @if let Some(e) = error { p.msg.bad #error { (e) } }
        @if let Some(key) = done { p.msg.ok #done { (t(lang, key)) } }
        h2 { (t(lang, "profile")) }
        form.card method="post" action="/account/profile" {
            (csrf_field(&session.csrf))
            p { (t(lang, "profile_help")) }
            label { (t(lang, "name")) input name="name" maxlength="20" value=(name); }
            label { (t(lang, "phone")) input name="phone" inputmode="tel" maxlength="20" value=(phone); }
            button { (t(lang, "save")) }
        }
        h2 { (t(lang, "password_change")) }
        form.card method="post" action="/account/password" {
            (csrf_field(&session.csrf))
            label { (t(lang, "password_current")) input name="current" type="password" autocomplete="current-password" required; }
            (new_fields(lang))
            button { (t(lang, "password_change")) }
        }
    };
    (status, frame(lang, t(lang, "my_account"), Some(session), body)).into_response()
}

fn new_fields(lang: Lang) -> maud::Markup {
    html! {
        label {
            (t(lang, "password_new"))
            input name="password" type="password" autocomplete="new-password" required minlength=(MIN_CHARS);
        }
        label {
            (t(lang, "password_again"))
            input name="password2" type="password" autocomplete="new-password" required minlength=(MIN_CHARS);
        }
    }
}

pub async fn page(State(app): State<AppState>, session: Session) -> Response {
    account_page(&app, &session, None, None).await
}

pub async fn set_profile(
    State(app): State<AppState>,
    session: Session,
    axum::extract::Form(form): axum::extract::Form<FormMap>,
) -> Result<Response, WebError> {
    session.check_csrf(&form)?;
    let (id, name, phone) = (session.user_id, field(&form, "name").to_string(), field(&form, "phone").to_string());
    match app.db.call(move |conn| accounts::set_profile(conn, id, &name, &phone)).await? {
        Ok(()) => Ok(account_page(&app, &session, None, Some("profile_saved")).await),
        Err(key) => Ok(account_page(&app, &session, Some(&i18n::detail_text(session.lang, &key, 0)), None).await),
    }
}

/// The new password of a form (`password`, typed again as `password2`),
/// or the words of what is wrong with it; an invitation's form too.
pub(super) fn new_password(lang: Lang, form: &FormMap) -> Result<String, String> {
    let password = field(form, "password").to_string();
    if password != field(form, "password2") {
        return Err(t(lang, "passwords_differ").to_string());
    }
    if password.chars().count() < MIN_CHARS {
        return Err(i18n::detail_text(lang, &AccountError::WeakPassword.message(), 0));
    }
    Ok(password)
}

async fn hash(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || argon2_hash(&password))
        .await
        .map_err(WebError::internal)?
        .map_err(WebError::internal)
}

pub async fn change(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    axum::extract::Form(form): axum::extract::Form<FormMap>,
) -> Result<Response, WebError> {
    session.check_csrf(&form)?;
    let lang = session.lang;
    let password = match new_password(lang, &form) {
        Ok(p) => p,
        Err(why) => return Ok(account_page(&app, &session, Some(&why), None).await),
    };
    let id = session.user_id;
    let Some(stored) = app.db.call(move |conn| accounts::password_hash(conn, id)).await? else {
        return Err(WebError::not_found(&session));
    };
    // The current password, checked as a login checks it (off the async
    // workers: argon2 is slow on purpose).
    let current = field(&form, "current").to_string();
    let right = tokio::task::spawn_blocking(move || super::login::password_matches(&stored, &current))
        .await
        .map_err(WebError::internal)?;
    if !right {
        return Ok(account_page(&app, &session, Some(t(lang, "password_wrong")), None).await);
    }
    let hashed = hash(password).await?;
    let keep = cookie(&headers, SESSION_COOKIE).map(sha256_hex).unwrap_or_default();
    let actor = session.community.clone().map(|community| Actor {
        community,
        user: session.user.clone(),
        ip: app.client_ip(peer.ip(), &headers).to_string(),
    });
    let set = move |conn: &mut dyn crate::db::Conn| match &actor {
        Some(actor) => crate::ops::audited(conn, actor, "account.password", "", |tx| {
            accounts::change_password(tx, id, &hashed, &keep)
        }),
        // A district account has no community trail.
        None => accounts::change_password(conn, id, &hashed, &keep),
    };
    app.db.call(set).await?;
    Ok(account_page(&app, &session, None, Some("password_changed")).await)
}

/// The reset link's page: the account it is for, and a new password.
pub fn reset_page(
    app: &AppState,
    headers: &HeaderMap,
    token: &str,
    name: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = lang_of(headers);
    let (form_token, set) = form_token(app, headers);
    let body = html! {
        @if let Some(e) = error { p.msg.bad #error { (e) } }
        p { (i18n::tf(lang, "reset_intro", &[&name])) }
        form.card method="post" action={ "/invite/" (token) } {
            (csrf_field(&form_token))
            (new_fields(lang))
            button { (t(lang, "reset_title")) }
        }
    };
    with_cookie((status, frame(lang, t(lang, "reset_title"), None, body)).into_response(), set)
}

/// A reset link used: the new password set, the person logged in.
pub async fn reset(
    app: &AppState,
    peer: SocketAddr,
    token: String,
    name: String,
    req: Request,
) -> Result<Response, WebError> {
    let (headers, form) = match limited_form(app, peer, "login", req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    let again = |why: &str, status| Ok(reset_page(app, &headers, &token, &name, Some(why), status));
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return again(t(lang, "csrf_failed"), StatusCode::FORBIDDEN);
    }
    let password = match new_password(lang, &form) {
        Ok(p) => p,
        Err(why) => return again(&why, StatusCode::BAD_REQUEST),
    };
    let hashed = hash(password).await?;
    let (t2, ip) = (token.clone(), app.client_ip(peer.ip(), &headers).to_string());
    let done = app.db.call(move |conn| Ok(crate::ops::accounts::reset(conn, &t2, &hashed, &ip))).await?;
    match done {
        Ok((id, name)) => {
            app.logins.forget(&name);
            Ok(logged_in(app, id).await)
        }
        Err(AccountError::Db(e)) => Err(e.into()),
        Err(e) => again(&i18n::detail_text(lang, &e.message(), 0), StatusCode::BAD_REQUEST),
    }
}
