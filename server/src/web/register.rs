//! The returnee's pages (`/r/<community>`): no login, phone-sized, zh-CN by
//! default. The form, then the document to sign with a finger, then the
//! receipt; and `/verify`, where anyone checks a receipt.
//!
//! These are the only pages with scripts (the origin picker and the
//! signature canvas): each answer carries its own CSP naming a fresh nonce,
//! so nothing else on the page can run.

use std::fmt::Write;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};

use super::*;
use crate::leaves::divisions;
use crate::records::registrations::{self, Form, RegisterError, TRAVEL};
use crate::records::returnees::Document;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/r/{community}", Access::Public, form)
        .post("/r/{community}", Access::Public, review)
        .body_limit(super::register::FORM_BODY_LIMIT)
        .post("/r/{community}/sign", Access::Public, sign)
        .body_limit(super::register::FORM_BODY_LIMIT)
        .get("/divisions/{code}", Access::Public, children)
}

/// A form with a signature is a few KiB; 10 MB of "signature" is refused
/// before it is read.
pub const FORM_BODY_LIMIT: usize = 128 << 10;
/// A receipt pasted into `/verify`: record, signature and proof.
pub const RECEIPT_LIMIT: usize = 256 << 10;

fn no_community(lang: Lang) -> Response {
    (StatusCode::NOT_FOUND, layout(lang, t(lang, "not_found"), None, "")).into_response()
}

async fn exists(app: &AppState, community: &str) -> Result<bool, Response> {
    let c = community.to_string();
    app.db.call(move |conn| Ok(crate::db::communities(conn)?.contains(&c))).await.map_err(server_error)
}

/// The form's fields, echoed back after an error.
fn value(form: &FormMap, key: &str) -> String {
    esc(field(form, key))
}

pub async fn form(State(app): State<AppState>, headers: HeaderMap, Path(community): Path<String>) -> Response {
    show_form(&app, &headers, &community, &FormMap::new(), None).await
}

async fn show_form(
    app: &AppState,
    headers: &HeaderMap,
    community: &str,
    filled: &FormMap,
    error: Option<&str>,
) -> Response {
    let lang = lang_of(headers);
    match exists(app, community).await {
        Ok(true) => {}
        Ok(false) => return no_community(lang),
        Err(r) => return r,
    }
    let c = community.to_string();
    let token = match app.db.call(move |conn| registrations::form_token(conn, &c, now_ms() / 1000)).await {
        Ok(t) => t,
        Err(e) => return server_error(e),
    };
    let nonce = crate::leaves::secrets::random_token();
    let (provinces, travel) = (province_options(filled), travel_options(lang, filled));
    let yes_no = |name: &str| yes_no(lang, filled, name);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = format!(
        "<p>{intro}</p>{err}<noscript><p class=\"msg bad\">{noscript}</p></noscript>\
<form class=card method=post action=\"/r/{c}\" id=register><input type=hidden name=token value=\"{token}\">\
<label>{name_l}<input name=name required maxlength=32 value=\"{name}\"></label>\
<label>{phone_l}<input name=phone required inputmode=tel maxlength=16 value=\"{phone}\"></label>\
<label>{unit_l}<input name=unit required maxlength=12 placeholder=3-502 value=\"{unit}\"></label>\
<fieldset><legend>{origin_l}</legend><select id=province><option value=\"\">{province_l}</option>{provinces}</select>\
<select id=city><option value=\"\">{city_l}</option></select><select id=district><option value=\"\">{district_l}</option></select>\
<input type=hidden name=origin id=origin value=\"{origin}\"></fieldset>\
<label>{arrival_l}<input type=date name=arrival required value=\"{arrival}\"></label>\
<label>{travel_l}<select name=travel>{travel}</select></label>\
<label>{temp_l}<input name=temperature inputmode=decimal maxlength=4 placeholder=36.5 value=\"{temp}\"></label>\
<p>{symptoms_l}<br>{symptoms}</p><p>{contact_l}<br>{contact}</p><button>{next}</button></form>\
<script nonce=\"{nonce}\">{PICKER}</script>",
        intro = t(lang, "reg_intro"),
        err = error.map_or(String::new(), |e| format!("<p class=\"msg bad\" id=error>{}</p>", esc(e))),
        noscript = t(lang, "reg_needs_script"),
        c = esc(community),
        name_l = t(lang, "name"),
        name = value(filled, "name"),
        phone_l = t(lang, "phone"),
        phone = value(filled, "phone"),
        unit_l = t(lang, "reg_unit"),
        unit = value(filled, "unit"),
        origin_l = t(lang, "reg_origin"),
        province_l = t(lang, "province"),
        city_l = t(lang, "city"),
        district_l = t(lang, "district_level"),
        origin = value(filled, "origin"),
        arrival_l = t(lang, "arrival_day"),
        arrival = value(filled, "arrival"),
        travel_l = t(lang, "travel"),
        temp_l = t(lang, "reg_temperature"),
        temp = value(filled, "temperature"),
        symptoms_l = t(lang, "reg_symptoms"),
        symptoms = yes_no("symptoms"),
        contact_l = t(lang, "reg_contact"),
        contact = yes_no("contact"),
        next = t(lang, "reg_read_document"),
    );
    scripted(status, lang, t(lang, "reg_title"), maud::PreEscaped(body), &nonce)
}

/// The provinces, the one the form had selected.
fn province_options(filled: &FormMap) -> String {
    divisions::provinces()
        .map(|p| {
            let selected = if field(filled, "origin").starts_with(&p.code) { " selected" } else { "" };
            format!("<option value={}{selected}>{}</option>", p.code, esc(&p.name))
        })
        .collect()
}

/// The ways to travel, the one the form had selected.
fn travel_options(lang: Lang, filled: &FormMap) -> String {
    TRAVEL
        .iter()
        .map(|m| {
            let selected = if field(filled, "travel") == *m { " selected" } else { "" };
            format!("<option value={m}{selected}>{}</option>", t(lang, &format!("travel_{m}")))
        })
        .collect()
}

/// A no/yes question's two radio buttons, the form's answer checked.
fn yes_no(lang: Lang, filled: &FormMap, name: &str) -> String {
    ["no", "yes"]
        .iter()
        .map(|v| {
            let checked = if field(filled, name) == *v { " checked" } else { "" };
            format!(
                "<label class=inline><input type=radio name={name} value={v} style=width:auto{checked}> {}</label> ",
                t(lang, v)
            )
        })
        .collect()
}

/// The origin picker: each choice fetches the divisions below it; the
/// deepest one chosen is the origin.
const PICKER: &str = "const $=i=>document.getElementById(i);\
async function fill(code,sel){sel.length=1;if(!code)return 0;const r=await fetch('/divisions/'+code);const list=await r.json();\
for(const d of list){sel.add(new Option(d.name,d.code));}return list.length;}\
function pick(code){$('origin').value=code;}\
$('province').onchange=async e=>{pick('');await fill('',$('district'));const n=await fill(e.target.value,$('city'));if(!n)pick(e.target.value);};\
$('city').onchange=async e=>{pick('');const n=await fill(e.target.value,$('district'));if(!n)pick(e.target.value);};\
$('district').onchange=e=>pick(e.target.value);";

#[derive(serde::Serialize)]
struct Child {
    code: &'static str,
    name: &'static str,
}

/// The divisions directly below `code`, for the picker.
pub async fn children(Path(code): Path<String>) -> Response {
    let list: Vec<Child> = divisions::children(&code).map(|d| Child { code: &d.code, name: &d.name }).collect();
    ([(header::CACHE_CONTROL, "public, max-age=86400")], Json(list)).into_response()
}

/// The form's fields as `check_form` reads them.
fn getter(form: &FormMap) -> impl Fn(&str) -> String + '_ {
    move |k: &str| field(form, k).to_string()
}

/// Reads a public form body under the rate limit, with a clear page for a
/// body over the limit.
async fn read_form(app: &AppState, peer: SocketAddr, req: Request) -> Result<(HeaderMap, FormMap), Response> {
    let lang = lang_of(req.headers());
    match limited_form(app, peer, "returnee", req).await {
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let text = format!("<p class=\"msg bad\">{}</p>", t(lang, "reg_too_large"));
            Err((StatusCode::PAYLOAD_TOO_LARGE, layout(lang, t(lang, "reg_title"), None, &text)).into_response())
        }
        other => other,
    }
}

/// What to tell the person about a refused form; `None` for the server's
/// own failures (answered as such).
fn refusal(lang: Lang, e: &RegisterError) -> Option<String> {
    match e {
        RegisterError::Invalid(key) => Some(t(lang, key).to_string()),
        _ => None,
    }
}

/// Step two: the form is checked and the document that applies is shown
/// to be read and signed.
pub async fn review(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(community): Path<String>,
    req: Request,
) -> Response {
    let (headers, filled) = match read_form(&app, peer, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let lang = lang_of(&headers);
    let (c, f, offset) = (community.clone(), filled.clone(), app.config.utc_offset_min);
    let checked = app
        .db
        .call(move |conn| {
            let now_s = now_ms() / 1000;
            let step = registrations::check_token(conn, &c, field(&f, "token"), now_s)
                .and_then(|_| registrations::check_form(conn, &c, &getter(&f), offset, now_s))
                .and_then(|form| Ok((registrations::document_for(conn, &c, &form)?, form)));
            Ok(step)
        })
        .await;
    match checked {
        Ok(Ok((doc, form))) => sign_page(lang, &community, &filled, &form, &doc, None, StatusCode::OK),
        Ok(Err(e)) => match refusal(lang, &e) {
            Some(text) => show_form(&app, &headers, &community, &filled, Some(&text)).await,
            None => server_error(e),
        },
        Err(e) => server_error(e),
    }
}

/// The document in the reader's language, its days filled in.
pub fn document_text(lang: Lang, doc: &Document) -> String {
    let body = if lang == Lang::En && !doc.body_en.trim().is_empty() { &doc.body_en } else { &doc.body_zh };
    body.replace("{days}", &doc.days.to_string())
}

fn sign_page(
    lang: Lang,
    community: &str,
    filled: &FormMap,
    form: &Form,
    doc: &Document,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let nonce = crate::leaves::secrets::random_token();
    let carried: String =
        ["token", "name", "phone", "unit", "origin", "arrival", "travel", "temperature", "symptoms", "contact"]
            .iter()
            .map(|k| format!("<input type=hidden name={k} value=\"{}\">", value(filled, k)))
            .collect();
    let mut body = String::new();
    let _ = write!(
        body,
        "{err}<p>{who} · {unit} · {origin} · {arrival}</p><div class=card id=document><h2>{title} <small>v{v}</small></h2><p>{text}</p><p><small>SHA-256 <code>{sha}</code></small></p></div>\
<form class=card method=post action=\"/r/{c}/sign\" id=sign>{carried}<input type=hidden name=document value=\"{doc_name}\"><input type=hidden name=version value=\"{v}\">\
<input type=hidden name=signature id=signature><p>{sign_here}</p>\
<canvas id=pad width=320 height=160 style=\"border:1px solid #999;background:#fff;touch-action:none;width:100%;max-width:320px\"></canvas>\
<p><button type=button id=clear class=danger>{clear}</button></p><label>{typed}<input name=signed_name required maxlength=32></label>\
<label><input type=checkbox name=confirm value=yes required style=width:auto> {confirm}</label><button id=submit>{submit}</button></form>\
<script nonce=\"{nonce}\">{PAD}</script>",
        err = error.map_or(String::new(), |e| format!("<p class=\"msg bad\" id=error>{}</p>", esc(e))),
        who = esc(&form.name),
        unit = esc(&form.unit),
        origin = esc(&divisions::full_name(&form.origin).unwrap_or_default()),
        arrival = esc(&form.arrival),
        title = esc(&doc.name),
        v = doc.version,
        text = esc(&document_text(lang, doc)),
        sha = &doc.sha256,
        c = esc(community),
        doc_name = esc(&doc.name),
        sign_here = t(lang, "reg_sign_here"),
        clear = t(lang, "reg_clear"),
        typed = t(lang, "reg_typed_name"),
        confirm = t(lang, "reg_confirm"),
        submit = t(lang, "reg_sign"),
    );
    scripted(status, lang, t(lang, "reg_title"), maud::PreEscaped(body), &nonce)
}

/// The signature pad: pointer strokes become SVG path data in whole pixels.
const PAD: &str = "const pad=document.getElementById('pad'),g=pad.getContext('2d');let path='',down=false;\
g.lineWidth=2.5;g.lineCap='round';\
function at(e){const r=pad.getBoundingClientRect();return [Math.round((e.clientX-r.left)*pad.width/r.width),Math.round((e.clientY-r.top)*pad.height/r.height)];}\
let last=[0,0];pad.onpointerdown=e=>{down=true;pad.setPointerCapture(e.pointerId);const [x,y]=at(e);last=[x,y];path+='M'+x+' '+y;g.beginPath();g.moveTo(x,y);};\
pad.onpointermove=e=>{if(!down)return;const [x,y]=at(e);if(Math.abs(x-last[0])+Math.abs(y-last[1])<2)return;last=[x,y];path+=' L'+x+' '+y;g.lineTo(x,y);g.stroke();};\
pad.onpointerup=pad.onpointercancel=()=>{down=false;};\
document.getElementById('clear').onclick=()=>{path='';g.clearRect(0,0,pad.width,pad.height);};\
document.getElementById('sign').onsubmit=()=>{document.getElementById('signature').value=path;};";

/// Step three: the signature; the record is stored, its leaf appended,
/// and the browser goes to the receipt.
pub async fn sign(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(community): Path<String>,
    req: Request,
) -> Response {
    let (headers, filled) = match read_form(&app, peer, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let lang = lang_of(&headers);
    let (c, f, offset) = (community.clone(), filled.clone(), app.config.utc_offset_min);
    let ip = app.client_ip(peer.ip(), &headers).to_string();
    let checked = app
        .db
        .call(move |conn| {
            let now_s = now_ms() / 1000;
            let nonce = match registrations::check_token(conn, &c, field(&f, "token"), now_s) {
                Ok(n) => n,
                Err(e) => return Ok(Err((e, None))),
            };
            match registrations::check_form(conn, &c, &getter(&f), offset, now_s) {
                Ok(form) if field(&f, "confirm") != "yes" => {
                    Ok(Err((RegisterError::Invalid("reg_not_confirmed"), Some(form))))
                }
                Ok(form) => Ok(Ok((nonce, form))),
                Err(e) => Ok(Err((e, None))),
            }
        })
        .await;
    let done = match checked {
        Err(e) => return server_error(e),
        Ok(Err(refused)) => Err(refused),
        // The record and its leaf go to the evidence log's writer, which
        // commits registrations in batches.
        Ok(Ok((nonce, form))) => {
            let signing = registrations::Signing {
                document: field(&filled, "document").to_string(),
                version: field(&filled, "version").parse().unwrap_or(0),
                signature: field(&filled, "signature").to_string(),
                signed_name: field(&filled, "signed_name").to_string(),
                nonce,
                ip,
                limits: app.config.registrations,
                utc_offset_min: app.config.utc_offset_min,
            };
            let (c, f2) = (community.clone(), form.clone());
            let job = app.sequencer.submit(move |tx, log| registrations::sign_in(tx, log, &c, &f2, &signing, now_ms()));
            crate::records::sequencer::wait(job).await.map_err(|e| (e, Some(form)))
        }
    };
    match done {
        Ok(token) => state_redirect(&format!("/r/{community}/receipt/{token}")),
        Err((e, form)) => {
            let Some(text) = refusal(lang, &e) else { return server_error(e) };
            // A sign step that can show the document again does; else the form.
            let Some(form) = form.filter(|_| {
                !matches!(e, RegisterError::Invalid("reg_replayed" | "reg_document_changed" | "reg_too_many"))
            }) else {
                return show_form(&app, &headers, &community, &FormMap::new(), Some(&text)).await;
            };
            let c = community.clone();
            let f2 = form.clone();
            match app.db.call(move |conn| Ok(registrations::document_for(conn, &c, &f2))).await {
                Ok(Ok(doc)) => sign_page(lang, &community, &filled, &form, &doc, Some(&text), StatusCode::BAD_REQUEST),
                _ => show_form(&app, &headers, &community, &filled, Some(&text)).await,
            }
        }
    }
}
