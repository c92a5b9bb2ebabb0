//! `export`: a community's entries between two days, as CSV on stdout.

use anyhow::{bail, Result};
use shoumen_server::db::Db;
use shoumen_server::reports::export_csv;
use shoumen_server::web::parse_day;

pub fn run(db: &Db, community: Option<&str>, from: &str, to: &str, offset: i32) -> Result<()> {
    let (Some(f), Some(t)) = (parse_day(from, offset), parse_day(to, offset)) else {
        bail!("--from and --to must be dates like 2026-11-29");
    };
    let community = super::pick(db, community)?;
    let mut out = std::io::stdout().lock();
    db.read_blocking(|conn| {
        // The committee's pages default to Chinese; so does this export.
        let words = |code: &str| shoumen_server::web::reason_text(shoumen_server::web::Lang::Zh, code);
        export_csv(conn, &community.id, f * 1000..(t + 86_400) * 1000, offset, &words, None, &mut |chunk| {
            std::io::Write::write_all(&mut out, chunk.as_bytes()).is_ok()
        })
    })?;
    Ok(())
}
