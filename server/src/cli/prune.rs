//! `prune`: deletes what is past each community's retention.

use anyhow::Result;
use shoumen_server::db::{now_ms, Db};

pub fn run(db: &Db) -> Result<()> {
    let pruned = db.call_blocking(|conn| shoumen_server::ops::retention::prune_all(conn, now_ms()))?;
    println!(
        "deleted {} entries, {} visitors' names and {} returnees' personal fields past their communities' retention",
        pruned.entries, pruned.visitor_names, pruned.returnees
    );
    Ok(())
}
