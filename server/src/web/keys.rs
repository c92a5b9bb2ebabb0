//! The Keys page (admins): where the pass-signing key's rotation stands and
//! its next step (see `keys` for the steps and why they are safe).

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup};

use super::{csrf_field, frame, state_redirect, t, FormMap, Member, WebError};
use crate::db::now_ms;
use crate::records::keys::{self, KeyError};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/keys", "keys").get("/keys", Perm::Manage, page).post(
        "/keys/{action}",
        Perm::Manage,
        step,
    )
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let community = app.community(&m.community).await?;
    let s = app.db.call(move |conn| keys::status(conn, &community, now_ms() / 1000)).await?;
    let step = |action: &str, key: &str, note: String| {
        html! {
            form.card method="post" action={ "/keys/" (action) } {
                (csrf_field(&m.session.csrf))
                p { (note) }
                button { (t(lang, key)) }
            }
        }
    };
    let kiosks = t(lang, "key_kiosks").replacen("{}", &(s.kiosks - s.kiosks_behind).to_string(), 1).replacen(
        "{}",
        &s.kiosks.to_string(),
        1,
    );
    let body = html! {
        p { (t(lang, "key_current")) ": " code #current-kid { (s.current) } }
        @match (&s.next, &s.old) {
            (None, None) => (step("next", "key_create", t(lang, "key_create_note").to_string())),
            (Some(next), _) => {
                p { (t(lang, "key_next")) ": " code #next-kid { (next) } }
                p { (kiosks) }
                (step("activate", "key_activate", t(lang, "key_activate_note").to_string()))
            }
            (None, Some(old)) => {
                p { (t(lang, "key_old")) ": " code #old-kid { (old) } }
                p { (kiosks) }
                @if s.old_passes > 0 {
                    (step("resign", "key_resign", t(lang, "key_resign_note").replace("{}", &s.old_passes.to_string())))
                }
                (step("retire", "key_retire", t(lang, "key_retire_note").to_string()))
            }
        }
    };
    Ok(frame(lang, t(lang, "keys"), Some(&m.session), body))
}

pub async fn step(
    State(app): State<AppState>,
    m: Member,
    Path(action): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let community = app.community(&m.community).await?;
    let step = match action.as_str() {
        "next" => "key.next",
        "activate" => "key.activate",
        "resign" => "key.resign",
        "retire" => "key.retire",
        _ => return Err(WebError::not_found(&m.session)),
    };
    let actor = m.actor();
    let done = app
        .db
        .call(move |conn| {
            let now_s = now_ms() / 1000;
            Ok(Some(crate::ops::audited_with(conn, &actor, step, |tx| {
                let mut retired = None;
                let detail = match step {
                    "key.next" => crate::leaves::detail::enc("key_next", &[&keys::create_next(tx, &community, now_s)?]),
                    "key.activate" => {
                        keys::activate(tx, &community)?;
                        crate::leaves::detail::enc(
                            "key_activate",
                            &[&community.next.as_ref().map(keys::kid).unwrap_or_default()],
                        )
                    }
                    "key.resign" => {
                        crate::leaves::detail::enc("key_resign", &[&keys::resign_old_passes(tx, &community, now_s)?])
                    }
                    _ => {
                        retired = Some(keys::retire(tx, &community, now_s)?);
                        crate::leaves::detail::enc(
                            "key_retire",
                            &[&community.old.as_ref().map(keys::kid).unwrap_or_default()],
                        )
                    }
                };
                Ok((retired, detail))
            })))
        })
        .await;
    // The cached keys are stale whatever happened.
    app.forget_community(&m.community);
    match done {
        Ok(Some(Ok(retired))) => {
            if let Some(retired) = retired {
                retired.forget(&m.community);
            }
            Ok(state_redirect("/keys"))
        }
        Ok(None) => Err(WebError::not_found(&m.session)),
        Ok(Some(Err(KeyError::Db(e)))) | Err(e) => Err(e.into()),
        Ok(Some(Err(e))) => Err(WebError::conflict(&m.session, "keys", e.to_string())),
    }
}
