//! Accounts: joining by invitation, two-step login on and off.

use crate::db::{now_ms, Conn, DbError};
use crate::records::accounts::{self, AccountError};
use crate::records::audit::{self, Actor};

/// Uses an invitation from address `ip`: the account and its row in its
/// community's trail. Returns (user id, community, role).
pub fn join(
    conn: &mut dyn Conn,
    token: &str,
    name: &str,
    password_hash: &str,
    ip: &str,
) -> Result<(i64, String, String), AccountError> {
    conn.transaction(true, |tx| {
        let (id, community, role) = accounts::accept_invite(tx, token, name, password_hash, now_ms())?;
        let actor = Actor { community: community.clone(), user: name.to_string(), ip: ip.to_string() };
        let detail = crate::leaves::detail::Detail::new(
            "account_join",
            [crate::leaves::detail::Arg::Word(format!("acct_{role}"))],
        )
        .encode();
        audit::record_in(tx, &actor, "account.join", &detail, now_ms())?;
        Ok((id, community, role))
    })
}

/// Uses a password reset link from address `ip`: the new password and a
/// row in the account's community's trail. Returns (user id, name).
pub fn reset(conn: &mut dyn Conn, token: &str, password_hash: &str, ip: &str) -> Result<(i64, String), AccountError> {
    conn.transaction(true, |tx| {
        let (id, community, name) = accounts::accept_reset(tx, token, password_hash, now_ms())?;
        let actor = Actor { community, user: name.clone(), ip: ip.to_string() };
        let detail = crate::leaves::detail::enc("password_by_link", &[]);
        audit::record_in(tx, &actor, "account.password", &detail, now_ms())?;
        Ok((id, name))
    })
}

/// Turns two-step login on (a secret) or off for account `id`, spending
/// the confirming code's step. A community's account is audited; a
/// district account has no community trail.
pub fn set_totp(
    conn: &mut dyn Conn,
    actor: Option<&Actor>,
    id: i64,
    secret: Option<&str>,
    step: i64,
) -> Result<(), DbError> {
    let action = if secret.is_some() { "account.totp_on" } else { "account.totp_off" };
    match actor {
        Some(actor) => super::audited(conn, actor, action, "", |tx| accounts::set_totp(tx, id, secret, step)),
        None => accounts::set_totp(conn, id, secret, step),
    }
}
