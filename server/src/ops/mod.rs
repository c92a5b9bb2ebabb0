//! Operations: a change a person, a device or the server's own chores
//! makes, over one or more records, committed in one transaction with its
//! row in the audit trail, so a change is never stored without its row (or
//! its row without the change). Faces (pages, the command line) call an
//! operation; they never open a transaction themselves.

pub mod accounts;
pub mod chores;
pub mod fsck;
pub mod gates;
pub mod passes;
pub mod retention;
pub mod roster;

use crate::db::{now_ms, Conn, DbError};
use crate::records::audit::{self, Actor};

/// Runs `change` and appends its audit row (`action`, `detail`) in one
/// transaction: both are stored, or neither.
pub fn audited<T, E: From<DbError>>(
    conn: &mut dyn Conn,
    actor: &Actor,
    action: &str,
    detail: &str,
    change: impl FnOnce(&mut dyn Conn) -> Result<T, E>,
) -> Result<T, E> {
    conn.transaction(true, |tx| {
        let out = change(tx)?;
        audit::record_in(tx, actor, action, detail, now_ms())?;
        Ok(out)
    })
}

/// [`audited`] for a change whose row names what it made (an id, a count):
/// `change` returns its outcome and the row's detail.
pub fn audited_with<T, E: From<DbError>>(
    conn: &mut dyn Conn,
    actor: &Actor,
    action: &str,
    change: impl FnOnce(&mut dyn Conn) -> Result<(T, String), E>,
) -> Result<T, E> {
    conn.transaction(true, |tx| {
        let (out, detail) = change(tx)?;
        audit::record_in(tx, actor, action, &detail, now_ms())?;
        Ok(out)
    })
}

/// [`audited`] for a change that may find nothing to change (`false`):
/// then no row is written.
pub fn audited_if(
    conn: &mut dyn Conn,
    actor: &Actor,
    action: &str,
    detail: &str,
    change: impl FnOnce(&mut dyn Conn) -> Result<bool, DbError>,
) -> Result<bool, DbError> {
    conn.transaction(true, |tx| {
        let changed = change(tx)?;
        if changed {
            audit::record_in(tx, actor, action, detail, now_ms())?;
        }
        Ok(changed)
    })
}
