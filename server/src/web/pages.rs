//! One handler per page or form. Forms arrive as string maps so a missing
//! or odd field gives a clear message instead of a bare 422.

use std::collections::HashMap;
use std::fmt::Write;
use std::net::SocketAddr;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, Form, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use rusqlite::OptionalExtension;
use shoumen_protocol::Role;

use super::*;
use crate::community::{self, CommunityError, PassRequest};
use crate::ingest::SHOWN_MS;

type FormMap = HashMap<String, String>;

fn field<'a>(form: &'a FormMap, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}


fn message(lang: Lang, session: &Session, title_key: &str, text: &str, status: StatusCode) -> Response {
    (status, layout(lang, t(lang, title_key), Some(session), &format!("<p class=msg>{}</p>", esc(text)))).into_response()
}

fn community_error(lang: Lang, session: &Session, page: &str, e: CommunityError) -> Response {
    match e {
        CommunityError::Db(e) => server_error(e),
        other => message(lang, session, page, &other.to_string(), StatusCode::BAD_REQUEST),
    }
}

/// A stored role in the page's language (roles are stored as their codes).
fn role_word(lang: Lang, role: &str) -> String {
    match Role::ALL.iter().find(|r| r.as_str() == role) {
        Some(r) => t(lang, r.as_str()).to_string(),
        None => esc(role),
    }
}

/// Adds the form-token cookie, if [`form_token`] made a new one.
fn with_cookie(mut resp: Response, set: Option<String>) -> Response {
    if let Some(c) = set {
        resp.headers_mut().append(header::SET_COOKIE, c.parse().expect("ascii cookie"));
    }
    resp
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
    let cookie = format!("lang={code}; Path=/; SameSite=Lax; Max-Age=31536000{}", if app.config.secure_cookies { "; Secure" } else { "" });
    resp.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("ascii cookie"));
    resp
}

// ---- login ----

pub async fn login_form(State(app): State<AppState>, headers: HeaderMap) -> Response {
    login_page(&app, &headers, None, StatusCode::OK)
}

fn login_page(app: &AppState, headers: &HeaderMap, error: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(headers);
    let (token, set) = form_token(app, headers);
    let err = error.map_or(String::new(), |e| format!("<p class=\"msg bad\">{}</p>", esc(e)));
    let body = format!(
        "{err}<form class=card method=post action=/login>{csrf}\
<label>{user}<input name=user autocomplete=username required></label>\
<label>{pw}<input name=password type=password autocomplete=current-password required></label>\
<button>{login}</button></form>",
        csrf = hidden_csrf(&token),
        user = t(lang, "user"),
        pw = t(lang, "password"),
        login = t(lang, "login"),
    );
    with_cookie((status, layout(lang, t(lang, "login"), None, &body)).into_response(), set)
}

/// Reads a form body once the client has passed the rate limit for
/// `purpose`: a flood is turned away before its bodies are read.
async fn limited_form(app: &AppState, peer: SocketAddr, purpose: &'static str, req: Request) -> Result<(HeaderMap, FormMap), Response> {
    let headers = req.headers().clone();
    if !app.limiter.allow(purpose, app.client_ip(peer.ip(), &headers)) {
        let lang = lang_of(&headers);
        return Err((StatusCode::TOO_MANY_REQUESTS, layout(lang, t(lang, "rate_limited"), None, "")).into_response());
    }
    match Form::<FormMap>::from_request(req, app).await {
        Ok(Form(form)) => Ok((headers, form)),
        Err(e) => Err(e.into_response()),
    }
}

pub async fn login(State(app): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let (headers, form) = match limited_form(&app, peer, "login", req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let lang = lang_of(&headers);
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return login_page(&app, &headers, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN);
    }
    let user = field(&form, "user").to_string();
    let password = field(&form, "password").to_string();
    // Locked after repeated wrong passwords, from wherever they came.
    if let Some(left) = app.logins.locked(&user) {
        let text = format!("{} ({} min)", t(lang, "account_locked"), left.as_secs() / 60 + 1);
        return login_page(&app, &headers, Some(&text), StatusCode::TOO_MANY_REQUESTS);
    }
    let account = user.clone();
    let found = app
        .db
        .call(move |conn| {
            Ok(conn
                .query_row("SELECT id, password_hash FROM users WHERE name = ?1", [&user], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .optional()?)
        })
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => return server_error(e),
    };
    // Argon2 is slow on purpose: verify off the async workers.
    let verified = tokio::task::spawn_blocking(move || match found {
        Some((id, hash)) => PasswordHash::new(&hash)
            .ok()
            .filter(|h| Argon2::default().verify_password(password.as_bytes(), h).is_ok())
            .map(|_| id),
        None => {
            // Spend the same time for unknown users.
            let _ = argon2_hash("not a password");
            None
        }
    })
    .await
    .ok()
    .flatten();
    let Some(user_id) = verified else {
        app.logins.failed(&account);
        return login_page(&app, &headers, Some(t(lang, "login_failed")), StatusCode::UNAUTHORIZED);
    };
    app.logins.succeeded(&account);
    match create_session(&app, user_id).await {
        Ok(cookie) => {
            let mut resp = state_redirect("/");
            resp.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("ascii cookie"));
            resp
        }
        Err(r) => r,
    }
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
    if let Some(token) = cookie(&headers, super::SESSION_COOKIE).map(sha256_hex) {
        let _ = app.db.call(move |conn| Ok(conn.execute("DELETE FROM sessions WHERE token_sha256 = ?1", [token])?)).await;
    }
    let mut resp = state_redirect("/login");
    resp.headers_mut().insert(header::SET_COOKIE, set_cookie(&app, super::SESSION_COOKIE, "", 0).parse().expect("ascii"));
    resp
}

// ---- dashboard ----

pub async fn dashboard(State(app): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let now = now_ms();
    let data = app
        .db
        .call(move |conn| {
            let today_start = {
                let local = now + i64::from(offset) * 60_000;
                now - local.rem_euclid(86_400_000)
            };
            let sql = format!(
                "SELECT COUNT(*) FROM entries e LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id WHERE {SHOWN_MS} >= ?1"
            );
            let today: i64 = conn.query_row(&sql, [today_start], |r| r.get(0))?;
            let open: i64 = conn.query_row("SELECT COUNT(*) FROM alerts WHERE acked = 0", [], |r| r.get(0))?;
            let hour_start = now - now.rem_euclid(3_600_000) - 23 * 3_600_000;
            let sql = format!(
                "SELECT ({SHOWN_MS} - ?1) / 3600000 AS h, COUNT(*) FROM entries e
                 LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
                 WHERE {SHOWN_MS} >= ?1 GROUP BY h"
            );
            let mut hours = [0i64; 24];
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([hour_start])?;
            while let Some(r) = rows.next()? {
                let h: i64 = r.get(0)?;
                if (0..24).contains(&h) {
                    hours[h as usize] = r.get(1)?;
                }
            }
            Ok((today, open, hour_start, hours))
        })
        .await;
    let (today, open, hour_start, hours) = match data {
        Ok(d) => d,
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<div class=stat><b>{today}</b>{}</div><div class=stat><b class=\"{}\">{open}</b><a href=/alerts>{}</a></div><h2>{}</h2>",
        t(lang, "entries_today"),
        if open > 0 { "bad" } else { "ok" },
        t(lang, "open_alerts"),
        t(lang, "per_hour"),
    );
    body.push_str(&hour_chart(&hours, hour_start, offset));
    layout(lang, t(lang, "dashboard"), Some(&session), &body).into_response()
}

/// A bar chart of entries per hour as inline SVG (no scripts needed).
fn hour_chart(hours: &[i64; 24], start_ms: i64, offset: i32) -> String {
    let max = hours.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from("<svg viewBox=\"0 0 480 170\" role=img aria-label=\"entries per hour\" style=\"width:100%;max-width:720px;background:#fff\">");
    for (i, n) in hours.iter().enumerate() {
        let h = (*n as f64 / max as f64 * 130.0).round();
        let x = 4 + i * 20;
        let hour = &fmt_ms(start_ms + i as i64 * 3_600_000, offset)[11..13];
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"16\" height=\"{h}\" fill=\"#0b5d3b\"><title>{hour}:00 — {n}</title></rect>",
            y = 140.0 - h
        );
        if i % 3 == 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"158\" font-size=\"10\">{hour}</text>");
        }
        if *n > 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"{}\" font-size=\"9\">{n}</text>", 137.0 - h);
        }
    }
    svg.push_str("</svg>");
    svg
}

// ---- residents ----

pub async fn residents(State(app): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let rows = app
        .db
        .call(|conn| {
            let mut stmt = conn.prepare(
                "SELECT r.id, r.name, r.unit, r.phone,
                        (SELECT COUNT(*) FROM passes p WHERE p.resident_id = r.id AND p.revoked_ms IS NULL)
                 FROM residents r ORDER BY r.unit, r.name",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, i64>(4)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<form class=card method=post action=/residents>{csrf}<label>{name}<input name=name required maxlength=64></label>\
<label>{unit}<input name=unit required maxlength=12 placeholder=3-502></label><label>{phone}<input name=phone maxlength=32></label>\
<button>{add}</button></form><div class=scroll><table><tr><th>{unit}</th><th>{name}</th><th>{phone}</th><th>{passes}</th><th></th></tr>",
        csrf = hidden_csrf(&session.csrf),
        name = t(lang, "name"),
        unit = t(lang, "unit"),
        phone = t(lang, "phone"),
        add = t(lang, "add"),
        passes = t(lang, "passes"),
    );
    for (id, name, unit, phone, n) in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{n}</td><td><form class=inline method=post action=/passes>{}\
<input type=hidden name=resident_id value=\"{id}\"><input type=hidden name=role value=resident><input type=hidden name=days value=365>\
<button>{}</button></form></td></tr>",
            esc(unit),
            esc(name),
            esc(phone),
            hidden_csrf(&session.csrf),
            t(lang, "issue"),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "residents"), Some(&session), &body).into_response()
}

pub async fn add_resident(State(app): State<AppState>, session: Session, Form(form): Form<FormMap>) -> Response {
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    let (name, unit, phone) = (field(&form, "name").to_string(), field(&form, "unit").to_string(), field(&form, "phone").to_string());
    let result = app
        .db
        .call(move |conn| Ok(community::add_resident(conn, &name, &unit, &phone, now_ms())))
        .await;
    match result {
        Ok(Ok(_)) => state_redirect("/residents"),
        Ok(Err(e)) => community_error(session.lang, &session, "residents", e),
        Err(e) => server_error(e),
    }
}

// ---- passes ----

struct PassRow {
    pass_id: String,
    role: String,
    unit: String,
    name: Option<String>,
    expires_at: i64,
    revoked: bool,
    link_token: String,
}

pub async fn passes(State(app): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let rows = app
        .db
        .call(|conn| {
            let mut stmt = conn.prepare(
                "SELECT p.pass_id, p.role, p.unit, COALESCE(r.name, p.visitor_name), p.expires_at, p.revoked_ms IS NOT NULL, p.link_token
                 FROM passes p LEFT JOIN residents r ON r.id = p.resident_id ORDER BY p.issued_at DESC LIMIT 500",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(PassRow {
                        pass_id: r.get(0)?,
                        role: r.get(1)?,
                        unit: r.get(2)?,
                        name: r.get(3)?,
                        expires_at: r.get(4)?,
                        revoked: r.get(5)?,
                        link_token: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let roles: String = Role::ALL
        .iter()
        .map(|r| format!("<option value={0}>{1}</option>", r.as_str(), t(lang, r.as_str())))
        .collect();
    let mut body = format!(
        "<form class=card method=post action=/passes>{csrf}<label>{role}<select name=role>{roles}</select></label>\
<label>{unit}<input name=unit maxlength=12 placeholder=3-502></label><label>{days}<input name=days type=number min=1 max=1825 value=365></label>\
<label class=check><input type=checkbox name=needs_assistance style=\"width:auto\"> {assist}</label>\
<button>{issue}</button></form><div class=scroll><table><tr><th>{unit}</th><th>{name}</th><th>{role}</th><th>{until}</th><th>{status}</th><th></th></tr>",
        csrf = hidden_csrf(&session.csrf),
        role = t(lang, "role"),
        unit = t(lang, "unit"),
        days = t(lang, "days"),
        issue = t(lang, "issue"),
        name = t(lang, "name"),
        until = t(lang, "valid_until"),
        status = t(lang, "status"),
        assist = t(lang, "needs_assistance"),
    );
    let now_s = now_ms() / 1000;
    for p in &rows {
        let status = if p.revoked {
            format!("<span class=bad>{}</span>", t(lang, "revoked"))
        } else if p.expires_at <= now_s {
            t(lang, "expired").to_string()
        } else {
            format!("<span class=ok>{}</span>", t(lang, "valid"))
        };
        let revoke = if p.revoked || p.expires_at <= now_s {
            String::new()
        } else {
            format!(
                "<form class=inline method=post action=\"/passes/{id}/revoke\">{csrf}<button class=danger>{label}</button></form>",
                id = esc(&p.pass_id),
                csrf = hidden_csrf(&session.csrf),
                label = t(lang, "revoke")
            )
        };
        let _ = write!(
            body,
            "<tr><td>{unit}</td><td>{name}</td><td>{role}</td><td>{until}</td><td>{status}</td><td><a href=\"/passes/{id}/card\">{card}</a> · <a href=\"/p/{link}\">{phone}</a> {revoke}</td></tr>",
            unit = esc(&p.unit),
            name = esc(p.name.as_deref().unwrap_or("")),
            role = role_word(lang, &p.role),
            until = fmt_day(p.expires_at, offset),
            id = esc(&p.pass_id),
            link = esc(&p.link_token),
            card = t(lang, "card"),
            phone = t(lang, "phone_link"),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "passes"), Some(&session), &body).into_response()
}

pub async fn issue_pass(State(app): State<AppState>, session: Session, Form(form): Form<FormMap>) -> Response {
    let lang = session.lang;
    if !session.csrf_ok(&form) {
        return forbidden(lang);
    }
    let role: Role = match field(&form, "role").parse() {
        Ok(r) => r,
        Err(e) => return message(lang, &session, "passes", &e, StatusCode::BAD_REQUEST),
    };
    let days: i64 = match field(&form, "days").trim().parse() {
        Ok(d) if (1..=1825).contains(&d) => d,
        _ => return message(lang, &session, "passes", "valid days: a whole number from 1 to 1825", StatusCode::BAD_REQUEST),
    };
    let resident_id: Option<i64> = match field(&form, "resident_id") {
        "" => None,
        s => match s.parse() {
            Ok(id) => Some(id),
            Err(_) => return message(lang, &session, "passes", "resident_id must be a number", StatusCode::BAD_REQUEST),
        },
    };
    let unit = field(&form, "unit").to_string();
    let flags = if field(&form, "needs_assistance").is_empty() { 0 } else { shoumen_protocol::PassFlags::NEEDS_ASSISTANCE };
    let community = app.community.clone();
    let result = app
        .db
        .call(move |conn| {
            let unit = match resident_id {
                Some(id) if unit.is_empty() => conn
                    .query_row("SELECT unit FROM residents WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?
                    .unwrap_or_default(),
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
            Ok(community::issue_pass(conn, &community, &req))
        })
        .await;
    match result {
        Ok(Ok(p)) => state_redirect(&format!("/passes/{}/card", p.pass_id.to_hex())),
        Ok(Err(e)) => community_error(lang, &session, "passes", e),
        Err(e) => server_error(e),
    }
}

pub async fn pass_card(State(app): State<AppState>, session: Session, Path(id): Path<String>) -> Response {
    let lang = session.lang;
    let row = app
        .db
        .call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT p.text, p.unit, p.role, p.expires_at, p.link_token, COALESCE(r.name, p.visitor_name), p.revoked_ms IS NOT NULL
                     FROM passes p LEFT JOIN residents r ON r.id = p.resident_id WHERE p.pass_id = ?1",
                    [id],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, r.get::<_, String>(4)?, r.get::<_, Option<String>>(5)?, r.get::<_, bool>(6)?)),
                )
                .optional()?)
        })
        .await;
    let Some((text, unit, role, expires, link, name, revoked)) = (match row {
        Ok(r) => r,
        Err(e) => return server_error(e),
    }) else {
        return message(lang, &session, "not_found", t(lang, "not_found"), StatusCode::NOT_FOUND);
    };
    let link = format!("{}/p/{}", app.config.public_url, link);
    let body = format!(
        "<div class=qr>{qr}</div><p><b>{unit}</b> · {name} · {role}</p><p>{until}: {exp}{revoked}</p>\
<p class=noprint>{phone}: <a href=\"{link}\"><code>{link}</code></a></p><p class=noprint>{card}: Ctrl+P</p>",
        qr = qr_svg(&text),
        unit = esc(&unit),
        name = esc(name.as_deref().unwrap_or("")),
        role = role_word(lang, &role),
        until = t(lang, "valid_until"),
        exp = fmt_day(expires, app.config.utc_offset_min),
        revoked = if revoked { format!(" <span class=bad>{}</span>", t(lang, "revoked")) } else { String::new() },
        phone = t(lang, "phone_link"),
        link = esc(&link),
        card = t(lang, "card"),
    );
    layout(lang, t(lang, "passes"), Some(&session), &body).into_response()
}

pub async fn revoke_pass(State(app): State<AppState>, session: Session, Path(id): Path<String>, Form(form): Form<FormMap>) -> Response {
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    let result = app.db.call(move |conn| Ok(community::revoke_pass(conn, &id, now_ms()))).await;
    match result {
        Ok(Ok(())) => state_redirect("/passes"),
        Ok(Err(e)) => community_error(session.lang, &session, "passes", e),
        Err(e) => server_error(e),
    }
}

/// The link a resident or visitor opens on the phone: the QR, large.
pub async fn phone_pass(State(app): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lang = lang_of(&headers);
    let row = app
        .db
        .call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT text, unit, expires_at, revoked_ms IS NOT NULL, role FROM passes WHERE link_token = ?1",
                    [token],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, bool>(3)?, r.get::<_, String>(4)?)),
                )
                .optional()?)
        })
        .await;
    let row = match row {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let Some((text, unit, expires, revoked, role)) = row else {
        return (StatusCode::NOT_FOUND, layout(lang, t(lang, "not_found"), None, "")).into_response();
    };
    if revoked || expires <= now_ms() / 1000 {
        return (StatusCode::GONE, layout(lang, t(lang, "pass_not_valid"), None, "")).into_response();
    }
    let body = format!(
        "<p>{hint}</p><div class=qr>{qr}</div><p><b>{unit}</b> · {role}</p><p>{until}: {exp}</p>",
        hint = t(lang, "show_at_gate"),
        qr = qr_svg(&text),
        unit = esc(&unit),
        role = role_word(lang, &role),
        until = t(lang, "valid_until"),
        exp = fmt_ms(expires * 1000, app.config.utc_offset_min),
    );
    let mut resp = layout(lang, t(lang, "passes"), None, &body).into_response();
    // A pass page is a credential: keep it out of shared caches.
    resp.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("ascii"));
    resp
}

// ---- quarantine ----

pub async fn quarantine(State(app): State<AppState>, session: Session) -> Response {
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let rows = app
        .db
        .call(|conn| {
            let mut stmt = conn.prepare("SELECT id, unit, from_s, until_s, note FROM quarantine WHERE until_s > ?1 ORDER BY unit")?;
            let rows = stmt
                .query_map([now_ms() / 1000], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?, r.get::<_, String>(4)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let mut body = format!(
        "<form class=card method=post action=/quarantine>{csrf}<label>{unit}<input name=unit required maxlength=12 placeholder=3-502></label>\
<label>{from}<input name=from type=date required value=\"{today}\"></label><label>{until}<input name=until type=date required></label>\
<label>{note}<input name=note maxlength=200></label><button>{add}</button></form>\
<div class=scroll><table><tr><th>{unit}</th><th>{from}</th><th>{until}</th><th>{note}</th><th></th></tr>",
        csrf = hidden_csrf(&session.csrf),
        unit = t(lang, "unit"),
        from = t(lang, "from"),
        until = t(lang, "until"),
        note = t(lang, "note"),
        add = t(lang, "add"),
    );
    for (id, unit, from, until, note) in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form class=inline method=post action=\"/quarantine/{id}/remove\">{}<button class=danger>{}</button></form></td></tr>",
            esc(unit),
            fmt_day(*from, offset),
            fmt_day(*until, offset),
            esc(note),
            hidden_csrf(&session.csrf),
            t(lang, "remove"),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "quarantine"), Some(&session), &body).into_response()
}

pub async fn add_quarantine(State(app): State<AppState>, session: Session, Form(form): Form<FormMap>) -> Response {
    let lang = session.lang;
    if !session.csrf_ok(&form) {
        return forbidden(lang);
    }
    let offset = app.config.utc_offset_min;
    let (Some(from), Some(until)) = (parse_day(field(&form, "from"), offset), parse_day(field(&form, "until"), offset)) else {
        return message(lang, &session, "quarantine", "dates must look like 2026-11-29", StatusCode::BAD_REQUEST);
    };
    // The end date is inclusive: quarantine lasts until the end of that day.
    let until = until + 86_400;
    let (unit, note) = (field(&form, "unit").to_string(), field(&form, "note").to_string());
    let result = app.db.call(move |conn| Ok(community::add_quarantine(conn, &unit, from, until, &note, now_ms()))).await;
    match result {
        Ok(Ok(_)) => state_redirect("/quarantine"),
        Ok(Err(e)) => community_error(lang, &session, "quarantine", e),
        Err(e) => server_error(e),
    }
}

pub async fn remove_quarantine(State(app): State<AppState>, session: Session, Path(id): Path<i64>, Form(form): Form<FormMap>) -> Response {
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    match app.db.call(move |conn| Ok(community::remove_quarantine(conn, id))).await {
        Ok(Ok(())) => state_redirect("/quarantine"),
        Ok(Err(e)) => community_error(session.lang, &session, "quarantine", e),
        Err(e) => server_error(e),
    }
}

// ---- visitors (public) ----

async fn gate_name(app: &AppState, device: String) -> Result<Option<String>, Response> {
    app.db
        .call(move |conn| {
            Ok(conn
                .query_row("SELECT gate_name FROM devices WHERE id = ?1 AND revoked = 0", [device], |r| r.get::<_, String>(0))
                .optional()?)
        })
        .await
        .map_err(server_error)
}

pub async fn visitor_form(State(app): State<AppState>, headers: HeaderMap, Path(device): Path<String>) -> Response {
    let lang = lang_of(&headers);
    let gate = match gate_name(&app, device.clone()).await {
        Ok(Some(g)) => g,
        Ok(None) => return (StatusCode::NOT_FOUND, layout(lang, t(lang, "unknown_gate"), None, "")).into_response(),
        Err(r) => return r,
    };
    visitor_page(&app, &headers, &device, &gate, None, StatusCode::OK)
}

fn visitor_page(app: &AppState, headers: &HeaderMap, device: &str, gate: &str, error: Option<&str>, status: StatusCode) -> Response {
    let lang = lang_of(headers);
    let (token, set) = form_token(app, headers);
    let body = format!(
        "<p>{gate}</p><p>{hint}</p>{err}<form class=card method=post action=\"/v/{device}\">{csrf}\
<label>{unit}<input name=unit required maxlength=12 placeholder=3-502></label><label>{name}<input name=name maxlength=32></label>\
<button>{submit}</button></form>",
        gate = esc(gate),
        hint = t(lang, "visitor_hint"),
        err = error.map_or(String::new(), |e| format!("<p class=\"msg bad\">{}</p>", esc(e))),
        device = esc(device),
        csrf = hidden_csrf(&token),
        unit = t(lang, "unit"),
        name = t(lang, "visitor_name"),
        submit = t(lang, "submit"),
    );
    with_cookie((status, layout(lang, t(lang, "visitor_title"), None, &body)).into_response(), set)
}

pub async fn visitor_register(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(device): Path<String>,
    req: Request,
) -> Response {
    let (headers, form) = match limited_form(&app, peer, "visitor", req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let lang = lang_of(&headers);
    let gate = match gate_name(&app, device.clone()).await {
        Ok(Some(g)) => g,
        Ok(None) => return (StatusCode::NOT_FOUND, layout(lang, t(lang, "unknown_gate"), None, "")).into_response(),
        Err(r) => return r,
    };
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return visitor_page(&app, &headers, &device, &gate, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN);
    }
    let unit = field(&form, "unit").trim().to_string();
    let name: String = field(&form, "name").trim().chars().take(32).collect();
    let community = app.community.clone();
    let valid_s = app.config.visitor_pass_s;
    let result = app
        .db
        .call(move |conn| {
            // Visitors may only name a unit the committee knows.
            let known: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM residents WHERE unit = ?1) OR EXISTS (SELECT 1 FROM passes WHERE unit = ?1 AND role = 'resident')",
                [&unit],
                |r| r.get(0),
            )?;
            if unit.is_empty() || !known {
                return Ok(Err("unknown_unit"));
            }
            // A household under home quarantine receives no visitors.
            if community::unit_quarantined(conn, &unit, now_ms() / 1000)? {
                return Ok(Err("unit_quarantined"));
            }
            let req = PassRequest {
                role: Role::Visitor,
                unit,
                resident_id: None,
                valid_from: now_ms() / 1000 - 60,
                valid_s,
                flags: 0,
                visitor_name: (!name.is_empty()).then_some(name),
                gate: Some(gate),
            };
            Ok(Ok(community::issue_pass(conn, &community, &req)))
        })
        .await;
    match result {
        Ok(Ok(Ok(p))) => state_redirect(&format!("/p/{}", p.link_token)),
        Ok(Ok(Err(e))) => visitor_page(&app, &headers, &device, "", Some(&e.to_string()), StatusCode::BAD_REQUEST),
        Ok(Err(word)) => {
            let gate = gate_name(&app, device.clone()).await.ok().flatten().unwrap_or_default();
            visitor_page(&app, &headers, &device, &gate, Some(t(lang, word)), StatusCode::BAD_REQUEST)
        }
        Err(e) => server_error(e),
    }
}

// ---- entries, export ----

#[derive(serde::Deserialize)]
pub struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub async fn entries(State(app): State<AppState>, session: Session, Query(range): Query<Range>) -> Response {
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let rows = app
        .db
        .call(move |conn| {
            let sql = format!(
                "SELECT {SHOWN_MS}, d.gate_name, e.direction, e.decision, e.reason, p.unit, e.temp_centi, e.note, e.clock_synced, e.seq
                 FROM entries e JOIN devices d ON d.id = e.device
                 LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
                 LEFT JOIN passes p ON p.pass_id = e.pass_id
                 ORDER BY e.received_ms DESC, e.seq DESC LIMIT 200"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, bool>(8)?,
                        r.get::<_, i64>(9)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let from = if range.from.is_empty() { today.clone() } else { range.from.clone() };
    let to = if range.to.is_empty() { today } else { range.to.clone() };
    let mut body = format!(
        "<form class=card method=get action=/export.csv><label>{f}<input type=date name=from value=\"{from}\"></label>\
<label>{u}<input type=date name=to value=\"{to}\"></label><button>{export}</button></form>\
<div class=scroll><table><tr><th>{time}</th><th>{gate}</th><th>{dir}</th><th>{dec}</th><th>{reason}</th><th>{unit}</th><th>{temp}</th><th>{note}</th></tr>",
        f = t(lang, "from"),
        u = t(lang, "until"),
        from = esc(&from),
        to = esc(&to),
        export = t(lang, "export"),
        time = t(lang, "time"),
        gate = t(lang, "gate"),
        dir = t(lang, "direction"),
        dec = t(lang, "decision"),
        reason = t(lang, "reason"),
        unit = t(lang, "unit"),
        temp = t(lang, "temperature"),
        note = t(lang, "note"),
    );
    for (shown, gate, dir, decision, reason, unit, temp, note, synced, seq) in &rows {
        let word = |k: &str| if ["in", "out", "allow", "deny", "guard"].contains(&k) { t(lang, k).to_string() } else { esc(k) };
        let _ = write!(
            body,
            "<tr data-seq=\"{seq}\"><td>{time}{mark}</td><td>{gate}</td><td>{dir}</td><td class=\"{cls}\">{dec}</td><td>{reason}</td><td>{unit}</td><td>{temp}</td><td>{note}</td></tr>",
            time = fmt_ms(*shown, offset),
            mark = if *synced { String::new() } else { format!(" <span title=\"{}\">*</span>", t(lang, "corrected")) },
            gate = esc(gate),
            dir = word(dir),
            cls = if decision == "allow" { "ok" } else { "bad" },
            dec = word(decision),
            reason = esc(reason),
            unit = esc(unit.as_deref().unwrap_or("")),
            temp = temp.map_or(String::new(), |c| format!("{:.1} °C", c as f64 / 100.0)),
            note = esc(note.as_deref().unwrap_or("")),
        );
    }
    body.push_str("</table></div>");
    let mut html = layout(lang, t(lang, "entries"), Some(&session), &body).0;
    // Live view: reload every 10 s.
    html = html.replacen("<head>", "<head><meta http-equiv=refresh content=10>", 1);
    Html(html).into_response()
}

pub async fn export(State(app): State<AppState>, session: Session, Query(range): Query<Range>) -> Response {
    let offset = app.config.utc_offset_min;
    let (Some(from), Some(to)) = (parse_day(&range.from, offset), parse_day(&range.to, offset)) else {
        return message(session.lang, &session, "export", "dates must look like 2026-11-29", StatusCode::BAD_REQUEST);
    };
    let (from_ms, to_ms) = (from * 1000, (to + 86_400) * 1000);
    // Its own read connection on its own thread: the export streams from a
    // snapshot while kiosks push (WAL), and the writer is never held.
    let conn = match app.db.reader() {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let result = export_csv(&conn, from_ms, to_ms, offset, &mut |chunk| tx.blocking_send(Ok(chunk)).is_ok());
        if let Err(e) = result {
            tracing::error!(error = %e, "export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"entries-{}-{}.csv\"", range.from, range.to)),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

