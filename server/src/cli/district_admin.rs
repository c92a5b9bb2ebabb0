//! `district-admin`: an account that sees every community's overview.

use anyhow::Result;
use shoumen_server::db::{self, now_ms, Db};

pub fn run(db: &Db, name: &str, password_env: Option<String>) -> Result<()> {
    let (password, generated) = super::password(password_env)?;
    let hash = shoumen_server::web::argon2_hash(&password).map_err(anyhow::Error::msg)?;
    db.call_blocking(|conn| db::add_user(conn, name, &hash, None, now_ms()))?;
    println!("District account {name:?} created: it sees every community's overview at /district.");
    if generated {
        println!("Login: {name} / {password}   (shown once; keep it safe)");
    }
    Ok(())
}
