//! `shoumen-loadgen`: many enrolled kiosks, with real signed chains and
//! checkpoints, pushing to a real `shoumen-server` process over loopback.
//!
//! It prepares the database (communities, enrolled kiosks, a long history
//! for the export), starts the server on it, and then runs the load:
//! live kiosks push an entry at their rate and a heartbeat now and then,
//! backlog kiosks push a month of queued entries as fast as the server
//! takes them, and in the middle a committee member exports the history.
//! It reports entries/s, push latency p50 and p99, errors and the server's
//! RSS.
//!
//! ```text
//! shoumen-loadgen --db postgres://…/bench --communities 200 --live 5 --backlog-kiosks 20 --backlog 60000
//! ```

mod kiosk;
mod report;
mod run;
mod setup;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use shoumen_server::db::Db;

#[derive(Parser, Clone, Debug)]
#[command(name = "shoumen-loadgen", version, about = "Load generator for shoumen-server")]
pub struct Args {
    /// The server's database: a SQLite file or a postgres:// URL. It is
    /// filled with the load's communities and kiosks.
    #[arg(long)]
    db: String,
    /// Communities, each with `--live` kiosks.
    #[arg(long, default_value_t = 200)]
    communities: usize,
    /// Live kiosks per community.
    #[arg(long, default_value_t = 5)]
    live: usize,
    /// Entries per second of each live kiosk.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Seconds between a live kiosk's heartbeats.
    #[arg(long, default_value_t = 30)]
    heartbeat_s: u64,
    /// Kiosks back from a long outage, one in each of the first communities.
    #[arg(long, default_value_t = 20)]
    backlog_kiosks: usize,
    /// Entries each backlog kiosk has queued.
    #[arg(long, default_value_t = 60_000)]
    backlog: u64,
    /// Rows of history in the first community, exported during the load
    /// (0: no export).
    #[arg(long, default_value_t = 500_000)]
    export_rows: u64,
    /// Seconds of live load alone before the backlog starts.
    #[arg(long, default_value_t = 10)]
    warmup_s: u64,
    /// Seconds into the backlog when the export starts.
    #[arg(long, default_value_t = 10)]
    export_after_s: u64,
    /// The longest the backlog phase may take.
    #[arg(long, default_value_t = 900)]
    max_s: u64,
    /// The server binary (default: next to this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Scrapes of /metrics during the live load, one per cache period
    /// (each renders the page anew): time and size (docs/operations.md).
    #[arg(long, default_value_t = 0)]
    scrapes: usize,
    /// Where to keep the last scraped page (for `promtool check metrics`).
    #[arg(long)]
    scrape_save: Option<PathBuf>,
}

/// The bearer token the load's server answers /metrics with.
const METRICS_TOKEN: &str = "loadgen-metrics-token-0123456789abcdef";

fn main() -> Result<()> {
    let args = Args::parse();
    let db = Db::open(&args.db).with_context(|| format!("cannot open {}", args.db))?;
    let engine = format!("{:?}", db.engine());
    eprintln!(
        "preparing {} communities × {} live kiosks, {} backlog kiosks on {engine} …",
        args.communities, args.live, args.backlog_kiosks
    );
    let t = Instant::now();
    let communities = setup::communities(&db, args.communities.max(args.backlog_kiosks).max(1))?;
    let mut live = Vec::new();
    for c in communities.iter().take(args.communities) {
        live.extend(setup::kiosks(&db, c, "live", args.live, 2_000)?);
    }
    let mut backlog = Vec::new();
    for c in communities.iter().take(args.backlog_kiosks) {
        backlog.extend(setup::kiosks(&db, c, "backlog", 1, 2_000)?);
    }
    if args.export_rows > 0 {
        setup::history(&db, &communities[0], args.export_rows)?;
    }
    drop(db);
    eprintln!("prepared in {:.1} s", t.elapsed().as_secs_f64());
    let (mut server, url) = start_server(&args)?;
    let result = tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(load(
        &args,
        &url,
        server.id(),
        live,
        backlog,
    ));
    let _ = server.kill();
    let _ = server.wait();
    let record = result?;
    report::print(&engine, &args, &record);
    Ok(())
}

fn start_server(args: &Args) -> Result<(Child, String)> {
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("shoumen-server"),
    };
    let token_file = std::env::temp_dir().join(format!("shoumen-loadgen-metrics-{}", std::process::id()));
    std::fs::write(&token_file, METRICS_TOKEN)?;
    let mut child = Command::new(&bin)
        // Every simulated kiosk is 127.0.0.1: the per-client caps are for
        // real clients, not for this one.
        .args(["--db", &args.db, "--listen", "127.0.0.1:0", "--max-connections", "4000", "--request-timeout-s", "120"])
        .args(["--max-connections-per-client", "4000", "--max-requests-per-client", "4000"])
        .arg("--metrics-token-file")
        .arg(&token_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| {
            format!("cannot start {}; build it with `cargo build --release -p shoumen-server`", bin.display())
        })?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("server stdout")?).read_line(&mut line)?;
    let Some(url) = line.trim().strip_prefix("listening on ") else {
        let _ = child.kill();
        bail!("the server did not start: {line:?}");
    };
    Ok((child, url.to_string()))
}

async fn load(
    args: &Args,
    url: &str,
    pid: u32,
    live: Vec<kiosk::SimKiosk>,
    backlog: Vec<kiosk::SimKiosk>,
) -> Result<Arc<run::Load>> {
    // Idle connections are dropped before the server's 10 s header timeout
    // would close them under a request about to be sent.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(4096)
        .pool_idle_timeout(Duration::from_secs(5))
        .build()?;
    let load = Arc::new(run::Load {
        url: url.to_string(),
        http,
        start: Instant::now(),
        stop: AtomicBool::new(false),
        record: Default::default(),
    });
    tokio::spawn(run::sample_rss(load.clone(), pid));
    let every = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let mut live_tasks = Vec::new();
    for k in live {
        live_tasks.push(tokio::spawn(run::live(load.clone(), k, every, Duration::from_secs(args.heartbeat_s))));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup_s)).await;
    eprintln!("live load running; backlog starts");
    let backlog_start = load.start.elapsed();
    let tasks: Vec<_> =
        backlog.into_iter().map(|k| tokio::spawn(run::backlog(load.clone(), k, args.backlog))).collect();
    let exporter = (args.export_rows > 0).then(|| {
        let (load, after) = (load.clone(), Duration::from_secs(args.export_after_s));
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let started = load.start.elapsed();
            match run::export(&load, setup::EXPORT_USER, setup::EXPORT_PASSWORD).await {
                Ok((lines, bytes)) => {
                    *load.record.export.lock().unwrap() = Some((started, load.start.elapsed(), lines, bytes))
                }
                Err(e) => load.record.errors.lock().unwrap().push(format!("export: {e}")),
            }
        })
    });
    let scraper = (args.scrapes > 0)
        .then(|| tokio::spawn(run::scrape(load.clone(), METRICS_TOKEN, args.scrapes, args.scrape_save.clone())));
    let all = futures_util::future::join_all(tasks);
    let stored: u64 = match tokio::time::timeout(Duration::from_secs(args.max_s), all).await {
        Ok(done) => done.into_iter().map(|r| r.unwrap_or(0)).sum(),
        Err(_) => bail!("the backlog did not finish within {} s", args.max_s),
    };
    *load.record.backlog.lock().unwrap() = Some((backlog_start, load.start.elapsed(), stored));
    eprintln!("backlog done");
    if let Some(e) = exporter {
        let _ = e.await;
    }
    if let Some(s) = scraper {
        let _ = s.await;
    }
    // A few seconds of live load alone again, then stop.
    tokio::time::sleep(Duration::from_secs(5)).await;
    load.stop.store(true, Ordering::Relaxed);
    for t in live_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    Ok(load)
}
