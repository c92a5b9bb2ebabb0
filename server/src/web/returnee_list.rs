//! The committee's list of returnees (`/returnees`): by arrival date and
//! region, with filters, who ends quarantine or self-monitoring soon, each
//! record with its document and evidence; a CSV export; and the poster
//! whose QR code opens the registration form.

use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{
    csrf_field, fmt_day, fmt_last_day, fmt_ms, frame, parse_day, qr_code, record_action, state_redirect, t, urlencode,
    FormMap, Lang, Member, WebError,
};
use crate::db::now_ms;
use crate::leaves::divisions;
use crate::leaves::roles::{AccountRole, Perm};
use crate::records::registrations::{self, Filter, Registration, TRAVEL};
use crate::records::returnees::Kind;
use crate::AppState;

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

async fn fetch(app: &AppState, m: &Member, p: &Params) -> Result<Vec<Registration>, WebError> {
    let (community, filter) = (m.community.clone(), p.filter(app.config.utc_offset_min));
    Ok(app.db.call(move |conn| registrations::list(conn, &community, &filter, now_ms() / 1000, LIMIT)).await?)
}

fn filters_form(lang: Lang, p: &Params) -> Markup {
    let arrival = t(lang, "arrival_day");
    html! {
        form.card method="get" action="/returnees" #filters {
            label { (arrival) " " (t(lang, "from")) input type="date" name="from" value=(p.from); }
            label { (arrival) " " (t(lang, "until")) input type="date" name="to" value=(p.to); }
            label { (t(lang, "origin_code")) input name="region" maxlength="6" placeholder="42" value=(p.region); }
            label {
                (t(lang, "kind"))
                select name="kind" {
                    @for k in ["", "pledge", "notice"] {
                        option value=(k) selected[p.kind == k] { (if k.is_empty() { "—" } else { t(lang, k) }) }
                    }
                }
            }
            label { (t(lang, "ending_within")) input type="number" name="ending" min="1" max="60" value=(p.ending); }
            button { (t(lang, "filter")) }
        }
    }
}

/// Notices returnees declared that wait for the committee: each with
/// confirm (the gates keep the home in) and decline.
fn pending_section(m: &Member, pending: &[crate::records::community::QuarantineRow], offset: i32) -> Markup {
    let lang = m.session.lang;
    let button = |id: i64, verdict: &str, danger: bool| {
        html! {
            form.inline method="post" action={ "/returnees/notices/" (id) "/" (verdict) } {
                (csrf_field(&m.session.csrf))
                button class=[danger.then_some("danger")] { (t(lang, &format!("notice_{verdict}"))) }
            }
        }
    };
    html! {
        @if !pending.is_empty() {
            h2 { (m.session.w("pending_notices")) }
            p { (m.session.w("pending_notices_help")) }
            div.scroll {
                table #pending-notices {
                    @for q in pending {
                        tr {
                            td { (q.unit) }
                            td { (fmt_day(q.from_s, offset)) " – " (fmt_last_day(q.until_s, offset)) }
                            td { (q.note) }
                            td {
                                @if m.may(Perm::EditRecords) {
                                    (button(q.id, "confirm", false)) " " (button(q.id, "decline", true))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn page(State(app): State<AppState>, m: Member, Query(p): Query<Params>) -> Result<Markup, WebError> {
    let (lang, offset) = (m.session.lang, app.config.utc_offset_min);
    let rows = fetch(&app, &m, &p).await?;
    let community = m.community.clone();
    let pending = app.db.call(move |conn| crate::records::community::pending_notices(conn, &community)).await?;
    let now_s = now_ms() / 1000;
    let heads = ["arrival_day", "name", "unit", "origin", "document", "period_until", "reg_code", "reg_record"];
    let body = html! {
        (pending_section(&m, &pending, offset))
        p {
            a href="/returnees/rules" { (t(lang, "rules_and_documents")) } " · "
            a href="/returnees/poster" { (t(lang, "poster")) } " · "
            a href={ "/returnees.csv?" (p.query()) } { (t(lang, "export")) }
        }
        (filters_form(lang, &p))
        p #count { (m.session.w("returnees")) ": " b { (rows.len()) } }
        div.scroll {
            table #returnees {
                tr { @for h in heads { th { (t(lang, h)) } } }
                @for r in &rows {
                    @let soon = r.until_s > now_s && r.until_s - now_s <= 3 * 86_400;
                    tr {
                        td { (fmt_day(r.arrival_s, offset)) }
                        td { (r.field("name")) }
                        td { (r.unit) }
                        td { (divisions::full_name(&r.origin).unwrap_or_else(|| r.origin.clone())) }
                        td { (r.document) " v" (r.version) }
                        td class=[soon.then_some("bad")] {
                            (t(lang, if r.kind == Kind::Notice { "quarantine" } else { "self_monitoring" })) " · "
                            (fmt_last_day(r.until_s, offset))
                        }
                        td { a href={ "/returnees/" (r.id) } { (r.code) } }
                        td { "#" (r.index + 1) }
                    }
                }
            }
        }
    };
    Ok(frame(lang, &m.session.w("returnees"), Some(&m.session), body))
}

/// One record with its document and its evidence, checked now.
pub async fn detail(State(app): State<AppState>, m: Member, Path(id): Path<i64>) -> Result<Markup, WebError> {
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
        .await?;
    let Some((reg, doc, check)) = found else { return Err(WebError::not_found(&m.session)) };
    // (field of the record, its heading)
    let fields = [
        ("name", "name"),
        ("phone", "phone"),
        ("travel", "travel"),
        ("temperature", "temperature"),
        ("symptoms", "rec_symptoms"),
        ("contact", "rec_contact"),
        ("signed_name", "rec_signed_name"),
    ];
    let body = html! {
        p { (super::receipt::consequence(lang, &reg, offset)) }
        table #record {
            @for (f, head) in fields { tr { th { (t(lang, head)) } td { (record_value(lang, f, &reg.field(f))) } } }
            tr { th { (t(lang, "reg_origin")) } td { (divisions::full_name(&reg.origin).unwrap_or_default()) } }
        }
        @if reg.record.is_some() {
            svg #signature viewBox="0 0 320 160" width="320" height="160" style="border:1px solid #ccc;background:#fff" {
                path d=(reg.field("signature")) fill="none" stroke="#000" stroke-width="2.5" stroke-linecap="round" {}
            }
        }
        @if let Some(d) = doc {
            div.card {
                p { b { (d.name) } " v" (d.version) " " code { (d.sha256) } }
                p { (super::register::document_text(lang, &d, &m.session.place)) }
            }
        }
        @match check {
            Some(Ok((index, size))) => p.msg.ok #evidence {
                "✓ " (t(lang, "verify_ok")) (crate::leaves::words::tf(lang, "reg_record_of", &[&(index + 1), &size]))
            },
            Some(Err(e)) => p.msg.bad #evidence { "✗ " (super::receipt::failure(lang, &e)) },
            None => p.msg #evidence { (t(lang, "reg_deleted")) },
        }
    };
    Ok(frame(lang, &format!("{} {}", t(lang, "reg_code"), reg.code), Some(&m.session), body))
}

/// A record's value as the form offered it: the way of travel and the
/// yes/no answers in words, the rest as typed.
fn record_value(lang: Lang, field: &str, value: &str) -> String {
    match (field, value) {
        ("travel", v) if TRAVEL.contains(&v) => t(lang, &format!("travel_{v}")).to_string(),
        ("symptoms" | "contact", v @ ("yes" | "no")) => t(lang, v).to_string(),
        _ => value.to_string(),
    }
}

pub async fn export(State(app): State<AppState>, m: Member, Query(p): Query<Params>) -> Result<Response, WebError> {
    let reason: String = p.reason.trim().chars().take(200).collect();
    if reason.is_empty() && m.session.role == AccountRole::Police {
        return Err(WebError::invalid(&m.session, "export", t(m.session.lang, "reason_needed")));
    }
    let rows = fetch(&app, &m, &p).await?;
    let detail = crate::leaves::detail::enc("returnees_export", &[&rows.len(), &p.query(), &reason]);
    record_action(&app, &m, "returnees.export", detail).await;
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
            fmt_last_day(r.until_s, offset),
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
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"returnees.csv\""),
        ],
        data,
    )
        .into_response())
}

/// A printable poster: the registration form's QR code and how to use it.
pub async fn poster(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let url = format!("{}/r/{}", app.config.public_url.trim_end_matches('/'), m.community);
    let c = m.community.clone();
    let (key, required) = app
        .db
        .call(move |conn| {
            let required = crate::records::witnesses::policy(conn, &c)?.required;
            Ok((crate::records::evidence::verifier_key(conn, &c)?, required))
        })
        .await?;
    let fingerprint = shoumen_protocol::evidence::fingerprint(&key);
    let body = html! {
        div.card #poster style="text-align:center;max-width:36em" {
            h2 { (m.session.place.name_or(&m.community)) }
            h2 { (m.session.place.say(t(Lang::Zh, "reg_title"))) " · " span lang="en" { (t(Lang::En, "reg_title")) } }
            p { "请用手机扫码，填写信息并签署承诺书或告知书。无需下载应用，无需登录。" }
            p lang="en" { "Scan with your phone, fill in the form and sign the pledge or notice. No app, no login." }
            div.qr { (qr_code(&url)) }
            p { code #poster-url { (url) } }
            // Printed, so a receipt's key can be checked against something
            // the server cannot change afterwards.
            p #poster-fingerprint {
                (t(Lang::Zh, "log_fingerprint")) " " span lang="en" { (t(Lang::En, "log_fingerprint")) } br;
                b { (fingerprint) }
            }
            // The witnesses every checkpoint needs: a receipt cosigned by
            // these keys was shown to them, whatever the server says.
            @for w in &required {
                p.poster-witness {
                    (t(Lang::Zh, "witness_fingerprint")) " " span lang="en" { (t(Lang::En, "witness_fingerprint")) } br;
                    code { (w.split('+').next().unwrap_or("")) } br;
                    b { (shoumen_protocol::evidence::fingerprint(w)) }
                }
            }
        }
    };
    Ok(frame(m.session.lang, t(m.session.lang, "poster"), Some(&m.session), body))
}

/// The committee confirms a returnee's notice (the gates keep the home in
/// from their next sync) or declines it.
pub async fn decide_notice(
    State(app): State<AppState>,
    m: Member,
    Path((id, verdict)): Path<(i64, String)>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let verdict = match verdict.as_str() {
        "confirm" => crate::records::community::Verdict::Confirm,
        "decline" => crate::records::community::Verdict::Decline,
        _ => return Err(WebError::not_found(&m.session)),
    };
    let actor = m.actor();
    app.db
        .call(move |conn| Ok(registrations::decide_notice(conn, &actor, id, verdict, now_ms())))
        .await?
        .map_err(|e| WebError::community(&m.session, "returnees", e))?;
    Ok(state_redirect("/returnees"))
}
