//! The returnee's receipt (`/r/<community>/receipt/<token>`) and the
//! public `/verify` page, where anyone checks a receipt: the record's hash,
//! its inclusion proof and the checkpoint's signature.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use shoumen_protocol::evidence::{EvidenceError, Head, Receipt};

use super::{
    field, fmt_last_day, fmt_ms, frame, lang_of, qr_code, t, tf, title_page, urlencode, FormMap, Lang, WebError,
};
use crate::db::now_ms;
use crate::records::registrations::{self, Registration};
use crate::records::returnees::Kind;
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/r/{community}/receipt/{token}", Access::Public, page)
        .get("/r/{community}/receipt/{token}/json", Access::Public, json)
        .get("/verify", Access::Public, verify_page)
        .get("/verify/{community}/{index}/{leaf}", Access::Public, leaf_page)
        .post("/verify", Access::Public, verify)
        .body_limit(super::register::RECEIPT_LIMIT)
}

/// A registration, its receipt (while its personal fields are kept) and
/// its check-in link.
type Loaded = (Registration, Option<Receipt>, String);

/// What a receipt's address found.
enum Found {
    Loaded(Box<Loaded>),
    /// No registration has this address.
    Nothing,
    /// The registration names a record past the end of the log (a database
    /// restored from an older backup, or records removed): the log holds
    /// this many.
    NotInLog(u64),
}

async fn load(app: &AppState, community: String, token: String) -> Result<Found, WebError> {
    let found = app
        .db
        .call(move |conn| {
            let Some(reg) = registrations::by_token(conn, &community, &token)? else { return Ok(Ok(Found::Nothing)) };
            let link = crate::records::checkins::token(conn, &community, &format!("n{}", reg.id))?;
            Ok(match registrations::receipt(conn, &community, &reg) {
                Ok(r) => Ok(Found::Loaded(Box::new((reg, r, link)))),
                Err(crate::records::evidence::EvidenceError::OutOfRange(_)) => {
                    tracing::error!(community, index = reg.index, "a registration's record is not in the evidence log");
                    // The same alert the nightly audit raises, once.
                    let detail = crate::leaves::detail::enc("fsck_missing", &[&reg.index]);
                    let kind = shoumen_protocol::AlertKind::EvidenceDamaged;
                    crate::records::alerts::raise_once(conn, &community, kind, "evidence", &detail, now_ms())?;
                    Ok(Found::NotInLog(crate::records::evidence::size(conn, &community)?))
                }
                Err(e) => Err(e),
            })
        })
        .await?;
    found.map_err(WebError::internal)
}

/// A receipt holds a person's name, phone and signature: no browser or
/// proxy keeps a copy.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

/// The answer for a record the log does not hold: 410, in words.
fn not_in_log(lang: Lang, size: u64) -> Response {
    let body = html! { p.msg.bad #not-in-log { (tf(lang, "reg_not_in_log", &[&size])) } };
    (StatusCode::GONE, [NO_STORE], frame(lang, t(lang, "reg_receipt"), None, body)).into_response()
}

/// What the registration set in motion, in words (plain text).
pub fn consequence(lang: Lang, reg: &Registration, offset: i32) -> String {
    let key = if reg.kind == Kind::Notice { "reg_quarantine_until" } else { "reg_monitoring_until" };
    format!("{} {} ({} {})", t(lang, key), fmt_last_day(reg.until_s, offset), t(lang, "unit"), reg.unit)
}

pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((community, token)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let lang = lang_of(&headers);
    let offset = app.config.utc_offset_min;
    let (reg, receipt, link) = match load(&app, community.clone(), token.clone()).await? {
        Found::Loaded(loaded) => *loaded,
        Found::Nothing => return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found")),
        Found::NotInLog(size) => return Ok(not_in_log(lang, size)),
    };
    // The QR code proves the registration without handing over the record:
    // the log, the record's number and its leaf hash (public in the log's
    // tiles anyway), not this page's secret address.
    let url = receipt.as_ref().map(|r| {
        let salt = hex::decode(&r.salt).unwrap_or_default();
        let leaf = hex::encode(shoumen_protocol::evidence::leaf_hash(&salt, r.record.as_bytes()).0);
        format!("{}/verify/{}/{}/{leaf}", app.config.public_url.trim_end_matches('/'), urlencode(&community), r.index)
    });
    let checkin = format!("/c/{}/{}", urlencode(&community), urlencode(&link));
    let body = html! {
        p.msg #code { (t(lang, "reg_code")) " " b { (reg.code) } }
        p #consequence { (consequence(lang, &reg, offset)) }
        p {
            (t(lang, "reg_signed_doc")) " " b { (reg.document) } " v" (reg.version) " · "
            (t(lang, "reg_signed_at")) " " (fmt_ms(reg.signed_ms, offset))
        }
        @if reg.record.is_some() && now_ms() / 1000 < reg.until_s {
            p.msg #checkin-link { (t(lang, "reg_checkin_link")) }
            p { a.button href=(checkin) { (t(lang, "reg_checkin_open")) } }
        }
        @match &receipt {
            Some(r) => (proof(lang, r, &community, &token, &reg.code, url.as_deref().unwrap_or_default())),
            None => p.msg #deleted {
                (t(lang, "reg_deleted")) " " (reg.deleted_ms.map_or_else(String::new, |ms| fmt_ms(ms, offset)))
            },
        }
    };
    Ok(([NO_STORE], frame(lang, t(lang, "reg_receipt"), None, body)).into_response())
}

/// The receipt's proof in words, its file and its QR code.
/// Whether the receipt's checkpoint carries its witnesses' cosignatures
/// yet (nothing to say without a policy).
fn witnessed(lang: Lang, r: &Receipt) -> Markup {
    let policy = shoumen_protocol::witness::Policy {
        witnesses: r.witnesses.clone(),
        quorum: r.quorum,
        required: r.required.clone(),
    };
    if policy.is_empty() {
        return html! {};
    }
    match policy.check(&r.checkpoint) {
        Ok(cosigned) => html! { p.msg.ok #cosigned { (tf(lang, "reg_cosigned", &[&cosigned.len()])) } },
        Err(_) => html! { p.msg #cosign-pending { (t(lang, "reg_cosign_pending")) } },
    }
}

fn proof(lang: Lang, r: &Receipt, community: &str, token: &str, code: &str, url: &str) -> Markup {
    let head = r.checkpoint.lines().take(3).collect::<Vec<_>>();
    let line = |i: usize| head.get(i).copied().unwrap_or("");
    html! {
        div.card #proof {
            p { (t(lang, "reg_proof")) }
            // Counted from 1, as people count; the log's own terms are for
            // whoever checks it, folded away.
            p #record { (tf(lang, "reg_record_of", &[&(r.index + 1), &line(1)])) }
            p #fingerprint {
                (t(lang, "log_fingerprint")) " " b { (shoumen_protocol::evidence::fingerprint(&r.log_key)) }
                br; small { (t(lang, "log_fingerprint_help")) }
            }
            (witnessed(lang, r))
            details {
                summary { (t(lang, "reg_technical")) }
                p { (t(lang, "reg_log")) " " code { (line(0)) } " · #" (r.index) }
                p { (t(lang, "reg_root")) " " code { (line(2)) } }
            }
            p {
                a href={ "/r/" (urlencode(community)) "/receipt/" (urlencode(token)) "/json" } download={ "receipt-" (code) ".json" } {
                    (t(lang, "reg_download"))
                }
                " · " a href="/verify" { (t(lang, "reg_verify_link")) }
            }
        }
        div.qr { (qr_code(url)) }
        p { small { (t(lang, "reg_qr_shows")) } }
        p { small { (t(lang, "reg_keep")) } }
    }
}

/// The receipt as a file, for the person to keep.
pub async fn json(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((community, token)): Path<(String, String)>,
) -> Result<Response, WebError> {
    Ok(match load(&app, community, token).await? {
        Found::Loaded(loaded) => {
            // A registration whose personal fields retention deleted has no file.
            let (reg, Some(r), _) = *loaded else {
                return Ok(title_page(lang_of(&headers), StatusCode::NOT_FOUND, "not_found"));
            };
            let disposition = format!("attachment; filename=\"receipt-{}.json\"", reg.code);
            let text = serde_json::to_string_pretty(&r).expect("a receipt serialises");
            let (kind, no_store) = ((header::CONTENT_TYPE, "application/json".to_string()), NO_STORE);
            ([kind, (header::CONTENT_DISPOSITION, disposition), (no_store.0, no_store.1.to_string())], text)
                .into_response()
        }
        Found::NotInLog(size) => not_in_log(lang_of(&headers), size),
        Found::Nothing => title_page(lang_of(&headers), StatusCode::NOT_FOUND, "not_found"),
    })
}

/// Why a receipt did not verify, in the reader's words; the checker's own
/// sentence folded below for whoever checks it by hand.
pub fn failure(lang: Lang, e: &EvidenceError) -> Markup {
    let key = match e {
        EvidenceError::NotANote(_) | EvidenceError::BadReceipt(_) => "verify_unreadable",
        EvidenceError::BadSignature(_) | EvidenceError::BadKey(_) => "verify_bad_signature",
        EvidenceError::BadCheckpoint(_) => "verify_unknown_log",
        EvidenceError::NotIncluded => "verify_not_included",
        EvidenceError::Inconsistent { .. } | EvidenceError::Shrank { .. } => "verify_rewritten",
        EvidenceError::NotWitnessed { .. } | EvidenceError::MissingWitness(_) => "verify_not_witnessed",
    };
    html! {
        (t(lang, key))
        details { summary { (t(lang, "reg_technical")) } code { (e.to_string()) } }
    }
}

fn verify_form(lang: Lang, text: &str) -> Markup {
    html! {
        p { (t(lang, "verify_intro")) }
        // The file from the receipt page, or its text pasted: either will do.
        form.card method="post" action="/verify" enctype="multipart/form-data" {
            label {
                (t(lang, "verify_code"))
                input type="text" name="code" maxlength="12" autocomplete="off" autocapitalize="characters" placeholder="K7M2 QX9A";
            }
            label {
                (t(lang, "verify_upload"))
                input type="file" name="file" accept=".json,application/json";
            }
            label {
                (t(lang, "verify_paste"))
                textarea name="receipt" rows="10" style="width:100%" { (text) }
            }
            button { (t(lang, "verify_button")) }
        }
    }
}

/// What a receipt's QR code opens: whether the log holds that record now,
/// and nothing about the person.
pub async fn leaf_page(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((community, index, leaf)): Path<(String, u64, String)>,
) -> Result<Response, WebError> {
    let lang = lang_of(&headers);
    if !app.limiter.allow("proof", app.client_ip(peer.ip(), &headers)) {
        return Err(WebError::rate_limited(lang));
    }
    let c = community.clone();
    let found = app.db.call(move |conn| crate::records::evidence::holds_leaf(conn, &c, index, &leaf)).await;
    let (held, size) = match found {
        Ok(found) => found,
        Err(crate::db::DbError::UnknownCommunity(_)) => {
            return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"))
        }
        Err(e) => return Err(e.into()),
    };
    let (status, body) = if held {
        (StatusCode::OK, html! { p.msg.ok #result { "✓ " (tf(lang, "verify_leaf_ok", &[&(index + 1), &size])) } })
    } else {
        (StatusCode::NOT_FOUND, html! { p.msg.bad #result { "✗ " (t(lang, "verify_leaf_missing")) } })
    };
    let body = html! { (body) p { a href="/verify" { (t(lang, "reg_verify_link")) } } };
    Ok((status, frame(lang, t(lang, "verify_title"), None, body)).into_response())
}

pub async fn verify_page(headers: HeaderMap) -> Markup {
    let lang = lang_of(&headers);
    frame(lang, t(lang, "verify_title"), None, verify_form(lang, ""))
}

fn verified(
    lang: Lang,
    r: &Receipt,
    head: &Head,
    cosigned: &[shoumen_protocol::witness::Cosigned],
    offset: i32,
    personal: bool,
) -> Markup {
    let field = |k: &str| {
        serde_json::from_str::<serde_json::Value>(&r.record)
            .ok()
            .and_then(|v| v.get(k).map(|f| f.to_string()))
            .unwrap_or_default()
    };
    html! {
        p.msg.ok #result {
            "✓ " (t(lang, "verify_ok")) (tf(lang, "reg_record_of", &[&(r.index + 1), &head.size])) " · "
            (t(lang, "reg_log")) " " code { (head.origin) }
        }
        // From a receipt the person holds; a code alone shows nothing of
        // the person.
        @if personal {
            p {
                (t(lang, "reg_signed_doc")) " " (field("document").trim_matches('"')) " v" (field("document_version")) " · "
                (t(lang, "unit")) " " (field("unit").trim_matches('"'))
            }
        }
        // Who besides the committee vouches that everyone sees this log.
        @if cosigned.is_empty() {
            p #witnesses { (t(lang, "verify_no_witnesses")) }
        } @else {
            p #witnesses { (t(lang, "verify_cosigned_by")) }
            ul {
                @for c in cosigned {
                    li { code { (c.witness) } " · " (crate::leaves::time::fmt_ms(c.time_s as i64 * 1000, offset)) }
                }
            }
        }
    }
}

pub async fn verify(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let lang = lang_of(request.headers());
    let client = app.client_ip(peer.ip(), request.headers());
    let refuse = |why: &str, text: &str| {
        let body = html! { p.msg.bad #result { "✗ " (t(lang, "verify_failed")) "：" (t(lang, why)) } (verify_form(lang, text)) };
        (StatusCode::UNPROCESSABLE_ENTITY, frame(lang, t(lang, "verify_title"), None, body)).into_response()
    };
    let (text, personal) = match receipt_text(&app, request).await {
        Ok(Given::Receipt(text)) => (text, true),
        Ok(Given::Code(code)) => {
            // A code names a registration: guessed codes are as many
            // proofs asked, and are limited as proofs are.
            if !app.limiter.allow("proof", client) {
                return Err(WebError::rate_limited(lang));
            }
            match app.db.call(move |conn| Ok(registrations::receipt_by_code(conn, &code))).await? {
                Ok(Some(Some(receipt))) => (serde_json::to_string(&receipt).unwrap_or_default(), false),
                Ok(Some(None)) => return Ok(refuse("verify_code_deleted", "")),
                Ok(None) => return Ok(refuse("verify_code_unknown", "")),
                Err(e) => return Err(WebError::internal(e)),
            }
        }
        Err(why) => return Ok(refuse(why, "")),
    };
    let t2 = text.clone();
    let offset = app.config.utc_offset_min;
    let (status, result) = match app.db.call(move |conn| registrations::verify_receipt(conn, &t2)).await? {
        Ok((r, head, cosigned)) => (StatusCode::OK, verified(lang, &r, &head, &cosigned, offset, personal)),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { p.msg.bad #result { "✗ " (t(lang, "verify_failed")) "：" (failure(lang, &e)) } },
        ),
    };
    // The form again, with the pasted receipt (never one found by code).
    let body = html! { (result) (verify_form(lang, if personal { &text } else { "" })) };
    Ok((status, frame(lang, t(lang, "verify_title"), None, body)).into_response())
}

/// The receipt's text from the form: the uploaded file if there is one,
/// else the pasted text; a words key if neither.
async fn receipt_text(app: &AppState, request: axum::extract::Request) -> Result<Given, &'static str> {
    use axum::extract::FromRequest;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (mut pasted, mut file, mut code) = (String::new(), Vec::new(), String::new());
    if multipart {
        let mut parts =
            axum::extract::Multipart::from_request(request, app).await.map_err(|_| "verify_unreadable_upload")?;
        while let Some(part) = parts.next_field().await.map_err(|_| "verify_unreadable_upload")? {
            match part.name().unwrap_or("") {
                "receipt" => pasted = part.text().await.map_err(|_| "verify_unreadable_upload")?,
                "file" => file = part.bytes().await.map_err(|_| "verify_unreadable_upload")?.to_vec(),
                "code" => code = part.text().await.map_err(|_| "verify_unreadable_upload")?,
                _ => {}
            }
        }
    } else {
        let Form(form) = Form::<FormMap>::from_request(request, app).await.map_err(|_| "verify_unreadable_upload")?;
        pasted = field(&form, "receipt").to_string();
        code = field(&form, "code").to_string();
    }
    if !file.is_empty() {
        return String::from_utf8(file).map(Given::Receipt).map_err(|_| "verify_unreadable_upload");
    }
    if !pasted.trim().is_empty() {
        return Ok(Given::Receipt(pasted));
    }
    // As people type it: any case, spaces or dashes between groups.
    let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
    match code.len() {
        0 => Err("verify_nothing"),
        8 => Ok(Given::Code(code)),
        _ => Err("verify_code_length"),
    }
}

/// What the person gave /verify: the receipt itself, or its code.
enum Given {
    Receipt(String),
    Code(String),
}
