//! The committee's list of returnees (`/returnees`): by arrival date and
//! region, with filters, who ends quarantine or self-monitoring soon, each
//! record with its document and evidence; a CSV export; and the poster
//! whose QR code opens the registration form.

use std::fmt::Write;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::*;
use crate::leaves::divisions;
use crate::leaves::roles::AccountRole;
use crate::records::registrations::{self, Filter, Registration};
use crate::records::returnees::Kind;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/returnees", "returnees")
        .get("/returnees", Perm::ReadRecords, page)
        .get("/returnees.csv", Perm::ReadRecords, export)
        .get("/returnees/poster", Perm::ReadRecords, poster)
        .get("/returnees/{id}", Perm::ReadRecords, detail)
        .post("/returnees/notices/{id}/{verdict}", Perm::EditRecords, decide_notice)
}

/// Rows one page or export shows at most.
const LIMIT: usize = 2000;

#[derive(serde::Deserialize, Default)]
pub struct Params {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    kind: String,
    /// "Ends within N days".
    #[serde(default)]
    ending: String,
    #[serde(default)]
    reason: String,
}

impl Params {
    fn filter(&self, offset: i32) -> Filter {
        Filter {
            from_s: parse_day(&self.from, offset),
            until_s: parse_day(&self.to, offset).map(|s| s + 86_400),
            region: self.region.trim().to_string(),
            kind: Kind::parse(&self.kind),
            ending_within_s: self
                .ending
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=60).contains(d))
                .map(|d| d * 86_400),
        }
    }

    /// The same filters as a query string, for the export link.
    fn query(&self) -> String {
        let enc = urlencode;
        format!(
            "from={}&to={}&region={}&kind={}&ending={}",
            enc(&self.from),
            enc(&self.to),
            enc(&self.region),
            enc(&self.kind),
            enc(&self.ending)
        )
    }
}

async fn fetch(app: &AppState, m: &Member, p: &Params) -> Result<Vec<Registration>, Response> {
    let (community, filter) = (m.community.clone(), p.filter(app.config.utc_offset_min));
    app.db
        .call(move |conn| registrations::list(conn, &community, &filter, now_ms() / 1000, LIMIT))
        .await
        .map_err(server_error)
}

fn filters_form(lang: Lang, p: &Params) -> String {
    let kinds = ["", "pledge", "notice"]
        .iter()
        .map(|k| {
            format!(
                "<option value=\"{k}\"{}>{}</option>",
                if p.kind == *k { " selected" } else { "" },
                if k.is_empty() { "—" } else { t(lang, k) }
            )
        })
        .collect::<String>();
    format!(
        "<form class=card method=get action=/returnees id=filters><label>{arr} {from_l}<input type=date name=from value=\"{from}\"></label>\
<label>{arr} {until_l}<input type=date name=to value=\"{to}\"></label><label>{region_l}<input name=region maxlength=6 placeholder=42 value=\"{region}\"></label>\
<label>{kind_l}<select name=kind>{kinds}</select></label><label>{ending_l}<input type=number name=ending min=1 max=60 value=\"{ending}\"></label>\
<button>{filter}</button></form>",
        arr = t(lang, "arrival_day"),
        from_l = t(lang, "from"),
        from = esc(&p.from),
        until_l = t(lang, "until"),
        to = esc(&p.to),
        region_l = t(lang, "origin_code"),
        region = esc(&p.region),
        kind_l = t(lang, "kind"),
        ending_l = t(lang, "ending_within"),
        ending = esc(&p.ending),
        filter = t(lang, "filter"),
    )
}

/// Notices returnees declared that wait for the committee: each with
/// confirm (the gates keep the home in) and decline.
fn pending_section(m: &Member, pending: &[crate::records::community::QuarantineRow], offset: i32) -> String {
    let lang = m.session.lang;
    if pending.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h2>{}</h2><p>{}</p><div class=scroll><table id=pending-notices>",
        t(lang, "pending_notices"),
        t(lang, "pending_notices_help")
    );
    for q in pending {
        let buttons = if m.may(Perm::EditRecords) {
            let button = |verdict: &str, class: &str| {
                format!(
                    "<form class=inline method=post action=\"/returnees/notices/{}/{verdict}\">{}<button{class}>{}</button></form>",
                    q.id,
                    hidden_csrf(&m.session.csrf),
                    t(lang, &format!("notice_{verdict}")),
                )
            };
            format!("{} {}", button("confirm", ""), button("decline", " class=danger"))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{} – {}</td><td>{}</td><td>{buttons}</td></tr>",
            esc(&q.unit),
            fmt_day(q.from_s, offset),
            fmt_day(q.until_s - 1, offset),
            esc(&q.note),
        );
    }
    out + "</table></div>"
}

pub async fn page(State(app): State<AppState>, m: Member, Query(p): Query<Params>) -> Response {
    let (lang, offset) = (m.session.lang, app.config.utc_offset_min);
    let rows = match fetch(&app, &m, &p).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let community = m.community.clone();
    let pending = match app.db.call(move |conn| crate::records::community::pending_notices(conn, &community)).await {
        Ok(p) => p,
        Err(e) => return server_error(e),
    };
    let now_s = now_ms() / 1000;
    let mut body = format!(
        "{}<p><a href=/returnees/rules>{}</a> · <a href=/returnees/poster>{}</a> · <a href=\"/returnees.csv?{}\">{}</a></p>{}",
        pending_section(&m, &pending, offset),
        t(lang, "rules_and_documents"),
        t(lang, "poster"),
        p.query(),
        t(lang, "export"),
        filters_form(lang, &p)
    );
    let _ = write!(
        body,
        "<p id=count>{}: <b>{}</b></p><div class=scroll><table id=returnees><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "returnees"),
        rows.len(),
        t(lang, "arrival_day"),
        t(lang, "name"),
        t(lang, "unit"),
        t(lang, "origin"),
        t(lang, "document"),
        t(lang, "period_until"),
        t(lang, "reg_code"),
        t(lang, "reg_record"),
    );
    for r in &rows {
        let soon = r.until_s > now_s && r.until_s - now_s <= 3 * 86_400;
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} v{}</td><td{}>{} · {}</td><td><a href=\"/returnees/{}\">{}</a></td><td>#{}</td></tr>",
            fmt_day(r.arrival_s, offset),
            esc(&r.field("name")),
            esc(&r.unit),
            esc(&divisions::full_name(&r.origin).unwrap_or_else(|| r.origin.clone())),
            esc(&r.document),
            r.version,
            if soon { " class=bad" } else { "" },
            t(lang, if r.kind == Kind::Notice { "quarantine" } else { "self_monitoring" }),
            fmt_day(r.until_s - 1, offset),
            r.id,
            esc(&r.code),
            r.index,
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "returnees"), Some(&m.session), &body).into_response()
}

/// One record with its document and its evidence, checked now.
pub async fn detail(State(app): State<AppState>, m: Member, Path(id): Path<i64>) -> Response {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let found = app
        .db
        .call(move |conn| {
            let Some(reg) = registrations::by_id(conn, &community, id)? else { return Ok(None) };
            let doc = crate::records::returnees::document(conn, &community, &reg.document, reg.version)?;
            let receipt = registrations::receipt(conn, &community, &reg)
                .map_err(|e| crate::db::DbError::Engine(e.to_string()))?;
            let vkey = crate::records::evidence::verifier_key(conn, &community)?;
            Ok(Some((reg, doc, receipt.map(|r| r.verify(&vkey).map(|h| (r.index, h.size))))))
        })
        .await;
    let (reg, doc, check) = match found {
        Ok(Some(v)) => v,
        Ok(None) => return not_found(&m.session),
        Err(e) => return server_error(e),
    };
    let fields = ["name", "phone", "travel", "temperature", "symptoms", "contact", "signed_name"];
    let mut body = format!("<p>{}</p><table id=record>", esc(&super::receipt::consequence(lang, &reg, offset)));
    for f in fields {
        let _ = write!(body, "<tr><th>{f}</th><td>{}</td></tr>", esc(&reg.field(f)));
    }
    let _ = write!(
        body,
        "<tr><th>origin</th><td>{}</td></tr></table>",
        esc(&divisions::full_name(&reg.origin).unwrap_or_default())
    );
    if reg.record.is_some() {
        let _ = write!(body, "<svg viewBox=\"0 0 320 160\" width=320 height=160 style=\"border:1px solid #ccc;background:#fff\" id=signature><path d=\"{}\" fill=none stroke=#000 stroke-width=2.5 stroke-linecap=round /></svg>", esc(&reg.field("signature")));
    }
    if let Some(d) = doc {
        let _ = write!(
            body,
            "<div class=card><p><b>{}</b> v{} <code>{}</code></p><p>{}</p></div>",
            esc(&d.name),
            d.version,
            &d.sha256,
            esc(&super::register::document_text(lang, &d))
        );
    }
    let evidence = match check {
        Some(Ok((index, size))) => format!(
            "<p class=\"msg ok\" id=evidence>✓ {} #{index} · {} {size}</p>",
            t(lang, "verify_ok"),
            t(lang, "reg_log_size")
        ),
        Some(Err(e)) => format!("<p class=\"msg bad\" id=evidence>✗ {}</p>", esc(&e.to_string())),
        None => format!("<p class=msg id=evidence>{}</p>", t(lang, "reg_deleted")),
    };
    body += &evidence;
    layout(lang, &format!("{} {}", t(lang, "reg_code"), reg.code), Some(&m.session), &body).into_response()
}

pub async fn export(State(app): State<AppState>, m: Member, Query(p): Query<Params>) -> Response {
    let reason: String = p.reason.trim().chars().take(200).collect();
    if reason.is_empty() && m.session.role == AccountRole::Police {
        return message(&m.session, "export", t(m.session.lang, "reason_needed"), StatusCode::BAD_REQUEST);
    }
    let rows = match fetch(&app, &m, &p).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    record_action(&app, &m, "returnees.export", format!("{} rows; {}; reason: {reason}", rows.len(), p.query())).await;
    let offset = app.config.utc_offset_min;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "code",
        "arrival",
        "name",
        "phone",
        "unit",
        "origin",
        "origin_name",
        "travel",
        "temperature",
        "symptoms",
        "contact",
        "document",
        "version",
        "kind",
        "until",
        "signed",
        "record",
    ];
    let _ = w.write_record(header);
    for r in &rows {
        let cells = [
            r.code.clone(),
            fmt_day(r.arrival_s, offset),
            r.field("name"),
            r.field("phone"),
            r.unit.clone(),
            r.origin.clone(),
            divisions::full_name(&r.origin).unwrap_or_default(),
            r.field("travel"),
            r.field("temperature"),
            r.field("symptoms"),
            r.field("contact"),
            r.document.clone(),
            r.version.to_string(),
            r.kind.as_str().to_string(),
            fmt_day(r.until_s - 1, offset),
            fmt_ms(r.signed_ms, offset),
            r.index.to_string(),
        ];
        // A cell starting with = + - @ would be a formula in a spreadsheet.
        let _ = w.write_record(cells.iter().map(|c| {
            if c.starts_with(['=', '+', '-', '@']) {
                format!("'{c}")
            } else {
                c.clone()
            }
        }));
    }
    let data = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"returnees.csv\""),
        ],
        data,
    )
        .into_response()
}

/// A printable poster: the registration form's QR code and how to use it.
pub async fn poster(State(app): State<AppState>, m: Member) -> Response {
    let url = format!("{}/r/{}", app.config.public_url.trim_end_matches('/'), m.community);
    let body = format!(
        "<div class=card id=poster style=\"text-align:center;max-width:36em\"><h2>返沪人员登记 · Returnee registration</h2>\
<p>请用手机扫码，填写信息并签署承诺书或告知书。无需下载应用，无需登录。</p><p>Scan with your phone, fill in the form and sign the pledge or notice. No app, no login.</p>\
<div class=qr>{}</div><p><code id=poster-url>{}</code></p></div>",
        qr_svg(&url),
        esc(&url),
    );
    layout(m.session.lang, t(m.session.lang, "poster"), Some(&m.session), &body).into_response()
}

/// The committee confirms a returnee's notice (the gates keep the home in
/// from their next sync) or declines it.
pub async fn decide_notice(
    State(app): State<AppState>,
    m: Member,
    Path((id, verdict)): Path<(i64, String)>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let verdict = match verdict.as_str() {
        "confirm" => crate::records::community::Verdict::Confirm,
        "decline" => crate::records::community::Verdict::Decline,
        _ => return not_found(&m.session),
    };
    let actor = m.actor();
    match app.db.call(move |conn| Ok(registrations::decide_notice(conn, &actor, id, verdict, now_ms()))).await {
        Ok(Ok(_)) => state_redirect("/returnees"),
        Ok(Err(e)) => community_error(&m.session, "returnees", e),
        Err(e) => server_error(e),
    }
}
