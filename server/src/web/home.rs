//! A quarantined person's own page (`/c/<community>/<link>`): the morning
//! and evening check-in in one tap, and requests for groceries, medicine,
//! rubbish collection or medical help, with their status. Plain forms, no
//! script: it works on old phones.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{
    csrf_field, field, fmt_last_day, fmt_ms, form_token, form_token_ok, frame, lang_of, limited_form, t, urlencode,
    with_cookie, FormMap, Lang, WebError,
};
use crate::db::now_ms;
use crate::records::checkins::{self, CheckinError, Person, KINDS};
use crate::records::returnees::Kind;
use crate::AppState;

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

async fn person(app: &AppState, community: &str, token: &str) -> Result<Option<Person>, WebError> {
    let (c, tk) = (community.to_string(), token.to_string());
    // A link anyone may open, again and again: read off the writer.
    Ok(app.db.read(move |conn| checkins::person(conn, &c, &tk, now_ms() / 1000)).await?)
}

fn gone(lang: Lang) -> Response {
    let body = html! { p { (t(lang, "link_not_valid_help")) } };
    (StatusCode::NOT_FOUND, frame(lang, t(lang, "link_not_valid"), None, body)).into_response()
}

pub async fn page(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((community, token)): Path<(String, String)>,
) -> Result<Response, WebError> {
    if !app.limiter.allow("checkin", app.client_ip(peer.ip(), &headers)) {
        return Err(WebError::rate_limited(lang_of(&headers)));
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
) -> Result<Response, WebError> {
    let lang = lang_of(headers);
    let Some(p) = person(app, community, token).await? else { return Ok(gone(lang)) };
    let (c, key, offset) = (community.to_string(), p.key.clone(), app.config.utc_offset_min);
    let (last, requests) = app
        .db
        .read(move |conn| Ok((checkins::last_report(conn, &c, &key)?, checkins::requests_of(conn, &c, &key)?)))
        .await?;
    let (form_token, set) = form_token(app, headers);
    let action = format!("/c/{}/{}", urlencode(community), urlencode(token));
    let last = last.map_or_else(
        || t(lang, "no_report").to_string(),
        |(_, _, temp, s, at)| format!("{temp} °C{} · {}", if s { " ⚠" } else { "" }, fmt_ms(at, offset)),
    );
    let period = t(lang, if p.kind == Kind::Notice { "reg_quarantine_until" } else { "reg_monitoring_until" });
    let body = html! {
        @if let Some(n) = note { p.msg #note { (n) } }
        p { (p.name) " · " (p.unit) " · " (period) " " (fmt_last_day(p.until_s, offset)) }
        p #last { (t(lang, "last_report")) ": " (last) }
        form.card method="post" action={ (action) "/checkin" } {
            (csrf_field(&form_token))
            label {
                (t(lang, "checkin_temperature"))
                input name="temperature" inputmode="decimal" maxlength="4" required placeholder="36.5";
            }
            button name="symptoms" value="no" { (t(lang, "checkin_fine")) } " "
            button.danger name="symptoms" value="yes" { (t(lang, "checkin_unwell")) }
        }
        h2 { (t(lang, "ask_for_help")) }
        form.card method="post" action={ (action) "/request" } {
            (csrf_field(&form_token))
            label {
                (t(lang, "request"))
                select name="kind" { @for k in KINDS { option value=(k) { (t(lang, &format!("request_{k}"))) } } }
            }
            label { (t(lang, "note")) input name="note" maxlength="200"; }
            button { (t(lang, "submit")) }
        }
        @if !requests.is_empty() {
            h2 { (t(lang, "my_requests")) }
            div.scroll {
                table #requests {
                    tr {
                        th { (t(lang, "request")) } th { (t(lang, "asked_at")) } th { (t(lang, "status")) }
                        th { (t(lang, "helper")) }
                    }
                    @for r in &requests {
                        tr {
                            td { (t(lang, &format!("request_{}", r.kind))) @if !r.note.is_empty() { (if lang == Lang::Zh { "：" } else { ": " }) (r.note) } }
                            td { (fmt_ms(r.asked_ms, offset)) }
                            td {
                                @match (&r.taken_by, r.done_ms) {
                                    (_, Some(_)) => (t(lang, "task_done")),
                                    (Some(_), None) => (t(lang, "task_taken")),
                                    (None, None) => (t(lang, "task_open")),
                                }
                            }
                            // Whom to expect, and their number, once someone took it.
                            td {
                                @if let Some(by) = &r.taken_by {
                                    (if r.taker_name.is_empty() { by } else { &r.taker_name })
                                    @if !r.taker_phone.is_empty() { " " a href={ "tel:" (r.taker_phone) } { (r.taker_phone) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(with_cookie((status, frame(lang, t(lang, "home_page"), None, body)).into_response(), set))
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
        return Err(WebError::csrf(lang_of(&headers)).into_response());
    }
    match person(app, community, token).await.map_err(IntoResponse::into_response)? {
        Some(p) => Ok((headers, form, p)),
        None => Err(gone(lang_of(&headers))),
    }
}

pub async fn check_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((community, token)): Path<(String, String)>,
    req: Request,
) -> Result<Response, WebError> {
    let (headers, form, p) = match open(&app, peer, &community, &token, req).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
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
) -> Result<Response, WebError> {
    let (headers, form, p) = match open(&app, peer, &community, &token, req).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
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
) -> Result<Response, WebError> {
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
        Ok(Err(CheckinError::Db(e))) | Err(e) => Err(e.into()),
    }
}
