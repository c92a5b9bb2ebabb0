//! Before the load: communities, enrolled kiosks (through the server's own
//! enrollment code, so their rows are what a real enrollment makes), an
//! account for the export, and a community with a long history to export.

use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use shoumen_protocol::sync::EnrollRequest;
use shoumen_server::db::{self, now_ms, Db};
use shoumen_server::records::ingest;
use shoumen_server::vals;

use crate::kiosk::SimKiosk;

/// The account that runs the export.
pub const EXPORT_USER: &str = "loadgen-export";
pub const EXPORT_PASSWORD: &str = "loadgen export password";

pub fn community_id(i: usize) -> String {
    format!("lg{i:04}")
}

/// Creates `n` communities (those missing) and returns their ids.
pub fn communities(db: &Db, n: usize) -> Result<Vec<String>> {
    let ids: Vec<String> = (0..n).map(community_id).collect();
    let wanted = ids.clone();
    db.call_blocking(move |c| {
        let have = db::communities(c)?;
        for id in wanted.iter().filter(|id| !have.contains(id)) {
            db::create_community(c, id, now_ms())?;
        }
        Ok(())
    })?;
    Ok(ids)
}

/// Enrolls `per` kiosks in `community`, named `<prefix>-<community>-<i>`.
pub fn kiosks(db: &Db, community: &str, prefix: &str, per: usize, passes: u64) -> Result<Vec<SimKiosk>> {
    let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let mut out = Vec::new();
    for i in 0..per {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let device = format!("{prefix}-{run}-{community}-{i}");
        let req = EnrollRequest {
            token: String::new(),
            device: device.clone(),
            device_key: hex::encode(key.verifying_key().to_bytes()),
            gate_name: format!("Gate {i}"),
        };
        let community_owned = community.to_string();
        let enrolled = db.call_blocking(move |c| {
            let token = ingest::create_enroll_token(c, &community_owned, &format!("Gate {i}"), 3_600_000)?;
            let req = EnrollRequest { token, ..req };
            ingest::enroll(c, &req).map_err(|e| db::DbError::Engine(e.to_string()))
        })?;
        out.push(SimKiosk::new(device, community.to_string(), key, &enrolled.secret, passes));
    }
    Ok(out)
}

/// Gives `community` `rows` entries over the last 30 days (one old kiosk's
/// history, written straight into the table) and an account to export them.
pub fn history(db: &Db, community: &str, rows: u64) -> Result<()> {
    let hash = shoumen_server::web::argon2_hash(EXPORT_PASSWORD).map_err(anyhow::Error::msg)?;
    let (community, now) = (community.to_string(), now_ms());
    db.call_blocking(move |c| {
        if c.scalar("SELECT COUNT(*) FROM users WHERE name = ?1", vals![EXPORT_USER])? == 0 {
            db::add_user(c, EXPORT_USER, &hash, Some(&community), now)?;
        }
        let device = format!("history-{community}");
        if c.scalar("SELECT COUNT(*) FROM devices WHERE id = ?1", vals![&device])? > 0 {
            return Ok(());
        }
        c.transaction(true, |tx| {
            tx.execute(
                "INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash, revoked, community)
                 VALUES (?1, 'Old gate', '', '', 0, '', 1, ?2)",
                vals![&device, &community],
            )?;
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO entries (device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms,
                     kind, direction, decision, reason, pass_id, role, temp_centi, note, community)
                 SELECT ?2, i, '{}', '', CAST(?3 AS BIGINT) - CAST(i AS BIGINT) * 5000, 1, 'b', i, CAST(?3 AS BIGINT), 'scan',
                     CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END, 'allow', 'ok', NULL, 'resident', 3640, NULL, ?4 FROM n",
                vals![rows as i64, &device, now - 60_000, &community],
            )?;
            Ok(())
        })
    })
    .context("cannot write the history to export")?;
    Ok(())
}
