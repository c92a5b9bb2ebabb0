//! Logging in and out, and the language switch.

use crate::leaves::detail::{Arg, Detail};
use std::net::SocketAddr;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{
    cookie, csrf_field, field, form_token, form_token_ok, frame, lang_of, limited_form, logged_in, record_as,
    set_cookie, state_redirect, t, with_cookie, FormMap, Lang, Session, WebError, SESSION_COOKIE,
};
use crate::db::now_ms;
use crate::leaves::secrets::{random_token, sha256_hex};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .post("/logout", Access::Account, logout)
        .get("/login", Access::Public, form)
        .post("/login", Access::Public, login)
        .body_limit(super::FORM_LIMIT)
        .get("/lang/{code}", Access::Public, set_lang)
}

pub async fn set_lang(Path(code): Path<String>, State(app): State<AppState>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Zh);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string())))
        // Only a path on this site: "//host/…" would leave it.
        .filter(|p| !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let code = if lang == Lang::Zh { "zh" } else { "en" };
    let mut resp = state_redirect(&back);
    let cookie = format!(
        "lang={code}; Path=/; SameSite=Lax; Max-Age=31536000{}",
        if app.config.secure_cookies { "; Secure" } else { "" }
    );
    resp.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("ascii cookie"));
    resp
}

pub async fn form(State(app): State<AppState>, headers: HeaderMap) -> Response {
    page(&app, &headers, None, StatusCode::OK)
}

fn page(app: &AppState, headers: &HeaderMap, error: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(headers);
    let (token, set) = form_token(app, headers);
    let body = html! {
        @if let Some(e) = error { p.msg.bad { (e) } }
        form.card method="post" action="/login" {
            (csrf_field(&token))
            label { (t(lang, "user")) input name="user" autocomplete="username" required; }
            label { (t(lang, "password")) input name="password" type="password" autocomplete="current-password" required; }
            label { (t(lang, "totp_code")) input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8"; }
            button { (t(lang, "login")) }
        }
    };
    with_cookie((status, frame(lang, t(lang, "login"), None, body)).into_response(), set)
}

/// The cookie that marks a browser an account logged in from before (only
/// its digest is stored); it gets that account past a lockout strangers
/// caused. Sent to `/login` only.
const KNOWN_COOKIE: &str = "sm_known";

/// What a login attempt found, decided off the async workers.
enum Verdict {
    /// Password (and TOTP code, if on) right: the account, and the TOTP
    /// step to spend.
    Good {
        user_id: i64,
        community: Option<String>,
        step: Option<i64>,
    },
    /// The password is right, two-step login is on and no code was typed:
    /// said as such (it still counts towards the lockout).
    CodeMissing,
    Bad,
}

pub async fn login(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Result<Response, WebError> {
    let (headers, form) = match limited_form(&app, peer, "login", req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return Ok(page(&app, &headers, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN));
    }
    let client = app.client_ip(peer.ip(), &headers);
    let user = field(&form, "user").to_string();
    let password = field(&form, "password").to_string();
    let code = field(&form, "code").to_string();
    let known_token = cookie(&headers, KNOWN_COOKIE).filter(|t| t.len() == 64).map(sha256_hex);
    let account = user.clone();
    let (found, known_browser) = app.db.call(move |conn| lookup(conn, &user, known_token)).await?;
    let known = found.is_some();
    // A browser that logged in to this account before is past any lock.
    let trusted = found.as_ref().is_some_and(|c| known_browser == Some(c.id));
    let now = now_ms();
    let locked_ms = app
        .logins
        .locked(&account, client)
        .map(|d| d.as_millis() as i64)
        .into_iter()
        .chain(found.as_ref().map(|c| c.locked_until_ms - now).filter(|&ms| ms > 0))
        .max();
    let with_totp = found.as_ref().is_some_and(|c| c.totp_secret.is_some());
    if let Some(ms) = locked_ms.filter(|_| !trusted && !with_totp) {
        return Ok(locked_page(&app, &headers, lang, ms));
    }
    // Argon2 is slow on purpose: verify off the async workers. With TOTP
    // on, a wrong, missing or used code fails like a wrong password (and
    // counts towards the lockout).
    let verdict =
        tokio::task::spawn_blocking(move || check(found, &password, &code, now / 1000)).await.unwrap_or(Verdict::Bad);
    let (user_id, community, step) = match verdict {
        Verdict::Good { user_id, community, step } => (user_id, community, step),
        failed => {
            if let Some(ms) = locked_ms.filter(|_| !trusted) {
                // Locked: only the right password with a valid code gets in.
                return Ok(locked_page(&app, &headers, lang, ms));
            }
            login_failed(&app, &account, client, known).await;
            let text = if matches!(failed, Verdict::CodeMissing) { "login_code_missing" } else { "login_failed" };
            return Ok(page(&app, &headers, Some(t(lang, text)), StatusCode::UNAUTHORIZED));
        }
    };
    if let Some(step) = step {
        // A code is good once: one seen already (replayed) fails.
        if !app.db.call(move |conn| crate::records::accounts::spend_totp_step(conn, user_id, step)).await? {
            login_failed(&app, &account, client, known).await;
            return Ok(page(&app, &headers, Some(t(lang, "login_failed")), StatusCode::UNAUTHORIZED));
        }
    }
    app.logins.succeeded(&account, client);
    Ok(welcome(&app, account, user_id, community, client).await)
}

/// The account named `user`, and the account the browser's known-browser
/// token (its digest) logged in to before, if any.
fn lookup(
    conn: &mut dyn crate::db::Conn,
    user: &str,
    known_token: Option<String>,
) -> Result<(Option<crate::records::accounts::Credentials>, Option<i64>), crate::db::DbError> {
    let c = crate::records::accounts::credentials(conn, user)?;
    let known = match known_token {
        Some(t) => crate::records::accounts::known_browser(conn, &t)?,
        None => None,
    };
    Ok((c, known))
}

/// A good login: the count of wrong passwords starts again, the browser is
/// known from now on (a stranger's guesses never lock it out), the trail
/// has the login, and the session starts.
async fn welcome(
    app: &AppState,
    account: String,
    user_id: i64,
    community: Option<String>,
    client: std::net::IpAddr,
) -> Response {
    let name = account.clone();
    let known_token = random_token() + &random_token();
    let digest = sha256_hex(&known_token);
    let stored = app
        .db
        .call(move |conn| {
            crate::records::accounts::login_succeeded(conn, &name)?;
            crate::records::accounts::remember_browser(conn, user_id, &digest, now_ms())
        })
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "cannot reset an account's count of failed logins");
    }
    if let Some(community) = community {
        let actor = crate::records::audit::Actor { community, user: account, ip: client.to_string() };
        record_as(app, actor, "login", String::new()).await;
    }
    let mut resp = logged_in(app, user_id).await;
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    let known =
        format!("{KNOWN_COOKIE}={known_token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}");
    resp.headers_mut().append(header::SET_COOKIE, known.parse().expect("ascii cookie"));
    resp
}

/// Checks the password, then the TOTP code; spends the same time on
/// unknown names.
fn check(found: Option<crate::records::accounts::Credentials>, password: &str, code: &str, now_s: i64) -> Verdict {
    let Some(c) = found else {
        let _ = argon2_hash("not a password");
        return Verdict::Bad;
    };
    if !password_matches(&c.password_hash, password) {
        return Verdict::Bad;
    }
    let step = match &c.totp_secret {
        None => None,
        Some(_) if code.trim().is_empty() => return Verdict::CodeMissing,
        Some(secret) => match super::accounts::totp_step(secret, code, now_s) {
            Some(step) if step > c.totp_step => Some(step),
            _ => return Verdict::Bad,
        },
    };
    Verdict::Good { user_id: c.id, community: c.community, step }
}

fn locked_page(app: &AppState, headers: &HeaderMap, lang: Lang, ms: i64) -> Response {
    let text = format!("{} ({} min)", t(lang, "account_locked"), ms / 60_000 + 1);
    page(app, headers, Some(&text), StatusCode::TOO_MANY_REQUESTS)
}

/// Counts a failure for the account and this address (in memory), and for
/// a known account in the database too; a lockout either way raises
/// `account_lockout` for the account's community.
async fn login_failed(app: &AppState, account: &str, client: std::net::IpAddr, known: bool) {
    let locked_here = app.logins.failed(account, client);
    if !known {
        // Unknown names are counted in memory only: guessing names stores nothing.
        return;
    }
    let name = account.to_string();
    let raised = app
        .db
        .call(move |conn| {
            let now = now_ms();
            let Some(failed) = crate::records::accounts::login_failed(conn, &name, now)? else { return Ok(false) };
            let Some(community) = failed.community else { return Ok(false) };
            let detail = match (failed.locked_until_ms, locked_here) {
                (Some(until), _) => {
                    let n = crate::records::accounts::MAX_ACCOUNT_FAILURES.to_string();
                    Detail::new("lockout_account", [Arg::from(name.as_str()), Arg::from(n), Arg::Time(until)]).encode()
                }
                (None, true) => {
                    let n = crate::records::accounts::MAX_FAILURES.to_string();
                    Detail::new("lockout_address", [name.as_str(), &n, &client.to_string()].map(Arg::from)).encode()
                }
                (None, false) => return Ok(false),
            };
            Ok(crate::records::alerts::raise(
                conn,
                &community,
                shoumen_protocol::AlertKind::AccountLockout,
                &format!("account {name}"),
                None,
                &detail,
                now,
            )?
            .is_some())
        })
        .await;
    match raised {
        Ok(true) => app.bell.notify_one(),
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "cannot store a failed login; the lockout is kept in memory only"),
    }
}

/// Whether `password` is the one `stored` (an argon2 PHC string) was made
/// from.
pub fn password_matches(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).ok().is_some_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

pub fn argon2_hash(password: &str) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub async fn logout(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    session.check_csrf(&form)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE).map(sha256_hex) {
        let _ = app.db.call(move |conn| crate::records::accounts::end_session(conn, &token)).await;
    }
    let mut resp = state_redirect("/login");
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&app, SESSION_COOKIE, "", 0).parse().expect("ascii"));
    Ok(resp)
}
