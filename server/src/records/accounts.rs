//! Committee accounts, their invitations and sessions. An account belongs
//! to one community with a role (see `roles`), or (community NULL) to the
//! district above them all. Accounts are never deleted, only disabled, so
//! the audit trail's names keep meaning someone.

use thiserror::Error;

use crate::db::{Conn, DbError};
use crate::leaves::roles::AccountRole;
use crate::leaves::secrets::{random_token, sha256_hex};
use crate::vals;

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("the name {0:?} is taken; choose another")]
    NameTaken(String),
    #[error("a name is 2 to 40 letters, digits, '.', '_' or '-'")]
    BadName,
    #[error("a password needs at least 10 characters")]
    WeakPassword,
    #[error("this invitation was used already or has expired; ask an admin for a new one")]
    InviteGone,
    #[error("{0} invitations are waiting to be used; let some expire first")]
    TooManyInvites(i64),
    #[error("no such account in this community")]
    NotFound,
    #[error("an admin cannot change or disable their own account here; ask another admin")]
    OwnAccount,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AccountError {
    /// This error as a message key and its arguments (`leaves::detail`),
    /// for the page to word in its reader's language.
    pub fn message(&self) -> String {
        use crate::leaves::detail::enc;
        match self {
            AccountError::NameTaken(name) => enc("acct_err_taken", &[name]),
            AccountError::BadName => enc("acct_err_name", &[]),
            AccountError::WeakPassword => enc("acct_err_weak", &[]),
            AccountError::InviteGone => enc("acct_err_invite_gone", &[]),
            AccountError::TooManyInvites(n) => enc("acct_err_many_invites", &[n]),
            AccountError::NotFound => enc("acct_err_not_found", &[]),
            AccountError::OwnAccount => enc("acct_err_own", &[]),
            AccountError::Db(_) => enc("err_server", &[]),
        }
    }
}

/// Invitations waiting at once in one community: enough for a committee,
/// and a bound on what one admin session can make the server store.
pub const MAX_OPEN_INVITES: i64 = 50;
/// How long an invitation link works.
pub const INVITE_MS: i64 = 72 * 3600 * 1000;

/// A logged-in account, as a page sees it.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user_id: i64,
    pub user: String,
    /// `None`: a district account.
    pub community: Option<String>,
    pub csrf: String,
    /// The stored role code (a district account's is ignored).
    pub role: String,
    /// A property account's gates, comma-separated; `None`: every gate.
    pub gates: Option<String>,
    /// Alerts nobody has acknowledged yet, in the account's community (or
    /// in all of them, for the district).
    pub open_alerts: i64,
    /// The community's display name and city (a district account's: none).
    pub place: crate::leaves::place::Place,
}

/// What logging in checks of an account.
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    /// Base32 TOTP secret, when the account turned TOTP on.
    pub totp_secret: Option<String>,
    pub community: Option<String>,
    /// Until when repeated wrong passwords locked the account (unix ms).
    pub locked_until_ms: i64,
    /// The last TOTP step a code of this account used.
    pub totp_step: i64,
}

/// The credentials of enabled account `name`.
pub fn credentials(conn: &mut dyn Conn, name: &str) -> Result<Option<Credentials>, DbError> {
    conn.query_opt(
        "SELECT id, password_hash, totp_secret, community, locked_until_ms, totp_step FROM users WHERE name = ?1 AND disabled_ms IS NULL",
        vals![name],
        |r| {
            Ok(Credentials {
                id: r.get(0)?,
                password_hash: r.get(1)?,
                totp_secret: r.get(2)?,
                community: r.get(3)?,
                locked_until_ms: r.get(4)?,
                totp_step: r.get(5)?,
            })
        },
    )
}

/// Wrong passwords in a row from one client address before that address
/// is locked out of the account (counted in memory, `LoginGuard`), and
/// from any address before the account itself locks: then only a browser
/// that logged in to it before, or the right password with a valid TOTP
/// code, gets in until the lock ends.
pub const MAX_FAILURES: i64 = 5;
pub const MAX_ACCOUNT_FAILURES: i64 = 20;
pub const LOCK_FOR_MS: i64 = 15 * 60_000;

/// A wrong password counted against a known account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub community: Option<String>,
    /// Set when this failure locked the account: until when (unix ms).
    pub locked_until_ms: Option<i64>,
}

/// Counts a wrong password (or TOTP code) for account `name`; the
/// [`MAX_ACCOUNT_FAILURES`]th in a row locks it for `LOCK_FOR_MS`. Stored,
/// so a restart of the server gives a guesser no fresh tries. `None` if
/// there is no such account.
pub fn login_failed(conn: &mut dyn Conn, name: &str, now_ms: i64) -> Result<Option<Failed>, DbError> {
    let until = now_ms + LOCK_FOR_MS;
    // Both columns are set from the row's old values, on both engines.
    let row = conn.query_opt(
        "UPDATE users SET
             locked_until_ms = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until_ms END,
             failed_logins = CASE WHEN failed_logins + 1 >= ?2 THEN 0 ELSE failed_logins + 1 END
         WHERE name = ?1 RETURNING locked_until_ms, community",
        vals![name, MAX_ACCOUNT_FAILURES, until],
        |r| Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?)),
    )?;
    Ok(row.map(|(locked, community)| Failed { community, locked_until_ms: (locked == until).then_some(until) }))
}

/// A right password: the count of wrong ones starts again.
pub fn login_succeeded(conn: &mut dyn Conn, name: &str) -> Result<(), DbError> {
    conn.execute("UPDATE users SET failed_logins = 0 WHERE name = ?1 AND failed_logins <> 0", vals![name])?;
    Ok(())
}

/// Browsers an account keeps as known (the newest).
pub const KNOWN_BROWSERS: i64 = 10;

/// Remembers the browser holding the token with digest `token_sha256` as
/// one that logged in to `user_id`.
pub fn remember_browser(conn: &mut dyn Conn, user_id: i64, token_sha256: &str, now_ms: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO known_browsers (token_sha256, user_id, created_ms, last_ms) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (token_sha256) DO UPDATE SET last_ms = excluded.last_ms",
        vals![token_sha256, user_id, now_ms],
    )?;
    conn.execute(
        "DELETE FROM known_browsers WHERE user_id = ?1 AND token_sha256 NOT IN
             (SELECT token_sha256 FROM known_browsers WHERE user_id = ?1 ORDER BY last_ms DESC LIMIT ?2)",
        vals![user_id, KNOWN_BROWSERS],
    )?;
    Ok(())
}

/// The account a known browser's token digest logged in to before.
pub fn known_browser(conn: &mut dyn Conn, token_sha256: &str) -> Result<Option<i64>, DbError> {
    conn.query_opt("SELECT user_id FROM known_browsers WHERE token_sha256 = ?1", vals![token_sha256], |r| r.get(0))
}

/// Spends TOTP step `step` of account `id`: false if that step or a later
/// one was used already (a code is good once).
pub fn spend_totp_step(conn: &mut dyn Conn, id: i64, step: i64) -> Result<bool, DbError> {
    Ok(conn.execute("UPDATE users SET totp_step = ?2 WHERE id = ?1 AND totp_step < ?2", vals![id, step])? > 0)
}

/// Unlocks account `name` from the command line, audited in its
/// community's trail as `by`; `None` if there is no such account.
pub fn unlock_by_name(
    conn: &mut dyn Conn,
    name: &str,
    by: &str,
    now_ms: i64,
) -> Result<Option<Option<String>>, DbError> {
    conn.transaction(true, |tx| {
        let community = tx.query_opt(
            "UPDATE users SET failed_logins = 0, locked_until_ms = 0 WHERE name = ?1 RETURNING community",
            vals![name],
            |r| r.get::<Option<String>>(0),
        )?;
        if let Some(Some(c)) = &community {
            let actor = crate::records::audit::Actor { community: c.clone(), user: by.to_string(), ip: "local".into() };
            crate::records::audit::record_in(
                tx,
                &actor,
                "account.unlock",
                &crate::leaves::detail::enc("account_name", &[&name]),
                now_ms,
            )?;
        }
        Ok(community)
    })
}

/// An account as the Accounts page lists it.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub gates: Option<String>,
    pub totp: bool,
    pub disabled: bool,
    /// Until when repeated wrong passwords locked it (unix ms; 0: never).
    pub locked_until_ms: i64,
}

/// The accounts of `community`, enabled first.
pub fn of_community(conn: &mut dyn Conn, community: &str) -> Result<Vec<Account>, DbError> {
    conn.query_map(
        "SELECT id, name, role, gates, totp_secret IS NOT NULL, disabled_ms IS NOT NULL, locked_until_ms FROM users
         WHERE community = ?1 ORDER BY disabled_ms IS NOT NULL, name",
        vals![community],
        |r| {
            Ok(Account {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                gates: r.get(3)?,
                totp: r.get(4)?,
                disabled: r.get(5)?,
                locked_until_ms: r.get(6)?,
            })
        },
    )
}

/// Creates a one-time invitation to join `community` as `role`; returns the
/// token for the link (only its SHA-256 is stored).
pub fn invite(
    conn: &mut dyn Conn,
    community: &str,
    role: AccountRole,
    gates: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<String, AccountError> {
    new_link(conn, community, role.as_str(), gates, by, None, now_ms)
}

/// A new one-time link of `community` (an invitation, or with `reset_user`
/// a password reset), within [`MAX_OPEN_INVITES`]; returns its token.
fn new_link(
    conn: &mut dyn Conn,
    community: &str,
    role: &str,
    gates: Option<&str>,
    by: &str,
    reset_user: Option<i64>,
    now_ms: i64,
) -> Result<String, AccountError> {
    let open = conn.scalar(
        "SELECT COUNT(*) FROM invites WHERE community = ?1 AND used_ms IS NULL AND expires_ms > ?2",
        vals![community, now_ms],
    )?;
    if open >= MAX_OPEN_INVITES {
        return Err(AccountError::TooManyInvites(open));
    }
    conn.execute("DELETE FROM invites WHERE expires_ms <= ?1 AND used_ms IS NULL", vals![now_ms])?;
    let token = random_token() + &random_token();
    conn.execute(
        "INSERT INTO invites (token_sha256, community, role, gates, created_by, created_ms, expires_ms, reset_user)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vals![sha256_hex(&token), community, role, gates, by, now_ms, now_ms + INVITE_MS, reset_user],
    )?;
    Ok(token)
}

/// A waiting invitation: (community, role, the account whose password it
/// resets, if it is a reset).
pub fn open_invite(
    conn: &mut dyn Conn,
    token: &str,
    now_ms: i64,
) -> Result<Option<(String, String, Option<String>)>, DbError> {
    conn.query_opt(
        "SELECT i.community, i.role, u.name FROM invites i LEFT JOIN users u ON u.id = i.reset_user
         WHERE i.token_sha256 = ?1 AND i.used_ms IS NULL AND i.expires_ms > ?2",
        vals![sha256_hex(token), now_ms],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// An invitation not used yet, as the Accounts page lists it.
#[derive(Clone, Debug)]
pub struct OpenInvite {
    /// The token's SHA-256: names the invitation without being the link.
    pub id: String,
    pub role: String,
    pub created_by: String,
    pub expires_ms: i64,
    /// A password reset: the account's name.
    pub reset_of: Option<String>,
}

/// `community`'s invitations that still work, newest first.
pub fn open_invites(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<Vec<OpenInvite>, DbError> {
    conn.query_map(
        "SELECT i.token_sha256, i.role, i.created_by, i.expires_ms, u.name FROM invites i
         LEFT JOIN users u ON u.id = i.reset_user
         WHERE i.community = ?1 AND i.used_ms IS NULL AND i.expires_ms > ?2 ORDER BY i.created_ms DESC",
        vals![community, now_ms],
        |r| {
            Ok(OpenInvite {
                id: r.get(0)?,
                role: r.get(1)?,
                created_by: r.get(2)?,
                expires_ms: r.get(3)?,
                reset_of: r.get(4)?,
            })
        },
    )
}

/// Withdraws an invitation of `community` that is not used yet: its link
/// stops working. Returns its role and, for a reset link, the account's
/// name.
pub fn withdraw_invite(
    conn: &mut dyn Conn,
    community: &str,
    id: &str,
) -> Result<(String, Option<String>), AccountError> {
    let gone = conn.query_opt(
        "DELETE FROM invites WHERE community = ?1 AND token_sha256 = ?2 AND used_ms IS NULL
         RETURNING role, reset_user",
        vals![community, id],
        |r| Ok((r.get::<String>(0)?, r.get::<Option<i64>>(1)?)),
    )?;
    match gone {
        Some((role, Some(user))) => {
            Ok((role, Some(conn.query_row("SELECT name FROM users WHERE id = ?1", vals![user], |r| r.get(0))?)))
        }
        Some((role, None)) => Ok((role, None)),
        None => Err(AccountError::NotFound),
    }
}

/// A one-time link for account `id` of `community` to set a new password
/// (a person who forgot theirs): an invitation that names the account.
/// An earlier reset link of the account stops working. Returns (token,
/// account name).
pub fn reset_link(
    conn: &mut dyn Conn,
    community: &str,
    id: i64,
    by: (i64, &str),
    now_ms: i64,
) -> Result<(String, String), AccountError> {
    if id == by.0 {
        return Err(AccountError::OwnAccount);
    }
    let found = conn.query_opt(
        "SELECT name, role FROM users WHERE id = ?1 AND community = ?2 AND disabled_ms IS NULL",
        vals![id, community],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    let Some((name, role)) = found else { return Err(AccountError::NotFound) };
    conn.execute("DELETE FROM invites WHERE reset_user = ?1 AND used_ms IS NULL", vals![id])?;
    let token = new_link(conn, community, &role, None, by.1, Some(id), now_ms)?;
    Ok((token, name))
}

/// Uses a reset link: the account's new password, its lock lifted, every
/// browser logged in to it logged out. Returns (user id, community, name).
pub fn accept_reset(
    conn: &mut dyn Conn,
    token: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<(i64, String, String), AccountError> {
    conn.transaction(true, |tx| {
        let spent = tx.query_opt(
            "UPDATE invites SET used_ms = ?2 WHERE token_sha256 = ?1 AND used_ms IS NULL AND expires_ms > ?2
             AND reset_user IS NOT NULL RETURNING reset_user, community",
            vals![sha256_hex(token), now_ms],
            |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
        )?;
        let Some((id, community)) = spent else { return Err(AccountError::InviteGone) };
        let name = tx.query_opt(
            "UPDATE users SET password_hash = ?1, failed_logins = 0, locked_until_ms = 0
             WHERE id = ?2 AND community = ?3 AND disabled_ms IS NULL RETURNING name",
            vals![password_hash, id, &community],
            |r| r.get::<String>(0),
        )?;
        let Some(name) = name else { return Err(AccountError::InviteGone) };
        tx.execute("UPDATE invites SET used_by = ?2 WHERE token_sha256 = ?1", vals![sha256_hex(token), &name])?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", vals![id])?;
        Ok((id, community, name))
    })
}

/// An account's own name and phone, as the homes a volunteer helps see
/// them: (name, phone).
pub fn profile(conn: &mut dyn Conn, id: i64) -> Result<(String, String), DbError> {
    conn.query_opt("SELECT full_name, phone FROM users WHERE id = ?1", vals![id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Option::unwrap_or_default)
}

/// Sets them; an error is a detail key (`leaves::detail`) of what cannot
/// be taken.
pub fn set_profile(conn: &mut dyn Conn, id: i64, name: &str, phone: &str) -> Result<Result<(), String>, DbError> {
    use crate::leaves::detail::enc;
    let (name, phone) = (name.trim(), phone.trim());
    if name.chars().count() > 20 || name.chars().any(|c| c.is_control() || crate::leaves::text::is_bidi_control(c)) {
        return Ok(Err(enc("err_profile_name", &[])));
    }
    if phone.chars().count() > 20 || !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')) {
        return Ok(Err(enc("err_phone", &[&phone])));
    }
    conn.execute("UPDATE users SET full_name = ?1, phone = ?2 WHERE id = ?3", vals![name, phone, id])?;
    Ok(Ok(()))
}

/// The password hash of enabled account `id`.
pub fn password_hash(conn: &mut dyn Conn, id: i64) -> Result<Option<String>, DbError> {
    conn.query_opt("SELECT password_hash FROM users WHERE id = ?1 AND disabled_ms IS NULL", vals![id], |r| r.get(0))
}

/// A new password for account `id`, chosen by its owner: every other
/// browser logged in to it is logged out (the one with `keep_session`
/// stays).
pub fn change_password(conn: &mut dyn Conn, id: i64, password_hash: &str, keep_session: &str) -> Result<(), DbError> {
    conn.execute("UPDATE users SET password_hash = ?1, failed_logins = 0 WHERE id = ?2", vals![password_hash, id])?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1 AND token_sha256 <> ?2", vals![id, keep_session])?;
    Ok(())
}

/// Whether `name` may be an account name.
pub fn valid_name(name: &str) -> bool {
    (2..=40).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Uses an invitation: creates the account and spends the token, at once.
/// Returns (user id, community, role).
pub fn accept_invite(
    conn: &mut dyn Conn,
    token: &str,
    name: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<(i64, String, String), AccountError> {
    if !valid_name(name) {
        return Err(AccountError::BadName);
    }
    conn.transaction(true, |tx| {
        let spent = tx.execute(
            // A reset link makes no new account.
            "UPDATE invites SET used_ms = ?2, used_by = ?3
             WHERE token_sha256 = ?1 AND used_ms IS NULL AND expires_ms > ?2 AND reset_user IS NULL",
            vals![sha256_hex(token), now_ms, name],
        )?;
        if spent != 1 {
            return Err(AccountError::InviteGone);
        }
        if tx.scalar("SELECT COUNT(*) FROM users WHERE name = ?1", vals![name])? > 0 {
            return Err(AccountError::NameTaken(name.to_string()));
        }
        let (community, role, gates) = tx.query_row(
            "SELECT community, role, gates FROM invites WHERE token_sha256 = ?1",
            vals![sha256_hex(token)],
            |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<Option<String>>(2)?)),
        )?;
        let id = tx.query_row(
            "INSERT INTO users (name, password_hash, created_ms, community, role, gates) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            vals![name, password_hash, now_ms, &community, &role, gates],
            |r| r.get(0),
        )?;
        Ok((id, community, role))
    })
}

/// Changes the role (and a property account's gates) of account `id` of
/// `community`; returns its name. `by` may not change their own.
pub fn set_role(
    conn: &mut dyn Conn,
    community: &str,
    id: i64,
    by: i64,
    role: AccountRole,
    gates: Option<&str>,
) -> Result<String, AccountError> {
    if id == by {
        return Err(AccountError::OwnAccount);
    }
    let name = name_in(conn, community, id)?;
    conn.execute("UPDATE users SET role = ?1, gates = ?2 WHERE id = ?3", vals![role.as_str(), gates, id])?;
    // A changed role takes effect at once: the account logs in again.
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", vals![id])?;
    Ok(name)
}

/// Disables account `id` of `community` and ends its sessions; returns its
/// name.
pub fn disable(conn: &mut dyn Conn, community: &str, id: i64, by: i64, now_ms: i64) -> Result<String, AccountError> {
    if id == by {
        return Err(AccountError::OwnAccount);
    }
    let name = name_in(conn, community, id)?;
    conn.execute("UPDATE users SET disabled_ms = ?1 WHERE id = ?2 AND disabled_ms IS NULL", vals![now_ms, id])?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", vals![id])?;
    Ok(name)
}

/// The name of account `id`, if it is `community`'s.
fn name_in(conn: &mut dyn Conn, community: &str, id: i64) -> Result<String, AccountError> {
    conn.query_opt("SELECT name FROM users WHERE id = ?1 AND community = ?2", vals![id, community], |r| {
        r.get::<String>(0)
    })?
    .ok_or(AccountError::NotFound)
}

/// Unlocks account `id` of `community` before its lockout ends (the admin
/// knows who is at the door); returns its name.
pub fn unlock(conn: &mut dyn Conn, community: &str, id: i64) -> Result<String, AccountError> {
    let name = name_in(conn, community, id)?;
    conn.execute("UPDATE users SET failed_logins = 0, locked_until_ms = 0 WHERE id = ?1", vals![id])?;
    Ok(name)
}

/// Turns TOTP on (a base32 secret) or off (`None`) for account `id`; the
/// step the confirming code used is spent with it.
pub fn set_totp(conn: &mut dyn Conn, id: i64, secret: Option<&str>, step: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE users SET totp_secret = ?1, totp_step = ?3, totp_pending = NULL WHERE id = ?2",
        vals![secret, id, step],
    )?;
    Ok(())
}

/// The secret account `id` is setting up, if it has shown one.
pub fn pending_totp_of(conn: &mut dyn Conn, id: i64) -> Result<Option<String>, DbError> {
    let found =
        conn.query_opt("SELECT totp_pending FROM users WHERE id = ?1", vals![id], |r| r.get::<Option<String>>(0))?;
    Ok(found.flatten())
}

/// The secret account `id` is setting up (shown, not yet confirmed by a
/// code): made once by `make` and kept, so a wrong code or a reload shows
/// the same secret the authenticator already holds.
pub fn pending_totp(conn: &mut dyn Conn, id: i64, make: impl FnOnce() -> String) -> Result<String, DbError> {
    let made = make();
    conn.execute("UPDATE users SET totp_pending = ?1 WHERE id = ?2 AND totp_pending IS NULL", vals![&made, id])?;
    conn.query_row("SELECT totp_pending FROM users WHERE id = ?1", vals![id], |r| r.get::<String>(0))
}

/// Account `id`'s TOTP secret and the last step it used, if TOTP is on.
pub fn totp_of(conn: &mut dyn Conn, id: i64) -> Result<Option<(String, i64)>, DbError> {
    let found = conn.query_opt("SELECT totp_secret, totp_step FROM users WHERE id = ?1", vals![id], |r| {
        Ok((r.get::<Option<String>>(0)?, r.get::<i64>(1)?))
    })?;
    Ok(found.and_then(|(secret, step)| secret.map(|s| (s, step))))
}

/// Stores a new session (only the token's SHA-256) and drops expired ones.
pub fn create_session(
    conn: &mut dyn Conn,
    token_sha256: &str,
    user_id: i64,
    csrf: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE expires_ms <= ?1", vals![now_ms])?;
    conn.execute(
        "INSERT INTO sessions (token_sha256, user_id, csrf, expires_ms) VALUES (?1, ?2, ?3, ?4)",
        vals![token_sha256, user_id, csrf, expires_ms],
    )?;
    Ok(())
}

/// The live session with this token digest.
pub fn session(conn: &mut dyn Conn, token_sha256: &str, now_ms: i64) -> Result<Option<SessionRow>, DbError> {
    let found = conn.query_opt(
        "SELECT u.id, u.name, u.community, s.csrf, u.role, u.gates FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_sha256 = ?1 AND s.expires_ms > ?2 AND u.disabled_ms IS NULL",
        vals![token_sha256, now_ms],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<Option<String>>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
                r.get::<Option<String>>(5)?,
            ))
        },
    )?;
    let Some((user_id, user, community, csrf, role, gates)) = found else { return Ok(None) };
    let open_alerts = match &community {
        Some(c) => crate::records::alerts::open_count(conn, c)?,
        None => conn.scalar("SELECT COUNT(*) FROM alerts WHERE acked = 0", vals![])?,
    };
    let place = match &community {
        Some(c) => crate::records::community::place(conn, c)?,
        None => Default::default(),
    };
    Ok(Some(SessionRow { user_id, user, community, csrf, role, gates, open_alerts, place }))
}

pub fn end_session(conn: &mut dyn Conn, token_sha256: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE token_sha256 = ?1", vals![token_sha256])?;
    Ok(())
}
