//! The Audit page (admins and police): the latest actions, whether the
//! chain is intact, and the whole trail as CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::i18n::{action_text, actor_text, detail_text};
use super::{fmt_ms, frame, record_action, t, Member, WebError};
use crate::records::audit::{self, Verdict};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/audit", "audit").get("/audit", Perm::ReadAudit, page).get(
        "/audit.csv",
        Perm::ReadAudit,
        export,
    )
}

/// Rows the page shows; the CSV has them all.
const SHOWN: i64 = 300;

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let (lang, place) = (m.session.lang, &m.session.place);
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let (verdict, rows) = app
        .db
        .call(move |conn| Ok((audit::verify(conn, &community)?, audit::latest(conn, &community, SHOWN)?)))
        .await?;
    let body = html! {
        @match verdict {
            Verdict::Intact(n) => p.ok #chain { (t(lang, "chain_intact")) " (" (n) ")" },
            Verdict::BrokenAt(seq) => p.msg.bad #chain { (t(lang, "chain_broken")) " " (seq) },
        }
        p { a href="/audit.csv" { (t(lang, "export")) } }
        div.scroll {
            table {
                tr {
                    th { "#" } th { (t(lang, "time")) } th { (t(lang, "actor")) } th { (t(lang, "from_where")) }
                    th { (t(lang, "action")) } th { (t(lang, "what")) }
                }
                @for a in &rows {
                    tr {
                        td { (a.seq) } td { (fmt_ms(a.at_ms, offset)) } td { (place.say(&actor_text(lang, &a.actor))) }
                        td translate="no" { (a.ip) }
                        td data-action=(a.action) { (place.say(&action_text(lang, &a.action))) }
                        td { (place.say(&detail_text(lang, &a.detail, offset))) }
                    }
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "audit"), Some(&m.session), body))
}

pub async fn export(State(app): State<AppState>, m: Member) -> Result<Response, WebError> {
    let offset = app.config.utc_offset_min;
    let slot = app.db.reader().await?;
    // Exporting the trail is itself an action worth a row.
    record_action(&app, &m, "audit.export", String::new()).await;
    let (db, community) = (app.db.clone(), m.community.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = db.read_blocking(|conn| {
            audit::export_csv(conn, &community, offset, &mut |chunk| tx.blocking_send(Ok(chunk)).is_ok())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "audit export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
