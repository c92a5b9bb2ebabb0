//! The Home quarantine page: units under home quarantine, adding and
//! removing one.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup};

use super::{
    csrf_field, field, fmt_day, fmt_last_day, fmt_ms, frame, parse_day, state_redirect, t, FormMap, Member, WebError,
};
use crate::db::now_ms;
use crate::records::community;
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/quarantine", "quarantine")
        .get("/quarantine", Perm::ReadRecords, page)
        .post("/quarantine", Perm::EditRecords, add)
        .post("/quarantine/{id}/remove", Perm::EditRecords, remove)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let rows = app.db.call(move |conn| community::quarantines(conn, &community, now_ms() / 1000)).await?;
    let csrf = &m.session.csrf;
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let body = html! {
        form.card method="post" action="/quarantine" {
            (csrf_field(csrf))
            label { (t(lang, "unit")) input name="unit" required maxlength="24" placeholder="3-502"; }
            label { (t(lang, "from")) input name="from" type="date" required value=(today); }
            label { (t(lang, "until")) input name="until" type="date" required; }
            label { (t(lang, "note")) input name="note" maxlength="200"; }
            button { (t(lang, "add")) }
        }
        div.scroll {
            table #quarantines {
                tr {
                    th { (t(lang, "unit")) } th { (t(lang, "from")) } th { (t(lang, "until")) }
                    th { (t(lang, "q_status")) } th { (t(lang, "note")) } th {}
                }
                @for q in &rows {
                    tr {
                        td { (q.unit) }
                        td { (fmt_day(q.from_s, offset)) }
                        td { (fmt_last_day(q.until_s, offset)) }
                        td {
                            (t(lang, if q.status == "pending" { "q_pending" } else { "q_confirmed" })) " · "
                            (m.session.w(if q.source == "returnee" { "q_returnee" } else { "q_committee" }))
                        }
                        td { (q.note) }
                        td {
                            form.inline method="post" action={ "/quarantine/" (q.id) "/remove" } {
                                (csrf_field(csrf))
                                button.danger { (t(lang, "remove")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "quarantine"), Some(&m.session), body))
}

pub async fn add(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Response, WebError> {
    let session = &m.session;
    session.check_csrf(&form)?;
    let offset = app.config.utc_offset_min;
    let (Some(from), Some(until)) = (parse_day(field(&form, "from"), offset), parse_day(field(&form, "until"), offset))
    else {
        return Err(WebError::invalid(session, "quarantine", t(session.lang, "err_date")));
    };
    // The end date is inclusive: quarantine lasts until the end of that day.
    let until = until + 86_400;
    let (unit, note) = (field(&form, "unit").to_string(), field(&form, "note").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let detail = crate::leaves::detail::enc("quarantine_add", &[&unit, &field(&form, "from"), &field(&form, "until")]);
    app.db
        .call(move |conn| {
            Ok(crate::ops::audited(conn, &actor, "quarantine.add", &detail, |tx| {
                community::add_quarantine(tx, &community, &unit, from, until, &note, now_ms())
            }))
        })
        .await?
        .map_err(|e| WebError::community(session, "quarantine", e))?;
    Ok(state_redirect("/quarantine"))
}

pub async fn remove(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let remove = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(
            conn,
            &actor,
            "quarantine.remove",
            &crate::leaves::detail::enc("quarantine_n", &[&id]),
            |tx| community::remove_quarantine(tx, &community, id),
        ))
    };
    app.db.call(remove).await?.map_err(|e| WebError::community(&m.session, "quarantine", e))?;
    Ok(state_redirect("/quarantine"))
}
