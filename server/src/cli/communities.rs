//! `communities`: the communities this database holds, one per line.

use anyhow::Result;
use shoumen_server::db::{self, Db};

pub fn run(db: &Db) -> Result<()> {
    for id in db.call_blocking(db::communities)? {
        println!("{id}");
    }
    Ok(())
}
