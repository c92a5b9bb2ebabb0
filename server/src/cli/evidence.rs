//! `evidence verify`: what a returnee's receipt proves, from the file and
//! the log's key alone (the database only to look the key up).

use anyhow::{Context, Result};
use shoumen_protocol::evidence::fingerprint;
use shoumen_protocol::witness::Policy;
use shoumen_server::db::Db;

/// `evidence verify`: says what the receipt proves, or why it proves nothing.
pub fn verify(db: &str, path: &std::path::Path, log_key: Option<&str>, policy: Option<Policy>) -> Result<()> {
    use shoumen_protocol::evidence::Receipt;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the receipt {}", path.display()))?;
    let receipt = Receipt::parse(&text).with_context(|| format!("{} is not a receipt file", path.display()))?;
    let key = match log_key {
        Some(k) if std::path::Path::new(k).is_file() => std::fs::read_to_string(k)?.trim().to_string(),
        Some(k) => k.trim().to_string(),
        // The key the receipt carries: whose it is, its fingerprint says.
        None if !receipt.log_key.is_empty() => receipt.log_key.clone(),
        None => {
            let db = Db::open(db)?;
            let origin = receipt.checkpoint.lines().next().unwrap_or("").to_string();
            let found = db.call_blocking(|c| {
                let Some(community) =
                    shoumen_server::records::registrations::community_of_checkpoint(c, &receipt.checkpoint)?
                else {
                    return Ok(None);
                };
                Ok(Some(shoumen_server::records::evidence::verifier_key(c, &community)?))
            })?;
            found.with_context(|| {
                format!("this server keeps no log named {origin:?}; give the log's key with --log-key")
            })?
        }
    };
    // The reader's own policy, or the one the receipt carries (whose
    // required witness the district's page shows the fingerprint of).
    let policy = policy.unwrap_or_else(|| Policy {
        witnesses: receipt.witnesses.clone(),
        quorum: receipt.quorum,
        required: receipt.required.clone(),
    });
    let (head, cosigned) = shoumen_protocol::witness::verify_receipt(&receipt, &key, &policy)
        .with_context(|| format!("receipt {} does not verify", receipt.code))?;
    println!(
        "receipt {}: record #{} is in {} of {} records, checkpoint signed by {}",
        receipt.code, receipt.index, head.origin, head.size, key
    );
    println!(
        "log key fingerprint: {} (the same as on the poster at the gate, or the district's page: the same log)",
        fingerprint(&key)
    );
    if policy.is_empty() {
        println!("no witness policy: the checkpoint rests on the log's own signature");
    }
    for c in &cosigned {
        let at = chrono::DateTime::from_timestamp(c.time_s as i64, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
        println!("cosigned by {} at {at}", c.witness);
    }
    for w in &policy.required {
        println!("required witness key fingerprint: {} ({w})", fingerprint(w));
    }
    println!("record: {}", receipt.record);
    Ok(())
}

/// `evidence fsck`: audits each log, raises an alert per problem, prints
/// them, and fails if there are any.
pub fn fsck(db: &Db, only: Option<&str>) -> Result<()> {
    use shoumen_server::leaves::words::{detail_text, Lang};
    let communities = match only {
        Some(id) => vec![id.to_string()],
        None => db.call_blocking(shoumen_server::db::communities)?,
    };
    let mut damaged = 0;
    for id in &communities {
        let (size, problems) = db.call_blocking(|c| shoumen_server::records::evidence::fsck(c, id))?;
        db.call_blocking(|c| shoumen_server::ops::fsck::fsck(c, id, shoumen_server::db::now_ms()))?;
        if problems.is_empty() {
            println!("ok       {id}: {size} records, every leaf, hash and held root follows");
        }
        for p in &problems {
            println!("DAMAGED  {id}: {}", detail_text(Lang::En, &p.encode(), 0));
        }
        damaged += problems.len();
    }
    if damaged > 0 {
        anyhow::bail!("{damaged} problems in the evidence log; each is an alert on the Alerts page");
    }
    Ok(())
}

/// `move-keys --to DIR`: the log's key and the pass keys of each community.
pub fn move_keys(db: &Db, only: Option<&str>, dir: &std::path::Path) -> Result<()> {
    let communities = match only {
        Some(id) => vec![id.to_string()],
        None => db.call_blocking(shoumen_server::db::communities)?,
    };
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot make {}", dir.display()))?;
    }
    for id in &communities {
        let path = db.call_blocking(|c| shoumen_server::records::evidence::move_key(c, id, dir))?;
        println!("{id}: the log's signing key is now in {} only", path.display());
        let moved = db.call_blocking(|c| shoumen_server::db::move_pass_keys(c, id, dir))?;
        println!("{id}: {moved} pass-signing keys moved to {} (one file each)", dir.display());
    }
    println!(
        "run the server and commands with --keys {} (or SHOUMEN_KEYS); back it up apart from the database",
        dir.display()
    );
    Ok(())
}
