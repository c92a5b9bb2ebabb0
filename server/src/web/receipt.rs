//! The returnee's receipt (`/r/<community>/receipt/<token>`) and the
//! public `/verify` page, where anyone checks a receipt: the record's hash,
//! its inclusion proof and the checkpoint's signature.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shoumen_protocol::evidence::{Head, Receipt};

use super::*;
use crate::records::registrations::{self, Registration};
use crate::records::returnees::Kind;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/r/{community}/receipt/{token}", Access::Public, page)
        .get("/r/{community}/receipt/{token}/json", Access::Public, json)
        .get("/verify", Access::Public, verify_page)
        .post("/verify", Access::Public, verify)
        .body_limit(super::register::RECEIPT_LIMIT)
}

/// A registration, its receipt (while its personal fields are kept) and
/// its check-in link.
type Loaded = (Registration, Option<Receipt>, String);

async fn load(app: &AppState, community: String, token: String) -> Result<Option<Loaded>, Response> {
    let found = app
        .db
        .call(move |conn| {
            let Some(reg) = registrations::by_token(conn, &community, &token)? else { return Ok(Ok(None)) };
            let link = crate::records::checkins::token(conn, &community, &format!("n{}", reg.id))?;
            Ok(registrations::receipt(conn, &community, &reg).map(|r| Some((reg, r, link))))
        })
        .await;
    match found {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(server_error(e)),
        Err(e) => Err(server_error(e)),
    }
}

fn gone(lang: Lang) -> Response {
    (StatusCode::NOT_FOUND, layout(lang, t(lang, "not_found"), None, "")).into_response()
}

/// What the registration set in motion, in words.
pub fn consequence(lang: Lang, reg: &Registration, offset: i32) -> String {
    let key = if reg.kind == Kind::Notice { "reg_quarantine_until" } else { "reg_monitoring_until" };
    format!("{} {} ({} {})", t(lang, key), fmt_day(reg.until_s - 1, offset), t(lang, "unit"), esc(&reg.unit))
}

pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((community, token)): Path<(String, String)>,
) -> Response {
    let lang = lang_of(&headers);
    let offset = app.config.utc_offset_min;
    let (reg, receipt, link) = match load(&app, community.clone(), token.clone()).await {
        Ok(Some(v)) => v,
        Ok(None) => return gone(lang),
        Err(r) => return r,
    };
    let url = format!("{}/r/{}/receipt/{}", app.config.public_url.trim_end_matches('/'), community, token);
    let mut body = format!(
        "<p class=msg id=code>{} <b>{}</b></p><p id=consequence>{}</p><p>{} <b>{}</b> v{} · {} {}</p>",
        t(lang, "reg_code"),
        esc(&reg.code),
        consequence(lang, &reg, offset),
        t(lang, "reg_signed_doc"),
        esc(&reg.document),
        reg.version,
        t(lang, "reg_signed_at"),
        fmt_ms(reg.signed_ms, offset),
    );
    if reg.record.is_some() && now_ms() / 1000 < reg.until_s {
        let _ = write!(
            body,
            "<p class=msg id=checkin-link>{} <a href=\"/c/{c}/{link}\">/c/{c}/{link}</a></p>",
            t(lang, "reg_checkin_link"),
            c = esc(&community),
            link = esc(&link)
        );
    }
    match &receipt {
        Some(r) => {
            let head = r.checkpoint.lines().take(3).collect::<Vec<_>>();
            let _ = write!(
                body,
                "<div class=card id=proof><p>{proof_l}</p><p>{record_l} #{index} · {log_l} <code>{origin}</code> · {size_l} {size}</p>\
<p>{root_l} <code>{root}</code></p><p><a href=\"/r/{c}/receipt/{token}/json\" download=receipt-{code}.json>{download}</a> · <a href=/verify>{verify}</a></p></div>\
<div class=qr>{qr}</div><p><small>{keep}</small></p>",
                proof_l = t(lang, "reg_proof"),
                record_l = t(lang, "reg_record"),
                index = r.index,
                log_l = t(lang, "reg_log"),
                origin = esc(head.first().copied().unwrap_or("")),
                size_l = t(lang, "reg_log_size"),
                size = esc(head.get(1).copied().unwrap_or("")),
                root_l = t(lang, "reg_root"),
                root = esc(head.get(2).copied().unwrap_or("")),
                c = esc(&community),
                token = esc(&token),
                code = esc(&reg.code),
                download = t(lang, "reg_download"),
                verify = t(lang, "reg_verify_link"),
                qr = qr_svg(&url),
                keep = t(lang, "reg_keep"),
            );
        }
        None => {
            let when = reg.deleted_ms.map_or_else(String::new, |ms| fmt_ms(ms, offset));
            let _ = write!(body, "<p class=msg id=deleted>{} {when}</p>", t(lang, "reg_deleted"));
        }
    }
    (StatusCode::OK, layout(lang, t(lang, "reg_receipt"), None, &body)).into_response()
}

/// The receipt as a file, for the person to keep.
pub async fn json(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((community, token)): Path<(String, String)>,
) -> Response {
    match load(&app, community, token).await {
        Ok(Some((reg, Some(r), _))) => {
            let disposition = format!("attachment; filename=\"receipt-{}.json\"", reg.code);
            let text = serde_json::to_string_pretty(&r).expect("a receipt serialises");
            ([(header::CONTENT_TYPE, "application/json".to_string()), (header::CONTENT_DISPOSITION, disposition)], text)
                .into_response()
        }
        Ok(_) => gone(lang_of(&headers)),
        Err(r) => r,
    }
}

fn verify_form(lang: Lang, text: &str) -> String {
    format!(
        "<p>{}</p><form class=card method=post action=/verify><label>{}<textarea name=receipt rows=10 style=\"width:100%\" required>{}</textarea></label><button>{}</button></form>",
        t(lang, "verify_intro"),
        t(lang, "verify_paste"),
        esc(text),
        t(lang, "verify_button"),
    )
}

pub async fn verify_page(headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    (StatusCode::OK, layout(lang, t(lang, "verify_title"), None, &verify_form(lang, ""))).into_response()
}

fn verified(lang: Lang, r: &Receipt, head: &Head) -> String {
    let field = |k: &str| {
        serde_json::from_str::<serde_json::Value>(&r.record)
            .ok()
            .and_then(|v| v.get(k).map(|f| f.to_string()))
            .unwrap_or_default()
    };
    format!(
        "<p class=\"msg ok\" id=result>✓ {} #{} · {} <code>{}</code> · {} {}</p><p>{} {} v{} · {} {}</p>",
        t(lang, "verify_ok"),
        r.index,
        t(lang, "reg_log"),
        esc(&head.origin),
        t(lang, "reg_log_size"),
        head.size,
        t(lang, "reg_signed_doc"),
        esc(field("document").trim_matches('"')),
        esc(&field("document_version")),
        t(lang, "unit"),
        esc(field("unit").trim_matches('"')),
    )
}

pub async fn verify(State(app): State<AppState>, headers: HeaderMap, Form(form): Form<FormMap>) -> Response {
    let lang = lang_of(&headers);
    let text = field(&form, "receipt").to_string();
    let t2 = text.clone();
    let (status, result) = match app.db.call(move |conn| registrations::verify_receipt(conn, &t2)).await {
        Ok(Ok((r, head))) => (StatusCode::OK, verified(lang, &r, &head)),
        Ok(Err(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("<p class=\"msg bad\" id=result>✗ {}: {}</p>", t(lang, "verify_failed"), esc(&e.to_string())),
        ),
        Err(e) => return server_error(e),
    };
    (status, layout(lang, t(lang, "verify_title"), None, &(result + &verify_form(lang, &text)))).into_response()
}
