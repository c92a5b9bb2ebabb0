//! The Passes page: issuing, the printable card, revoking, and the phone
//! link a resident or visitor opens.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use shoumen_protocol::Role;

use super::{
    csrf_field, field, fmt_day, fmt_last_day, fmt_ms, frame, lang_of, qr_code, role_text, state_redirect, t,
    title_page, urlencode, FormMap, Lang, Member, Session, WebError,
};
use crate::db::now_ms;
use crate::records::community::{self, CommunityError, PassRequest, PassRow};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/passes", "passes")
        .post("/requests/{id}/{verdict}", Perm::EditRecords, decide)
        .get("/passes", Perm::ReadRecords, page)
        .post("/passes", Perm::EditRecords, issue)
        .get("/passes/{id}/card", Perm::ReadRecords, card)
        .post("/passes/{id}/revoke", Perm::EditRecords, revoke)
        .post("/passes/phone-roles", Perm::EditRecords, set_phone_roles)
        .post("/p/{token}/request/{id}", Access::Public, request)
        .get("/p/{token}", Access::Public, phone)
        .post("/p/{token}/notice/{id}", Access::Public, confirm_notice)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let (rows, requests, phone_roles) = app
        .db
        .call(move |conn| {
            let phone_roles = community::phone_roles(conn, &community)?;
            Ok((
                community::passes(conn, &community, 500)?,
                crate::records::residents::open_requests(conn, &community)?,
                phone_roles,
            ))
        })
        .await?;
    let now_s = now_ms() / 1000;
    let heads = ["unit", "name", "role", "pass_kind", "valid_until", "status"];
    let body = html! {
        (phone_roles_form(&m.session, &phone_roles))
        @if !requests.is_empty() { (requests_section(&m, &requests, offset)) }
        form.card method="post" action="/passes" {
            (csrf_field(&m.session.csrf))
            label {
                (t(lang, "role"))
                select name="role" { @for r in Role::ALL { option value=(r.as_str()) { (t(lang, r.as_str())) } } }
            }
            label { (t(lang, "unit")) input name="unit" maxlength="24" placeholder="3-502"; }
            label { (t(lang, "days")) input name="days" type="number" min="1" max="1825" value="365"; }
            label.check { input type="checkbox" name="needs_assistance" style="width:auto"; " " (t(lang, "needs_assistance")) }
            label.check { input type="checkbox" name="phone" style="width:auto"; " " (t(lang, "phone_pass_choice")) }
            button { (t(lang, "issue")) }
        }
        div.scroll {
            table {
                tr { @for h in heads { th { (t(lang, h)) } } th {} }
                @for p in &rows { (row(&m.session, p, now_s, offset)) }
            }
        }
    };
    Ok(frame(lang, t(lang, "passes"), Some(&m.session), body))
}

fn row(session: &Session, p: &PassRow, now_s: i64, offset: i32) -> Markup {
    let lang = session.lang;
    let live = !p.revoked && p.expires_at > now_s;
    html! {
        tr data-pass=(p.pass_id) {
            td { (p.unit) }
            td { (p.name.as_deref().unwrap_or("")) }
            td { (role_text(lang, &p.role)) }
            td { (kind_word(lang, p)) }
            td { (fmt_day(p.expires_at, offset)) }
            td {
                @if p.revoked { span.bad { (t(lang, "revoked")) } }
                @else if !live { (t(lang, "expired")) }
                @else { span.ok { (t(lang, "valid")) } }
            }
            td {
                a href={ "/passes/" (p.pass_id) "/card" } { (t(lang, "card")) } " · "
                a href={ "/p/" (p.link_token) } { (t(lang, "phone_link")) } " "
                @if live {
                    form.inline method="post" action={ "/passes/" (p.pass_id) "/revoke" } {
                        (csrf_field(&session.csrf))
                        button.danger { (t(lang, "revoke")) }
                    }
                }
            }
        }
    }
}

pub async fn issue(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Response, WebError> {
    let session = &m.session;
    session.check_csrf(&form)?;
    let invalid = |key: &str| WebError::invalid(session, "passes", t(session.lang, key)).back("/passes");
    let role: Role = field(&form, "role").parse().map_err(|_| invalid("err_pass_role"))?;
    let days: i64 = match field(&form, "days").trim().parse() {
        Ok(d) if (1..=1825).contains(&d) => d,
        _ => return Err(invalid("err_pass_days")),
    };
    let resident_id: Option<i64> = match field(&form, "resident_id") {
        "" => None,
        s => Some(s.parse().map_err(|_| invalid("err_resident_id"))?),
    };
    let unit = field(&form, "unit").to_string();
    let shown = match resident_id {
        Some(id) => format!("resident {id}"),
        None => format!("unit {unit}"),
    };
    let mut flags =
        if field(&form, "needs_assistance").is_empty() { 0 } else { shoumen_protocol::PassFlags::NEEDS_ASSISTANCE };
    if !field(&form, "phone").is_empty() {
        flags |= shoumen_protocol::PassFlags::PHONE;
    }
    let community = app.community(&m.community).await?;
    let actor = m.actor();
    let result = app
        .db
        .call(move |conn| {
            let unit = match resident_id {
                Some(id) if unit.is_empty() => match community::resident_unit(conn, &community.id, id)? {
                    Some(u) => u,
                    None => return Ok(Err(CommunityError::NotFound("resident"))),
                },
                _ => unit,
            };
            let req = PassRequest {
                role,
                unit,
                resident_id,
                valid_from: now_ms() / 1000 - 60,
                valid_s: days * 86_400,
                flags,
                visitor_name: None,
                gate: None,
            };
            Ok(crate::ops::passes::issue(conn, &actor, &community, &req, &shown))
        })
        .await;
    let p = result?.map_err(|e| WebError::community(session, "passes", e))?;
    Ok(state_redirect(&format!("/passes/{}/card", p.pass_id.to_hex())))
}

pub async fn card(State(app): State<AppState>, m: Member, Path(id): Path<String>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let community = m.community.clone();
    let Some(p) = app.db.call(move |conn| community::pass(conn, &community, &id)).await? else {
        return Err(WebError::not_found(&m.session));
    };
    let link = format!("{}/p/{}", app.config.public_url, p.link_token);
    let body = html! {
        div.qr { (pass_qr(&p, &app.config.public_url)) }
        @if p.phone { p.msg { (t(lang, "phone_setup_hint")) } }
        p { b { (p.unit) } " · " (p.name.as_deref().unwrap_or("")) " · " (role_text(lang, &p.role)) " · " (kind_word(lang, &p)) }
        p {
            (t(lang, "valid_until")) ": " (fmt_day(p.expires_at, app.config.utc_offset_min))
            @if p.revoked { " " span.bad { (t(lang, "revoked")) } }
        }
        p.noprint { (t(lang, "phone_link")) ": " a href=(link) { code { (link) } } }
        p.noprint { (t(lang, "card")) ": Ctrl+P" }
    };
    Ok(frame(lang, t(lang, "passes"), Some(&m.session), body))
}

pub async fn revoke(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    app.db
        .call(move |conn| Ok(crate::ops::passes::revoke(conn, &actor, &community, &id)))
        .await?
        .map_err(|e| WebError::community(&m.session, "passes", e))?;
    Ok(state_redirect("/passes"))
}

/// The QR code printed for a pass: the pass itself on a card; on a phone
/// pass, the link that sets it up on the holder's phone (the pass alone
/// opens no gate).
pub fn pass_qr(p: &PassRow, public_url: &str) -> Markup {
    if p.phone {
        qr_code(&format!("{public_url}/p/{}", p.link_token))
    } else {
        qr_code(&p.text)
    }
}

/// "Printed card", or "Phone pass" and whether a phone holds it.
fn kind_word(lang: Lang, p: &PassRow) -> String {
    match (p.phone, p.holder.is_some()) {
        (false, _) => t(lang, "card_pass").to_string(),
        (true, true) => format!("{} ({})", t(lang, "phone_pass"), t(lang, "phone_bound")),
        (true, false) => format!("{} ({})", t(lang, "phone_pass"), t(lang, "phone_unbound")),
    }
}

/// Which roles must carry phone passes: checked roles get one whenever a
/// pass is issued, on this page, at the gate's visitor form or in bulk.
fn phone_roles_form(session: &Session, required: &[Role]) -> Markup {
    let lang = session.lang;
    html! {
        form.card method="post" action="/passes/phone-roles" #phone-roles {
            (csrf_field(&session.csrf))
            p { (t(lang, "phone_roles")) }
            // A duty pass is a phone pass whatever is checked here.
            @for r in Role::ALL.into_iter().filter(|r| *r != Role::Duty) {
                label.check {
                    input type="checkbox" name="role" value=(r.as_str()) style="width:auto" checked[required.contains(&r)];
                    " " (t(lang, r.as_str()))
                }
            }
            button { (t(lang, "save")) }
        }
    }
}

/// `POST /passes/phone-roles`: the roles that must carry phone passes.
/// The `role` fields repeat, so the form is read as pairs, not a map.
pub async fn set_phone_roles(
    State(app): State<AppState>,
    m: Member,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form: FormMap = pairs.iter().cloned().collect();
    m.session.check_csrf(&form)?;
    let roles: Vec<Role> = pairs.iter().filter(|(k, _)| k == "role").filter_map(|(_, v)| v.parse().ok()).collect();
    let (community, actor) = (m.community.clone(), m.actor());
    app.db.call(move |conn| crate::ops::passes::set_phone_roles(conn, &actor, &community, &roles)).await?;
    Ok(state_redirect("/passes"))
}

/// The link a resident or visitor opens on the phone: the QR, large.
pub async fn phone(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let lang = lang_of(&headers);
    let t2 = token.clone();
    let found = app
        .db
        .call(move |conn| {
            let now_s = now_ms() / 1000;
            let checkin = crate::records::checkins::link_for_pass(conn, &t2, now_s)?;
            let notice = community::pending_notice_for_head(conn, &t2)?;
            let pass = community::pass_by_link(conn, &t2)?;
            let place = match &pass {
                Some(p) => community::place(conn, &p.community)?,
                None => Default::default(),
            };
            Ok((pass, place, crate::records::residents::household_of_head(conn, &t2, now_s)?, checkin, notice))
        })
        .await?;
    let (Some(p), place, household, checkin, notice) = found else {
        return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"));
    };
    if p.revoked || p.expires_at <= now_ms() / 1000 {
        return Ok(title_page(lang, StatusCode::GONE, "pass_not_valid"));
    }
    let offset = app.config.utc_offset_min;
    let extra = html! {
        @if let Some((_, _, members)) = &household { (household_section(lang, &token, members)) }
        @if let Some((_, id, from_s, until_s)) = notice {
            div.card #pending-notice {
                p { (place.say(t(lang, "head_notice"))) }
                p { b { (fmt_day(from_s, offset)) " – " (fmt_last_day(until_s, offset)) } }
                form.inline method="post" action={ "/p/" (urlencode(&token)) "/notice/" (id) } {
                    button { (t(lang, "head_notice_confirm")) }
                }
                p { small { (t(lang, "head_notice_wrong")) } }
            }
        }
        @if let Some(link) = &checkin {
            p.msg #checkin-link { (t(lang, "reg_checkin_link")) " " a href=(link) { (link) } }
        }
    };
    if p.phone {
        return Ok(super::phone::live_page(&app, lang, &token, &p, extra));
    }
    let body = html! {
        p { (t(lang, "show_at_gate")) }
        div.qr { (qr_code(&p.text)) }
        p { b { (p.unit) } " · " (role_text(lang, &p.role)) }
        p { (t(lang, "valid_until")) ": " (fmt_ms(p.expires_at * 1000, offset)) }
        (extra)
    };
    let mut resp = frame(lang, t(lang, "passes"), None, body).into_response();
    // A pass page is a credential: keep it out of shared caches.
    resp.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("ascii"));
    Ok(resp)
}

/// The head of a household's list of its members, each with a button that
/// asks the committee for a pass. The link's token is the credential, as
/// for the pass itself, so the form needs no other.
fn household_section(lang: Lang, token: &str, members: &[crate::records::residents::Member]) -> Markup {
    html! {
        @if !members.is_empty() {
            h2 { (t(lang, "household")) }
            table {
                @for mb in members {
                    tr {
                        td { (mb.name) }
                        td {
                            @if mb.live_passes > 0 { (t(lang, "has_pass")) }
                            @else if mb.requested { (t(lang, "requested")) }
                            @else {
                                form.inline method="post" action={ "/p/" (urlencode(token)) "/request/" (mb.id) } {
                                    button { (t(lang, "request_pass")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The head asks for a pass for a member of the household.
pub async fn request(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((token, id)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let lang = lang_of(&headers);
    if !app.limiter.allow("visitor", app.client_ip(peer.ip(), &headers)) {
        return Err(WebError::rate_limited(lang));
    }
    let t2 = token.clone();
    match app.db.call(move |conn| Ok(crate::records::residents::request_pass(conn, &t2, id, now_ms()))).await? {
        Ok(()) => Ok(state_redirect(&format!("/p/{token}"))),
        Err(CommunityError::Db(e)) => Err(e.into()),
        Err(_) => Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found")),
    }
}

/// The head of a household confirms the returnee notice one of them
/// signed: the gates keep the home in from their next sync. The pass link
/// is the credential, as for a pass request; only the head's own unit's
/// pending notice can be confirmed.
pub async fn confirm_notice(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((token, id)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let lang = lang_of(&headers);
    let ip = app.client_ip(peer.ip(), &headers);
    if !app.limiter.allow("visitor", ip) {
        return Err(WebError::rate_limited(lang));
    }
    let t2 = token.clone();
    let done = app
        .db
        .call(move |conn| {
            let Some((community, pending, _, _)) = community::pending_notice_for_head(conn, &t2)?.filter(|n| n.1 == id)
            else {
                return Ok(None);
            };
            let actor = crate::records::audit::Actor {
                community,
                user: "household head (pass link)".into(),
                ip: ip.to_string(),
            };
            let now = now_ms();
            Ok(Some(crate::records::registrations::decide_notice(
                conn,
                &actor,
                pending,
                community::Verdict::Confirm,
                now,
            )))
        })
        .await?;
    match done {
        Some(Ok(_)) => Ok(state_redirect(&format!("/p/{token}"))),
        Some(Err(CommunityError::Db(e))) => Err(e.into()),
        None | Some(Err(_)) => Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found")),
    }
}

/// The committee approves a head's request (a year's pass) or declines it.
pub async fn decide(
    State(app): State<AppState>,
    m: Member,
    Path((id, verdict)): Path<(i64, String)>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let approve = verdict == "approve";
    let community = app.community(&m.community).await?;
    let actor = m.actor();
    app.db
        .call(move |conn| Ok(crate::ops::passes::decide_request(conn, &actor, &community, id, approve)))
        .await?
        .map_err(|e| WebError::community(&m.session, "passes", e))?;
    Ok(state_redirect("/passes"))
}

/// Heads' open requests, each with approve and decline.
fn requests_section(m: &Member, requests: &[crate::records::residents::Request], offset: i32) -> Markup {
    let lang = m.session.lang;
    let button = |id: i64, verdict: &str, danger: bool| {
        html! {
            form.inline method="post" action={ "/requests/" (id) "/" (verdict) } {
                (csrf_field(&m.session.csrf))
                button class=[danger.then_some("danger")] { (t(lang, verdict)) }
            }
        }
    };
    html! {
        h2 { (t(lang, "pass_requests")) }
        table #requests {
            @for r in requests {
                tr {
                    td { (r.unit) } td { (r.name) } td { (fmt_ms(r.created_ms, offset)) }
                    td { (button(r.id, "approve", false)) " " (button(r.id, "decline", true)) }
                }
            }
        }
    }
}
