//! The release binaries of the same build, run as processes: the kiosk
//! (`shoumen`) under libfaketime (Debian's `faketime`) to set its clock, and
//! the server (`shoumen-server`), under faketime too when a test needs the
//! committee's pages hours later.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use shoumen_client::store::Store;
use shoumen_protocol::Entry;

/// The kiosk binary of the same build, and `faketime`; `Err` says why not.
pub fn kiosk_and_faketime() -> Result<PathBuf, String> {
    let kiosk = Path::new(env!("CARGO_BIN_EXE_shoumen-server")).with_file_name("shoumen");
    if !kiosk.exists() {
        return Err(format!("{} is not built (cargo test --workspace builds it)", kiosk.display()));
    }
    libfaketime().map(|_| kiosk)
}

/// Debian's libfaketime, preloaded directly. Not through the `faketime`
/// wrapper: it keeps a named semaphore per process id in /dev/shm, which a
/// killed wrapper leaves behind, and a later wrapper given the same process
/// id then fails ("sem_open: File exists").
fn libfaketime() -> Result<PathBuf, String> {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists());
    found.ok_or_else(|| "faketime is not installed (Debian: apt-get install faketime)".into())
}

/// `program` with its clock `offset` off ("-10m", "+5y").
fn faketimed(program: &Path, offset: &str) -> Command {
    let mut c = Command::new(program);
    c.env("LD_PRELOAD", libfaketime().expect("libfaketime")).env("FAKETIME", offset);
    c
}

/// One kiosk's configuration and what it runs as.
pub struct Gate {
    bin: PathBuf,
    config: PathBuf,
    data: PathBuf,
}

impl Gate {
    /// A kiosk for gate `name`, its data in `dir`, on simulated hardware.
    pub fn new(bin: &Path, dir: &Path, name: &str) -> Gate {
        let data = dir.join(format!("kiosk-{name}"));
        let config = dir.join(format!("kiosk-{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[kiosk]\ngate_name = {name:?}\ndata_dir = {:?}\nsimulated = true\ndemo = false\ntrust_ntp = false\n\
                 [policy]\nanti_passback = \"off\"\nrequire_temperature = false\n",
                data.display().to_string()
            ),
        )
        .unwrap();
        Gate { bin: bin.to_path_buf(), config, data }
    }

    /// Runs the kiosk under a clock `offset` off (faketime's "-10m", "+5y"),
    /// in boot `boot`; the monotonic clock is left alone, as after a reboot.
    pub fn output(&self, offset: &str, boot: &str, args: &[&str]) -> Output {
        faketimed(&self.bin, offset)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("SHOUMEN_BOOT_ID", boot)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }

    /// As [`Gate::output`], for a command that must succeed (or find an
    /// input unreadable, exit 2); its standard output.
    pub fn run(&self, offset: &str, boot: &str, args: &[&str]) -> String {
        let out = self.output(offset, boot, args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() || out.status.code() == Some(2),
            "shoumen {args:?} under {offset}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// (decision, reason) of each input, recorded in the kiosk's log, and
    /// what the kiosk decided the time by.
    pub fn check(&self, offset: &str, boot: &str, inputs: &[&str]) -> (Vec<(String, String)>, String) {
        let mut args = vec!["check", "--record", "--json"];
        args.extend_from_slice(inputs);
        let out = self.run(offset, boot, &args);
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let clock = lines[0]["clock"].as_str().unwrap().to_string();
        let decided = lines
            .iter()
            .map(|v| (v["decision"].as_str().unwrap().into(), v["reason"].as_str().unwrap().into()))
            .collect();
        (decided, clock)
    }

    /// The kiosk's log, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        let store = Store::open(&self.data.join("kiosk.db"), "reader").unwrap();
        let mut all = store.recent(1000).unwrap();
        all.reverse();
        all
    }
}

/// A server process of a test, killed with its process group (whatever it
/// started) when the test says or when it fails.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// SIGKILL: no chance to finish a transaction.
    pub fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `shoumen-server` on `db` (a path or a PostgreSQL URL) at a free
/// port, its clock `offset` off under faketime if one is given.
pub fn spawn_server(db: &str, offset: Option<&str>) -> ServerProcess {
    let server = env!("CARGO_BIN_EXE_shoumen-server");
    let mut cmd = match offset {
        Some(offset) => faketimed(Path::new(server), offset),
        None => Command::new(server),
    };
    let mut child = cmd
        .args(["--db", db, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start shoumen-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr =
        line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    ServerProcess { addr: addr.parse().unwrap(), child }
}
