//! The Accounts page (admins): invite an account with a one-time link,
//! change a role, disable an account. The invitation's page, where the
//! invited person picks a name and password. Two-step login (TOTP, RFC
//! 6238) for one's own account.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use totp_rs::{Algorithm, Secret, TOTP};

use super::{
    argon2_hash, csrf_field, field, form_token, form_token_ok, frame, i18n, lang_of, limited_form, logged_in, qr_code,
    state_redirect, t, with_cookie, FormMap, Lang, Member, Session, WebError,
};
use crate::db::now_ms;
use crate::leaves::detail::{enc, Arg, Detail};
use crate::leaves::roles::AccountRole;
use crate::records::accounts::{self, AccountError};
use crate::AppState;

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
        .post("/accounts/{id}/reset", Perm::Manage, reset)
        .post("/accounts/invites/{id}/withdraw", Perm::Manage, withdraw)
        .get("/totp", Access::Account, totp_page)
        .post("/totp", Access::Account, totp_set)
        .get("/invite/{token}", Access::Public, join_form)
        .post("/invite/{token}", Access::Public, join)
        .body_limit(super::FORM_LIMIT)
}

fn role_options(lang: Lang, selected: &str) -> Markup {
    html! {
        @for r in AccountRole::ALL {
            option value=(r.as_str()) selected[r.as_str() == selected] { (t(lang, r.word_key())) }
        }
    }
}

/// A property account's gates from a form: names, comma-separated.
fn gates_field(form: &FormMap) -> Option<String> {
    let gates: Vec<&str> =
        field(form, "gates").split([',', '，']).map(str::trim).filter(|g| !g.is_empty()).take(20).collect();
    (!gates.is_empty()).then(|| gates.join(",").chars().take(400).collect())
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    render(&app, &m, None).await
}

async fn render(app: &AppState, m: &Member, notice: Option<Markup>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let community = m.community.clone();
    let (now, offset) = (now_ms(), app.config.utc_offset_min);
    let (rows, invites) = app
        .db
        .call(move |conn| {
            Ok((accounts::of_community(conn, &community)?, accounts::open_invites(conn, &community, now)?))
        })
        .await?;
    let csrf = &m.session.csrf;
    let body = html! {
        @if let Some(n) = notice { (n) }
        form.card method="post" action="/accounts/invite" {
            (csrf_field(csrf))
            h2 { (t(lang, "invite")) }
            label { (t(lang, "account_role")) select name="role" { (role_options(lang, "staff")) } }
            label { (t(lang, "gates_scope")) input name="gates" maxlength="200"; }
            button { (t(lang, "invite")) }
        }
        div.scroll {
            table {
                tr {
                    th { (t(lang, "user")) } th { (t(lang, "account_role")) } th { (t(lang, "gates")) } th { (t(lang, "totp_short")) }
                    th { (t(lang, "status")) } th {}
                }
                @for a in &rows {
                    tr {
                        td { (a.name) }
                        td { (AccountRole::parse(&a.role).map_or_else(|| a.role.clone(), |r| t(lang, r.word_key()).to_string())) }
                        td { (a.gates.as_deref().unwrap_or("")) }
                        td { @if a.totp { "✓" } }
                        td {
                            @if a.disabled {
                                (t(lang, "disabled"))
                            } @else if a.locked_until_ms > now {
                                // Locked by wrong passwords: say until when, and let the
                                // admin open it for someone they know.
                                (t(lang, "locked_until")) " " (&crate::leaves::time::fmt_ms(a.locked_until_ms, offset)[11..16])
                                form.inline method="post" action={ "/accounts/" (a.id) "/unlock" } {
                                    (csrf_field(csrf)) button { (t(lang, "unlock")) }
                                }
                            } @else {
                                (t(lang, "valid"))
                            }
                        }
                        td {
                            @if !a.disabled && a.id != m.session.user_id {
                                form.inline method="post" action={ "/accounts/" (a.id) "/role" } {
                                    (csrf_field(csrf))
                                    select name="role" { (role_options(lang, &a.role)) }
                                    input name="gates" maxlength="200" value=(a.gates.as_deref().unwrap_or("")) style="width:8em"
                                        placeholder=(t(lang, "gates")) aria-label=(t(lang, "gates_scope"));
                                    button { (t(lang, "change_role")) }
                                }
                                " "
                                form.inline method="post" action={ "/accounts/" (a.id) "/reset" } {
                                    (csrf_field(csrf)) button { (t(lang, "reset_password")) }
                                }
                                " "
                                form.inline method="post" action={ "/accounts/" (a.id) "/disable" } {
                                    (csrf_field(csrf)) button.danger { (t(lang, "disable")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        (invites_section(lang, csrf, &invites, offset))
    };
    Ok(frame(lang, t(lang, "accounts"), Some(&m.session), body))
}

/// Invitations and reset links not used yet, each withdrawable: a link
/// sent to the wrong person stops working.
fn invites_section(lang: Lang, csrf: &str, invites: &[accounts::OpenInvite], offset: i32) -> Markup {
    html! {
        h2 #invites { (t(lang, "open_invites")) " (" (invites.len()) ")" }
        @if invites.is_empty() { p { (t(lang, "no_open_invites")) } }
        @for i in invites {
            div.card.invite {
                p {
                    @match &i.reset_of {
                        Some(name) => { (t(lang, "reset_for")) " " b { (name) } },
                        None => { (t(lang, "invite_as")) " " b { (AccountRole::parse(&i.role).map_or("?", |r| t(lang, r.word_key()))) } },
                    }
                    br;
                    small { (i.created_by) " · " (t(lang, "valid_until")) " " (crate::leaves::time::fmt_ms(i.expires_ms, offset).get(5..16).unwrap_or("")) }
                }
                form.inline method="post" action={ "/accounts/invites/" (i.id) "/withdraw" } {
                    (csrf_field(csrf)) button.danger { (t(lang, "withdraw")) }
                }
            }
        }
    }
}

/// A one-time link for someone who forgot their password; shown once,
/// like an invitation's.
pub async fn reset(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Markup, WebError> {
    m.session.check_csrf(&form)?;
    let (community, by, actor) = (m.community.clone(), (m.session.user_id, m.session.user.clone()), m.actor());
    let made = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.reset", |tx| {
            let (token, name) = accounts::reset_link(tx, &community, id, (by.0, &by.1), now_ms())?;
            Ok((token, enc("account_name", &[&name])))
        }))
    };
    let token = app.db.call(made).await?.map_err(|e| account_error(&m, e))?;
    let lang = m.session.lang;
    let link = format!("{}/invite/{token}", app.config.public_url);
    let notice = html! { p.msg { (t(lang, "reset_link")) br; code #invite-link { (link) } } };
    render(&app, &m, Some(notice)).await
}

pub async fn withdraw(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let gone = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "invite.withdraw", |tx| {
            let detail = match accounts::withdraw_invite(tx, &community, &id)? {
                (_, Some(name)) => enc("reset_withdrawn", &[&name]),
                (role, None) => {
                    let role = AccountRole::parse(&role).map_or(role, |r| r.word_key().to_string());
                    Detail::new("invite_withdrawn", [Arg::Word(role)]).encode()
                }
            };
            Ok(((), detail))
        }))
    };
    app.db.call(gone).await?.map_err(|e| account_error(&m, e))?;
    Ok(state_redirect("/accounts#invites"))
}

fn account_error(m: &Member, e: AccountError) -> WebError {
    match e {
        AccountError::Db(e) => e.into(),
        AccountError::NotFound => WebError::not_found(&m.session),
        other => WebError::invalid(&m.session, "accounts", i18n::detail_text(m.session.lang, &other.message(), 0))
            .back("/accounts"),
    }
}

/// The role a form names, or the words that list the roles.
fn role_of(m: &Member, form: &FormMap) -> Result<AccountRole, WebError> {
    AccountRole::parse(field(form, "role"))
        .ok_or_else(|| WebError::invalid(&m.session, "accounts", t(m.session.lang, "acct_err_role")).back("/accounts"))
}

pub async fn invite(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Markup, WebError> {
    m.session.check_csrf(&form)?;
    let role = role_of(&m, &form)?;
    let gates = gates_field(&form).filter(|_| role == AccountRole::Property);
    let (community, by, actor) = (m.community.clone(), m.session.user.clone(), m.actor());
    let detail = Detail::new(
        "account_invite",
        [Arg::Word(role.word_key().into()), Arg::from(gates.clone().unwrap_or_default())],
    )
    .encode();
    let invite = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "account.invite", &detail, |tx| {
            accounts::invite(tx, &community, role, gates.as_deref(), &by, now_ms())
        }))
    };
    let token = app.db.call(invite).await?.map_err(|e| account_error(&m, e))?;
    let lang = m.session.lang;
    let link = format!("{}/invite/{token}", app.config.public_url);
    let notice = html! { p.msg { (t(lang, "invite_link")) br; code #invite-link { (link) } } };
    render(&app, &m, Some(notice)).await
}

pub async fn set_role(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let role = role_of(&m, &form)?;
    let gates = gates_field(&form).filter(|_| role == AccountRole::Property);
    let (community, by, actor) = (m.community.clone(), m.session.user_id, m.actor());
    let set = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.role", |tx| {
            let name = accounts::set_role(tx, &community, id, by, role, gates.as_deref())?;
            let detail = Detail::new(
                "account_role",
                [
                    Arg::from(name.as_str()),
                    Arg::Word(role.word_key().into()),
                    Arg::from(gates.clone().unwrap_or_default()),
                ],
            )
            .encode();
            Ok((name, detail))
        }))
    };
    app.db.call(set).await?.map_err(|e| account_error(&m, e))?;
    Ok(state_redirect("/accounts"))
}

pub async fn disable(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, by, actor) = (m.community.clone(), m.session.user_id, m.actor());
    let disable = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.disable", |tx| {
            let name = accounts::disable(tx, &community, id, by, now_ms())?;
            Ok((name.clone(), enc("account_name", &[&name])))
        }))
    };
    app.db.call(disable).await?.map_err(|e| account_error(&m, e))?;
    Ok(state_redirect("/accounts"))
}

pub async fn unlock(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let unlock = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "account.unlock", |tx| {
            let name = accounts::unlock(tx, &community, id)?;
            Ok((name.clone(), enc("account_name", &[&name])))
        }))
    };
    let name = app.db.call(unlock).await?.map_err(|e| account_error(&m, e))?;
    app.logins.forget(&name);
    Ok(state_redirect("/accounts"))
}

fn join_page(app: &AppState, headers: &HeaderMap, token: &str, error: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(headers);
    let (form_token, set) = form_token(app, headers);
    let body = html! {
        @if let Some(e) = error { p.msg.bad { (e) } }
        form.card method="post" action={ "/invite/" (token) } {
            (csrf_field(&form_token))
            label { (t(lang, "user")) input name="user" autocomplete="username" required maxlength="40"; }
            label { (t(lang, "password")) input name="password" type="password" autocomplete="new-password" required minlength="10"; }
            label { (t(lang, "password_again")) input name="password2" type="password" autocomplete="new-password" required minlength="10"; }
            button { (t(lang, "join")) }
        }
    };
    with_cookie((status, frame(lang, t(lang, "join"), None, body)).into_response(), set)
}

pub async fn join_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let lookup = token.clone();
    match app.db.call(move |conn| accounts::open_invite(conn, &lookup, now_ms())).await? {
        Some((_, _, Some(name))) => {
            return Ok(super::password::reset_page(&app, &headers, &token, &name, None, StatusCode::OK))
        }
        Some(_) => return Ok(join_page(&app, &headers, &token, None, StatusCode::OK)),
        None => {}
    }
    let lang = lang_of(&headers);
    let body = html! { p.msg { (i18n::detail_text(lang, &AccountError::InviteGone.message(), 0)) } };
    Ok((StatusCode::NOT_FOUND, frame(lang, t(lang, "join"), None, body)).into_response())
}

pub async fn join(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    req: Request,
) -> Result<Response, WebError> {
    // A reset link is the same kind of link: its own form.
    let lookup = token.clone();
    if let Some((_, _, Some(name))) = app.db.call(move |conn| accounts::open_invite(conn, &lookup, now_ms())).await? {
        return super::password::reset(&app, peer, token, name, req).await;
    }
    let (headers, form) = match limited_form(&app, peer, "login", req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    let again = |why: &str, status| Ok(join_page(&app, &headers, &token, Some(why), status));
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return again(t(lang, "csrf_failed"), StatusCode::FORBIDDEN);
    }
    let name = field(&form, "user").trim().to_string();
    let password = match super::password::new_password(lang, &form) {
        Ok(p) => p,
        Err(why) => return again(&why, StatusCode::BAD_REQUEST),
    };
    let hash = tokio::task::spawn_blocking(move || argon2_hash(&password))
        .await
        .map_err(WebError::internal)?
        .map_err(WebError::internal)?;
    let (t2, ip) = (token.clone(), app.client_ip(peer.ip(), &headers).to_string());
    let made = app.db.call(move |conn| Ok(crate::ops::accounts::join(conn, &t2, &name, &hash, &ip))).await?;
    let user_id = match made {
        Ok((id, _, _)) => id,
        Err(AccountError::Db(e)) => return Err(e.into()),
        Err(e) => return again(&i18n::detail_text(lang, &e.message(), 0), StatusCode::BAD_REQUEST),
    };
    Ok(logged_in(&app, user_id).await)
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

pub async fn totp_page(State(app): State<AppState>, session: Session) -> Result<Response, WebError> {
    totp_form(&app, &session, None).await
}

/// The two-step page: how to turn it off, or the secret being set up (the
/// same one until a code confirms it) with `error` above the form.
async fn totp_form(app: &AppState, session: &Session, error: Option<&str>) -> Result<Response, WebError> {
    let lang = session.lang;
    let id = session.user_id;
    let on = app.db.call(move |conn| accounts::totp_of(conn, id)).await?.is_some();
    let code_field = html! {
        label { (t(lang, "totp_code")) input name="code" inputmode="numeric" autocomplete="one-time-code" required; }
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let error = html! { @if let Some(e) = error { p.msg.bad #error { (e) } } };
    let body = if on {
        html! {
            p.msg { (t(lang, "totp_on")) }
            (error)
            form.card method="post" action="/totp" {
                (csrf_field(&session.csrf))
                input type="hidden" name="off" value="1";
                (code_field)
                button.danger { (t(lang, "totp_turn_off")) }
            }
        }
    } else {
        let make = || Secret::Raw(rand::random::<[u8; 20]>().to_vec()).to_encoded().to_string();
        let secret = app.db.call(move |conn| accounts::pending_totp(conn, id, make)).await?;
        // The authenticator lists the entry under the compound's name.
        let issuer = match &session.community {
            Some(c) => session.place.name_or(c).replace(':', ""),
            None => t(lang, "app").to_string(),
        };
        let url = format!(
            "otpauth://totp/{issuer}:{user}?secret={secret}&issuer={issuer}",
            issuer = super::urlencode(&issuer),
            user = super::urlencode(&session.user.replace(':', "")),
        );
        html! {
            p { (t(lang, "totp_scan")) }
            div.qr { (qr_code(&url)) }
            p { code #secret { (secret) } }
            (error)
            form.card method="post" action="/totp" {
                (csrf_field(&session.csrf))
                (code_field)
                button { (t(lang, "totp_turn_on")) }
            }
        }
    };
    Ok((status, frame(lang, t(lang, "totp_title"), Some(session), body)).into_response())
}

pub async fn totp_set(
    State(app): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    session.check_csrf(&form)?;
    let id = session.user_id;
    let code = field(&form, "code").to_string();
    let turning_off = !field(&form, "off").is_empty();
    let current = app.db.call(move |conn| accounts::totp_of(conn, id)).await?;
    let now_s = now_ms() / 1000;
    // Turning it off needs a code from the current secret; turning it on, a
    // code from the new one, so a mistyped setup never locks the account.
    // A secret in use is not replaced by a session alone: turn it off first,
    // with a code from it.
    let (secret, store, last_step) = match (&current, turning_off) {
        (Some((secret, step)), true) => (secret.clone(), None, *step),
        (None, false) => {
            // The secret shown on the page, kept on the server since.
            let Some(pending) = app.db.call(move |conn| accounts::pending_totp_of(conn, id)).await? else {
                return Ok(state_redirect("/totp"));
            };
            (pending.clone(), Some(pending), 0)
        }
        (Some(_), false) => {
            return Err(WebError::conflict(&session, "totp_title", t(session.lang, "totp_already_on")));
        }
        (None, true) => return Ok(state_redirect("/totp")),
    };
    let Some(step) = totp_step(&secret, &code, now_s).filter(|s| *s > last_step) else {
        return totp_form(&app, &session, Some(t(session.lang, "totp_wrong"))).await;
    };
    let actor = session.community.clone().map(|community| crate::records::audit::Actor {
        community,
        user: session.user.clone(),
        ip: app.client_ip(peer.ip(), &headers).to_string(),
    });
    let set = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::accounts::set_totp(conn, actor.as_ref(), id, store.as_deref(), step)
    };
    app.db.call(set).await?;
    Ok(state_redirect("/totp"))
}
