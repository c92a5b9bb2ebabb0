//! `witness …`: this server as a witness of other logs (c2sp.org/tlog-witness),
//! on a database of its own (`--db`) and a key in a file; and `evidence
//! witness …`: a community's own witness policy.

use std::path::Path;

use anyhow::{bail, Context, Result};
use shoumen_protocol::witness::Cosigner;
use shoumen_server::db::Db;
use shoumen_server::records::witnesses;

/// The witness's key from `path`, made there (readable by its owner only)
/// if there is none yet. The key never enters a database.
pub fn key(path: &Path, name: Option<&str>) -> Result<Cosigner> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Cosigner::parse(&text).with_context(|| format!("{} does not hold a witness key", path.display()));
    }
    let Some(name) = name else {
        bail!(
            "{} does not exist; give --name (such as witness.district.example/w1) to make a key there",
            path.display()
        )
    };
    let cosigner = Cosigner::from_seed(name, rand::random())?;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{}", cosigner.private_key())?;
    f.sync_all()?;
    Ok(cosigner)
}

/// `witness trust <vkey>`: witness the log with this key.
pub fn trust(db: &Db, vkey: &str) -> Result<()> {
    let origin = db.call_blocking(|c| Ok(witnesses::trust_log(c, vkey, shoumen_server::db::now_ms())))??;
    println!("witnessing {origin}; fingerprint {}", shoumen_protocol::evidence::fingerprint(vkey));
    Ok(())
}

/// `witness serve`: answers add-checkpoint until stopped.
pub fn serve(db: Db, key_file: &Path, listen: std::net::SocketAddr, prefix: &str, per_minute: u32) -> Result<()> {
    let cosigner = key(key_file, None)?;
    let listener = std::net::TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    println!("witness {} listening on http://{}{prefix}", cosigner.name(), listener.local_addr()?);
    let limits = shoumen_server::net::Limits::default();
    let w = shoumen_server::witness::serve::Witness {
        db,
        cosigner: std::sync::Arc::new(cosigner),
        limiter: std::sync::Arc::new(shoumen_server::Limiter::new(per_minute.max(1))),
    };
    let app = shoumen_server::witness::serve::router(w, prefix, limits.request);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(shoumen_server::net::serve(listener, app, None, limits, Vec::new()))?;
    Ok(())
}

/// `evidence witness add`: show the community's checkpoints to a witness.
pub fn add(db: &Db, community: &str, vkey: &str, url: &str, required: bool) -> Result<()> {
    let name = db.call_blocking(|c| Ok(witnesses::add(c, community, vkey, url, required)))??;
    let must = if required { ", which must cosign every one" } else { "" };
    println!("{community}: checkpoints go to witness {name} at {url}{must}");
    Ok(())
}

/// `evidence witness quorum N`.
pub fn quorum(db: &Db, community: &str, quorum: usize) -> Result<()> {
    db.call_blocking(|c| Ok(witnesses::set_quorum(c, community, quorum)))??;
    println!("{community}: a checkpoint is published once {quorum} witnesses cosigned it");
    Ok(())
}

/// `evidence witness list`.
pub fn list(db: &Db, community: &str) -> Result<()> {
    let (policy, list) =
        db.call_blocking(|c| Ok((witnesses::policy(c, community)?, witnesses::list(c, community)?)))?;
    println!(
        "{community}: {} required witnesses, and {} of the {} others, must cosign",
        policy.required.len(),
        policy.quorum,
        list.len() - policy.required.len()
    );
    for w in list {
        let required = if w.required { "  (required)" } else { "" };
        let state = w.last_error.map_or_else(|| "ok".to_string(), |e| format!("problem: {e}"));
        println!("{}  {}{required}  cosigned {} records  {state}", w.name, w.url, w.known_size);
    }
    Ok(())
}
