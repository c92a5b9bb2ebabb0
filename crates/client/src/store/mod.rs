//! The kiosk's durable state in one SQLite file: the hash-chained entry log,
//! anti-passback presence, trusted keys and lists, and the sync cursor.
//!
//! WAL with `synchronous=FULL`: once [`Store::append`] returns, the entry
//! survives a crash or power cut. The gate opens only after that (invariant 1).

mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use shoumen_protocol::chain::{self, ChainCheck};
use shoumen_protocol::sync::ListBundle;
pub use shoumen_protocol::ChainBreak;
use shoumen_protocol::{chain_hash, Decision, Entry, Hash, ListKind, ListSnapshot, PassId, TrustList, GENESIS};
use thiserror::Error;

use crate::clock::{Anchor, TimeBase};
use crate::gate::{EntryDraft, Lists, Presence};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "cannot open the entry store {path}: {source}; check that the directory exists and is writable by this user"
    )]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the disk holding the entry store is full; free space (old logs, images) so entries can be recorded again"
    )]
    DiskFull,
    #[error("entry store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the entry store at {path} is newer (schema {found}) than this program understands (schema {known}); upgrade shoumen")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("refused {kind} list version {offered}: the kiosk already has version {have} (rollback)")]
    Rollback { kind: &'static str, have: u64, offered: u64 },
    #[error("refused {kind} list version {version}: it expired at {expires_at} (unix time)")]
    ListExpired { kind: &'static str, version: u64, expires_at: i64 },
    #[error("cannot acknowledge up to seq {acked}: the log only goes up to {head}")]
    AckBeyondHead { acked: u64, head: u64 },
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

impl StoreError {
    fn from_sqlite(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A good chain.
#[derive(Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    /// Entries whose payload retention has dropped (digest kept).
    pub pruned: u64,
    pub head: Hash,
}

/// The evidence log as this kiosk knows it (issue 17): the log's key,
/// pinned at first sight, and the head it holds (with the fault, if a later
/// checkpoint did not extend it).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvidenceView {
    pub key: String,
    pub head: shoumen_protocol::evidence::HeldHead,
}

/// How long a sync round's bookkeeping (the time anchor, when the lists
/// were last confirmed) may go unwritten while it only moves forward.
const REWRITE_AFTER_MS: i64 = 10 * 60_000;

pub struct Store {
    conn: Connection,
    device: String,
    boot_id: String,
}

impl Store {
    /// Opens (creating and migrating if needed) the store at `path`.
    /// `boot_id` goes into every entry written through this handle.
    pub fn open(path: &Path, boot_id: &str) -> Result<Store> {
        Store::open_with_vfs(path, boot_id, None)
    }

    /// The same through a named SQLite VFS (the power-loss test's shim).
    pub fn open_with_vfs(path: &Path, boot_id: &str, vfs: Option<&str>) -> Result<Store> {
        // The store holds the kiosk's device key and sync secret: owner only.
        // SQLite gives its -wal and -shm files the same mode.
        make_private(path);
        let conn = match vfs {
            None => Connection::open(path),
            Some(vfs) => Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), vfs),
        }
        .map_err(|source| StoreError::Open { path: path.into(), source })?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&conn, path)?;
        let device: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| r.get(0)).optional()?;
        let device = match device {
            Some(d) => d,
            None => {
                // A random id until enrollment assigns one.
                let id = format!("kiosk-{}", hex::encode(rand::random::<[u8; 6]>()));
                conn.execute("INSERT INTO meta (key, value) VALUES ('device_id', ?1)", [&id])?;
                id
            }
        };
        Ok(Store { conn, device, boot_id: boot_id.to_string() })
    }

    pub fn device_id(&self) -> &str {
        &self.device
    }

    /// Commits one entry: assigns the next sequence number, extends the hash
    /// chain and updates anti-passback presence, all in one transaction.
    pub fn append(&mut self, draft: &EntryDraft) -> Result<Entry> {
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from_sqlite)?;
        let (head_seq, head_hash) = read_head(&tx)?;
        let entry = Entry {
            device: self.device.clone(),
            seq: head_seq + 1,
            boot_id: self.boot_id.clone(),
            mono_ms: draft.mono_ms,
            wall_ms: draft.wall_ms,
            clock_synced: draft.clock_synced,
            kind: draft.kind,
            direction: draft.direction,
            pass_id: draft.pass_id,
            role: draft.role,
            decision: draft.decision,
            reason: draft.reason.to_string(),
            temperature: draft.temperature,
            note: draft.note.clone(),
        };
        let body = entry.canonical();
        let digest: Hash = Sha256::digest(&body).into();
        let hash = chain_hash(&head_hash, &digest);
        tx.execute(
            "INSERT INTO entries (seq, body, digest, hash, wall_ms, decision, reason, direction)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                entry.seq as i64,
                std::str::from_utf8(&body).expect("JSON is UTF-8"),
                &digest[..],
                &hash[..],
                entry.wall_ms,
                entry.decision.as_str(),
                entry.reason,
                entry.direction.as_str(),
            ],
        )
        .map_err(StoreError::from_sqlite)?;
        if let (Decision::Allow, Some(pass_id)) = (entry.decision, entry.pass_id) {
            tx.execute(&upsert_presence(), params![pass_id.to_hex(), entry.direction.as_str(), entry.wall_ms])
                .map_err(StoreError::from_sqlite)?;
        }
        if entry.clock_synced {
            // The floor of the kiosk's clock: only entries on vouched time
            // raise it, so a clock years ahead before the server answers
            // cannot hold the kiosk there.
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('time_floor_ms', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value
                 WHERE CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER)",
                [entry.wall_ms.to_string()],
            )
            .map_err(StoreError::from_sqlite)?;
        }
        set_meta(&tx, "head_seq", &entry.seq.to_string())?;
        set_meta(&tx, "head_hash", &hex::encode(hash))?;
        tx.commit().map_err(StoreError::from_sqlite)?;
        Ok(entry)
    }

    /// What the kiosk's clock starts from: the floor (the newest entry on
    /// vouched time, the last server time taken) and the last anchor.
    pub fn time_base(&self) -> Result<TimeBase> {
        let floor_ms = get_meta(&self.conn, "time_floor_ms")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let anchor: Option<Anchor> = get_meta(&self.conn, "time_anchor")?.and_then(|v| serde_json::from_str(&v).ok());
        // The anchor's time raises the floor when the clock takes it in
        // (`SystemClock::restore`).
        Ok(TimeBase { floor_ms, anchor })
    }

    /// Keeps the server's time just taken. Not written when it says what
    /// the kept one says to within a second and the kept one is under ten
    /// minutes old: every sync round takes the time, and a write each
    /// round is most of what a quiet gate writes to its card.
    pub fn set_time_anchor(&mut self, anchor: &Anchor) -> Result<()> {
        let kept: Option<Anchor> = get_meta(&self.conn, "time_anchor")?.and_then(|v| serde_json::from_str(&v).ok());
        let offset = |a: &Anchor| a.server_ms - a.mono_ms as i64;
        let same = kept.is_some_and(|k| {
            k.boot_id == anchor.boot_id
                && (offset(&k) - offset(anchor)).abs() <= 1000
                && (0..REWRITE_AFTER_MS).contains(&(anchor.server_ms - k.server_ms))
        });
        if same {
            return Ok(());
        }
        set_meta(&self.conn, "time_anchor", &serde_json::to_string(anchor).expect("anchor serialises"))
    }

    /// The last sequence number written (0 if none).
    pub fn head_seq(&self) -> Result<u64> {
        Ok(read_head(&self.conn)?.0)
    }

    /// Reads one entry; `None` if there is no such seq or its payload was
    /// dropped by retention.
    pub fn entry(&self, seq: u64) -> Result<Option<Entry>> {
        let body: Option<Option<String>> =
            self.conn.query_row("SELECT body FROM entries WHERE seq = ?1", [seq as i64], |r| r.get(0)).optional()?;
        body.flatten()
            .map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}"))))
            .transpose()
    }

    /// The newest entries first, for the guard console.
    pub fn recent(&self, limit: usize) -> Result<Vec<Entry>> {
        let mut stmt =
            self.conn.prepare("SELECT body FROM entries WHERE body IS NOT NULL ORDER BY seq DESC LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| r.get::<_, String>(0))?;
        rows.map(|b| {
            let b = b?;
            serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
    }

    /// Checks the whole hash chain from seq 1 and names the first bad seq.
    pub fn verify_chain(&self) -> Result<Result<ChainReport, ChainBreak>> {
        let mut stmt = self.conn.prepare("SELECT seq, body, digest, hash FROM entries ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut walk = ChainCheck::new();
        let mut pruned = 0;
        while let Some(row) = rows.next()? {
            let seq = row.get::<_, i64>(0)? as u64;
            let body: Option<String> = row.get(1)?;
            let (digest, hash) = (to_hash(seq, row.get(2)?)?, to_hash(seq, row.get(3)?)?);
            let step = match body {
                Some(body) => chain::read_entry(seq, &body, &digest)
                    .and_then(|entry| walk.push_entry(&self.device, seq, &entry, Some(&hash))),
                None => {
                    pruned += 1;
                    walk.push(seq, &digest, Some(&hash))
                }
            };
            if let Err(brk) = step {
                return Ok(Err(brk));
            }
        }
        let (head_seq, head_hash) = read_head(&self.conn)?;
        if let Err(brk) = walk.finish(head_seq, &head_hash) {
            return Ok(Err(brk));
        }
        let (entries, head) = walk.head();
        Ok(Ok(ChainReport { entries, pruned, head }))
    }

    /// Last allowed direction of every pass and when, for anti-passback
    /// after a restart.
    pub fn presence(&self) -> Result<HashMap<PassId, Presence>> {
        let mut stmt = self.conn.prepare("SELECT pass_id, direction, at_ms FROM presence")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, dir, at_ms) = row?;
            let id = PassId::from_hex(&id).map_err(StoreError::Corrupt)?;
            let direction = dir.parse().map_err(StoreError::Corrupt)?;
            out.insert(id, Presence { direction, at_ms });
        }
        Ok(out)
    }

    /// The duty sign-ins and sign-outs at this gate since `since_ms`, in
    /// the log's order: (duty pass, signed in?, when), to rebuild who is on
    /// duty after a restart. An entry whose body was pruned is skipped.
    pub fn duty_since(&self, since_ms: i64) -> Result<Vec<(PassId, bool, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT body, reason, wall_ms FROM entries WHERE reason IN ('duty_start', 'duty_end') AND wall_ms >= ?1 AND body IS NOT NULL ORDER BY seq",
        )?;
        let rows =
            stmt.query_map([since_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, reason, at_ms) = row?;
            let entry: shoumen_protocol::Entry =
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("a duty entry: {e}")))?;
            if let Some(pass_id) = entry.pass_id.filter(|_| entry.kind == shoumen_protocol::EntryKind::Duty) {
                out.push((pass_id, reason == "duty_start", at_ms));
            }
        }
        Ok(out)
    }

    /// Merges presence from the community's other gates: a pass's row is
    /// replaced only by a newer one. `cursor` is where the server's feed
    /// stands after these, kept for the next pull.
    pub fn merge_presence(&mut self, items: &[(PassId, Presence)], cursor: u64) -> Result<()> {
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from_sqlite)?;
        {
            let mut upsert = tx.prepare_cached(&upsert_presence())?;
            for (id, p) in items {
                upsert.execute(params![id.to_hex(), p.direction.as_str(), p.at_ms]).map_err(StoreError::from_sqlite)?;
            }
        }
        set_meta(&tx, "presence_cursor", &cursor.to_string())?;
        tx.commit().map_err(StoreError::from_sqlite)
    }

    /// Where the server's presence feed was last read up to (0: never).
    pub fn presence_cursor(&self) -> Result<u64> {
        Ok(get_meta(&self.conn, "presence_cursor")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Forgets where one pass is (guard action: "reset anti-passback").
    pub fn clear_presence(&mut self, pass_id: &PassId) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM presence WHERE pass_id = ?1", [pass_id.to_hex()])? > 0)
    }

    pub fn trust(&self) -> Result<TrustList> {
        match get_meta(&self.conn, "trust")? {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("trust list: {e}"))),
            None => Ok(TrustList::default()),
        }
    }

    pub fn set_trust(&mut self, trust: &TrustList) -> Result<()> {
        set_meta(&self.conn, "trust", &serde_json::to_string(trust).expect("trust list serialises"))
    }

    /// Stores a list unless it would roll back or has expired. An equal
    /// version is accepted (a refresh) only if its content is identical.
    pub fn put_list(&mut self, list: &ListSnapshot, now_ms: i64) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        put_list_in(&tx, list, now_ms)?;
        tx.commit().map_err(StoreError::from_sqlite)
    }

    /// Installs a verified list bundle from the server: trust and both
    /// lists in one transaction, refusing rollback and expired bundles.
    pub fn put_bundle(&mut self, bundle: &ListBundle, now_ms: i64) -> Result<()> {
        let have = self.bundle_version()?;
        if bundle.version < have {
            return Err(StoreError::Rollback { kind: "bundle", have, offered: bundle.version });
        }
        if now_ms.div_euclid(1000) >= bundle.expires_at {
            return Err(StoreError::ListExpired {
                kind: "bundle",
                version: bundle.version,
                expires_at: bundle.expires_at,
            });
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        put_list_in(&tx, &bundle.revocations, now_ms)?;
        put_list_in(&tx, &bundle.quarantine, now_ms)?;
        match &bundle.unconfirmed {
            Some(list) => put_list_in(&tx, list, now_ms)?,
            None => {
                tx.execute("DELETE FROM lists WHERE kind = ?1", [ListKind::Unconfirmed.as_str()])?;
            }
        }
        set_meta(&tx, "trust", &serde_json::to_string(&bundle.trust).expect("trust list serialises"))?;
        set_meta(&tx, "bundle_version", &bundle.version.to_string())?;
        set_meta(&tx, "lists_synced_ms", &now_ms.to_string())?;
        tx.commit().map_err(StoreError::from_sqlite)
    }

    /// The version of the last list bundle installed from the server (0 if none).
    pub fn bundle_version(&self) -> Result<u64> {
        Ok(get_meta(&self.conn, "bundle_version")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Enrollment: the server's community becomes the trust root. Lists of
    /// the previous root (e.g. the demo) are dropped, so the server's first
    /// bundle is not mistaken for a rollback.
    pub fn set_enrollment(&mut self, sync: &SyncCredentials, trust: &TrustList) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM lists", [])?;
        tx.execute("DELETE FROM meta WHERE key IN ('bundle_version', 'lists_synced_ms', 'presence_cursor')", [])?;
        set_meta(&tx, "trust", &serde_json::to_string(trust).expect("trust list serialises"))?;
        set_meta(&tx, "sync", &serde_json::to_string(sync).expect("credentials serialise"))?;
        tx.commit().map_err(StoreError::from_sqlite)
    }

    /// Forgets the server's credentials so that the kiosk enrolls again
    /// (the server refused them: revoked, or a server without this kiosk).
    /// The log, the device key, the trust and the lists stay: the gate
    /// decides as before meanwhile. The server's address is kept for
    /// enrolling there again ([`Store::last_server`]).
    pub fn forget_enrollment(&mut self) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(creds) = get_meta(&tx, "sync")? {
            let creds: SyncCredentials =
                serde_json::from_str(&creds).map_err(|e| StoreError::Corrupt(format!("sync credentials: {e}")))?;
            set_meta(&tx, "last_server", &creds.url)?;
        }
        tx.execute("DELETE FROM meta WHERE key = 'sync'", [])?;
        tx.commit().map_err(StoreError::from_sqlite)
    }

    /// The server this kiosk was enrolled with before it forgot it.
    pub fn last_server(&self) -> Result<Option<String>> {
        get_meta(&self.conn, "last_server")
    }

    /// The server this kiosk is enrolled with, if any.
    pub fn sync_credentials(&self) -> Result<Option<SyncCredentials>> {
        get_meta(&self.conn, "sync")?
            .map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("sync credentials: {e}"))))
            .transpose()
    }

    /// The kiosk's Ed25519 key that signs its checkpoints; made on first use.
    pub fn device_key(&mut self) -> Result<ed25519_dalek::SigningKey> {
        if let Some(hex_key) = get_meta(&self.conn, "device_key")? {
            let bytes: [u8; 32] = hex::decode(&hex_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StoreError::Corrupt("device_key is not 32 hex bytes".into()))?;
            return Ok(ed25519_dalek::SigningKey::from_bytes(&bytes));
        }
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('device_key', ?1)", [hex::encode(key.to_bytes())])?;
        Ok(key)
    }

    /// The kiosk's witness key (issue 29), its own and apart from the
    /// device key (C2SP: one key per cosigner); made on first use.
    pub fn witness_key(&mut self) -> Result<shoumen_protocol::witness::Cosigner> {
        use shoumen_protocol::witness::Cosigner;
        if let Some(text) = get_meta(&self.conn, "witness_key")? {
            return Cosigner::parse(&text).map_err(|e| StoreError::Corrupt(format!("witness_key: {e}")));
        }
        // The name says which gate: `<device id>.kiosk.shoumen/witness`.
        let clean: String = self
            .device
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        let key = Cosigner::from_seed(&format!("{clean}.kiosk.shoumen/witness"), rand::random())
            .map_err(|e| StoreError::Corrupt(format!("witness_key: {e}")))?;
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('witness_key', ?1)", [key.private_key()])?;
        Ok(key)
    }

    /// The chain head: last seq and its hash.
    pub fn head(&self) -> Result<(u64, Hash)> {
        read_head(&self.conn)
    }

    /// Entries from `from_seq` on with their chain hashes, for a push.
    pub fn entries_with_hash(&self, from_seq: u64, limit: usize) -> Result<Vec<(Entry, Hash)>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT seq, body, hash FROM entries WHERE seq >= ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![from_seq as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Vec<u8>>(2)?))
        })?;
        rows.map(|row| {
            let (seq, body, hash) = row?;
            let body =
                body.ok_or_else(|| StoreError::Corrupt(format!("entry {seq} has no payload any more (retention)")))?;
            let entry = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))?;
            let hash = <Hash>::try_from(hash.as_slice())
                .map_err(|_| StoreError::Corrupt(format!("entry {seq}: hash is not 32 bytes")))?;
            Ok((entry, hash))
        })
        .collect()
    }

    pub fn list(&self, kind: ListKind) -> Result<Option<ListSnapshot>> {
        let body: Option<String> =
            self.conn.query_row("SELECT body FROM lists WHERE kind = ?1", [kind.as_str()], |r| r.get(0)).optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("{} list: {e}", kind.as_str()))))
            .transpose()
    }

    /// Records that the lists were refreshed from the server at `now_ms`.
    /// Not written again within ten minutes: the gate's core has each
    /// round's time in memory, and after a restart lists that look up to
    /// ten minutes older only make the gate stricter sooner.
    pub fn mark_lists_synced(&mut self, now_ms: i64) -> Result<()> {
        let kept: Option<i64> = get_meta(&self.conn, "lists_synced_ms")?.and_then(|v| v.parse().ok());
        if kept.is_some_and(|k| (0..REWRITE_AFTER_MS).contains(&(now_ms - k))) {
            return Ok(());
        }
        set_meta(&self.conn, "lists_synced_ms", &now_ms.to_string())
    }

    /// Everything the gate core decides against.
    pub fn lists(&self) -> Result<Lists> {
        Ok(Lists {
            trust: self.trust()?,
            revocations: self.list(ListKind::Revocations)?,
            quarantine: self.list(ListKind::Quarantine)?,
            unconfirmed: self.list(ListKind::Unconfirmed)?,
            synced_at_ms: get_meta(&self.conn, "lists_synced_ms")?.and_then(|v| v.parse().ok()),
        })
    }

    /// How the gate is laid out, as the kiosk's config says; sent with
    /// each heartbeat so the committee knows where exits are checked.
    pub fn layout(&self) -> Result<Option<shoumen_protocol::sync::GateLayout>> {
        get_meta(&self.conn, "layout")?
            .map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("layout: {e}"))))
            .transpose()
    }

    pub fn set_layout(&mut self, layout: &shoumen_protocol::sync::GateLayout) -> Result<()> {
        set_meta(&self.conn, "layout", &serde_json::to_string(layout).expect("layout serialises"))
    }

    /// What the kiosk holds of the community's evidence log: its key (as
    /// first seen) and the newest head that checked out.
    pub fn evidence_view(&self) -> Result<Option<EvidenceView>> {
        get_meta(&self.conn, "evidence")?
            .map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("evidence view: {e}"))))
            .transpose()
    }

    /// Written only when it changed (each round brings the same head
    /// while nothing is registered).
    pub fn set_evidence_view(&mut self, view: &EvidenceView) -> Result<()> {
        let json = serde_json::to_string(view).expect("evidence view serialises");
        if get_meta(&self.conn, "evidence")?.as_deref() == Some(json.as_str()) {
            return Ok(());
        }
        set_meta(&self.conn, "evidence", &json)
    }

    /// The thermometer calibration offset (°C), if one was measured.
    pub fn calibration_offset(&self) -> Result<Option<f32>> {
        Ok(get_meta(&self.conn, "thermometer_offset_c")?.and_then(|v| v.parse().ok()))
    }

    pub fn set_calibration_offset(&mut self, offset_c: f32) -> Result<()> {
        set_meta(&self.conn, "thermometer_offset_c", &offset_c.to_string())
    }

    /// The highest seq the server has acknowledged (the sync watermark).
    pub fn acked_seq(&self) -> Result<u64> {
        Ok(get_meta(&self.conn, "acked_seq")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Moves the watermark forward; it never goes back.
    pub fn set_acked(&mut self, seq: u64) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head = read_head(&tx)?.0;
        if seq > head {
            return Err(StoreError::AckBeyondHead { acked: seq, head });
        }
        let have: u64 = get_meta(&tx, "acked_seq")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        if seq > have {
            set_meta(&tx, "acked_seq", &seq.to_string())?;
        }
        tx.commit().map_err(StoreError::from_sqlite)
    }

    /// Entries the server has not acknowledged yet, oldest first.
    pub fn unacked(&self, limit: usize) -> Result<Vec<Entry>> {
        let acked = self.acked_seq()?;
        let mut stmt = self.conn.prepare("SELECT seq, body FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![acked as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        rows.map(|row| {
            let (seq, body) = row?;
            // Retention never drops an unacknowledged payload (invariant 3).
            let body = body.ok_or_else(|| StoreError::Corrupt(format!("unacknowledged entry {seq} has no payload")))?;
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("entry {seq}: {e}")))
        })
        .collect()
    }

    /// Drops the payloads of acknowledged entries older than `keep_days`,
    /// keeping their digests and hashes so the chain still verifies.
    /// Returns how many payloads were dropped.
    pub fn apply_retention(&mut self, now_ms: i64, keep_days: u32) -> Result<usize> {
        let cutoff = now_ms - i64::from(keep_days) * 86_400_000;
        let acked = self.acked_seq()?;
        Ok(self.conn.execute(
            "UPDATE entries SET body = NULL WHERE body IS NOT NULL AND seq <= ?1 AND wall_ms < ?2",
            params![acked as i64, cutoff],
        )?)
    }

    /// `PRAGMA integrity_check`: "ok" or SQLite's list of problems.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Counts since `since_ms` (wall clock) for the guard console.
    pub fn counts_since(&self, since_ms: i64) -> Result<Counts> {
        let mut c = Counts::default();
        let mut stmt = self.conn.prepare(
            "SELECT decision, reason, direction, COUNT(*) FROM entries WHERE wall_ms >= ?1 GROUP BY 1, 2, 3",
        )?;
        let mut rows = stmt.query([since_ms])?;
        while let Some(r) = rows.next()? {
            let (decision, reason, direction, n): (String, String, String, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let n = n as u64;
            if shoumen_protocol::Reason::parse(&reason).is_some_and(shoumen_protocol::Reason::of_duty) {
                continue;
            }
            match (decision.as_str(), direction.as_str()) {
                ("allow", "in") => c.allowed_in += n,
                ("allow", _) => c.allowed_out += n,
                _ => c.denied += n,
            }
            if reason == "fever" {
                c.fever += n;
            }
        }
        Ok(c)
    }
}

/// Creates `path` owner-only, or tightens an existing file to that; a
/// failure shows up when SQLite opens it.
fn make_private(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let result = match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        }
        Ok(_) => Ok(()),
        Err(_) => {
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(path).map(|_| ())
        }
    };
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot make the entry store private to its owner");
    }
}

/// Where and as whom this kiosk syncs; set by `shoumen enroll`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncCredentials {
    pub url: String,
    pub device: String,
    pub secret: String,
    /// The public visitor form for this gate, shown on the visitor page.
    pub visitor_url: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub allowed_in: u64,
    pub allowed_out: u64,
    pub denied: u64,
    pub fever: u64,
}

fn put_list_in(conn: &Connection, list: &ListSnapshot, now_ms: i64) -> Result<()> {
    let kind = list.kind.as_str();
    if now_ms.div_euclid(1000) >= list.expires_at {
        return Err(StoreError::ListExpired { kind, version: list.version, expires_at: list.expires_at });
    }
    let body = serde_json::to_string(list).expect("list serialises");
    let have: Option<(i64, String)> = conn
        .query_row("SELECT version, body FROM lists WHERE kind = ?1", [kind], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((have, have_body)) = have {
        let have = have as u64;
        if list.version < have || (list.version == have && body != have_body) {
            return Err(StoreError::Rollback { kind, have, offered: list.version });
        }
    }
    conn.execute(
        "INSERT INTO lists (kind, version, expires_at, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind) DO UPDATE SET version = excluded.version,
             expires_at = excluded.expires_at, body = excluded.body",
        params![kind, list.version as i64, list.expires_at, body],
    )
    .map_err(StoreError::from_sqlite)?;
    Ok(())
}

fn read_head(conn: &Connection) -> Result<(u64, Hash)> {
    let seq = get_meta(conn, "head_seq")?.map(|s| s.parse::<u64>()).transpose();
    let seq = seq.map_err(|e| StoreError::Corrupt(format!("head_seq: {e}")))?.unwrap_or(0);
    let hash = match get_meta(conn, "head_hash")? {
        Some(h) => hex::decode(&h)
            .ok()
            .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
            .ok_or_else(|| StoreError::Corrupt("head_hash is not 32 hex bytes".into()))?,
        None => GENESIS,
    };
    Ok((seq, hash))
}

/// A stored digest or chain hash; anything but 32 bytes is damage.
fn to_hash(seq: u64, bytes: Vec<u8>) -> Result<Hash> {
    <Hash>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt(format!("entry {seq}: stored hash is not 32 bytes")))
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map_err(StoreError::from_sqlite)?;
    Ok(())
}

#[cfg(test)]
mod tests;

/// A pass's presence row, replaced only by the protocol's one rule (newer
/// wins): an entry of our own and one merged from another gate alike.
fn upsert_presence() -> String {
    format!(
        "INSERT INTO presence (pass_id, direction, at_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (pass_id) DO UPDATE SET direction = excluded.direction, at_ms = excluded.at_ms {}",
        shoumen_protocol::sync::PRESENCE_UPSERT_GUARD
    )
}
