//! `backup` and `restore-drill` (issue 30).
//!
//! `backup FILE`: a consistent copy while the server runs. SQLite: `VACUUM
//! INTO`, one read transaction, so pushes go on and the copy is one moment
//! of the file; then its integrity is checked. PostgreSQL: `pg_dump
//! --format=custom`, one snapshot (for point-in-time recovery, use
//! pgBackRest or WAL archiving: docs/scale.md).
//!
//! `restore-drill FILE`: restores the backup into a scratch database (a
//! temporary file for SQLite; `--scratch URL`, an empty database, for
//! PostgreSQL), checks what a restore needs (`ops::drill::check`) and says
//! what the live database holds that the backup lacks. A drill that passes
//! is noted in the live database for `/metrics`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use shoumen_server::db::{now_ms, Db, Engine};
use shoumen_server::records::drill;

pub fn backup(db: &Db, url: &str, to: &Path) -> Result<()> {
    if to.exists() {
        bail!("{} exists; give a new file (a backup never overwrites one)", to.display());
    }
    let started = Instant::now();
    match db.engine() {
        Engine::Sqlite => {
            let path = to.to_str().context("the backup's path is not UTF-8")?.replace('\'', "''");
            db.call_blocking(|c| c.batch(&format!("VACUUM INTO '{path}'")))
                .with_context(|| format!("cannot write the backup to {}", to.display()))?;
            let copy = rusqlite::Connection::open(to)?;
            let verdict: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if verdict != "ok" {
                bail!("the backup {} does not pass SQLite's integrity check: {verdict}", to.display());
            }
        }
        Engine::Postgres => {
            let status = Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(to)
                .args(["--dbname", url])
                .status()
                .context("cannot run pg_dump; install postgresql-client (the same major version as the database)")?;
            if !status.success() {
                bail!("pg_dump failed ({status}); its message is above");
            }
        }
    }
    let bytes = std::fs::metadata(to)?.len();
    println!("backup {}: {bytes} bytes in {:.1} s", to.display(), started.elapsed().as_secs_f64());
    Ok(())
}

pub fn restore_drill(live_url: &str, backup: &Path, scratch: Option<&str>) -> Result<()> {
    let started = Instant::now();
    let mut magic = [0u8; 5];
    std::io::Read::read_exact(
        &mut std::fs::File::open(backup).with_context(|| format!("cannot read {}", backup.display()))?,
        &mut magic,
    )
    .with_context(|| format!("{} is too short to be a backup", backup.display()))?;
    let temp = Scratch(std::env::temp_dir().join(format!("shoumen-drill-{}.db", std::process::id())));
    let restored = match (&magic, scratch) {
        (b"PGDMP", Some(url)) => restore_postgres(backup, url)?,
        (b"PGDMP", None) => bail!("a PostgreSQL backup is restored into --scratch postgresql://…/an-empty-database"),
        (b"SQLit", _) => {
            std::fs::copy(backup, &temp.0)
                .with_context(|| format!("cannot copy the backup to {}", temp.0.display()))?;
            temp.0.to_string_lossy().into_owned()
        }
        _ => bail!("{} is neither a SQLite file nor a pg_dump custom archive", backup.display()),
    };
    let db = Db::open(&restored).with_context(|| format!("the restored backup {restored} does not open"))?;
    let (problems, checked) = db.call_blocking(drill::check)?;
    checked.iter().for_each(|line| println!("ok       {line}"));
    problems.iter().for_each(|line| println!("BROKEN   {line}"));
    let backup_heads = db.call_blocking(drill::heads)?;
    drop(db);
    // The live database may be the one that is gone: then there is nothing
    // to compare, and the drill says so.
    match Db::open(live_url) {
        Ok(live) => {
            let lacks = drill::lacks(&backup_heads, &live.call_blocking(drill::heads)?);
            lacks.iter().for_each(|line| println!("missing  {line}"));
            if lacks.is_empty() {
                println!("missing  nothing: the backup holds all the live database holds");
            }
            if problems.is_empty() {
                live.call_blocking(|c| drill::record_success(c, now_ms()))?;
            }
        }
        Err(e) => println!("missing  (the live database does not open, nothing compared: {e})"),
    }
    println!("drill of {} in {:.1} s", backup.display(), started.elapsed().as_secs_f64());
    if !problems.is_empty() {
        bail!("{} problems: this backup cannot be restored as it is", problems.len());
    }
    Ok(())
}

/// Restores a pg_dump archive into `url`, which must be empty.
fn restore_postgres(backup: &Path, url: &str) -> Result<String> {
    let tables = Db::postgres_tables(url).with_context(|| format!("the scratch database {url} does not answer"))?;
    if tables > 0 {
        bail!("--scratch {url} must be an empty database (it holds {tables} tables); create one with createdb");
    }
    let status = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", url])
        .arg(backup)
        .status()
        .context("cannot run pg_restore; install postgresql-client")?;
    if !status.success() {
        bail!("pg_restore into {url} failed ({status}); its message is above");
    }
    Ok(url.to_string())
}

/// A SQLite drill's copy, removed however the drill ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}
