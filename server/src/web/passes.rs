//! The Passes page: issuing, the printable card, revoking, and the phone
//! link a resident or visitor opens.

use std::fmt::Write;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shoumen_protocol::Role;

use super::*;
use crate::records::community::{self, CommunityError, PassRequest, PassRow};

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

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let found = app
        .db
        .call(move |conn| {
            let phone_roles = community::phone_roles(conn, &community)?;
            Ok((
                community::passes(conn, &community, 500)?,
                crate::records::residents::open_requests(conn, &community)?,
                phone_roles,
            ))
        })
        .await;
    let (rows, requests, phone_roles) = match found {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let roles: String =
        Role::ALL.iter().map(|r| format!("<option value={0}>{1}</option>", r.as_str(), t(lang, r.as_str()))).collect();
    let mut body = format!(
        "<form class=card method=post action=/passes>{csrf}<label>{role}<select name=role>{roles}</select></label>\
<label>{unit}<input name=unit maxlength=12 placeholder=3-502></label><label>{days}<input name=days type=number min=1 max=1825 value=365></label>\
<label class=check><input type=checkbox name=needs_assistance style=\"width:auto\"> {assist}</label>\
<label class=check><input type=checkbox name=phone style=\"width:auto\"> {phone}</label>\
<button>{issue}</button></form><div class=scroll><table><tr><th>{unit}</th><th>{name}</th><th>{role}</th><th>{kind}</th><th>{until}</th><th>{status}</th><th></th></tr>",
        csrf = hidden_csrf(&m.session.csrf),
        role = t(lang, "role"),
        unit = t(lang, "unit"),
        days = t(lang, "days"),
        issue = t(lang, "issue"),
        name = t(lang, "name"),
        until = t(lang, "valid_until"),
        status = t(lang, "status"),
        kind = t(lang, "pass_kind"),
        assist = t(lang, "needs_assistance"),
        phone = t(lang, "phone_pass_choice"),
    );
    let now_s = now_ms() / 1000;
    if !requests.is_empty() {
        body = requests_section(&m, &requests, offset) + &body;
    }
    body = phone_roles_form(&m.session, &phone_roles) + &body;
    for p in &rows {
        body.push_str(&row(&m.session, p, now_s, offset));
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "passes"), Some(&m.session), &body).into_response()
}

fn row(session: &Session, p: &PassRow, now_s: i64, offset: i32) -> String {
    let lang = session.lang;
    let live = !p.revoked && p.expires_at > now_s;
    let status = if p.revoked {
        format!("<span class=bad>{}</span>", t(lang, "revoked"))
    } else if !live {
        t(lang, "expired").to_string()
    } else {
        format!("<span class=ok>{}</span>", t(lang, "valid"))
    };
    let revoke = if live {
        format!(
            "<form class=inline method=post action=\"/passes/{id}/revoke\">{csrf}<button class=danger>{label}</button></form>",
            id = esc(&p.pass_id),
            csrf = hidden_csrf(&session.csrf),
            label = t(lang, "revoke")
        )
    } else {
        String::new()
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<tr data-pass=\"{id}\"><td>{unit}</td><td>{name}</td><td>{role}</td><td>{kind}</td><td>{until}</td><td>{status}</td><td><a href=\"/passes/{id}/card\">{card}</a> · <a href=\"/p/{link}\">{phone}</a> {revoke}</td></tr>",
        unit = esc(&p.unit),
        name = esc(p.name.as_deref().unwrap_or("")),
        role = role_word(lang, &p.role),
        kind = kind_word(lang, p),
        until = fmt_day(p.expires_at, offset),
        id = esc(&p.pass_id),
        link = esc(&p.link_token),
        card = t(lang, "card"),
        phone = t(lang, "phone_link"),
    );
    out
}

pub async fn issue(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    let session = &m.session;
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    let role: Role = match field(&form, "role").parse() {
        Ok(r) => r,
        Err(e) => return message(session, "passes", &e, StatusCode::BAD_REQUEST),
    };
    let days: i64 = match field(&form, "days").trim().parse() {
        Ok(d) if (1..=1825).contains(&d) => d,
        _ => return message(session, "passes", "valid days: a whole number from 1 to 1825", StatusCode::BAD_REQUEST),
    };
    let resident_id: Option<i64> = match field(&form, "resident_id") {
        "" => None,
        s => match s.parse() {
            Ok(id) => Some(id),
            Err(_) => return message(session, "passes", "resident_id must be a number", StatusCode::BAD_REQUEST),
        },
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
    let community = match app.community(&m.community).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
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
    match result {
        Ok(Ok(p)) => state_redirect(&format!("/passes/{}/card", p.pass_id.to_hex())),
        Ok(Err(e)) => community_error(session, "passes", e),
        Err(e) => server_error(e),
    }
}

pub async fn card(State(app): State<AppState>, m: Member, Path(id): Path<String>) -> Response {
    let lang = m.session.lang;
    let community = m.community.clone();
    let p = match app.db.call(move |conn| community::pass(conn, &community, &id)).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(&m.session),
        Err(e) => return server_error(e),
    };
    let link = format!("{}/p/{}", app.config.public_url, p.link_token);
    let body = format!(
        "<div class=qr>{qr}</div>{setup}<p><b>{unit}</b> · {name} · {role} · {kind}</p><p>{until}: {exp}{revoked}</p>\
<p class=noprint>{phone}: <a href=\"{link}\"><code>{link}</code></a></p><p class=noprint>{card}: Ctrl+P</p>",
        qr = pass_qr(&p, &app.config.public_url),
        setup = if p.phone { format!("<p class=msg>{}</p>", t(lang, "phone_setup_hint")) } else { String::new() },
        kind = kind_word(lang, &p),
        unit = esc(&p.unit),
        name = esc(p.name.as_deref().unwrap_or("")),
        role = role_word(lang, &p.role),
        until = t(lang, "valid_until"),
        exp = fmt_day(p.expires_at, app.config.utc_offset_min),
        revoked = if p.revoked { format!(" <span class=bad>{}</span>", t(lang, "revoked")) } else { String::new() },
        phone = t(lang, "phone_link"),
        link = esc(&link),
        card = t(lang, "card"),
    );
    layout(lang, t(lang, "passes"), Some(&m.session), &body).into_response()
}

pub async fn revoke(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<String>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, actor) = (m.community.clone(), m.actor());
    match app.db.call(move |conn| Ok(crate::ops::passes::revoke(conn, &actor, &community, &id))).await {
        Ok(Ok(())) => state_redirect("/passes"),
        Ok(Err(e)) => community_error(&m.session, "passes", e),
        Err(e) => server_error(e),
    }
}

/// The QR code printed for a pass: the pass itself on a card; on a phone
/// pass, the link that sets it up on the holder's phone (the pass alone
/// opens no gate).
pub fn pass_qr(p: &PassRow, public_url: &str) -> String {
    if p.phone {
        qr_svg(&format!("{public_url}/p/{}", p.link_token))
    } else {
        qr_svg(&p.text)
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
fn phone_roles_form(session: &Session, required: &[Role]) -> String {
    let lang = session.lang;
    let boxes: String = Role::ALL
        .iter()
        .map(|r| {
            let checked = if required.contains(r) { " checked" } else { "" };
            format!(
                "<label class=check><input type=checkbox name=role value={} style=\"width:auto\"{checked}> {}</label>",
                r.as_str(),
                t(lang, r.as_str())
            )
        })
        .collect();
    format!(
        "<form class=card method=post action=/passes/phone-roles id=phone-roles>{}<p>{}</p>{boxes}<button>{}</button></form>",
        hidden_csrf(&session.csrf),
        t(lang, "phone_roles"),
        t(lang, "save")
    )
}

/// `POST /passes/phone-roles`: the roles that must carry phone passes.
/// The `role` fields repeat, so the form is read as pairs, not a map.
pub async fn set_phone_roles(
    State(app): State<AppState>,
    m: Member,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form: FormMap = pairs.iter().cloned().collect();
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let roles: Vec<Role> = pairs.iter().filter(|(k, _)| k == "role").filter_map(|(_, v)| v.parse().ok()).collect();
    let (community, actor) = (m.community.clone(), m.actor());
    match app.db.call(move |conn| crate::ops::passes::set_phone_roles(conn, &actor, &community, &roles)).await {
        Ok(()) => state_redirect("/passes"),
        Err(e) => server_error(e),
    }
}

/// The link a resident or visitor opens on the phone: the QR, large.
pub async fn phone(State(app): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lang = lang_of(&headers);
    let t2 = token.clone();
    let found = app
        .db
        .call(move |conn| {
            let now_s = now_ms() / 1000;
            let checkin = crate::records::checkins::link_for_pass(conn, &t2, now_s)?;
            let notice = community::pending_notice_for_head(conn, &t2)?;
            Ok((
                community::pass_by_link(conn, &t2)?,
                crate::records::residents::household_of_head(conn, &t2, now_s)?,
                checkin,
                notice,
            ))
        })
        .await;
    let (p, household, checkin, notice) = match found {
        Ok((Some(p), h, c, n)) => (p, h, c, n),
        Ok((None, ..)) => return (StatusCode::NOT_FOUND, layout(lang, t(lang, "not_found"), None, "")).into_response(),
        Err(e) => return server_error(e),
    };
    if p.revoked || p.expires_at <= now_ms() / 1000 {
        return (StatusCode::GONE, layout(lang, t(lang, "pass_not_valid"), None, "")).into_response();
    }
    let mut extra = household.map_or(String::new(), |(_, _, members)| household_section(lang, &token, &members));
    if let Some((_, id, from_s, until_s)) = notice {
        let offset = app.config.utc_offset_min;
        let _ = write!(
            extra,
            "<div class=card id=pending-notice><p>{}</p><p><b>{} – {}</b></p><form class=inline method=post action=\"/p/{}/notice/{id}\"><button>{}</button></form><p><small>{}</small></p></div>",
            t(lang, "head_notice"),
            fmt_day(from_s, offset),
            fmt_day(until_s - 1, offset),
            esc(&token),
            t(lang, "head_notice_confirm"),
            t(lang, "head_notice_wrong"),
        );
    }
    if let Some(link) = checkin {
        extra += &format!(
            "<p class=msg id=checkin-link>{} <a href=\"{link}\">{}</a></p>",
            t(lang, "reg_checkin_link"),
            esc(&link)
        );
    }
    if p.phone {
        return super::phone::live_page(&app, lang, &token, &p, maud::PreEscaped(extra));
    }
    let body = format!(
        "<p>{hint}</p><div class=qr>{qr}</div><p><b>{unit}</b> · {role}</p><p>{until}: {exp}</p>{extra}",
        hint = t(lang, "show_at_gate"),
        qr = qr_svg(&p.text),
        unit = esc(&p.unit),
        role = role_word(lang, &p.role),
        until = t(lang, "valid_until"),
        exp = fmt_ms(p.expires_at * 1000, app.config.utc_offset_min),
    );
    let mut resp = layout(lang, t(lang, "passes"), None, &body).into_response();
    // A pass page is a credential: keep it out of shared caches.
    resp.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("ascii"));
    resp
}

/// The head of a household's list of its members, each with a button that
/// asks the committee for a pass. The link's token is the credential, as
/// for the pass itself, so the form needs no other.
fn household_section(lang: Lang, token: &str, members: &[crate::records::residents::Member]) -> String {
    if members.is_empty() {
        return String::new();
    }
    let mut out = format!("<h2>{}</h2><table>", t(lang, "household"));
    for mb in members {
        let action = if mb.live_passes > 0 {
            t(lang, "has_pass").to_string()
        } else if mb.requested {
            t(lang, "requested").to_string()
        } else {
            format!(
                "<form class=inline method=post action=\"/p/{}/request/{}\"><button>{}</button></form>",
                esc(token),
                mb.id,
                t(lang, "request_pass")
            )
        };
        let _ = write!(out, "<tr><td>{}</td><td>{action}</td></tr>", esc(&mb.name));
    }
    out + "</table>"
}

/// The head asks for a pass for a member of the household.
pub async fn request(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((token, id)): Path<(String, i64)>,
) -> Response {
    let lang = lang_of(&headers);
    if !app.limiter.allow("visitor", app.client_ip(peer.ip(), &headers)) {
        return (StatusCode::TOO_MANY_REQUESTS, layout(lang, t(lang, "rate_limited"), None, "")).into_response();
    }
    let t2 = token.clone();
    match app.db.call(move |conn| Ok(crate::records::residents::request_pass(conn, &t2, id, now_ms()))).await {
        Ok(Ok(())) => state_redirect(&format!("/p/{token}")),
        Ok(Err(CommunityError::Db(e))) | Err(e) => server_error(e),
        Ok(Err(_)) => (StatusCode::NOT_FOUND, layout(lang, t(lang, "not_found"), None, "")).into_response(),
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
) -> Response {
    let lang = lang_of(&headers);
    let ip = app.client_ip(peer.ip(), &headers);
    if !app.limiter.allow("visitor", ip) {
        return (StatusCode::TOO_MANY_REQUESTS, layout(lang, t(lang, "rate_limited"), None, "")).into_response();
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
        .await;
    match done {
        Ok(Some(Ok(_))) => state_redirect(&format!("/p/{token}")),
        Ok(Some(Err(CommunityError::Db(e)))) | Err(e) => server_error(e),
        Ok(None | Some(Err(_))) => {
            (StatusCode::NOT_FOUND, layout(lang, t(lang, "not_found"), None, "")).into_response()
        }
    }
}

/// The committee approves a head's request (a year's pass) or declines it.
pub async fn decide(
    State(app): State<AppState>,
    m: Member,
    Path((id, verdict)): Path<(i64, String)>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let approve = verdict == "approve";
    let community = match app.community(&m.community).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let actor = m.actor();
    let outcome =
        app.db.call(move |conn| Ok(crate::ops::passes::decide_request(conn, &actor, &community, id, approve))).await;
    match outcome {
        Ok(Ok(_)) => state_redirect("/passes"),
        Ok(Err(e)) => community_error(&m.session, "passes", e),
        Err(e) => server_error(e),
    }
}

/// Heads' open requests, each with approve and decline.
fn requests_section(m: &Member, requests: &[crate::records::residents::Request], offset: i32) -> String {
    let lang = m.session.lang;
    let mut out = format!("<h2>{}</h2><table id=requests>", t(lang, "pass_requests"));
    for r in requests {
        let button = |verdict: &str, key: &str, class: &str| {
            format!(
                "<form class=inline method=post action=\"/requests/{}/{verdict}\">{}<button{class}>{}</button></form>",
                r.id,
                hidden_csrf(&m.session.csrf),
                t(lang, key)
            )
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
            esc(&r.unit),
            esc(&r.name),
            fmt_ms(r.created_ms, offset),
            button("approve", "approve", ""),
            button("decline", "decline", " class=danger"),
        );
    }
    out + "</table>"
}
