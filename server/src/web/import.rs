//! Residents in bulk: upload an XLSX or CSV file, check it (a dry run that
//! writes nothing and names every bad row with its line and reason), then
//! import the good rows in one transaction.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{csrf_field, frame, i18n, t, Lang, Member, WebError};
use crate::db::now_ms;
use crate::records::residents::{self, ImportError, Plan};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .get("/residents/import", Perm::EditRecords, page)
        .post("/residents/import", Perm::EditRecords, upload)
        .body_limit(crate::records::residents::MAX_IMPORT_BYTES + (64 << 10))
}

fn form(lang: Lang, csrf: &str) -> Markup {
    html! {
        form.card method="post" action="/residents/import" enctype="multipart/form-data" {
            (csrf_field(csrf))
            p { (t(lang, "import_help")) }
            label { (t(lang, "file")) input type="file" name="file" accept=".xlsx,.csv" required; }
            button name="mode" value="check" { (t(lang, "import_check")) } " "
            button name="mode" value="import" { (t(lang, "import_now")) }
        }
    }
}

pub async fn page(State(_app): State<AppState>, m: Member) -> Markup {
    let lang = m.session.lang;
    frame(lang, t(lang, "import"), Some(&m.session), form(lang, &m.session.csrf))
}

/// The upload's fields: (csrf, mode, file bytes).
async fn fields(mut multipart: Multipart) -> Result<(String, String, Vec<u8>), String> {
    let (mut csrf, mut mode, mut file) = (String::new(), String::new(), Vec::new());
    while let Some(part) = multipart.next_field().await.map_err(|e| e.body_text())? {
        match part.name().unwrap_or("") {
            "csrf" => csrf = part.text().await.map_err(|e| e.body_text())?,
            "mode" => mode = part.text().await.map_err(|e| e.body_text())?,
            "file" => file = part.bytes().await.map_err(|e| e.body_text())?.to_vec(),
            _ => {}
        }
    }
    Ok((csrf, mode, file))
}

pub async fn upload(State(app): State<AppState>, m: Member, multipart: Multipart) -> Result<Response, WebError> {
    let lang = m.session.lang;
    let (csrf, mode, file) = fields(multipart).await.map_err(|why| {
        tracing::info!(%why, "an upload could not be read");
        WebError::invalid(&m.session, "import", t(lang, "err_upload")).back("/residents/import")
    })?;
    if csrf.is_empty() || csrf != m.session.csrf {
        return Err(WebError::csrf(lang));
    }
    let write = mode == "import";
    let community = m.community.clone();
    // Reading a spreadsheet is CPU work: off the async workers, and before
    // the database call, so a large file never holds the writer.
    let rows = match tokio::task::spawn_blocking(move || residents::read_table(&file)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return Ok(bad_file(&m, e)),
        Err(e) => return Err(WebError::internal(format!("reading the spreadsheet failed: {e}"))),
    };
    let actor = m.actor();
    let outcome = app
        .db
        .call(move |conn| {
            let plan = match residents::plan(conn, &community, &rows)? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            if !write {
                return Ok(Ok((plan, 0)));
            }
            let added = crate::ops::audited_with(conn, &actor, "resident.import", |tx| {
                let added = residents::apply(tx, &community, &plan, now_ms())?;
                Ok::<_, crate::db::DbError>((
                    added,
                    crate::leaves::detail::enc("resident_import", &[&added, &plan.problems.len()]),
                ))
            })?;
            Ok(Ok((plan, added)))
        })
        .await;
    let (plan, added) = match outcome? {
        Ok(v) => v,
        Err(e) => return Ok(bad_file(&m, e)),
    };
    Ok(report(&m, &plan, write.then_some(added)).into_response())
}

/// The file cannot be read: why, and the form again.
fn bad_file(m: &Member, e: ImportError) -> Response {
    let lang = m.session.lang;
    let body = html! { p.msg.bad { (i18n::detail_text(lang, &e.message(), 0)) } (form(lang, &m.session.csrf)) };
    (StatusCode::BAD_REQUEST, frame(lang, t(lang, "import"), Some(&m.session), body)).into_response()
}

/// Rewritten units listed at most: a file of one building written one way
/// shows the pattern in a screen or two.
const REWRITES_SHOWN: usize = 200;

/// The dry run's or the import's outcome: counts, units written another
/// way, and every bad row.
fn report(m: &Member, plan: &Plan, added: Option<usize>) -> Markup {
    let lang = m.session.lang;
    let body = html! {
        @match added {
            Some(n) => p.msg.ok #outcome { (t(lang, "imported").replace("{}", &n.to_string())) },
            None => p.msg #outcome { (t(lang, "import_ready").replace("{}", &plan.good.len().to_string())) },
        }
        // What the file says another way, shown before anything is stored.
        @if !plan.rewritten.is_empty() {
            h2 { (t(lang, "import_rewritten")) " (" (plan.rewritten.len()) ")" }
            div.scroll {
                table #rewritten {
                    tr { th { (t(lang, "line")) } th { (t(lang, "as_typed")) } th { (t(lang, "as_stored")) } }
                    @for (line, typed, unit) in plan.rewritten.iter().take(REWRITES_SHOWN) {
                        tr { td { (line) } td { (typed) } td { b { (unit) } } }
                    }
                }
            }
            @if plan.rewritten.len() > REWRITES_SHOWN {
                p { (i18n::tf(lang, "and_more", &[&(plan.rewritten.len() - REWRITES_SHOWN)])) }
            }
        }
        h2 { (t(lang, "import_problems")) " (" (plan.problems.len()) ")" }
        @if !plan.problems.is_empty() {
            div.scroll {
                table #problems {
                    tr { th { (t(lang, "line")) } th { (t(lang, "problem")) } }
                    @for (line, why) in &plan.problems { tr { td { (line) } td { (i18n::detail_text(lang, why, 0)) } } }
                }
            }
        }
        @if added.is_none() {
            (form(lang, &m.session.csrf))
        } @else {
            p { a href="/residents" { (t(lang, "residents")) } " · " a href="/print" { (t(lang, "print_building")) } }
        }
    };
    frame(lang, t(lang, "import"), Some(&m.session), body)
}
