//! The server's commands, one module per command: `main.rs` keeps the
//! clap types and the dispatch; each module's `run` does one command.

pub mod backup;
pub mod communities;
pub mod district_admin;
pub mod enroll_token;
pub mod evidence;
pub mod export;
pub mod init;
pub mod migrate;
pub mod pass;
pub mod prune;
pub mod release;
pub mod serve;
pub mod unlock;
pub mod verify;
pub mod witness;

use anyhow::{Context, Result};
use shoumen_server::db::{self, Community, Db};

/// A password from the environment variable `var`, or a fresh one to show.
pub fn password(var: Option<String>) -> Result<(String, bool)> {
    Ok(match var {
        Some(var) => (std::env::var(&var).with_context(|| format!("environment variable {var} is not set"))?, false),
        None => (shoumen_server::leaves::secrets::random_token(), true),
    })
}

/// The community a command acts on: `--community`, or the only one.
pub fn pick(db: &Db, id: Option<&str>) -> Result<Community> {
    Ok(db.call_blocking(|conn| match id {
        Some(id) => db::community(conn, id),
        None => db::sole_community(conn, &db.target),
    })?)
}

/// Who changes things from the command line, for the community's audit
/// trail: the operating system's user name.
pub fn actor(community: &str) -> shoumen_server::records::audit::Actor {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "?".into());
    shoumen_server::records::audit::Actor {
        community: community.to_string(),
        user: format!("command line ({user})"),
        ip: "local".into(),
    }
}
