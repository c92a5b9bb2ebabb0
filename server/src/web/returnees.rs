//! The Returnees page (staff): the documents a returning resident signs
//! (each edit a new version), the region rules that pick one by where the
//! person came from, and a check of which document applies.

use std::fmt::Write;

use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::leaves::divisions;
use crate::records::returnees::{self, Kind, RuleError};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .post("/returnees/documents", Perm::EditRecords, save_document)
        .get("/returnees/rules", Perm::ReadRecords, page)
        .post("/returnees/rules", Perm::EditRecords, add_rule)
        .post("/returnees/rules/{id}/remove", Perm::EditRecords, remove_rule)
}

/// A first pledge, for a committee that has none yet: edit before use.
const PLEDGE_ZH: &str = "本人承诺：自抵达之日起 {days} 天内每日早晚自测体温，如实申报健康状况；出现发热、咳嗽等症状时立即告知居委会并就医；\
遵守社区防控规定。以上信息真实准确，如有隐瞒，愿承担相应责任。";
const PLEDGE_EN: &str = "I pledge to take my temperature every morning and evening for {days} days from my arrival and to report my health truthfully; \
to tell the committee at once and see a doctor if I have a fever or a cough; and to follow the compound's rules. \
The information I gave is true; I answer for anything I concealed.";

#[derive(serde::Deserialize, Default)]
pub struct Check {
    #[serde(default)]
    origin: String,
    #[serde(default)]
    day: String,
}

fn rule_error(m: &Member, e: RuleError) -> Response {
    match e {
        RuleError::Db(e) => server_error(e),
        other => message(&m.session, "returnees", &other.to_string(), StatusCode::BAD_REQUEST),
    }
}

fn place(lang: Lang, prefix: &str) -> String {
    if prefix.is_empty() {
        return t(lang, "everywhere_else").to_string();
    }
    format!("{} <small>{}</small>", esc(&divisions::full_name(prefix).unwrap_or_default()), esc(prefix))
}

pub async fn page(State(app): State<AppState>, m: Member, Query(check): Query<Check>) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let at_s = parse_day(&check.day, offset).map_or(now_ms() / 1000, |s| s + 12 * 3600);
    let origin = check.origin.trim().to_string();
    let found = app
        .db
        .call(move |conn| {
            let applies =
                if origin.is_empty() { None } else { Some(returnees::document_for(conn, &community, &origin, at_s)?) };
            Ok((returnees::documents(conn, &community)?, returnees::rules(conn, &community)?, applies))
        })
        .await;
    let (docs, rules, applies) = match found {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    let csrf = hidden_csrf(&m.session.csrf);
    let edit = m.may(Perm::EditRecords);
    let mut body = format!("<p><a href=/returnees>← {}</a></p><h2>{}</h2>", t(lang, "returnees"), t(lang, "rules"));
    // Which document applies: the committee's own check of its rules.
    let _ = write!(
        body,
        "<form class=card method=get action=/returnees/rules><label>{origin_l}<input name=origin maxlength=6 placeholder=420106 value=\"{origin}\"></label>\
<label>{day_l}<input type=date name=day value=\"{day}\"></label><button>{check_b}</button>{answer}</form>",
        origin_l = t(lang, "origin_code"),
        origin = esc(&check.origin),
        day_l = t(lang, "arrival_day"),
        day = esc(&check.day),
        check_b = t(lang, "which_document"),
        answer = match &applies {
            None => String::new(),
            Some(None) => format!("<p class=\"msg bad\" id=applies>{}</p>", t(lang, "no_rule")),
            Some(Some(d)) => format!("<p class=msg id=applies>{} → <b>{}</b> v{} ({} {})</p>", place(lang, check.origin.trim()), esc(&d.name), d.version, d.days, t(lang, "days_word")),
        },
    );
    let _ = write!(
        body,
        "<div class=scroll><table id=rules><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        t(lang, "origin"),
        t(lang, "document"),
        t(lang, "from"),
        t(lang, "until")
    );
    for r in &rules {
        let day = |s: Option<i64>| s.map_or("—".to_string(), |s| fmt_day(s, offset));
        let remove = if edit {
            format!("<form class=inline method=post action=\"/returnees/rules/{}/remove\">{csrf}<button class=danger>{}</button></form>", r.id, t(lang, "remove"))
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{remove}</td></tr>",
            place(lang, &r.prefix),
            esc(&r.document),
            day(r.from_s),
            day(r.until_s)
        );
    }
    body.push_str("</table></div>");
    if edit && !docs.is_empty() {
        let options: String = docs.iter().map(|d| format!("<option>{}</option>", esc(&d.name))).collect();
        let _ = write!(
            body,
            "<form class=card method=post action=/returnees/rules>{csrf}<p>{help}</p><label>{origin_l}<input name=prefix maxlength=6 placeholder=42></label>\
<label>{doc_l}<select name=document>{options}</select></label><label>{from_l}<input type=date name=from></label>\
<label>{until_l}<input type=date name=until></label><button>{add}</button></form>",
            help = t(lang, "rule_help"),
            origin_l = t(lang, "origin_code"),
            doc_l = t(lang, "document"),
            from_l = t(lang, "from"),
            until_l = t(lang, "until"),
            add = t(lang, "add"),
        );
    }
    body += &documents_section(lang, &docs, edit.then_some(csrf.as_str()));
    layout(lang, t(lang, "rules_and_documents"), Some(&m.session), &body).into_response()
}

/// The documents, newest version each, and (for staff) the form that saves
/// a new one or a new version.
fn documents_section(lang: Lang, docs: &[returnees::Document], csrf: Option<&str>) -> String {
    let mut body = String::new();
    let _ = write!(body, "<h2>{}</h2>", t(lang, "documents"));
    for d in docs {
        let _ = write!(
            body,
            "<div class=card><p><b>{name}</b> v{v} · {kind} · {days} {days_w} · <code>{sha}</code></p><p>{zh}</p><p>{en}</p></div>",
            name = esc(&d.name),
            v = d.version,
            kind = t(lang, d.kind.as_str()),
            days = d.days,
            days_w = t(lang, "days_word"),
            sha = &d.sha256[..16],
            zh = esc(&d.body_zh),
            en = esc(&d.body_en),
        );
    }
    if let Some(csrf) = csrf {
        let (zh, en) = (PLEDGE_ZH.replace("{days}", "14"), PLEDGE_EN.replace("{days}", "14"));
        let _ = write!(
            body,
            "<form class=card method=post action=/returnees/documents>{csrf}<p>{help}</p><label>{name_l}<input name=name required maxlength=40></label>\
<label>{kind_l}<select name=kind><option value=pledge>{pledge}</option><option value=notice>{notice}</option></select></label>\
<label>{days_l}<input name=days type=number min=1 max=60 value=14></label><label>中文<textarea name=body_zh rows=6 style=\"width:100%\">{zh}</textarea></label>\
<label>English<textarea name=body_en rows=6 style=\"width:100%\">{en}</textarea></label><button>{save}</button></form>",
            help = t(lang, "document_help"),
            name_l = t(lang, "name"),
            kind_l = t(lang, "kind"),
            pledge = t(lang, "pledge"),
            notice = t(lang, "notice"),
            days_l = t(lang, "days_word"),
            zh = esc(&zh),
            en = esc(&en),
            save = t(lang, "save"),
        );
    }
    body
}

pub async fn save_document(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let Some(kind) = Kind::parse(field(&form, "kind")) else {
        return message(&m.session, "returnees", "kind: pledge or notice", StatusCode::BAD_REQUEST);
    };
    let days = field(&form, "days").trim().parse::<i64>().unwrap_or(0);
    let (name, zh, en) =
        (field(&form, "name").to_string(), field(&form, "body_zh").to_string(), field(&form, "body_en").to_string());
    let (community, by, actor) = (m.community.clone(), m.session.user.clone(), m.actor());
    let save = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "document.save", |tx| {
            let version = returnees::save_document(tx, &community, &name, kind, days, &zh, &en, &by, now_ms())?;
            Ok((version, format!("{} v{version}, {} {days} days", name.trim(), kind.as_str())))
        }))
    };
    match app.db.call(save).await {
        Ok(Ok(_)) => state_redirect("/returnees/rules"),
        Ok(Err(e)) => rule_error(&m, e),
        Err(e) => server_error(e),
    }
}

pub async fn add_rule(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let offset = app.config.utc_offset_min;
    let day = |key: &str, end: bool| parse_day(field(&form, key), offset).map(|s| if end { s + 86_400 } else { s });
    let (from_s, until_s) = (day("from", false), day("until", true));
    let (prefix, document) = (field(&form, "prefix").trim().to_string(), field(&form, "document").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let add = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "rule.add", |tx| {
            let id = returnees::add_rule(tx, &community, &prefix, &document, from_s, until_s, now_ms())?;
            let place = if prefix.is_empty() { "everywhere else" } else { &prefix };
            Ok((id, format!("rule {id}: {place} → {document}")))
        }))
    };
    match app.db.call(add).await {
        Ok(Ok(_)) => state_redirect("/returnees/rules"),
        Ok(Err(e)) => rule_error(&m, e),
        Err(e) => server_error(e),
    }
}

pub async fn remove_rule(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, actor) = (m.community.clone(), m.actor());
    let remove = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "rule.remove", &format!("rule {id}"), |tx| {
            returnees::remove_rule(tx, &community, id)
        })
    };
    match app.db.call(remove).await {
        Ok(true) => state_redirect("/returnees/rules"),
        Ok(false) => not_found(&m.session),
        Err(e) => server_error(e),
    }
}
