//! The duty roster's changes (issue 32): a volunteer signing up by the
//! public link, the committee confirming them (which issues their duty
//! pass) or adding one directly, shifts made and removed, people put on
//! and taken off shifts, by the committee or by the volunteer's own link.
//! Each commits with its audit row.

use shoumen_protocol::Role;

use crate::db::{now_ms, Community, Conn};
use crate::leaves::detail::enc;
use crate::records::audit::Actor;
use crate::records::community::{self, CommunityError, PassRequest};
use crate::records::roster::{self, RosterError, Standing};

/// How long a duty pass lasts: a season of duty; the committee issues a
/// new one after.
pub const DUTY_PASS_S: i64 = 180 * 86_400;

/// What a roster change may fail with.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(transparent)]
    Pass(#[from] CommunityError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// Someone signs up to volunteer by the community's public link: pending
/// until the committee confirms them.
pub fn join(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    name: &str,
    phone: &str,
    link_digest: &str,
) -> Result<i64, RosterError> {
    super::audited_with(conn, actor, "volunteer.join", |tx| {
        let id = roster::add(tx, community, name, phone, link_digest, Standing::Pending, now_ms())?;
        Ok((id, enc("volunteer_detail", &[&id.to_string()])))
    })
}

/// Issues `volunteer`'s duty pass: a phone pass in their name.
fn duty_pass(tx: &mut dyn Conn, community: &Community, name: &str) -> Result<String, CommunityError> {
    let req = PassRequest {
        role: Role::Duty,
        unit: String::new(),
        resident_id: None,
        valid_from: now_ms() / 1000 - 60,
        valid_s: DUTY_PASS_S,
        flags: 0,
        visitor_name: Some(name.to_string()),
        gate: None,
    };
    let issued = community::issue_pass(tx, community, &req)?;
    Ok(issued.pass_id.to_hex())
}

/// The committee confirms a pending volunteer: their duty pass is issued
/// and bound to them. `None` if there is no such pending volunteer.
pub fn confirm(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &Community,
    id: i64,
) -> Result<Option<String>, ChangeError> {
    super::audited_with(conn, actor, "volunteer.confirm", |tx| {
        let detail = enc("volunteer_detail", &[&id.to_string()]);
        let Some(v) = roster::get(tx, &community.id, id)?.filter(|v| v.standing == Standing::Pending) else {
            return Ok((None, detail));
        };
        let pass = duty_pass(tx, community, &v.name)?;
        roster::confirm(tx, &community.id, id, &pass, now_ms())?;
        Ok((Some(pass), detail))
    })
}

/// The committee adds a volunteer it knows: confirmed at once, with their
/// duty pass.
pub fn add(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &Community,
    name: &str,
    phone: &str,
    link_digest: &str,
) -> Result<i64, ChangeError> {
    super::audited_with(conn, actor, "volunteer.add", |tx| {
        let id = roster::add(tx, &community.id, name, phone, link_digest, Standing::Active, now_ms())?;
        let v = roster::get(tx, &community.id, id)?.ok_or(RosterError::Invalid("err_volunteer_name"))?;
        let pass = duty_pass(tx, community, &v.name)?;
        roster::confirm(tx, &community.id, id, &pass, now_ms())?;
        Ok((id, enc("volunteer_detail", &[&id.to_string()])))
    })
}

/// The committee renews a volunteer's duty pass (it runs for
/// [`DUTY_PASS_S`]): a new one is issued and the old one withdrawn, so one
/// pass per person works at a time; the volunteer opens the new one on
/// their phone from their own page. False if there is no such active
/// volunteer.
pub fn renew(conn: &mut dyn Conn, actor: &Actor, community: &Community, id: i64) -> Result<bool, ChangeError> {
    super::audited_with(conn, actor, "volunteer.renew", |tx| {
        let detail = enc("volunteer_detail", &[&id.to_string()]);
        let Some(v) = roster::get(tx, &community.id, id)?.filter(|v| v.standing == Standing::Active) else {
            return Ok((false, detail));
        };
        let now = now_ms();
        let pass = duty_pass(tx, community, &v.name)?;
        if let Some(old) = roster::renew(tx, &community.id, id, &pass, now)? {
            community::revoke_pass(tx, &community.id, &old, now)?;
        }
        Ok((true, detail))
    })
}

/// The committee stands a volunteer down: their duty pass is withdrawn
/// (kiosks refuse it from their next sync), they come off every shift
/// not yet started, and their own page says so; the hours they served
/// stay. False if there is no such active volunteer.
pub fn stand_down(conn: &mut dyn Conn, actor: &Actor, community: &str, id: i64) -> Result<bool, ChangeError> {
    super::audited_with(conn, actor, "volunteer.stand_down", |tx| {
        let detail = enc("volunteer_detail", &[&id.to_string()]);
        let now = now_ms();
        let Some(pass) = roster::stand_down(tx, community, id, now)? else {
            return Ok((false, detail));
        };
        if !pass.is_empty() {
            community::revoke_pass(tx, community, &pass, now)?;
        }
        Ok((true, detail))
    })
}

/// What a shift is, for its audit row: gate and start.
fn shift_detail(gate: &str, start_ms: i64) -> String {
    use crate::leaves::detail::{Arg, Detail};
    Detail::new("shift_detail", [Arg::from(gate), Arg::Time(start_ms)]).encode()
}

/// A new shift at `gate`.
pub fn add_shift(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    gate: &str,
    start_ms: i64,
    end_ms: i64,
    needed: i64,
) -> Result<i64, RosterError> {
    super::audited(conn, actor, "shift.add", &shift_detail(gate, start_ms), |tx| {
        roster::add_shift(tx, community, gate, start_ms, end_ms, needed, now_ms())
    })
}

pub fn delete_shift(conn: &mut dyn Conn, actor: &Actor, community: &str, id: i64) -> Result<bool, RosterError> {
    let detail = enc("shift_id_detail", &[&id.to_string()]);
    Ok(super::audited_if(conn, actor, "shift.delete", &detail, |tx| roster::delete_shift(tx, community, id))?)
}

/// The committee puts `volunteer` on `shift`, even one already over (a
/// paper roster written down); false if they were on it already.
pub fn put_on(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    shift: i64,
    volunteer: i64,
) -> Result<bool, RosterError> {
    put_on_shift(conn, actor, community, shift, volunteer, true)
}

/// A volunteer signs up for a shift by their own link: not one already over.
pub fn sign_up(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    shift: i64,
    volunteer: i64,
) -> Result<bool, RosterError> {
    put_on_shift(conn, actor, community, shift, volunteer, false)
}

fn put_on_shift(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    shift: i64,
    volunteer: i64,
    past_ok: bool,
) -> Result<bool, RosterError> {
    let detail = enc("shift_person_detail", &[&shift.to_string(), &volunteer.to_string()]);
    super::audited(conn, actor, "shift.join", &detail, |tx| {
        roster::join(tx, community, shift, volunteer, now_ms(), past_ok)
    })
}

/// Takes `volunteer` off `shift` (a swap is one off, another on).
pub fn take_off(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    shift: i64,
    volunteer: i64,
) -> Result<bool, RosterError> {
    let detail = enc("shift_person_detail", &[&shift.to_string(), &volunteer.to_string()]);
    Ok(super::audited_if(conn, actor, "shift.leave", &detail, |tx| roster::leave(tx, community, shift, volunteer))?)
}

/// A volunteer takes themself off a shift by their own link: only before
/// it starts (after, it is the committee's to change).
pub fn withdraw(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &str,
    shift: i64,
    volunteer: i64,
) -> Result<bool, RosterError> {
    match roster::starts_at(conn, community, shift)? {
        None => Err(RosterError::NotFound("shift")),
        Some(start) if start <= now_ms() => Err(RosterError::Invalid("err_shift_started")),
        Some(_) => take_off(conn, actor, community, shift, volunteer),
    }
}

/// Every rostered shift a quarter of an hour in with nobody signed in for
/// duty at its gate's kiosks raises `gate_unstaffed` for the committee,
/// once per shift. Run with the minute's look for silent kiosks; returns
/// how many it raised.
pub fn check_unstaffed(conn: &mut dyn Conn, now: i64) -> Result<usize, crate::db::DbError> {
    use crate::leaves::detail::{Arg, Detail};
    use crate::records::{alerts, devices};
    let due = roster::under_way(conn, now, crate::leaves::duty::NO_SHOW_AFTER_MS)?;
    let mut raised = 0;
    let mut staffed: std::collections::HashMap<String, std::collections::HashSet<String>> = Default::default();
    for roster::UnderWay { community, gate, start_ms: start, rostered, .. } in due {
        if !staffed.contains_key(&community) {
            // The gates (by name) with someone signed in for duty now.
            let on = devices::on_duty(conn, &community, now)?;
            let names = devices::list(conn, &community)?
                .into_iter()
                .filter(|g| on.contains_key(&g.id))
                .map(|g| g.name)
                .collect();
            staffed.insert(community.clone(), names);
        }
        if staffed[&community].contains(&gate) {
            continue;
        }
        let detail = Detail::new(
            "gate_unstaffed",
            [Arg::from(gate.as_str()), Arg::Time(start), Arg::from(rostered.to_string())],
        )
        .encode();
        let kind = shoumen_protocol::AlertKind::GateUnstaffed;
        raised += usize::from(alerts::raise_once(conn, &community, kind, &gate, &detail, now)?.is_some());
    }
    Ok(raised)
}

/// How long before a shift its reminder goes to the community's robot.
pub const REMIND_BEFORE_MS: i64 = 60 * 60_000;

/// The minute's reminders of shifts starting within the hour.
pub fn remind(conn: &mut dyn Conn, now: i64) -> Result<usize, crate::db::DbError> {
    roster::queue_reminders(conn, now, REMIND_BEFORE_MS)
}
