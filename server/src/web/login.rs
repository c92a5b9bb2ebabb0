//! Logging in and out, and the language switch.

use std::net::SocketAddr;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::*;

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
    let cookie = format!("lang={code}; Path=/; SameSite=Lax; Max-Age=31536000{}", if app.config.secure_cookies { "; Secure" } else { "" });
    resp.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("ascii cookie"));
    resp
}

pub async fn form(State(app): State<AppState>, headers: HeaderMap) -> Response {
    page(&app, &headers, None, StatusCode::OK)
}

fn page(app: &AppState, headers: &HeaderMap, error: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(headers);
    let (token, set) = form_token(app, headers);
    let err = error.map_or(String::new(), |e| format!("<p class=\"msg bad\">{}</p>", esc(e)));
    let body = format!(
        "{err}<form class=card method=post action=/login>{csrf}\
<label>{user}<input name=user autocomplete=username required></label>\
<label>{pw}<input name=password type=password autocomplete=current-password required></label>\
<label>{code}<input name=code inputmode=numeric autocomplete=one-time-code maxlength=8></label>\
<button>{login}</button></form>",
        csrf = hidden_csrf(&token),
        user = t(lang, "user"),
        pw = t(lang, "password"),
        code = t(lang, "totp_code"),
        login = t(lang, "login"),
    );
    with_cookie((status, layout(lang, t(lang, "login"), None, &body)).into_response(), set)
}

pub async fn login(State(app): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let (headers, form) = match limited_form(&app, peer, "login", req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let lang = lang_of(&headers);
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return page(&app, &headers, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN);
    }
    let user = field(&form, "user").to_string();
    let password = field(&form, "password").to_string();
    // Locked after repeated wrong passwords, from wherever they came.
    if let Some(left) = app.logins.locked(&user) {
        let text = format!("{} ({} min)", t(lang, "account_locked"), left.as_secs() / 60 + 1);
        return page(&app, &headers, Some(&text), StatusCode::TOO_MANY_REQUESTS);
    }
    let account = user.clone();
    let found = match app.db.call(move |conn| crate::accounts::credentials(conn, &user)).await {
        Ok(f) => f,
        Err(e) => return server_error(e),
    };
    // Locked in the database: repeated wrong passwords before a restart.
    if let Some(c) = found.as_ref().filter(|c| c.locked_until_ms > now_ms()) {
        let text = format!("{} ({} min)", t(lang, "account_locked"), (c.locked_until_ms - now_ms()) / 60_000 + 1);
        return page(&app, &headers, Some(&text), StatusCode::TOO_MANY_REQUESTS);
    }
    let known = found.is_some();
    let code = field(&form, "code").to_string();
    // Argon2 is slow on purpose: verify off the async workers. With TOTP
    // on, a wrong or missing code fails like a wrong password (and counts
    // towards the account's lockout).
    let verified = tokio::task::spawn_blocking(move || match found {
        Some(c) => PasswordHash::new(&c.password_hash)
            .ok()
            .filter(|h| Argon2::default().verify_password(password.as_bytes(), h).is_ok())
            .filter(|_| c.totp_secret.as_deref().is_none_or(|s| super::accounts::totp_ok(s, &code)))
            .map(|_| (c.id, c.community)),
        None => {
            // Spend the same time for unknown users.
            let _ = argon2_hash("not a password");
            None
        }
    })
    .await
    .ok()
    .flatten();
    let Some((user_id, community)) = verified else {
        // Unknown names are counted in memory only, so guessing names
        // stores nothing; an account's failures are stored as well.
        app.logins.failed(&account);
        if known {
            let name = account.clone();
            if let Err(e) = app.db.call(move |conn| crate::accounts::login_failed(conn, &name, now_ms())).await {
                tracing::error!(error = %e, "cannot store a failed login; the account's lockout is kept in memory only");
            }
        }
        return page(&app, &headers, Some(t(lang, "login_failed")), StatusCode::UNAUTHORIZED);
    };
    app.logins.succeeded(&account);
    let name = account.clone();
    if let Err(e) = app.db.call(move |conn| crate::accounts::login_succeeded(conn, &name)).await {
        tracing::error!(error = %e, "cannot reset an account's count of failed logins");
    }
    if let Some(community) = community {
        let actor = crate::audit::Actor { community, user: account.clone(), ip: app.client_ip(peer.ip(), &headers).to_string() };
        record_as(&app, actor, "login", String::new()).await;
    }
    logged_in(&app, user_id).await
}

pub fn argon2_hash(password: &str) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub async fn logout(State(app): State<AppState>, session: Session, headers: HeaderMap, Form(form): Form<FormMap>) -> Response {
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE).map(sha256_hex) {
        let _ = app.db.call(move |conn| crate::accounts::end_session(conn, &token)).await;
    }
    let mut resp = state_redirect("/login");
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&app, SESSION_COOKIE, "", 0).parse().expect("ascii"));
    resp
}
