//! The public visitor form at a gate (`/v/<kiosk>`): a visitor names the
//! unit they visit and gets a short pass of that gate's community.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use shoumen_protocol::Role;

use super::{
    csrf_field, field, form_token, form_token_ok, frame, lang_of, limited_form, state_redirect, t, title_page,
    with_cookie, WebError,
};
use crate::db::now_ms;
use crate::records::community::{self, PassRequest};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/v/{gate}/returnee", Access::Public, returnee)
        .get("/v/{gate}", Access::Public, form)
        .post("/v/{gate}", Access::Public, register)
        .body_limit(super::FORM_LIMIT)
}

/// The gate name and community of a kiosk in service.
async fn gate_of(app: &AppState, device: String) -> Result<Option<(String, String)>, WebError> {
    Ok(app.db.call(move |conn| crate::records::devices::in_service(conn, &device)).await?)
}

fn unknown_gate(headers: &HeaderMap) -> Response {
    title_page(lang_of(headers), StatusCode::NOT_FOUND, "unknown_gate")
}

pub async fn form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(device): Path<String>,
) -> Result<Response, WebError> {
    Ok(match gate_of(&app, device.clone()).await? {
        Some((gate, _)) => page(&app, &headers, &device, &gate, None, StatusCode::OK),
        None => unknown_gate(&headers),
    })
}

fn page(
    app: &AppState,
    headers: &HeaderMap,
    device: &str,
    gate: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = lang_of(headers);
    let (token, set) = form_token(app, headers);
    let body = html! {
        p { (gate) }
        p { (t(lang, "visitor_hint")) }
        @if let Some(e) = error { p.msg.bad { (e) } }
        form.card method="post" action={ "/v/" (device) } {
            (csrf_field(&token))
            label { (t(lang, "unit")) input name="unit" required maxlength="24" placeholder="3-502"; }
            label { (t(lang, "visitor_name")) input name="name" maxlength="32"; }
            button { (t(lang, "submit")) }
        }
    };
    with_cookie((status, frame(lang, t(lang, "visitor_title"), None, body)).into_response(), set)
}

pub async fn register(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(device): Path<String>,
    req: Request,
) -> Result<Response, WebError> {
    let (headers, form) = match limited_form(&app, peer, "visitor", req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    let Some((gate, community_id)) = gate_of(&app, device.clone()).await? else {
        return Ok(unknown_gate(&headers));
    };
    if !form_token_ok(&headers, field(&form, "csrf")) {
        return Ok(page(&app, &headers, &device, &gate, Some(t(lang, "csrf_failed")), StatusCode::FORBIDDEN));
    }
    let unit = crate::leaves::text::normalize_unit(field(&form, "unit"));
    let name: String = field(&form, "name").trim().chars().take(32).collect();
    let community = app.community(&community_id).await?;
    let valid_s = app.config.visitor_pass_s;
    let pass_gate = gate.clone();
    // A visitor's registration is a change like any other: recorded, by
    // unit and gate (not the visitor's name, which retention deletes).
    let actor = crate::records::audit::Actor {
        community: community.id.clone(),
        user: "visitor (public form)".into(),
        ip: app.client_ip(peer.ip(), &headers).to_string(),
    };
    let result = app
        .db
        .call(move |conn| {
            // Visitors may only name a unit the gate's community knows.
            if unit.is_empty() || !community::unit_known(conn, &community.id, &unit)? {
                return Ok(Err("unknown_unit"));
            }
            // A household under home quarantine receives no visitors.
            if community::unit_quarantined(conn, &community.id, &unit, now_ms() / 1000)? {
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
                gate: Some(pass_gate),
            };
            let (unit, gate) = (req.unit.clone(), req.gate.clone().unwrap_or_default());
            let issued = community::issue_pass(conn, &community, &req);
            if let Ok(p) = &issued {
                let detail = crate::leaves::detail::Detail::new(
                    "visitor_register",
                    [
                        crate::leaves::detail::Arg::Pass(p.pass_id.to_hex()),
                        crate::leaves::detail::Arg::from(unit.as_str()),
                        crate::leaves::detail::Arg::from(gate.as_str()),
                    ],
                )
                .encode();
                crate::records::audit::record(conn, &actor, "visitor.register", &detail, now_ms())?;
            }
            Ok(Ok(issued))
        })
        .await;
    Ok(match result? {
        Ok(Ok(p)) => state_redirect(&format!("/p/{}", p.link_token)),
        Ok(Err(e)) => page(&app, &headers, &device, &gate, Some(&e.to_string()), StatusCode::BAD_REQUEST),
        Err(word) => page(&app, &headers, &device, &gate, Some(t(lang, word)), StatusCode::BAD_REQUEST),
    })
}

/// The kiosk's second code: on to the registration form of the gate's
/// community (the kiosk knows its visitor address, not its community).
pub async fn returnee(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(device): Path<String>,
) -> Result<Response, WebError> {
    Ok(match gate_of(&app, device).await? {
        Some((_, community)) => state_redirect(&format!("/r/{community}")),
        None => unknown_gate(&headers),
    })
}
