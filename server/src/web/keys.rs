//! The Keys page (admins): where the pass-signing key's rotation stands and
//! its next step (see `keys` for the steps and why they are safe).

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::keys::{self, KeyError};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/keys", "keys").get("/keys", Perm::Manage, page).post(
        "/keys/{action}",
        Perm::Manage,
        step,
    )
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let community = match app.community(&m.community).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let s = match app.db.call(move |conn| keys::status(conn, &community, now_ms() / 1000)).await {
        Ok(s) => s,
        Err(e) => return server_error(e),
    };
    let csrf = hidden_csrf(&m.session.csrf);
    let step = |action: &str, key: &str, note: String| {
        format!(
            "<form class=card method=post action=\"/keys/{action}\">{csrf}<p>{note}</p><button>{}</button></form>",
            t(lang, key)
        )
    };
    let mut body = format!("<p>{}: <code id=current-kid>{}</code></p>", t(lang, "key_current"), esc(&s.current));
    let kiosks = t(lang, "key_kiosks").replacen("{}", &(s.kiosks - s.kiosks_behind).to_string(), 1).replacen(
        "{}",
        &s.kiosks.to_string(),
        1,
    );
    match (&s.next, &s.old) {
        (None, None) => body += &step("next", "key_create", t(lang, "key_create_note").to_string()),
        (Some(next), _) => {
            body += &format!("<p>{}: <code id=next-kid>{}</code></p><p>{kiosks}</p>", t(lang, "key_next"), esc(next));
            body += &step("activate", "key_activate", t(lang, "key_activate_note").to_string());
        }
        (None, Some(old)) => {
            body += &format!("<p>{}: <code id=old-kid>{}</code></p><p>{kiosks}</p>", t(lang, "key_old"), esc(old));
            if s.old_passes > 0 {
                body +=
                    &step("resign", "key_resign", t(lang, "key_resign_note").replace("{}", &s.old_passes.to_string()));
            }
            body += &step("retire", "key_retire", t(lang, "key_retire_note").to_string());
        }
    }
    layout(lang, t(lang, "keys"), Some(&m.session), &body).into_response()
}

pub async fn step(
    State(app): State<AppState>,
    m: Member,
    Path(action): Path<String>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let community = match app.community(&m.community).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let step = match action.as_str() {
        "next" => "key.next",
        "activate" => "key.activate",
        "resign" => "key.resign",
        "retire" => "key.retire",
        _ => return not_found(&m.session),
    };
    let actor = m.actor();
    let done = app
        .db
        .call(move |conn| {
            let now_s = now_ms() / 1000;
            Ok(Some(crate::ops::audited_with(conn, &actor, step, |tx| {
                let detail = match step {
                    "key.next" => format!("next key {}", keys::create_next(tx, &community, now_s)?),
                    "key.activate" => {
                        keys::activate(tx, &community)?;
                        format!("key {} signs new passes", community.next.as_ref().map(keys::kid).unwrap_or_default())
                    }
                    "key.resign" => format!("{} passes re-signed", keys::resign_old_passes(tx, &community, now_s)?),
                    _ => {
                        keys::retire(tx, &community, now_s)?;
                        format!("key {} retired", community.old.as_ref().map(keys::kid).unwrap_or_default())
                    }
                };
                Ok(((), detail))
            })))
        })
        .await;
    // The cached keys are stale whatever happened.
    app.forget_community(&m.community);
    match done {
        Ok(Some(Ok(()))) => state_redirect("/keys"),
        Ok(None) => not_found(&m.session),
        Ok(Some(Err(KeyError::Db(e)))) | Err(e) => server_error(e),
        Ok(Some(Err(e))) => message(&m.session, "keys", &e.to_string(), StatusCode::CONFLICT),
    }
}
