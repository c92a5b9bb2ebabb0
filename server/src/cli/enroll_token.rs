//! `enroll-token`: a one-time token a kiosk enrolls with.

use anyhow::Result;
use shoumen_server::db::Db;
use shoumen_server::ops;

pub fn run(db: &Db, community: Option<&str>, gate: &str, hours: i64) -> Result<()> {
    let community = super::pick(db, community)?;
    let actor = super::actor(&community.id);
    let ttl = hours * 3_600_000;
    let token = db.call_blocking(|conn| ops::gates::enroll_token(conn, &actor, &community.id, gate, ttl))?;
    println!("{token}");
    eprintln!("one-time token for {gate:?}, valid {hours} h: run `shoumen enroll <server-url> {token}` on the kiosk");
    Ok(())
}
