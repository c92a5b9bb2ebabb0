//! The returnee's pages (`/r/<community>`): no login, phone-sized, zh-CN by
//! default. The form, then the document to sign with a finger, then the
//! receipt; and `/verify`, where anyone checks a receipt.
//!
//! These are the only pages with scripts (the origin picker and the
//! signature canvas): each answer carries its own CSP naming a fresh nonce,
//! so nothing else on the page can run.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use maud::{html, Markup, PreEscaped};

use super::{field, frame, lang_of, limited_form, scripted, state_redirect, t, title_page, FormMap, Lang, WebError};
use crate::db::now_ms;
use crate::leaves::divisions;
use crate::leaves::place::Place;
use crate::records::registrations::{self, Form, RegisterError, TRAVEL};
use crate::records::returnees::Document;
use crate::AppState;

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

/// The community's name and city; `None`: no such community (the
/// volunteers' sign-up page asks too).
pub(super) async fn place_of(app: &AppState, community: &str) -> Result<Option<Place>, WebError> {
    let c = community.to_string();
    let found = move |conn: &mut dyn crate::db::Conn| {
        if !crate::db::communities(conn)?.contains(&c) {
            return Ok(None);
        }
        Ok(Some(crate::records::community::place(conn, &c)?))
    };
    Ok(app.db.call(found).await?)
}

pub async fn form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(community): Path<String>,
) -> Result<Response, WebError> {
    show_form(&app, &headers, &community, &FormMap::new(), None).await
}

async fn show_form(
    app: &AppState,
    headers: &HeaderMap,
    community: &str,
    filled: &FormMap,
    error: Option<&str>,
) -> Result<Response, WebError> {
    let lang = lang_of(headers);
    let Some(place) = place_of(app, community).await? else {
        return Ok(title_page(lang, StatusCode::NOT_FOUND, "not_found"));
    };
    let c = community.to_string();
    let token = app.db.call(move |conn| registrations::form_token(conn, &c, now_ms() / 1000)).await?;
    let nonce = crate::leaves::secrets::random_token();
    let value = |k: &str| field(filled, k).to_string();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p #compound { b { (place.name_or(community)) } }
        p { (t(lang, "reg_intro")) }
        @if let Some(e) = error { p.msg.bad #error { (e) } }
        noscript { p.msg.bad { (t(lang, "reg_needs_script")) } }
        form.card method="post" action={ "/r/" (community) } #register {
            input type="hidden" name="token" value=(token);
            label { (t(lang, "name")) input name="name" required maxlength="32" value=(value("name")); }
            label { (t(lang, "phone")) input name="phone" required inputmode="tel" maxlength="16" value=(value("phone")); }
            label { (t(lang, "reg_unit")) input name="unit" required maxlength="24" placeholder="3-502" value=(value("unit")); }
            fieldset {
                legend { (t(lang, "reg_origin")) }
                (origin_picker(lang, "origin", field(filled, "origin"), false))
            }
            label { (t(lang, "arrival_day")) input type="date" name="arrival" required value=(value("arrival")); }
            label { (t(lang, "travel")) select name="travel" { (travel_options(lang, filled)) } }
            label {
                (t(lang, "reg_temperature"))
                input name="temperature" inputmode="decimal" maxlength="4" placeholder="36.5" value=(value("temperature"));
            }
            p { (t(lang, "reg_symptoms")) br; (yes_no(lang, filled, "symptoms")) }
            p { (t(lang, "reg_contact")) br; (yes_no(lang, filled, "contact")) }
            button { (t(lang, "reg_read_document")) }
        }
        // Our own script, allowed by this page's nonce.
        script nonce=(nonce) { (PreEscaped(PICKER)) }
    };
    Ok(scripted(status, lang, &place.say(t(lang, "reg_title")), body, &nonce))
}

/// The province, city and district lists and the hidden field `name`
/// they fill, each list filled and chosen down to `code` (the form sent
/// back after an error shows what it will send). The script below
/// refills the lists below a new choice. With `any_level` the deepest list
/// chosen is the answer (a region rule names a province, a city or a
/// district); without, only a district (or a city without districts) is.
pub fn origin_picker(lang: Lang, name: &str, code: &str, any_level: bool) -> Markup {
    let mut chain = Vec::new();
    let mut at = divisions::get(code.trim());
    while let Some(d) = at {
        chain.push(d);
        at = d.parent.as_deref().and_then(divisions::get);
    }
    chain.reverse();
    let chosen = |level: usize| chain.get(level).map_or("", |d| d.code.as_str());
    let options = |parent: Option<&str>, level: usize| {
        let list: Vec<_> = match parent {
            None => divisions::provinces().collect(),
            Some(p) if !p.is_empty() => divisions::children(p).collect(),
            Some(_) => Vec::new(),
        };
        html! { @for d in list { option value=(d.code) selected[d.code == chosen(level)] { (d.name) } } }
    };
    html! {
        select #province { option value="" { (t(lang, "province")) } (options(None, 0)) }
        select #city { option value="" { (t(lang, "city")) } (options(Some(chosen(0)), 1)) }
        select #district { option value="" { (t(lang, "district_level")) } (options(Some(chosen(1)), 2)) }
        input type="hidden" name=(name) #origin data-any[any_level] value=(chain.last().map_or("", |d| d.code.as_str()));
    }
}

/// The ways to travel, the one the form had selected.
fn travel_options(lang: Lang, filled: &FormMap) -> Markup {
    html! {
        @for m in TRAVEL {
            option value=(m) selected[field(filled, "travel") == *m] { (t(lang, &format!("travel_{m}"))) }
        }
    }
}

/// A no/yes question's two radio buttons, the form's answer checked.
fn yes_no(lang: Lang, filled: &FormMap, name: &str) -> Markup {
    html! {
        @for v in ["no", "yes"] {
            label.inline {
                input type="radio" name=(name) value=(v) style="width:auto" checked[field(filled, name) == v];
                " " (t(lang, v))
            }
            " "
        }
    }
}

/// The origin picker: each choice fetches the divisions below it; the
/// deepest one chosen is the origin.
/// The picker's script, allowed by the page's `nonce`.
pub fn picker_script(nonce: &str) -> Markup {
    html! { script nonce=(nonce) { (PreEscaped(PICKER)) } }
}

const PICKER: &str = "const $=i=>document.getElementById(i);const any='any' in $('origin').dataset;\
async function fill(code,sel){sel.length=1;if(!code)return 0;const r=await fetch('/divisions/'+code);const list=await r.json();\
for(const d of list){sel.add(new Option(d.name,d.code));}return list.length;}\
function pick(code){$('origin').value=code;}\
$('province').onchange=async e=>{const v=e.target.value;pick(any?v:'');await fill('',$('district'));const n=await fill(v,$('city'));if(!n)pick(v);};\
$('city').onchange=async e=>{const v=e.target.value,up=any?$('province').value:'';pick(any?(v||up):'');const n=await fill(v,$('district'));if(!n)pick(v||up);};\
$('district').onchange=e=>pick(e.target.value||(any?$('city').value:''));";

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
            let body = html! { p.msg.bad { (t(lang, "reg_too_large")) } };
            Err((StatusCode::PAYLOAD_TOO_LARGE, frame(lang, t(lang, "reg_title"), None, body)).into_response())
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
) -> Result<Response, WebError> {
    let (headers, filled) = match read_form(&app, peer, req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
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
    match checked? {
        Ok((doc, form)) => {
            let place = place_of(&app, &community).await?.unwrap_or_default();
            Ok(sign_page(lang, &community, &place, &filled, &form, &doc, None, StatusCode::OK))
        }
        Err(e) => match refusal(lang, &e) {
            Some(text) => show_form(&app, &headers, &community, &filled, Some(&text)).await,
            None => Err(WebError::internal(e)),
        },
    }
}

/// The document in the reader's language, its days filled in.
pub fn document_text(lang: Lang, doc: &Document, place: &Place) -> String {
    let body = if lang == Lang::En && !doc.body_en.trim().is_empty() { &doc.body_en } else { &doc.body_zh };
    place.say(&body.replace("{days}", &doc.days.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn sign_page(
    lang: Lang,
    community: &str,
    place: &Place,
    filled: &FormMap,
    form: &Form,
    doc: &Document,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let nonce = crate::leaves::secrets::random_token();
    let carried =
        ["token", "name", "phone", "unit", "origin", "arrival", "travel", "temperature", "symptoms", "contact"];
    let body = html! {
        @if let Some(e) = error { p.msg.bad #error { (e) } }
        p { (form.name) " · " (form.unit) " · " (divisions::full_name(&form.origin).unwrap_or_default()) " · " (form.arrival) }
        div.card #document {
            h2 { (doc.name) " " small { "v" (doc.version) } }
            p { (document_text(lang, doc, place)) }
            p { small { "SHA-256 " code { (doc.sha256) } } }
        }
        form.card method="post" action={ "/r/" (community) "/sign" } #sign {
            @for k in carried { input type="hidden" name=(k) value=(field(filled, k)); }
            input type="hidden" name="document" value=(doc.name);
            input type="hidden" name="version" value=(doc.version);
            input type="hidden" name="signature" #signature;
            p { (t(lang, "reg_sign_here")) }
            canvas #pad width="320" height="160"
                style="border:1px solid #999;background:#fff;touch-action:none;width:100%;max-width:320px" {}
            p { button.danger type="button" #clear { (t(lang, "reg_clear")) } }
            label { (t(lang, "reg_typed_name")) input name="signed_name" required maxlength="32"; }
            label { input type="checkbox" name="confirm" value="yes" required style="width:auto"; " " (t(lang, "reg_confirm")) }
            button #submit { (t(lang, "reg_sign")) }
        }
        // Our own script, allowed by this page's nonce.
        script nonce=(nonce) { (PreEscaped(PAD)) }
    };
    scripted(status, lang, &place.say(t(lang, "reg_title")), body, &nonce)
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
) -> Result<Response, WebError> {
    let (headers, filled) = match read_form(&app, peer, req).await {
        Ok(f) => f,
        Err(r) => return Ok(r),
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
    let done = match checked? {
        Err(refused) => Err(refused),
        // The record and its leaf go to the evidence log's writer, which
        // commits registrations in batches.
        Ok((nonce, form)) => {
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
        Ok(token) => Ok(state_redirect(&format!("/r/{community}/receipt/{token}"))),
        Err((e, form)) => {
            let Some(text) = refusal(lang, &e) else { return Err(WebError::internal(e)) };
            // A sign step that can show the document again does; else the form.
            let Some(form) = form.filter(|_| {
                !matches!(e, RegisterError::Invalid("reg_replayed" | "reg_document_changed" | "reg_too_many"))
            }) else {
                return show_form(&app, &headers, &community, &FormMap::new(), Some(&text)).await;
            };
            let c = community.clone();
            let f2 = form.clone();
            match app.db.call(move |conn| Ok(registrations::document_for(conn, &c, &f2))).await {
                Ok(Ok(doc)) => {
                    let place = place_of(&app, &community).await?.unwrap_or_default();
                    Ok(sign_page(lang, &community, &place, &filled, &form, &doc, Some(&text), StatusCode::BAD_REQUEST))
                }
                _ => show_form(&app, &headers, &community, &filled, Some(&text)).await,
            }
        }
    }
}
