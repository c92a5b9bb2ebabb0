//! `migrate --from FILE.db --to postgresql://…` (issue 30): a compound that
//! grows into a district moves its SQLite file into PostgreSQL, a community
//! (or all) at a time, keys, kiosk chains, evidence log and audit trail
//! included. Each community is copied in one transaction (`db::copy`), then
//! checked on both sides: the rows of every table, every kiosk chain, the
//! audit trail, the evidence log's size and root. Kiosks keep their
//! enrollment: point the server's address at the new server.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use shoumen_server::db::{self, copy, Db, Engine};
use shoumen_server::records::drill;

pub fn run(from: &str, to: &str, only: Option<&str>) -> Result<()> {
    let source = Db::open(from).with_context(|| format!("cannot open {from}"))?;
    if source.engine() != Engine::Sqlite {
        bail!("--from is the SQLite file of a compound's server, e.g. /var/lib/shoumen-server/server.db");
    }
    // Db's own error names the database without its password.
    let target = Db::open(to)?;
    if target.engine() != Engine::Postgres {
        bail!("--to is a PostgreSQL URL, e.g. postgresql://shoumen@%2Fvar%2Frun%2Fpostgresql/shoumen");
    }
    let communities = match only {
        Some(id) => vec![id.to_string()],
        None => source.call_blocking(db::communities)?,
    };
    for id in &communities {
        let started = Instant::now();
        // What the file holds, to find the same in PostgreSQL before the copy commits.
        let counts = source.call_blocking(|c| copy::counts(c, id))?;
        let (problems, checked) = source.call_blocking(|c| drill::check_community(c, id))?;
        problems.iter().for_each(|line| println!("carried  {line} (in the file already; `verify` shows it)"));
        let copied = source
            .call_blocking(|s| {
                target.call_blocking(|t| copy::community(s, t, id, |tx| same(tx, id, &counts, (&problems, &checked))))
            })
            .with_context(|| format!("{id} was not copied (nothing of it is in the target)"))?;
        checked.iter().for_each(|line| println!("ok       {line}: the same in PostgreSQL"));
        let rows: u64 = copied.iter().map(|(_, n)| n).sum();
        println!("{id}: {rows} rows copied and checked in {:.1} s", started.elapsed().as_secs_f64());
    }
    println!("Kiosks keep their enrollment: serve {} at the address they know.", target.target);
    Ok(())
}

/// The copy holds what the file holds: rows per table, each kiosk chain,
/// the audit trail, the evidence log's size and root.
fn same(
    tx: &mut dyn shoumen_server::db::Conn,
    id: &str,
    counts: &copy::Copied,
    file: (&[String], &[String]),
) -> Result<(), shoumen_server::db::DbError> {
    let differ =
        |what: String| Err(shoumen_server::db::DbError::Corrupt(format!("the copy differs from the file: {what}")));
    for ((table, a), (_, b)) in counts.iter().zip(&copy::counts(tx, id)?) {
        if a != b {
            return differ(format!("table {table} holds {a} rows in the file and {b} in PostgreSQL"));
        }
    }
    let (problems, checked) = drill::check_community(tx, id)?;
    if (problems.as_slice(), checked.as_slice()) != file {
        return differ(format!("{:?} in the file, {:?} in PostgreSQL", file, (problems, checked)));
    }
    Ok(())
}
