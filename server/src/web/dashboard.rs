//! The overview of one community: entries today, open alerts, the last 24
//! hours, and how long its records are kept. A district account is sent to
//! the district's overview instead.

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{csrf_field, field, fmt_ms, frame, state_redirect, t, FormMap, Lang, Member, Session, WebError};
use crate::db::now_ms;
use crate::leaves::place::Place;
use crate::ops::retention;
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/", "dashboard")
        .get("/", Perm::ReadCompound, page)
        .post("/retention", Perm::Manage, set_retention)
        .post("/place", Perm::Manage, set_place)
}

pub async fn page(State(app): State<AppState>, session: Session) -> Result<Response, WebError> {
    let Some(community) = session.community.clone() else {
        return Ok(state_redirect("/district"));
    };
    // A property account's one page is its gates' entries.
    if !session.role.may(crate::leaves::roles::Perm::ReadCompound) {
        return Ok(state_redirect("/entries"));
    }
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let (d, policy, steps) = app
        .db
        .call(move |conn| {
            Ok((
                crate::reports::dashboard(conn, &community, now_ms(), offset)?,
                retention::policy(conn, &community)?,
                crate::reports::first_steps(conn, &community)?,
            ))
        })
        .await?;
    let manages = session.may_post("/place");
    let body = html! {
        @if manages && !steps.all_done() { (first_steps(&session, steps)) }
        div.stat { b { (d.today) } (t(lang, "entries_today")) }
        div.stat {
            b class=(if d.open_alerts > 0 { "bad" } else { "ok" }) { (d.open_alerts) }
            a href="/alerts" { (t(lang, "open_alerts")) }
        }
        h2 { (t(lang, "per_hour")) }
        (hour_chart(lang, &d.hours, d.hour_start, offset))
        (retention_form(lang, &session.place, session.may_post("/retention").then_some(session.csrf.as_str()), policy))
        @if manages { (place_form(&session)) }
    };
    Ok(frame(lang, t(lang, "dashboard"), Some(&session), body).into_response())
}

/// A new community's first steps, done ones ticked, each linked to the
/// page that does it.
fn first_steps(session: &Session, s: crate::reports::FirstSteps) -> Markup {
    let lang = session.lang;
    let steps = [
        (s.named, "step_name", "/#place"),
        (s.residents, "step_residents", "/residents/import"),
        (s.gate, "step_gate", "/gates"),
        (s.webhook, "step_webhook", "/alerts#webhook"),
        (s.rules, "step_rules", "/returnees/rules"),
    ];
    html! {
        div.card #first-steps {
            h2 { (t(lang, "first_steps")) }
            ol {
                @for (done, key, href) in steps {
                    li class=[done.then_some("done")] {
                        @if done { "✓ " (session.w(key)) } @else { a href=(href) { (session.w(key)) } }
                    }
                }
            }
        }
    }
}

/// The compound's display name and city, changeable by its admin.
fn place_form(session: &Session) -> Markup {
    let lang = session.lang;
    html! {
        h2 #place { (t(lang, "place")) }
        form.card method="post" action="/place" {
            (csrf_field(&session.csrf))
            label {
                (t(lang, "place_name"))
                input name="name" maxlength=(crate::leaves::place::NAME_CHARS) value=(session.place.name);
            }
            label {
                (t(lang, "place_city"))
                input name="city" maxlength=(crate::leaves::place::CITY_CHARS) placeholder="本市" value=(session.place.city);
            }
            button { (t(lang, "save")) }
        }
    }
}

pub async fn set_place(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (name, city) = (field(&form, "name").to_string(), field(&form, "city").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let detail = crate::leaves::detail::enc("place_set", &[&name.trim(), &city.trim()]);
    let set = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "place.set", &detail, |tx| {
            crate::records::community::set_place(tx, &community, &name, &city)
        }))
    };
    app.db.call(set).await?.map_err(|e| WebError::community(&m.session, "place", e).back("/#place"))?;
    Ok(state_redirect("/"))
}

/// The community's retention policy, stated and changeable.
fn retention_form(lang: Lang, place: &Place, csrf: Option<&str>, p: retention::Policy) -> Markup {
    let policy = place
        .say(t(lang, "retention_policy"))
        .replacen("{}", &p.entry_days.to_string(), 1)
        .replacen("{}", &p.visitor_days.to_string(), 1)
        .replacen("{}", &p.returnee_days.to_string(), 1);
    let days = |key: &str, name: &str, range: &std::ops::RangeInclusive<i64>, value: i64| {
        html! {
            label {
                (place.say(t(lang, key)))
                input type="number" name=(name) min=(range.start()) max=(range.end()) value=(value);
            }
        }
    };
    html! {
        h2 { (t(lang, "retention")) }
        p #retention { (policy) }
        // Only an account that may change it is shown the form.
        @if let Some(csrf) = csrf {
            form.card method="post" action="/retention" {
                (csrf_field(csrf))
                (days("entry_days", "entry_days", &retention::ENTRY_DAYS, p.entry_days))
                (days("visitor_days", "visitor_days", &retention::VISITOR_DAYS, p.visitor_days))
                (days("returnee_days", "returnee_days", &retention::RETURNEE_DAYS, p.returnee_days))
                button { (t(lang, "save")) }
            }
        }
    }
}

pub async fn set_retention(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let days = |key: &str| field(&form, key).trim().parse::<i64>().unwrap_or(0);
    // A form from before returnees' retention existed keeps the default.
    let returnee_days = if field(&form, "returnee_days").trim().is_empty() {
        crate::records::registrations::KEEP_DAYS
    } else {
        days("returnee_days")
    };
    let policy =
        retention::Policy { entry_days: days("entry_days"), visitor_days: days("visitor_days"), returnee_days };
    let (community, actor) = (m.community.clone(), m.actor());
    let detail =
        crate::leaves::detail::enc("retention_set", &[&policy.entry_days, &policy.visitor_days, &policy.returnee_days]);
    let set = move |conn: &mut dyn crate::db::Conn| {
        use crate::records::community::CommunityError;
        Ok(crate::ops::audited(conn, &actor, "retention.set", &detail, |tx| {
            retention::set_policy(tx, &community, policy)?.map_err(CommunityError::Invalid)
        }))
    };
    app.db.call(set).await?.map_err(|e| WebError::community(&m.session, "retention", e).back("/"))?;
    Ok(state_redirect("/"))
}

/// Entries per hour of the last 24 hours, labelled by local hour.
fn hour_chart(lang: Lang, hours: &[i64; 24], start_ms: i64, offset: i32) -> Markup {
    let labels: Vec<String> = (0..24).map(|i| fmt_ms(start_ms + i * 3_600_000, offset)[11..13].to_string()).collect();
    super::chart::stacked("per-hour", &labels, &[(t(lang, "entries").to_string(), hours.to_vec())])
}
