//! Residents in bulk: upload an XLSX or CSV file, check it (a dry run that
//! writes nothing and names every bad row with its line and reason), then
//! import the good rows in one transaction.

use std::fmt::Write;

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::residents::{self, ImportError, Plan};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .get("/residents/import", Perm::EditRecords, page)
        .post("/residents/import", Perm::EditRecords, upload)
        .body_limit(crate::records::residents::MAX_IMPORT_BYTES + (64 << 10))
}

fn form(lang: Lang, csrf: &str) -> String {
    format!(
        "<form class=card method=post action=/residents/import enctype=multipart/form-data>{csrf}\
<p>{help}</p><label>{file}<input type=file name=file accept=\".xlsx,.csv\" required></label>\
<button name=mode value=check>{check}</button> <button name=mode value=import>{import}</button></form>",
        csrf = hidden_csrf(csrf),
        help = t(lang, "import_help"),
        file = t(lang, "file"),
        check = t(lang, "import_check"),
        import = t(lang, "import_now"),
    )
}

pub async fn page(State(_app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    layout(lang, t(lang, "import"), Some(&m.session), &form(lang, &m.session.csrf)).into_response()
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

pub async fn upload(State(app): State<AppState>, m: Member, multipart: Multipart) -> Response {
    let lang = m.session.lang;
    let (csrf, mode, file) = match fields(multipart).await {
        Ok(f) => f,
        Err(why) => return message(&m.session, "import", &why, StatusCode::BAD_REQUEST),
    };
    if csrf.is_empty() || csrf != m.session.csrf {
        return forbidden(lang);
    }
    let write = mode == "import";
    let community = m.community.clone();
    // Reading a spreadsheet is CPU work: off the async workers, and before
    // the database call, so a large file never holds the writer.
    let rows = match tokio::task::spawn_blocking(move || residents::read_table(&file)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return bad_file(&m, e),
        Err(e) => return server_error(crate::db::DbError::Engine(format!("reading the spreadsheet failed: {e}"))),
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
                    format!("{added} residents added, {} rows skipped", plan.problems.len()),
                ))
            })?;
            Ok(Ok((plan, added)))
        })
        .await;
    let (plan, added) = match outcome {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return bad_file(&m, e),
        Err(e) => return server_error(e),
    };
    report(&m, &plan, write.then_some(added))
}

fn bad_file(m: &Member, e: ImportError) -> Response {
    let lang = m.session.lang;
    let body = format!("<p class=\"msg bad\">{}</p>{}", esc(&e.to_string()), form(lang, &m.session.csrf));
    (StatusCode::BAD_REQUEST, layout(lang, t(lang, "import"), Some(&m.session), &body)).into_response()
}

/// The dry run's or the import's outcome: counts and every bad row.
fn report(m: &Member, plan: &Plan, added: Option<usize>) -> Response {
    let lang = m.session.lang;
    let mut body = match added {
        Some(n) => format!("<p class=\"msg ok\" id=outcome>{}</p>", t(lang, "imported").replace("{}", &n.to_string())),
        None => format!(
            "<p class=msg id=outcome>{}</p>",
            t(lang, "import_ready").replace("{}", &plan.good.len().to_string())
        ),
    };
    let _ = write!(body, "<h2>{} ({})</h2>", t(lang, "import_problems"), plan.problems.len());
    if !plan.problems.is_empty() {
        let _ = write!(
            body,
            "<div class=scroll><table id=problems><tr><th>{}</th><th>{}</th></tr>",
            t(lang, "line"),
            t(lang, "problem")
        );
        for (line, why) in &plan.problems {
            let _ = write!(body, "<tr><td>{line}</td><td>{}</td></tr>", esc(why));
        }
        body.push_str("</table></div>");
    }
    if added.is_none() {
        body.push_str(&form(lang, &m.session.csrf));
    } else {
        let _ = write!(
            body,
            "<p><a href=/residents>{}</a> · <a href=/print>{}</a></p>",
            t(lang, "residents"),
            t(lang, "print_building")
        );
    }
    layout(lang, t(lang, "import"), Some(&m.session), &body).into_response()
}
