//! Volunteers (issue 32): the committee's list (confirming those who
//! signed up, adding one by hand, a new personal link), the public sign-up
//! page, and each volunteer's own page by their personal link: their duty
//! pass, their shifts, open shifts to sign up for.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::register::place_of;
use super::roster::weekday;
use super::{
    csrf_field, field, fmt_ms, form_token, form_token_ok, frame, lang_of, limited_form, qr_code, state_redirect, t, tf,
    title_page, with_cookie, FormMap, Lang, Member, Session, WebError,
};
use crate::db::now_ms;
use crate::leaves::secrets::{random_token, sha256_hex};
use crate::ops::roster::ChangeError;
use crate::records::audit::Actor;
use crate::records::roster::{self, RosterError, Standing, Volunteer};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .get("/roster/volunteers", Perm::ReadRecords, list)
        .post("/roster/volunteers", Perm::EditRecords, add)
        .post("/roster/volunteers/{id}/confirm", Perm::EditRecords, confirm)
        .post("/roster/volunteers/{id}/link", Perm::EditRecords, new_link)
        .post("/roster/volunteers/{id}/stand-down", Perm::EditRecords, stand_down)
        .post("/roster/volunteers/{id}/renew", Perm::EditRecords, renew)
        .get("/join/{community}", Access::Public, join_form)
        .post("/join/{community}", Access::Public, join)
        .body_limit(super::FORM_LIMIT)
        .get("/duty/{token}", Access::Public, own_page)
        .post("/duty/{token}/shifts/{id}", Access::Public, sign_up)
        .body_limit(super::FORM_LIMIT)
        .post("/duty/{token}/shifts/{id}/leave", Access::Public, withdraw)
        .body_limit(super::FORM_LIMIT)
}

/// How far ahead a volunteer's page offers shifts.
const AHEAD_MS: i64 = 14 * 86_400_000;

fn refused(session: &Session, e: ChangeError) -> WebError {
    match e {
        ChangeError::Roster(RosterError::Invalid(key)) => {
            WebError::invalid(session, "volunteers", t(session.lang, key)).back("/roster/volunteers")
        }
        ChangeError::Roster(RosterError::NotFound(_)) => WebError::not_found(session),
        ChangeError::Pass(e) => WebError::community(session, "volunteers", e),
        ChangeError::Roster(RosterError::Db(e)) | ChangeError::Db(e) => WebError::from(e),
    }
}

pub async fn list(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    render(&app, &m, None).await
}

/// The list; `link` is a personal link just made, shown this once.
async fn render(app: &AppState, m: &Member, link: Option<(String, String)>) -> Result<Markup, WebError> {
    let (session, lang) = (&m.session, m.session.lang);
    let community = m.community.clone();
    let rows = app.db.call(move |conn| roster::list(conn, &community)).await?;
    let join_url = format!("{}/join/{}", app.config.public_url, m.community);
    let edit = session.may_post("/roster/volunteers");
    let (now, offset) = (now_ms(), app.config.utc_offset_min);
    let expiring = rows.iter().filter(|v| v.pass_expiring(now)).count();
    let body = html! {
        p.noprint { a href="/roster" { (t(lang, "roster")) } " · " a href="/roster/hours" { (t(lang, "volunteer_hours")) } }
        @if expiring > 0 { p.msg.bad #expiring { (tf(lang, "volunteers_expiring", &[&expiring])) } }
        @if let Some((name, url)) = link {
            p.msg #new-link { (t(lang, "volunteer_link_new")) " " b { (name) } br; a href=(url) { (url) } }
        }
        details.card {
            summary { (t(lang, "volunteer_join_link")) }
            p { (t(lang, "volunteer_join_hint")) }
            p { a href=(join_url) { (join_url) } }
            (qr_code(&join_url))
        }
        @if edit {
            form.card method="post" action="/roster/volunteers" {
                (csrf_field(&session.csrf))
                label { (t(lang, "name")) input name="name" required maxlength="32"; }
                label { (t(lang, "phone")) input name="phone" type="tel" required maxlength="20"; }
                button { (t(lang, "volunteer_add")) }
            }
        }
        div.scroll { table {
            tr { th { (t(lang, "name")) } th { (t(lang, "phone")) } th { (t(lang, "state")) } th { (t(lang, "duty_pass")) } th {} }
            @for v in &rows { (row(session, v, edit, offset, now)) }
        } }
    };
    Ok(frame(lang, t(lang, "volunteers"), Some(session), body))
}

fn row(session: &Session, v: &Volunteer, edit: bool, offset: i32, now: i64) -> Markup {
    let lang = session.lang;
    let until =
        v.pass_expires_s.filter(|_| v.standing == Standing::Active).map(|s| fmt_ms(s * 1000, offset)[..10].to_string());
    html! {
        tr {
            td { (v.name) }
            td { (v.phone) }
            td {
                @match v.standing {
                    Standing::Pending => span.bad { (t(lang, "volunteer_pending")) },
                    Standing::Active => span.ok { (t(lang, "volunteer_active")) },
                    Standing::Left => span { (t(lang, "volunteer_left")) },
                }
                @if let Some(day) = &until {
                    br;
                    @if v.pass_expiring(now) { span.bad { (tf(lang, "volunteer_pass_expiring", &[day])) } }
                    @else { small { (tf(lang, "volunteer_pass_until", &[day])) } }
                }
            }
            td { @if let Some(p) = &v.pass_id { a href={ "/passes/" (p) "/card" } { code { (p.get(..8).unwrap_or(p)) } } } }
            td {
                @if edit && v.standing == Standing::Pending {
                    form.inline method="post" action={ "/roster/volunteers/" (v.id) "/confirm" } {
                        (csrf_field(&session.csrf)) button { (t(lang, "volunteer_confirm")) }
                    }
                }
                @if edit {
                    " "
                    form.inline method="post" action={ "/roster/volunteers/" (v.id) "/link" } {
                        (csrf_field(&session.csrf)) button { (t(lang, "volunteer_new_link")) }
                    }
                    " " a href={ "/roster/volunteers/" (v.id) "/certificate" } { (t(lang, "certificate")) }
                }
                @if edit && v.standing == Standing::Active {
                    " "
                    form.inline method="post" action={ "/roster/volunteers/" (v.id) "/renew" } {
                        (csrf_field(&session.csrf)) button { (t(lang, "volunteer_renew")) }
                    }
                    " "
                    form.inline method="post" action={ "/roster/volunteers/" (v.id) "/stand-down" } {
                        (csrf_field(&session.csrf)) button.danger { (t(lang, "volunteer_stand_down")) }
                    }
                }
            }
        }
    }
}

/// A new personal link: the token for the URL and its digest to store.
fn new_token() -> (String, String) {
    let token = random_token() + &random_token();
    let digest = sha256_hex(&token);
    (token, digest)
}

pub async fn add(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (token, digest) = new_token();
    let (name, phone) = (field(&form, "name").to_string(), field(&form, "phone").to_string());
    let community = app.community(&m.community).await?;
    let actor = m.actor();
    let shown = name.clone();
    app.db
        .call(move |conn| Ok(crate::ops::roster::add(conn, &actor, &community, &name, &phone, &digest)))
        .await?
        .map_err(|e| refused(&m.session, e))?;
    let url = format!("{}/duty/{token}", app.config.public_url);
    Ok(render(&app, &m, Some((shown, url))).await?.into_response())
}

pub async fn confirm(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let community = app.community(&m.community).await?;
    let actor = m.actor();
    let pass = app
        .db
        .call(move |conn| Ok(crate::ops::roster::confirm(conn, &actor, &community, id)))
        .await?
        .map_err(|e| refused(&m.session, e))?;
    match pass {
        Some(_) => Ok(state_redirect("/roster/volunteers")),
        None => Err(WebError::not_found(&m.session)),
    }
}

pub async fn renew(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    let community = app.community(&m.community).await?;
    change(&app, &m, &form, move |conn, actor| crate::ops::roster::renew(conn, actor, &community, id)).await
}

pub async fn stand_down(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    let community = m.community.clone();
    change(&app, &m, &form, move |conn, actor| crate::ops::roster::stand_down(conn, actor, &community, id)).await
}

/// A change to one volunteer from the list: back to the list, or "not
/// found" when there was nobody it applies to.
async fn change(
    app: &AppState,
    m: &Member,
    form: &FormMap,
    op: impl FnOnce(&mut dyn crate::db::Conn, &Actor) -> Result<bool, ChangeError> + Send + 'static,
) -> Result<Response, WebError> {
    m.session.check_csrf(form)?;
    let actor = m.actor();
    let done = app.db.call(move |conn| Ok(op(conn, &actor))).await?.map_err(|e| refused(&m.session, e))?;
    if !done {
        return Err(WebError::not_found(&m.session));
    }
    Ok(state_redirect("/roster/volunteers"))
}

pub async fn new_link(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (token, digest) = new_token();
    let (community, actor) = (m.community.clone(), m.actor());
    let detail = crate::leaves::detail::enc("volunteer_detail", &[&id.to_string()]);
    let found = app
        .db
        .call(move |conn| {
            let name = roster::get(conn, &community, id)?.map(|v| v.name);
            let set = crate::ops::audited_if(conn, &actor, "volunteer.link", &detail, |tx| {
                roster::set_link(tx, &community, id, &digest)
            })?;
            Ok(name.filter(|_| set))
        })
        .await?;
    let Some(name) = found else { return Err(WebError::not_found(&m.session)) };
    let url = format!("{}/duty/{token}", app.config.public_url);
    Ok(render(&app, &m, Some((name, url))).await?.into_response())
}

pub async fn join_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(community): Path<String>,
) -> Result<Response, WebError> {
    join_page(&app, &headers, &community, None, StatusCode::OK).await
}

async fn join_page(
    app: &AppState,
    headers: &HeaderMap,
    community: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let lang = lang_of(headers);
    let Some(place) = place_of(app, community).await? else {
        return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"));
    };
    let (token, set) = form_token(app, headers);
    let body = html! {
        p { b { (place.name_or(community)) } }
        p { (t(lang, "volunteer_join_intro")) }
        @if let Some(e) = error { p.msg.bad { (e) } }
        form.card method="post" action={ "/join/" (community) } {
            (csrf_field(&token))
            label { (t(lang, "name")) input name="name" required maxlength="32"; }
            label { (t(lang, "phone")) input name="phone" type="tel" required maxlength="20"; }
            button { (t(lang, "volunteer_join")) }
        }
    };
    Ok(with_cookie((status, frame(lang, t(lang, "volunteer_join_title"), None, body)).into_response(), set))
}

pub async fn join(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(community): Path<String>,
    req: Request,
) -> Result<Response, WebError> {
    let (headers, form) = match limited_form(&app, peer, "volunteer", req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    if place_of(&app, &community).await?.is_none() {
        return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"));
    }
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return join_page(&app, &headers, &community, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN).await;
    }
    let (token, digest) = new_token();
    let actor = Actor {
        community: community.clone(),
        user: "volunteer (public form)".into(),
        ip: app.client_ip(peer.ip(), &headers).to_string(),
    };
    let (name, phone, c) = (field(&form, "name").to_string(), field(&form, "phone").to_string(), community.clone());
    let joined =
        app.db.call(move |conn| Ok(crate::ops::roster::join(conn, &actor, &c, &name, &phone, &digest))).await?;
    match joined {
        Ok(_) => Ok(state_redirect(&format!("/duty/{token}"))),
        Err(RosterError::Invalid(key)) => {
            join_page(&app, &headers, &community, Some(t(lang, key)), StatusCode::BAD_REQUEST).await
        }
        Err(RosterError::NotFound(_)) => Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found")),
        Err(RosterError::Db(e)) => Err(e.into()),
    }
}

/// The volunteer a personal link belongs to.
async fn by_token(app: &AppState, token: &str) -> Result<Option<(String, Volunteer)>, WebError> {
    let digest = sha256_hex(token);
    Ok(app.db.call(move |conn| roster::by_link(conn, &digest)).await?)
}

pub async fn own_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    own(&app, &headers, &token, None).await
}

/// The volunteer's own page; with `error`, as the answer to a refused change.
async fn own(app: &AppState, headers: &HeaderMap, token: &str, error: Option<&str>) -> Result<Response, WebError> {
    let lang = lang_of(headers);
    let Some((community, v)) = by_token(app, token).await? else {
        return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"));
    };
    let now = now_ms();
    let (c, pass) = (community.clone(), v.pass_id.clone());
    let (shifts, link) = app
        .db
        .call(move |conn| {
            let shifts = roster::shifts(conn, &c, now - 12 * 3_600_000, now + AHEAD_MS)?;
            let link = match &pass {
                Some(p) => crate::records::community::link_of(conn, &c, p)?,
                None => None,
            };
            Ok((shifts, link))
        })
        .await?;
    let (form, set) = form_token(app, headers);
    let offset = app.config.utc_offset_min;
    let page = Own { token, volunteer: &v, shifts: &shifts, pass_link: link.as_deref(), form: &form, error };
    let body = own_body(lang, &page, offset, now);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(with_cookie((status, frame(lang, t(lang, "volunteer_own_title"), None, body)).into_response(), set))
}

/// What a volunteer's own page shows.
struct Own<'a> {
    token: &'a str,
    volunteer: &'a Volunteer,
    /// The community's shifts of the next two weeks.
    shifts: &'a [roster::Shift],
    /// Their duty pass's phone link, once confirmed.
    pass_link: Option<&'a str>,
    /// The forms' CSRF token.
    form: &'a str,
    error: Option<&'a str>,
}

fn own_body(lang: Lang, page: &Own<'_>, offset: i32, now: i64) -> Markup {
    let Own { token, volunteer: v, shifts, pass_link: link, form, error } = *page;
    let when = |s: &roster::Shift| {
        let d = (s.start_ms - super::roster::monday(None, s.start_ms, offset)).div_euclid(86_400_000);
        format!(
            "{} {} {}–{}",
            weekday(lang, d),
            &fmt_ms(s.start_ms, offset)[5..10],
            &fmt_ms(s.start_ms, offset)[11..16],
            &fmt_ms(s.end_ms, offset)[11..16]
        )
    };
    let mine: Vec<&roster::Shift> = shifts.iter().filter(|s| s.people.iter().any(|p| p.0 == v.id)).collect();
    let open: Vec<&roster::Shift> =
        shifts.iter().filter(|s| s.gap() > 0 && s.start_ms > now && !s.people.iter().any(|p| p.0 == v.id)).collect();
    html! {
        p { b { (v.name) } }
        @if let Some(e) = error { p.msg.bad #error { (e) } }
        @if v.standing == Standing::Pending {
            p.msg { (t(lang, "volunteer_wait")) }
            p { (t(lang, "volunteer_keep_link")) }
        } @else if v.standing == Standing::Left {
            p.msg #stood-down { (t(lang, "volunteer_left_page")) }
        } @else {
            @if let Some(s) = v.pass_expires_s.filter(|_| v.pass_expiring(now)) {
                p.msg.bad #renew { (tf(lang, "volunteer_own_expiring", &[&&fmt_ms(s * 1000, offset)[..10]])) }
            }
            @if let Some(l) = link { p { a.button href={ "/p/" (l) } { (t(lang, "volunteer_open_pass")) } } }
            h2 { (t(lang, "volunteer_my_shifts")) }
            @if mine.is_empty() { p { (t(lang, "no_rows")) } }
            @for s in &mine {
                div.card {
                    (s.gate) " · " (when(s))
                    @if s.start_ms > now {
                        form method="post" action={ "/duty/" (token) "/shifts/" (s.id) "/leave" } {
                            (csrf_field(form)) button { (t(lang, "take_off_shift")) }
                        }
                    }
                }
            }
            h2 { (t(lang, "volunteer_open_shifts")) }
            @if open.is_empty() { p { (t(lang, "no_rows")) } }
            @for s in &open {
                div.card {
                    (s.gate) " · " (when(s)) " · " span.bad { (t(lang, "shift_gap")) " " (s.gap()) }
                    form method="post" action={ "/duty/" (token) "/shifts/" (s.id) } {
                        (csrf_field(form)) button { (t(lang, "volunteer_sign_up")) }
                    }
                }
            }
        }
    }
}

/// A volunteer's own change to a shift, by their link.
async fn own_change(
    app: AppState,
    peer: SocketAddr,
    token: String,
    shift: i64,
    on: bool,
    req: Request,
) -> Result<Response, WebError> {
    let (headers, form) = match limited_form(&app, peer, "duty", req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    let Some((community, v)) = by_token(&app, &token).await? else {
        return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"));
    };
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return own(&app, &headers, &token, Some(t(lang, "csrf_failed"))).await;
    }
    let actor = Actor {
        community: community.clone(),
        user: format!("volunteer {} (own link)", v.id),
        ip: app.client_ip(peer.ip(), &headers).to_string(),
    };
    let done = app
        .db
        .call(move |conn| {
            Ok(if on {
                crate::ops::roster::sign_up(conn, &actor, &community, shift, v.id)
            } else {
                crate::ops::roster::withdraw(conn, &actor, &community, shift, v.id)
            })
        })
        .await?;
    match done {
        Ok(_) => Ok(state_redirect(&format!("/duty/{token}"))),
        Err(RosterError::Invalid(key)) => own(&app, &headers, &token, Some(t(lang, key))).await,
        Err(RosterError::NotFound(_)) => Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found")),
        Err(RosterError::Db(e)) => Err(e.into()),
    }
}

pub async fn sign_up(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((token, shift)): Path<(String, i64)>,
    req: Request,
) -> Result<Response, WebError> {
    own_change(app, peer, token, shift, true, req).await
}

pub async fn withdraw(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((token, shift)): Path<(String, i64)>,
    req: Request,
) -> Result<Response, WebError> {
    own_change(app, peer, token, shift, false, req).await
}
