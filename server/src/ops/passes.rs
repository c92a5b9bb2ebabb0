//! Passes: issuing, revoking, the roles that must use phone passes, a
//! head's request decided, a building's missing passes, a phone bound.
//! The web pages and the command line reach them here, so the audit trail
//! cannot differ by face.

use shoumen_protocol::{HolderKey, Role};

use crate::db::{now_ms, Community, Conn, DbError};
use crate::records::audit::Actor;
use crate::records::community::{self, BindError, CommunityError, IssuedPass, PassRequest};
use crate::records::residents;

/// Issues a pass; `shown` names whom it is for in the audit trail.
pub fn issue(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &Community,
    req: &PassRequest,
    shown: &str,
) -> Result<IssuedPass, CommunityError> {
    super::audited_with(conn, actor, "pass.issue", |tx| {
        let p = community::issue_pass(tx, community, req)?;
        let days = req.valid_s / 86_400;
        let detail = crate::leaves::detail::Detail::new(
            "pass_issue",
            [
                crate::leaves::detail::Arg::Pass(p.pass_id.to_hex()),
                crate::leaves::detail::Arg::Word(req.role.as_str().into()),
                crate::leaves::detail::Arg::from(shown),
                crate::leaves::detail::Arg::from(days.to_string()),
            ],
        )
        .encode();
        Ok((p, detail))
    })
}

pub fn revoke(conn: &mut dyn Conn, actor: &Actor, community: &str, pass_id: &str) -> Result<(), CommunityError> {
    let detail =
        crate::leaves::detail::Detail::new("pass_revoke", [crate::leaves::detail::Arg::Pass(pass_id.into())]).encode();
    super::audited(conn, actor, "pass.revoke", &detail, |tx| community::revoke_pass(tx, community, pass_id, now_ms()))
}

pub fn set_phone_roles(conn: &mut dyn Conn, actor: &Actor, community: &str, roles: &[Role]) -> Result<(), DbError> {
    let words = roles.iter().map(|r| crate::leaves::detail::Arg::Word(r.as_str().into()));
    let detail = crate::leaves::detail::Detail::new("pass_phone_roles", words).encode();
    super::audited(conn, actor, "pass.phone_roles", &detail, |tx| community::set_phone_roles(tx, community, roles))
}

/// Approves a head's request `id` (a year's pass, whose id is returned) or
/// declines it.
pub fn decide_request(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &Community,
    id: i64,
    approve: bool,
) -> Result<Option<String>, CommunityError> {
    let action = if approve { "request.approve" } else { "request.decline" };
    super::audited_with(conn, actor, action, |tx| {
        let now = now_ms();
        let resident = residents::close_request(tx, &community.id, id, &actor.user, None, now)?
            .ok_or(CommunityError::NotFound("request"))?;
        if !approve {
            return Ok((None, crate::leaves::detail::enc("request_declined", &[&id])));
        }
        let unit =
            community::resident_unit(tx, &community.id, resident)?.ok_or(CommunityError::NotFound("resident"))?;
        let pass = residents::issue_year_pass(tx, community, resident, &unit, now)?.pass_id.to_hex();
        residents::set_request_pass(tx, &community.id, id, &pass)?;
        let detail = crate::leaves::detail::Detail::new(
            "request_approved",
            [crate::leaves::detail::Arg::from(id.to_string()), crate::leaves::detail::Arg::Pass(pass.clone())],
        );
        Ok((Some(pass), detail.encode()))
    })
}

/// A year's pass for every resident of `building` who has none: all of
/// them, or none. Returns how many.
pub fn issue_building(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &Community,
    building: &str,
) -> Result<usize, CommunityError> {
    super::audited_with(conn, actor, "pass.issue_building", |tx| {
        let now = now_ms();
        let missing = residents::without_pass(tx, &community.id, building, now / 1000)?;
        for (id, unit) in &missing {
            residents::issue_year_pass(tx, community, *id, unit, now)?;
        }
        Ok((missing.len(), crate::leaves::detail::enc("pass_issue_building", &[&building, &missing.len()])))
    })
}

/// Binds the phone pass behind `link_token` to the key its phone made.
pub fn bind_phone(
    conn: &mut dyn Conn,
    actor: &Actor,
    community: &Community,
    link_token: &str,
    pass_id: &str,
    holder: HolderKey,
) -> Result<String, BindError> {
    let detail = crate::leaves::detail::Detail::new(
        "pass_bind_phone",
        [crate::leaves::detail::Arg::Pass(pass_id.into()), crate::leaves::detail::Arg::from(holder.algorithm())],
    )
    .encode();
    super::audited(conn, actor, "pass.bind_phone", &detail, |tx| {
        community::bind_holder(tx, community, link_token, holder, now_ms())
    })
}
