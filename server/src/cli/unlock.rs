//! `unlock`: lets an account locked out by failed logins in again.

use anyhow::{bail, Result};
use shoumen_server::db::{now_ms, Db};

pub fn run(db: &Db, name: &str) -> Result<()> {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "?".into());
    let found = db.call_blocking(|conn| {
        shoumen_server::records::accounts::unlock_by_name(conn, name, &format!("command line ({user})"), now_ms())
    })?;
    match found {
        Some(_) => println!("account {name:?} unlocked: it can log in again"),
        None => bail!("there is no account {name:?}; the Accounts page lists them"),
    }
    Ok(())
}
