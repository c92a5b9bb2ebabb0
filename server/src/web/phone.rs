//! A phone pass on its phone: the page that binds the phone's key to the
//! pass on first visit and then shows a code that changes every 10 s, and
//! the endpoint the binding posts to. The format of the code is in
//! `shoumen_protocol::holder`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped};
use shoumen_protocol::HolderKey;

use super::{field, fmt_ms, lang_of, role_text, scripted, t, FormMap, Lang, WebError};
use crate::db::now_ms;
use crate::records::community::{self, BindError, PassRow};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new().post("/p/{token}/holder", Access::Public, bind).body_limit(super::FORM_LIMIT)
}

const QRCODE_JS: &str = include_str!("../../assets/qrcode.js");
const PHONE_JS: &str = include_str!("../../assets/phone.js");

/// The page of a phone pass: `extra` (household, check-in link) below the code.
pub fn live_page(app: &AppState, lang: Lang, token: &str, p: &PassRow, extra: Markup) -> Response {
    let nonce = crate::leaves::secrets::random_token();
    let (holder, pass) = match &p.holder {
        Some(h) => (h.as_str(), p.text.as_str()),
        None => ("", ""),
    };
    let body = html! {
        style { "#live svg{width:100%;max-width:30em;height:auto}" }
        p { (t(lang, "phone_live_hint")) }
        div.qr #live data-pass-id=(p.pass_id) data-holder=(holder) data-pass=(pass)
            data-bind={ "/p/" (token) "/holder" } data-now=(now_ms())
            data-msg-live=(t(lang, "phone_live")) data-msg-other=(t(lang, "phone_other"))
            data-msg-no-crypto=(t(lang, "phone_no_crypto")) data-msg-setting-up=(t(lang, "phone_setting_up")) {}
        p #live-status .msg { (t(lang, "phone_setting_up")) }
        noscript { p.bad { (t(lang, "phone_no_crypto")) } }
        p { b { (p.unit) } " · " (role_text(lang, &p.role)) " · " (t(lang, "phone_pass")) }
        p { (t(lang, "valid_until")) ": " (fmt_ms(p.expires_at * 1000, app.config.utc_offset_min)) }
        (extra)
        // Our own scripts, allowed by this page's nonce.
        script nonce=(nonce) { (PreEscaped(QRCODE_JS)) }
        script nonce=(nonce) { (PreEscaped(PHONE_JS)) }
    };
    let mut resp = scripted(StatusCode::OK, lang, t(lang, "passes"), body, &nonce);
    // A pass page is a credential: keep it out of shared caches.
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /p/{token}/holder` with `alg` (Ed25519 or P-256) and `key` (the
/// public key as WebCrypto exports it, hex): binds the pass on first use and
/// answers `{"pass": …, "holder": …}`. The link's token is the credential.
pub async fn bind(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<FormMap>,
) -> Response {
    let lang = lang_of(&headers);
    let refuse = |status: StatusCode, key: &str| (status, t(lang, key)).into_response();
    let ip = app.client_ip(peer.ip(), &headers);
    if !app.limiter.allow("visitor", ip) {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    let raw = match hex::decode(field(&form, "key")) {
        Ok(raw) if raw.len() <= 65 => raw,
        _ => return refuse(StatusCode::BAD_REQUEST, "phone_bad_key"),
    };
    let holder = match HolderKey::from_webcrypto(field(&form, "alg"), &raw) {
        Ok(h) => h,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "phone_bad_key"),
    };
    let t2 = token.clone();
    let (owner, pass_id) = match app.db.call(move |conn| community::pass_by_link(conn, &t2)).await {
        Ok(Some(p)) => (p.community, p.pass_id),
        Ok(None) => return refuse(StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return WebError::from(e).into_response(),
    };
    let community = match app.community(&owner).await {
        Ok(c) => c,
        Err(e) => return WebError::from(e).into_response(),
    };
    let bound = app
        .db
        .call(move |conn| {
            let actor = crate::records::audit::Actor {
                community: community.id.clone(),
                user: "phone (pass link)".into(),
                ip: ip.to_string(),
            };
            Ok(crate::ops::passes::bind_phone(conn, &actor, &community, &token, &pass_id, holder))
        })
        .await;
    match bound {
        Ok(Ok(text)) => {
            let answer = serde_json::json!({ "pass": text, "holder": String::from(holder) });
            ([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response()
        }
        Ok(Err(BindError::NotFound)) => refuse(StatusCode::NOT_FOUND, "not_found"),
        Ok(Err(BindError::Gone)) => refuse(StatusCode::GONE, "pass_not_valid"),
        Ok(Err(BindError::NotPhone)) => refuse(StatusCode::CONFLICT, "phone_not_phone"),
        Ok(Err(BindError::OtherPhone)) => refuse(StatusCode::CONFLICT, "phone_other"),
        Ok(Err(BindError::Db(e))) | Err(e) => WebError::from(e).into_response(),
    }
}
