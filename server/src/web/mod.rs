//! The committee's web pages: server-rendered HTML that works on a phone.
//!
//! Security model: argon2 password hashes; a random session token in an
//! `HttpOnly; SameSite=Strict` cookie, stored only as its SHA-256; every
//! form carries a CSRF token (per session, or a double-submit cookie before
//! login and on the public visitor form). Every value put into HTML goes
//! through [`esc`]; every SQL statement binds its parameters. What an
//! account may open or do is its role's, per its page's table (`site`),
//! checked by the [`Member`] extractor before the handler runs.

mod accounts;
mod alerts;
mod audit;
mod chart;
mod checkins;
mod dashboard;
mod district;
mod entries;
mod evidence;
mod fleet;
mod frame;
mod gates;
mod home;
mod hours;
mod import;
mod keys;
mod login;
mod outside;
mod passes;
mod password;
mod phone;
mod print;
mod quarantine;
mod receipt;
mod register;
mod residents;
mod returnee_list;
mod returnees;
mod roster;
mod sensors;
pub mod site;
mod summary;
mod trends;
mod updates;
mod visitors;
mod volunteers;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use shoumen_protocol::Role;

use crate::db::now_ms;
use crate::leaves::roles::{AccountRole, Perm};
use crate::leaves::secrets::{random_token, sha256_hex};
pub use crate::leaves::time::fmt_ms;
pub use crate::leaves::time::{fmt_day, fmt_last_day, parse_day};
pub use crate::leaves::words::{self as i18n, alert_text, reason_text, t, tf, Lang};
use crate::records::audit::Actor;
use crate::AppState;
pub use frame::{frame, live_frame, title_page, WebError};
pub use login::argon2_hash;
pub use register::{FORM_BODY_LIMIT as REGISTER_BODY_LIMIT, RECEIPT_LIMIT};

const SESSION_COOKIE: &str = "sm_session";
const FORM_COOKIE: &str = "sm_form";
const SESSION_MS: i64 = 12 * 3600 * 1000;
/// Public forms (login, visitors) are a few fields: 16 KiB is plenty.
const FORM_LIMIT: usize = 16 << 10;

/// Every page, from the pages' tables (`site`).
pub fn routes() -> Router<AppState> {
    site::router()
}

/// What every page may load: its own inline styles, its own images and the
/// QR codes' data URLs; no scripts, no framing, forms only to this site.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page with a script (the returnee's form and signature, a phone pass):
/// a fresh nonce in its own CSP. Every other page allows no script.
pub fn scripted(status: StatusCode, lang: Lang, title: &str, body: maud::Markup, nonce: &str) -> Response {
    scripted_for(status, lang, title, None, body, nonce)
}

/// The same with the menu of a logged-in account.
pub fn scripted_for(
    status: StatusCode,
    lang: Lang,
    title: &str,
    session: Option<&Session>,
    body: maud::Markup,
    nonce: &str,
) -> Response {
    let mut resp = (status, frame(lang, title, session, body)).into_response();
    let csp = format!("{CSP}; script-src 'nonce-{nonce}'; connect-src 'self'");
    resp.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, axum::http::HeaderValue::from_str(&csp).expect("ascii CSP"));
    resp
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The page language: the `lang` cookie, else the browser's preference.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    if let Some(l) = cookie(headers, "lang").and_then(Lang::parse) {
        return l;
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.trim_start().starts_with("en") {
        Lang::En
    } else {
        Lang::Zh
    }
}

/// A logged-in account: of one community, or of the district.
pub struct Session {
    pub user_id: i64,
    pub user: String,
    /// `None`: a district account, which sees the overview of every
    /// community and changes nothing.
    pub community: Option<String>,
    pub csrf: String,
    pub lang: Lang,
    /// The account's role in its community (a district account's is not
    /// used: it reads overviews only).
    pub role: AccountRole,
    /// A property account's gates; `None`: every gate.
    pub gates: Option<Vec<String>>,
    /// Alerts nobody has acknowledged yet: the navigation shows the count.
    pub open_alerts: i64,
    /// The community's display name and city, for the header and the
    /// words that say 返{city}.
    pub place: crate::leaves::place::Place,
}

impl Session {
    /// Whether this account may send the form that posts to `path`, by the
    /// same table the router enforces: a page shows only the forms its
    /// reader may use.
    pub fn may_post(&self, path: &str) -> bool {
        match site::access("POST", path) {
            Some(site::Access::Member(perm)) => self.community.is_some() && self.role.may(perm),
            Some(site::Access::Account | site::Access::Public) => true,
            None => false,
        }
    }

    /// Whether a form carries this session's CSRF token.
    pub fn csrf_ok(&self, form: &HashMap<String, String>) -> bool {
        form.get("csrf").is_some_and(|sent| !sent.is_empty() && *sent == self.csrf)
    }

    /// The words of `key` in this account's language, with its city.
    pub fn w(&self, key: &str) -> String {
        self.place.say(t(self.lang, key))
    }

    /// The same, as a page's answer when it does not.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), WebError> {
        if self.csrf_ok(form) {
            Ok(())
        } else {
            Err(WebError::csrf(self.lang))
        }
    }
}

/// The hidden form field with the CSRF token.
pub fn csrf_field(token: &str) -> maud::Markup {
    maud::html! { input type="hidden" name="csrf" value=(token); }
}

/// Pages that need a login take `Session`; without one the browser is sent
/// to the login page.
impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Session, Response> {
        let lang = lang_of(&parts.headers);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(sha256_hex) else {
            return Err(Redirect::to("/login").into_response());
        };
        let found = app
            .db
            .call(move |conn| crate::records::accounts::session(conn, &token, now_ms()))
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        let Some(s) = found else { return Err(Redirect::to("/login").into_response()) };
        // An unknown stored role reads as the narrowest one.
        let role = AccountRole::parse(&s.role).unwrap_or(AccountRole::Volunteer);
        let gates = s.gates.map(|g| g.split(',').map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect());
        Ok(Session {
            user_id: s.user_id,
            user: s.user,
            community: s.community,
            csrf: s.csrf,
            lang,
            role,
            gates,
            open_alerts: s.open_alerts,
            place: s.place,
        })
    }
}

/// A logged-in account of one community: every page that shows or changes
/// a community's records takes this, and reads and writes only `community`.
/// Its role holds the permission the route needs (see `site`).
pub struct Member {
    pub session: Session,
    pub community: String,
    /// The client's address, for the audit trail.
    pub ip: String,
}

impl Member {
    /// Who is acting, for the audit trail.
    pub fn actor(&self) -> Actor {
        Actor { community: self.community.clone(), user: self.session.user.clone(), ip: self.ip.clone() }
    }

    pub fn may(&self, perm: Perm) -> bool {
        self.session.role.may(perm)
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Member, Response> {
        let session = Session::from_request_parts(parts, app).await?;
        // The district reads the overview; a community's pages are not theirs.
        let Some(community) = session.community.clone() else { return Err(Redirect::to("/district").into_response()) };
        let route =
            parts.extensions.get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
        let allowed = match site::access(parts.method.as_str(), &route) {
            Some(site::Access::Member(perm)) => session.role.may(perm),
            other => {
                tracing::error!(route, method = %parts.method, ?other, "a community page without a permission in its table; refused to everyone");
                false
            }
        };
        if !allowed {
            return Err(refused(&session));
        }
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip = peer.map_or_else(String::new, |p| app.client_ip(p, &parts.headers).to_string());
        Ok(Member { session, community, ip })
    }
}

/// The answer to a page or action the account's role does not allow.
pub fn refused(session: &Session) -> Response {
    WebError::refused(session).into_response()
}

/// Records a member's action in the community's audit trail.
pub async fn record_action(app: &AppState, m: &Member, action: &'static str, detail: String) {
    record_as(app, m.actor(), action, detail).await;
}

/// Records an action by `actor` (a member, or someone on a public page);
/// a failure to record is logged (the change itself is already stored).
pub async fn record_as(app: &AppState, actor: Actor, action: &'static str, detail: String) {
    if let Err(e) =
        app.db.call(move |conn| crate::records::audit::record(conn, &actor, action, &detail, now_ms())).await
    {
        tracing::error!(error = %e, action, "could not record an action in the audit trail");
    }
}

/// Form fields as a map, so a missing or odd field gives a clear message
/// instead of a bare 422.
pub type FormMap = HashMap<String, String>;

pub fn field<'a>(form: &'a FormMap, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}

/// A stored role in the page's language (roles are stored as their codes;
/// an unknown one is shown as it is).
pub fn role_text(lang: Lang, role: &str) -> String {
    match Role::ALL.iter().find(|r| r.as_str() == role) {
        Some(r) => t(lang, r.as_str()).to_string(),
        None => role.to_string(),
    }
}

/// Adds the form-token cookie, if [`form_token`] made a new one.
pub fn with_cookie(mut resp: Response, set: Option<String>) -> Response {
    if let Some(c) = set {
        resp.headers_mut().append(header::SET_COOKIE, c.parse().expect("ascii cookie"));
    }
    resp
}

/// Reads a form body once the client has passed the rate limit for
/// `purpose`: a flood is turned away before its bodies are read.
pub async fn limited_form(
    app: &AppState,
    peer: SocketAddr,
    purpose: &'static str,
    req: Request,
) -> Result<(HeaderMap, FormMap), Response> {
    let headers = req.headers().clone();
    if !app.limiter.allow(purpose, app.client_ip(peer.ip(), &headers)) {
        let lang = lang_of(&headers);
        return Err(WebError::rate_limited(lang).into_response());
    }
    match Form::<FormMap>::from_request(req, app).await {
        Ok(Form(form)) => Ok((headers, form)),
        Err(e) => Err(e.into_response()),
    }
}

/// Starts a session for `user_id`; returns the Set-Cookie value.
pub async fn create_session(app: &AppState, user_id: i64) -> Result<String, Response> {
    let token = random_token() + &random_token();
    let hashed = sha256_hex(&token);
    let csrf = random_token();
    app.db
        .call(move |conn| {
            crate::records::accounts::create_session(conn, &hashed, user_id, &csrf, now_ms(), now_ms() + SESSION_MS)
        })
        .await
        .map_err(|e| WebError::from(e).into_response())?;
    Ok(set_cookie(app, SESSION_COOKIE, &token, SESSION_MS / 1000))
}

/// Logs `user_id` in and sends the browser to its home page.
pub async fn logged_in(app: &AppState, user_id: i64) -> Response {
    match create_session(app, user_id).await {
        Ok(cookie) => {
            let mut resp = state_redirect("/");
            resp.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("ascii cookie"));
            resp
        }
        Err(r) => r,
    }
}

pub fn set_cookie(app: &AppState, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// A double-submit token for forms shown before login: the same random
/// value in a cookie and in the form. Reuses the browser's cookie if set.
pub fn form_token(app: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, FORM_COOKIE) {
        Some(t) if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (t.to_string(), None),
        _ => {
            let t = random_token();
            let c = set_cookie(app, FORM_COOKIE, &t, 3600);
            (t, Some(c))
        }
    }
}

pub fn form_token_ok(headers: &HeaderMap, submitted: &str) -> bool {
    cookie(headers, FORM_COOKIE).is_some_and(|c| !c.is_empty() && c == submitted)
}

/// A QR code of `text` as inline SVG. The library draws only modules (no
/// text of ours goes into the SVG), so its output is markup as it is.
pub fn qr_code(text: &str) -> maud::Markup {
    use qrcode::render::svg;
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => maud::PreEscaped(code.render::<svg::Color>().min_dimensions(280, 280).quiet_zone(true).build()),
        Err(e) => maud::html! { p.bad { "QR: " (e.to_string()) } },
    }
}

/// A path segment or query value, percent-encoded.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn state_redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_a_page_is_escaped() {
        let page =
            frame(Lang::En, "<script>alert('x')</script>", None, maud::html! { p { "a & \"b\"" } }).into_string();
        assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt;"), "{page}");
        assert!(page.contains("a &amp; &quot;b&quot;") && !page.contains("<script>"), "{page}");
    }

    #[test]
    fn days_are_local_midnights() {
        // 2026-11-29 00:00 in UTC+8 is 2026-11-28 16:00 UTC.
        assert_eq!(parse_day("2026-11-29", 480), Some(1_795_910_400 - 8 * 3600));
        assert_eq!(fmt_ms((1_795_910_400 - 8 * 3600) * 1000, 480), "2026-11-29 00:00:00");
        assert_eq!(parse_day("29.11.2026", 480), None);
        assert_eq!(parse_day("-262143-01-01", 480), None, "a date no page can show");
        assert_eq!(fmt_day(i64::MIN / 2, 480), "?");
    }
}
