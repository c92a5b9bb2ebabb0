//! `init`: a new community and its first admin.

use anyhow::{bail, Result};
use shoumen_server::db::{self, now_ms, Db};

pub fn run(db: &Db, community: Option<&str>, admin: &str, password_env: Option<String>) -> Result<()> {
    let Some(community) = community else { bail!("name the community with --community, e.g. --community lotus-gdn") };
    if community.is_empty() || community.len() > shoumen_protocol::pass::MAX_ISSUER_LEN {
        bail!("--community must be 1 to {} bytes, e.g. \"lotus-gdn\"", shoumen_protocol::pass::MAX_ISSUER_LEN);
    }
    let (password, generated) = super::password(password_env)?;
    let hash = shoumen_server::web::argon2_hash(&password).map_err(anyhow::Error::msg)?;
    db.call_blocking(|conn| db::init(conn, community, admin, &hash, now_ms()))?;
    let target = &db.target;
    println!("Community {community:?} created in {target}.");
    if generated {
        println!("Admin login: {admin} / {password}   (shown once; keep it safe)");
    }
    println!("Next:\n  1. shoumen-server --db {target} --listen 0.0.0.0:8443 --cert cert.pem --key key.pem --public-url https://<host>:8443");
    println!("  2. shoumen-server --db {target} --community {community} enroll-token --gate \"North gate\"");
    println!("  3. on the kiosk: shoumen enroll https://<host>:8443 <token>");
    Ok(())
}
