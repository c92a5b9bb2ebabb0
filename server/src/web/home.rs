//! A quarantined person's own page (`/c/<community>/<link>`): the morning
//! and evening check-in in one tap, and requests for groceries, medicine,
//! rubbish collection or medical help, with their status. Plain forms, no
//! script: it works on old phones.

use std::fmt::Write;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::checkins::{self, CheckinError, Person, KINDS};
use crate::records::returnees::Kind;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/c/{community}/{token}", Access::Public, page)
        .post("/c/{community}/{token}/checkin", Access::Public, check_in)
        .body_limit(super::FORM_LIMIT)
        .post("/c/{community}/{token}/request", Access::Public, request)
        .body_limit(super::FORM_LIMIT)
}

async fn person(app: &AppState, community: &str, token: &str) -> Result<Option<Person>, Response> {
    let (c, tk) = (community.to_string(), token.to_string());
    // A link anyone may open, again and again: read off the writer.
    app.db.read(move |conn| checkins::person(conn, &c, &tk, now_ms() / 1000)).await.map_err(server_error)
}

fn gone(lang: Lang) -> Response {
    (
        StatusCode::NOT_FOUND,
        layout(lang, t(lang, "link_not_valid"), None, &format!("<p>{}</p>", t(lang, "link_not_valid_help"))),
    )
        .into_response()
}

pub async fn page(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((community, token)): Path<(String, String)>,
) -> Response {
    if !app.limiter.allow("checkin", app.client_ip(peer.ip(), &headers)) {
        let lang = lang_of(&headers);
        return (StatusCode::TOO_MANY_REQUESTS, layout(lang, t(lang, "rate_limited"), None, "")).into_response();
    }
    show(&app, &headers, &community, &token, None, StatusCode::OK).await
}

async fn show(
    app: &AppState,
    headers: &HeaderMap,
    community: &str,
    token: &str,
    note: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = lang_of(headers);
    let p = match person(app, community, token).await {
        Ok(Some(p)) => p,
        Ok(None) => return gone(lang),
        Err(r) => return r,
    };
    let (c, key, offset) = (community.to_string(), p.key.clone(), app.config.utc_offset_min);
    let found = app
        .db
        .read(move |conn| Ok((checkins::last_report(conn, &c, &key)?, checkins::requests_of(conn, &c, &key)?)))
        .await;
    let (last, requests) = match found {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    let (form_token, set) = form_token(app, headers);
    let csrf = hidden_csrf(&form_token);
    let action = format!("/c/{}/{}", esc(community), esc(token));
    let mut body = format!(
        "{note}<p>{who} · {unit} · {period} {until}</p><p id=last>{last_l}: {last}</p>\
<form class=card method=post action=\"{action}/checkin\">{csrf}<label>{temp_l}<input name=temperature inputmode=decimal maxlength=4 required placeholder=36.5></label>\
<button name=symptoms value=no>{fine}</button> <button name=symptoms value=yes class=danger>{unwell}</button></form>",
        note = note.map_or(String::new(), |n| format!("<p class=msg id=note>{}</p>", esc(n))),
        who = esc(&p.name),
        unit = esc(&p.unit),
        period = t(lang, if p.kind == Kind::Notice { "reg_quarantine_until" } else { "reg_monitoring_until" }),
        until = fmt_day(p.until_s - 1, offset),
        last_l = t(lang, "last_report"),
        last = last.map_or_else(|| t(lang, "no_report").to_string(), |(_, _, temp, s, at)| format!("{temp} °C{} · {}", if s { " ⚠" } else { "" }, fmt_ms(at, offset))),
        temp_l = t(lang, "checkin_temperature"),
        fine = t(lang, "checkin_fine"),
        unwell = t(lang, "checkin_unwell"),
    );
    let options: String =
        KINDS.iter().map(|k| format!("<option value={k}>{}</option>", t(lang, &format!("request_{k}")))).collect();
    let _ = write!(
        body,
        "<h2>{ask_l}</h2><form class=card method=post action=\"{action}/request\">{csrf}<label>{what}<select name=kind>{options}</select></label>\
<label>{note_l}<input name=note maxlength=200></label><button>{send}</button></form><table id=requests>",
        ask_l = t(lang, "ask_for_help"),
        what = t(lang, "request"),
        note_l = t(lang, "note"),
        send = t(lang, "submit"),
    );
    for r in &requests {
        let status = match (&r.taken_by, r.done_ms) {
            (_, Some(_)) => t(lang, "task_done"),
            (Some(_), None) => t(lang, "task_taken"),
            (None, None) => t(lang, "task_open"),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{status}</td></tr>",
            t(lang, &format!("request_{}", r.kind)),
            fmt_ms(r.asked_ms, offset)
        );
    }
    body.push_str("</table>");
    with_cookie((status, layout(lang, t(lang, "home_page"), None, &body)).into_response(), set)
}

/// Reads a form from the personal page (under the rate limit, with its
/// form token) and the person its link names.
async fn open(
    app: &AppState,
    peer: SocketAddr,
    community: &str,
    token: &str,
    req: Request,
) -> Result<(HeaderMap, FormMap, Person), Response> {
    let (headers, form) = limited_form(app, peer, "checkin", req).await?;
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return Err(forbidden(lang_of(&headers)));
    }
    match person(app, community, token).await? {
        Some(p) => Ok((headers, form, p)),
        None => Err(gone(lang_of(&headers))),
    }
}

pub async fn check_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((community, token)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, form, p) = match open(&app, peer, &community, &token, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (c, temp, symptoms, offset) = (
        community.clone(),
        field(&form, "temperature").to_string(),
        field(&form, "symptoms") == "yes",
        app.config.utc_offset_min,
    );
    let done = app.db.call(move |conn| Ok(checkins::check_in(conn, &c, &p, &temp, symptoms, now_ms(), offset))).await;
    answer(&app, &headers, &community, &token, done.map(|r| r.map(|alert| alert.is_some())), "checkin_thanks").await
}

pub async fn request(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((community, token)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (headers, form, p) = match open(&app, peer, &community, &token, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (c, kind, note) = (community.clone(), field(&form, "kind").to_string(), field(&form, "note").to_string());
    let done = app.db.call(move |conn| Ok(checkins::ask(conn, &c, &p, &kind, &note, now_ms()))).await;
    answer(&app, &headers, &community, &token, done.map(|r| r.map(|(_, alert)| alert.is_some())), "request_thanks")
        .await
}

/// The page again, saying what happened.
async fn answer(
    app: &AppState,
    headers: &HeaderMap,
    community: &str,
    token: &str,
    done: Result<Result<bool, CheckinError>, crate::db::DbError>,
    thanks: &str,
) -> Response {
    let lang = lang_of(headers);
    match done {
        Ok(Ok(alerted)) => {
            if alerted {
                app.bell.notify_one();
            }
            let text = if alerted {
                format!("{} {}", t(lang, thanks), t(lang, "committee_told"))
            } else {
                t(lang, thanks).to_string()
            };
            show(app, headers, community, token, Some(&text), StatusCode::OK).await
        }
        Ok(Err(CheckinError::Invalid(key))) => {
            show(app, headers, community, token, Some(t(lang, key)), StatusCode::BAD_REQUEST).await
        }
        Ok(Err(CheckinError::Db(e))) | Err(e) => server_error(e),
    }
}
