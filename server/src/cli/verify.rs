//! `verify`: re-checks every kiosk's stored chain.

use anyhow::{bail, Result};
use shoumen_server::db::Db;
use shoumen_server::records::ingest;

/// Re-checks every kiosk's stored chain, whichever community.
pub fn run(db: &Db) -> Result<()> {
    let devices = db.call_blocking(ingest::device_ids)?;
    let mut broken = 0;
    for d in &devices {
        match db.call_blocking(|conn| Ok(ingest::verify_chain(conn, d)))? {
            Ok(n) => println!("ok      {d}: {n} entries"),
            Err(e) => {
                broken += 1;
                println!("BROKEN  {d}: {e}");
            }
        }
    }
    if broken > 0 {
        bail!("{broken} of {} kiosk logs do not verify", devices.len());
    }
    Ok(())
}
