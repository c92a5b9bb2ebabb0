//! `pass issue` and `pass revoke`.

use anyhow::Result;
use shoumen_protocol::Role;
use shoumen_server::db::{now_ms, Db};
use shoumen_server::ops;
use shoumen_server::records::community::PassRequest;

pub fn issue(
    db: &Db,
    community: Option<&str>,
    role: Role,
    unit: String,
    days: i64,
    needs_assistance: bool,
) -> Result<()> {
    let community = super::pick(db, community)?;
    let req = PassRequest {
        role,
        unit,
        resident_id: None,
        valid_from: now_ms() / 1000 - 60,
        valid_s: days * 86_400,
        flags: if needs_assistance { shoumen_protocol::PassFlags::NEEDS_ASSISTANCE } else { 0 },
        visitor_name: None,
        gate: None,
    };
    let (actor, shown) = (super::actor(&community.id), format!("unit {}", req.unit));
    let issued = db.call_blocking(|conn| Ok(ops::passes::issue(conn, &actor, &community, &req, &shown)))??;
    println!("{}", issued.text);
    eprintln!(
        "pass {} valid until unix {}; phone link /p/{}",
        issued.pass_id.to_hex(),
        issued.expires_at,
        issued.link_token
    );
    Ok(())
}

pub fn revoke(db: &Db, community: Option<&str>, pass_id: &str) -> Result<()> {
    let community = super::pick(db, community)?;
    let actor = super::actor(&community.id);
    db.call_blocking(|conn| Ok(ops::passes::revoke(conn, &actor, &community.id, pass_id)))??;
    eprintln!("pass {pass_id} revoked; kiosks refuse it after their next list pull");
    Ok(())
}
