//! Committee accounts and their sessions. An account belongs to one
//! community, or (community NULL) to the district above them all.

use crate::db::{Conn, DbError};
use crate::vals;

/// A logged-in account, as a page sees it.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user_id: i64,
    pub user: String,
    /// `None`: a district account.
    pub community: Option<String>,
    pub csrf: String,
    /// Alerts nobody has acknowledged yet, in the account's community (or
    /// in all of them, for the district).
    pub open_alerts: i64,
}

/// The id and password hash of account `name`.
pub fn password_hash(conn: &mut dyn Conn, name: &str) -> Result<Option<(i64, String)>, DbError> {
    conn.query_opt("SELECT id, password_hash FROM users WHERE name = ?1", vals![name], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Stores a new session (only the token's SHA-256) and drops expired ones.
pub fn create_session(conn: &mut dyn Conn, token_sha256: &str, user_id: i64, csrf: &str, now_ms: i64, expires_ms: i64) -> Result<(), DbError> {
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
        "SELECT u.id, u.name, u.community, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_sha256 = ?1 AND s.expires_ms > ?2",
        vals![token_sha256, now_ms],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<Option<String>>(2)?, r.get::<String>(3)?)),
    )?;
    let Some((user_id, user, community, csrf)) = found else { return Ok(None) };
    let open_alerts = match &community {
        Some(c) => crate::alerts::open_count(conn, c)?,
        None => conn.scalar("SELECT COUNT(*) FROM alerts WHERE acked = 0", vals![])?,
    };
    Ok(Some(SessionRow { user_id, user, community, csrf, open_alerts }))
}

pub fn end_session(conn: &mut dyn Conn, token_sha256: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE token_sha256 = ?1", vals![token_sha256])?;
    Ok(())
}

/// Every account: (name, community), district accounts first.
pub fn list(conn: &mut dyn Conn) -> Result<Vec<(String, Option<String>)>, DbError> {
    conn.query_map("SELECT name, community FROM users ORDER BY community IS NOT NULL, community, name", vals![], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}
