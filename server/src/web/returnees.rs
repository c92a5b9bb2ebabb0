//! The Returnees page (staff): the documents a returning resident signs
//! (each edit a new version), the region rules that pick one by where the
//! person came from, and a check of which document applies.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use super::register::document_text;
use super::{csrf_field, field, fmt_day, fmt_last_day, parse_day, state_redirect, t, FormMap, Lang, Member, WebError};
use crate::db::now_ms;
use crate::leaves::divisions;
use crate::leaves::place::Place;
use crate::leaves::roles::Perm;
use crate::records::returnees::{self, Kind, RuleError};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .post("/returnees/documents", Perm::EditRecords, save_document)
        .get("/returnees/rules", Perm::ReadRecords, page)
        .post("/returnees/rules", Perm::EditRecords, add_rule)
        .post("/returnees/rules/{id}/remove", Perm::EditRecords, remove_rule)
}

#[derive(serde::Deserialize, Default)]
pub struct Check {
    #[serde(default)]
    origin: String,
    #[serde(default)]
    day: String,
}

fn rule_error(m: &Member, e: RuleError) -> WebError {
    match e {
        RuleError::Db(e) => e.into(),
        other => {
            let text = crate::leaves::words::detail_text(m.session.lang, &other.message(), 0);
            WebError::invalid(&m.session, "rules_and_documents", text).back("/returnees/rules")
        }
    }
}

fn place(lang: Lang, prefix: &str) -> Markup {
    html! {
        @if prefix.is_empty() {
            (t(lang, "everywhere_else"))
        } @else {
            (divisions::full_name(prefix).unwrap_or_default()) " " small { (prefix) }
        }
    }
}

pub async fn page(State(app): State<AppState>, m: Member, Query(check): Query<Check>) -> Result<Response, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let at_s = parse_day(&check.day, offset).map_or(now_ms() / 1000, |s| s + 12 * 3600);
    let origin = check.origin.trim().to_string();
    let (docs, rules, applies) = app
        .db
        .call(move |conn| {
            let applies =
                if origin.is_empty() { None } else { Some(returnees::document_for(conn, &community, &origin, at_s)?) };
            Ok((returnees::documents(conn, &community)?, returnees::rules(conn, &community)?, applies))
        })
        .await?;
    let csrf = &m.session.csrf;
    let edit = m.may(Perm::EditRecords);
    let nonce = crate::leaves::secrets::random_token();
    let day = |s: Option<i64>| s.map_or("—".to_string(), |s| fmt_day(s, offset));
    let last_day = |s: Option<i64>| s.map_or("—".to_string(), |s| fmt_last_day(s, offset));
    let body = html! {
        p { a href="/returnees" { "← " (m.session.w("returnees")) } }
        h2 { (t(lang, "rules")) }
        // Which document applies: the committee's own check of its rules.
        form.card method="get" action="/returnees/rules" {
            label { (t(lang, "origin_code")) input name="origin" maxlength="6" placeholder="420106" value=(check.origin); }
            label { (t(lang, "arrival_day")) input type="date" name="day" value=(check.day); }
            button { (t(lang, "which_document")) }
            @match &applies {
                None => {},
                Some(None) => p.msg.bad #applies { (t(lang, "no_rule")) },
                Some(Some(d)) => p.msg #applies {
                    (place(lang, check.origin.trim())) " → " b { (d.name) } " v" (d.version) " (" (d.days) " " (t(lang, "days_word")) ")"
                },
            }
        }
        div.scroll {
            table #rules {
                tr { th { (t(lang, "origin")) } th { (t(lang, "document")) } th { (t(lang, "from")) } th { (t(lang, "until")) } th {} }
                @for r in &rules {
                    tr {
                        td { (place(lang, &r.prefix)) } td { (r.document) } td { (day(r.from_s)) } td { (last_day(r.until_s)) }
                        td {
                            @if edit {
                                form.inline method="post" action={ "/returnees/rules/" (r.id) "/remove" } {
                                    (csrf_field(csrf)) button.danger { (t(lang, "remove")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if edit && !docs.is_empty() {
            form.card method="post" action="/returnees/rules" {
                (csrf_field(csrf))
                p { (t(lang, "rule_help")) }
                // Picked by name, as the returnee picks where they came from.
                fieldset {
                    legend { (t(lang, "rule_region")) }
                    (super::register::origin_picker(lang, "prefix", "", true))
                }
                label { (t(lang, "document")) select name="document" { @for d in &docs { option { (d.name) } } } }
                label { (t(lang, "from")) input type="date" name="from"; }
                label { (t(lang, "until")) input type="date" name="until"; }
                button { (t(lang, "add")) }
            }
        }
        (documents_section(lang, &m.session.place, &docs, edit.then_some(csrf.as_str())))
        @if edit && !docs.is_empty() { (super::register::picker_script(&nonce)) }
    };
    let title = t(lang, "rules_and_documents");
    Ok(super::scripted_for(StatusCode::OK, lang, title, Some(&m.session), body, &nonce))
}

/// The documents, newest version each, and (for staff) the form that saves
/// a new one or a new version.
/// Each document as the person signing it reads it: its days and city
/// filled in.
fn documents_section(lang: Lang, place: &Place, docs: &[returnees::Document], csrf: Option<&str>) -> Markup {
    html! {
        h2 { (t(lang, "documents")) }
        @for d in docs {
            div.card {
                p {
                    b { (d.name) } " v" (d.version) " · " (t(lang, d.kind.as_str())) " · " (d.days) " " (t(lang, "days_word"))
                    " · " code { (&d.sha256[..16]) }
                }
                p { (document_text(Lang::Zh, d, place)) }
                @if !d.body_en.trim().is_empty() { p lang="en" { (document_text(Lang::En, d, place)) } }
            }
        }
        @if let Some(csrf) = csrf {
            form.card method="post" action="/returnees/documents" {
                (csrf_field(csrf))
                p { (t(lang, "document_help")) }
                label { (t(lang, "document_name")) input name="name" required maxlength="40"; }
                label {
                    (t(lang, "kind"))
                    select name="kind" {
                        option value="pledge" { (t(lang, "pledge")) }
                        option value="notice" { (t(lang, "notice")) }
                    }
                }
                label { (t(lang, "days_period")) input name="days" type="number" min="1" max="60" value="14"; }
                // Empty texts are the standard text of the kind chosen, so
                // choosing a notice never keeps a pledge's words; `{days}`
                // is the period, wherever the text is shown.
                p { (t(lang, "document_text_help")) }
                label { "中文" textarea name="body_zh" rows="6" style="width:100%" placeholder=(returnees::template(Kind::Pledge).0) {} }
                label { "English" textarea lang="en" name="body_en" rows="6" style="width:100%" placeholder=(returnees::template(Kind::Pledge).1) {} }
                button { (t(lang, "save")) }
            }
        }
    }
}

pub async fn save_document(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let Some(kind) = Kind::parse(field(&form, "kind")) else {
        return Err(
            WebError::invalid(&m.session, "returnees", t(m.session.lang, "err_doc_kind")).back("/returnees/rules")
        );
    };
    let days = field(&form, "days").trim().parse::<i64>().unwrap_or(0);
    let (name, zh, en) =
        (field(&form, "name").to_string(), field(&form, "body_zh").to_string(), field(&form, "body_en").to_string());
    let (community, by, actor) = (m.community.clone(), m.session.user.clone(), m.actor());
    let save = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "document.save", |tx| {
            let version = returnees::save_document(tx, &community, &name, kind, days, &zh, &en, &by, now_ms())?;
            let detail = crate::leaves::detail::Detail::new(
                "document_save",
                [
                    crate::leaves::detail::Arg::from(name.trim()),
                    crate::leaves::detail::Arg::from(version.to_string()),
                    crate::leaves::detail::Arg::Word(kind.as_str().into()),
                    crate::leaves::detail::Arg::from(days.to_string()),
                ],
            );
            Ok((version, detail.encode()))
        }))
    };
    app.db.call(save).await?.map_err(|e| rule_error(&m, e))?;
    Ok(state_redirect("/returnees/rules"))
}

pub async fn add_rule(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let offset = app.config.utc_offset_min;
    let day = |key: &str, end: bool| parse_day(field(&form, key), offset).map(|s| if end { s + 86_400 } else { s });
    let (from_s, until_s) = (day("from", false), day("until", true));
    let (prefix, document) = (field(&form, "prefix").trim().to_string(), field(&form, "document").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let add = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "rule.add", |tx| {
            let id = returnees::add_rule(tx, &community, &prefix, &document, from_s, until_s, now_ms())?;
            use crate::leaves::detail::{Arg, Detail};
            let place = match divisions::full_name(&prefix) {
                Some(name) if !prefix.is_empty() => Arg::from(name),
                _ => Arg::Word("everywhere_else".into()),
            };
            Ok((id, Detail::new("rule_add", [Arg::from(id.to_string()), place, Arg::from(document.as_str())]).encode()))
        }))
    };
    app.db.call(add).await?.map_err(|e| rule_error(&m, e))?;
    Ok(state_redirect("/returnees/rules"))
}

pub async fn remove_rule(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let remove = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "rule.remove", &crate::leaves::detail::enc("rule_n", &[&id]), |tx| {
            returnees::remove_rule(tx, &community, id)
        })
    };
    if !app.db.call(remove).await? {
        return Err(WebError::not_found(&m.session));
    }
    Ok(state_redirect("/returnees/rules"))
}
