//! The Audit page (admins and police): the latest actions, whether the
//! chain is intact, and the whole trail as CSV.

use std::fmt::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::audit::{self, Verdict};

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

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let found =
        app.db.call(move |conn| Ok((audit::verify(conn, &community)?, audit::latest(conn, &community, SHOWN)?))).await;
    let (verdict, rows) = match found {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    let mut body = match verdict {
        Verdict::Intact(n) => format!("<p class=ok id=chain>{} ({n})</p>", t(lang, "chain_intact")),
        Verdict::BrokenAt(seq) => format!("<p class=\"msg bad\" id=chain>{} {seq}</p>", t(lang, "chain_broken")),
    };
    let _ = write!(
        body,
        "<p><a href=/audit.csv>{}</a></p><div class=scroll><table><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "export"),
        t(lang, "time"),
        t(lang, "actor"),
        t(lang, "from_where"),
        t(lang, "action"),
        t(lang, "what"),
    );
    for a in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            a.seq,
            fmt_ms(a.at_ms, offset),
            esc(&a.actor),
            esc(&a.ip),
            esc(&a.action),
            esc(&a.detail),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "audit"), Some(&m.session), &body).into_response()
}

pub async fn export(State(app): State<AppState>, m: Member) -> Response {
    let offset = app.config.utc_offset_min;
    let slot = match app.db.reader().await {
        Ok(slot) => slot,
        Err(e) => return message(&m.session, "audit", &e.to_string(), StatusCode::SERVICE_UNAVAILABLE),
    };
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
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
