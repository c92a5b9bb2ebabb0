//! The Accounts page (admins): invite an account with a one-time link,
//! change a role, disable an account. The invitation's page, where the
//! invited person picks a name and password. Two-step login (TOTP, RFC
//! 6238) for one's own account.

use std::fmt::Write;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use totp_rs::{Algorithm, Secret, TOTP};

use super::*;
use crate::records::accounts::{self, AccountError};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/accounts", "accounts")
        .get("/accounts", Perm::Manage, page)
        .post("/accounts/invite", Perm::Manage, invite)
        .post("/accounts/{id}/role", Perm::Manage, set_role)
        .post("/accounts/{id}/disable", Perm::Manage, disable)
        .post("/accounts/{id}/unlock", Perm::Manage, unlock)
        .get("/totp", Access::Account, totp_page)
        .post("/totp", Access::Account, totp_set)
        .get("/invite/{token}", Access::Public, join_form)
        .post("/invite/{token}", Access::Public, join)
        .body_limit(super::FORM_LIMIT)
}

fn role_options(lang: Lang, selected: &str) -> String {
    AccountRole::ALL
        .iter()
        .map(|r| {
            let sel = if r.as_str() == selected { " selected" } else { "" };
            format!("<option value={}{sel}>{}</option>", r.as_str(), t(lang, r.word_key()))
        })
        .collect()
}

/// A property account's gates from a form: names, comma-separated.
fn gates_field(form: &FormMap) -> Option<String> {
    let gates: Vec<&str> =
        field(form, "gates").split([',', '，']).map(str::trim).filter(|g| !g.is_empty()).take(20).collect();
    (!gates.is_empty()).then(|| gates.join(",").chars().take(400).collect())
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    render(&app, &m, None).await
}

async fn render(app: &AppState, m: &Member, notice: Option<String>) -> Response {
    let lang = m.session.lang;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| accounts::of_community(conn, &community)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let csrf = hidden_csrf(&m.session.csrf);
    let mut body = notice.unwrap_or_default();
    let _ = write!(
        body,
        "<form class=card method=post action=/accounts/invite>{csrf}<h2>{invite}</h2><label>{role}<select name=role>{options}</select></label>\
<label>{scope}<input name=gates maxlength=200></label><button>{invite}</button></form>\
<div class=scroll><table><tr><th>{user}</th><th>{role}</th><th>{gates}</th><th>TOTP</th><th>{status}</th><th></th></tr>",
        invite = t(lang, "invite"),
        role = t(lang, "role"),
        options = role_options(lang, "staff"),
        scope = t(lang, "gates_scope"),
        user = t(lang, "user"),
        gates = t(lang, "gates"),
        status = t(lang, "status"),
    );
    for a in &rows {
        let role_word = AccountRole::parse(&a.role).map_or_else(|| esc(&a.role), |r| t(lang, r.word_key()).to_string());
        let actions = if a.disabled || a.id == m.session.user_id {
            String::new()
        } else {
            format!(
                "<form class=inline method=post action=/accounts/{id}/role>{csrf}<select name=role>{options}</select>\
<input name=gates maxlength=200 value=\"{gates}\" style=\"width:8em\"><button>{change}</button></form> \
<form class=inline method=post action=/accounts/{id}/disable>{csrf}<button class=danger>{disable}</button></form>",
                id = a.id,
                options = role_options(lang, &a.role),
                gates = esc(a.gates.as_deref().unwrap_or("")),
                change = t(lang, "change_role"),
                disable = t(lang, "disable"),
            )
        };
        let status = if a.disabled {
            t(lang, "disabled").to_string()
        } else if a.locked_until_ms > now_ms() {
            // Locked by wrong passwords: say until when, and let the admin
            // open it for someone they know.
            format!(
                "{} {}<form class=inline method=post action=/accounts/{}/unlock>{csrf}<button>{}</button></form>",
                t(lang, "locked_until"),
                &crate::leaves::time::fmt_ms(a.locked_until_ms, app.config.utc_offset_min)[11..16],
                a.id,
                t(lang, "unlock"),
            )
        } else {
            t(lang, "valid").to_string()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{role_word}</td><td>{}</td><td>{}</td><td>{status}</td><td>{actions}</td></tr>",
            esc(&a.name),
            esc(a.gates.as_deref().unwrap_or("")),
            if a.totp { "✓" } else { "" },
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "accounts"), Some(&m.session), &body).into_response()
}

fn account_error(m: &Member, e: AccountError) -> Response {
    match e {
        AccountError::Db(e) => server_error(e),
        AccountError::NotFound => not_found(&m.session),
        other => message(&m.session, "accounts", &other.to_string(), StatusCode::BAD_REQUEST),
    }
}

pub async fn invite(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let Some(role) = AccountRole::parse(field(&form, "role")) else {
        return message(
            &m.session,
            "accounts",
            "role: admin, staff, volunteer, property or police",
            StatusCode::BAD_REQUEST,
        );
    };
    let gates = gates_field(&form).filter(|_| role == AccountRole::Property);
    let (community, by, actor) = (m.community.clone(), m.session.user.clone(), m.actor());
    let detail = format!("role={} gates={}", role.as_str(), gates.clone().unwrap_or_default());
    let invite = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "account.invite", &detail, |tx| {
            accounts::invite(tx, &community, role, gates.as_deref(), &by, now_ms())
        }))
    };
    let token = match app.db.call(invite).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return account_error(&m, e),
        Err(e) => return server_error(e),
    };
    let lang = m.session.lang;
    let link = format!("{}/invite/{token}", app.config.public_url);
    let notice = format!("<p class=msg>{}<br><code id=invite-link>{}</code></p>", t(lang, "invite_link"), esc(&link));
    render(&app, &m, Some(notice)).await
}

pub async fn set_role(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let Some(role) = AccountRole::parse(field(&form, "role")) else {
        return message(
            &m.session,
            "accounts",
            "role: admin, staff, volunteer, property or police",
            StatusCode::BAD_REQUEST,
        );
    };
    let gates = gates_field(&form).filter(|_| role == AccountRole::Property);
    let (community, by, actor) = (m.community.clone(), m.session.user_id, m.actor());
    let set = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.role", |tx| {
            let name = accounts::set_role(tx, &community, id, by, role, gates.as_deref())?;
            let detail = format!("{name}: role={} gates={}", role.as_str(), gates.clone().unwrap_or_default());
            Ok((name, detail))
        }))
    };
    match app.db.call(set).await {
        Ok(Ok(_)) => state_redirect("/accounts"),
        Ok(Err(e)) => account_error(&m, e),
        Err(e) => server_error(e),
    }
}

pub async fn disable(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, by, actor) = (m.community.clone(), m.session.user_id, m.actor());
    let disable = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.disable", |tx| {
            let name = accounts::disable(tx, &community, id, by, now_ms())?;
            Ok((name.clone(), name))
        }))
    };
    match app.db.call(disable).await {
        Ok(Ok(_)) => state_redirect("/accounts"),
        Ok(Err(e)) => account_error(&m, e),
        Err(e) => server_error(e),
    }
}

pub async fn unlock(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, actor) = (m.community.clone(), m.actor());
    let unlock = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.unlock", |tx| {
            let name = accounts::unlock(tx, &community, id)?;
            Ok((name.clone(), name))
        }))
    };
    match app.db.call(unlock).await {
        Ok(Ok(name)) => {
            app.logins.forget(&name);
            state_redirect("/accounts")
        }
        Ok(Err(e)) => account_error(&m, e),
        Err(e) => server_error(e),
    }
}

fn join_page(app: &AppState, headers: &HeaderMap, token: &str, error: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(headers);
    let (form_token, set) = form_token(app, headers);
    let err = error.map_or(String::new(), |e| format!("<p class=\"msg bad\">{}</p>", esc(e)));
    let body = format!(
        "{err}<form class=card method=post action=\"/invite/{token}\">{csrf}\
<label>{user}<input name=user autocomplete=username required maxlength=40></label>\
<label>{pw}<input name=password type=password autocomplete=new-password required minlength=10></label>\
<label>{again}<input name=password2 type=password autocomplete=new-password required minlength=10></label>\
<button>{join}</button></form>",
        token = esc(token),
        csrf = hidden_csrf(&form_token),
        user = t(lang, "user"),
        pw = t(lang, "password"),
        again = t(lang, "password_again"),
        join = t(lang, "join"),
    );
    with_cookie((status, layout(lang, t(lang, "join"), None, &body)).into_response(), set)
}

pub async fn join_form(State(app): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lookup = token.clone();
    match app.db.call(move |conn| accounts::open_invite(conn, &lookup, now_ms())).await {
        Ok(Some(_)) => join_page(&app, &headers, &token, None, StatusCode::OK),
        Ok(None) => {
            let lang = lang_of(&headers);
            let text = AccountError::InviteGone.to_string();
            (StatusCode::NOT_FOUND, layout(lang, t(lang, "join"), None, &format!("<p class=msg>{}</p>", esc(&text))))
                .into_response()
        }
        Err(e) => server_error(e),
    }
}

pub async fn join(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let (headers, form) = match limited_form(&app, peer, "login", req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let lang = lang_of(&headers);
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return join_page(&app, &headers, &token, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN);
    }
    let (name, password) = (field(&form, "user").trim().to_string(), field(&form, "password").to_string());
    if password != field(&form, "password2") {
        return join_page(&app, &headers, &token, Some(t(lang, "passwords_differ")), StatusCode::BAD_REQUEST);
    }
    if password.chars().count() < 10 {
        return join_page(
            &app,
            &headers,
            &token,
            Some(&AccountError::WeakPassword.to_string()),
            StatusCode::BAD_REQUEST,
        );
    }
    let hash = match tokio::task::spawn_blocking(move || argon2_hash(&password)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return server_error(e),
        Err(e) => return server_error(e),
    };
    let (t2, ip) = (token.clone(), app.client_ip(peer.ip(), &headers).to_string());
    let made = app.db.call(move |conn| Ok(crate::ops::accounts::join(conn, &t2, &name, &hash, &ip))).await;
    let user_id = match made {
        Ok(Ok((id, _, _))) => id,
        Ok(Err(AccountError::Db(e))) | Err(e) => return server_error(e),
        Ok(Err(e)) => return join_page(&app, &headers, &token, Some(&e.to_string()), StatusCode::BAD_REQUEST),
    };
    logged_in(&app, user_id).await
}

/// RFC 6238 with the parameters every authenticator app defaults to:
/// SHA-1, 6 digits, 30 s steps, one step of skew either way.
fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).ok()
}

/// The time step (30 s since the epoch) whose code `code` is, within one
/// step of `now_s`; `None` if it is none of them. The caller keeps the
/// last step spent, so a code is good once.
pub fn totp_step(secret_b32: &str, code: &str, now_s: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = totp(secret_b32)?;
    let now = u64::try_from(now_s).ok()?;
    let step_now = now / 30;
    // Every candidate is compared, so the time does not tell which matched.
    let mut matched = None;
    for step in [step_now.saturating_sub(1), step_now, step_now + 1] {
        if crate::leaves::secrets::same_digest(&totp.generate(step * 30), &code) {
            matched = Some(step as i64);
        }
    }
    matched
}

pub async fn totp_page(State(app): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let id = session.user_id;
    let on = match app.db.call(move |conn| accounts::totp_of(conn, id)).await {
        Ok(on) => on.is_some(),
        Err(e) => return server_error(e),
    };
    let csrf = hidden_csrf(&session.csrf);
    let body = if on {
        format!(
            "<p class=msg>{}</p><form class=card method=post action=/totp>{csrf}<input type=hidden name=off value=1>\
<label>{}<input name=code inputmode=numeric autocomplete=one-time-code required></label><button class=danger>{}</button></form>",
            t(lang, "totp_on"),
            t(lang, "totp_code"),
            t(lang, "totp_turn_off"),
        )
    } else {
        let secret = Secret::Raw(rand::random::<[u8; 20]>().to_vec()).to_encoded().to_string();
        let issuer = "Shoumen";
        let url = format!(
            "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}",
            session.user.replace([':', '/', '?', '&', '#'], "")
        );
        format!(
            "<p>{}</p><div class=qr>{}</div><p><code>{secret}</code></p><form class=card method=post action=/totp>{csrf}\
<input type=hidden name=secret value=\"{secret}\"><label>{}<input name=code inputmode=numeric autocomplete=one-time-code required></label>\
<button>{}</button></form>",
            t(lang, "totp_scan"),
            qr_svg(&url),
            t(lang, "totp_code"),
            t(lang, "totp_turn_on"),
        )
    };
    layout(lang, t(lang, "totp_title"), Some(&session), &body).into_response()
}

pub async fn totp_set(
    State(app): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<FormMap>,
) -> Response {
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    let id = session.user_id;
    let code = field(&form, "code").to_string();
    let turning_off = !field(&form, "off").is_empty();
    let current = match app.db.call(move |conn| accounts::totp_of(conn, id)).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let now_s = now_ms() / 1000;
    // Turning it off needs a code from the current secret; turning it on, a
    // code from the new one, so a mistyped setup never locks the account.
    // A secret in use is not replaced by a session alone: turn it off first,
    // with a code from it.
    let (secret, store, last_step) = match (&current, turning_off) {
        (Some((secret, step)), true) => (secret.clone(), None, *step),
        (None, false) => (field(&form, "secret").to_string(), Some(field(&form, "secret").to_string()), 0),
        (Some(_), false) => {
            return message(&session, "totp_title", t(session.lang, "totp_already_on"), StatusCode::CONFLICT)
        }
        (None, true) => return state_redirect("/totp"),
    };
    let Some(step) = totp_step(&secret, &code, now_s).filter(|s| *s > last_step) else {
        return message(&session, "totp_title", t(session.lang, "totp_wrong"), StatusCode::BAD_REQUEST);
    };
    let actor = session.community.clone().map(|community| crate::records::audit::Actor {
        community,
        user: session.user.clone(),
        ip: app.client_ip(peer.ip(), &headers).to_string(),
    });
    let set = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::accounts::set_totp(conn, actor.as_ref(), id, store.as_deref(), step)
    };
    if let Err(e) = app.db.call(set).await {
        return server_error(e);
    }
    state_redirect("/totp")
}
