//! A simulated kiosk: a real Ed25519 device key, a real hash chain of
//! entries, and pages with signed checkpoints, as `shoumen` sends them.

use ed25519_dalek::SigningKey;
use shoumen_protocol::sync::{Checkpoint, ClockReport, HealthItem, Heartbeat, PushRequest, PushedEntry, Vitals};
use shoumen_protocol::time::TimeTrust;

/// The parts a real kiosk reports in every heartbeat.
const HEALTH: [&str; 9] = ["camera", "thermometer", "gpio", "store", "disk", "sync", "audio", "passback", "clock"];
use shoumen_protocol::{chain_hash, Decision, Direction, Entry, EntryKind, Hash, PassId, Role, TempRecord, GENESIS};

pub struct SimKiosk {
    pub id: String,
    pub community: String,
    /// `Bearer <device>:<secret>`.
    pub auth: String,
    key: SigningKey,
    boot_id: String,
    seq: u64,
    head: Hash,
    /// Made but not yet acknowledged by the server, oldest first.
    pending: Vec<PushedEntry>,
    /// Residents whose passes this gate sees.
    passes: u64,
}

impl SimKiosk {
    pub fn new(id: String, community: String, key: SigningKey, secret: &str, passes: u64) -> SimKiosk {
        let auth = format!("Bearer {id}:{secret}");
        SimKiosk {
            id,
            community,
            auth,
            key,
            boot_id: format!("{:032x}", rand::random::<u128>()),
            seq: 0,
            head: GENESIS,
            pending: Vec::new(),
            passes,
        }
    }

    /// Appends one entry: mostly residents let in or out, now and then a
    /// fever refused, as at a real gate.
    pub fn add(&mut self, wall_ms: i64) {
        self.seq += 1;
        let seq = self.seq;
        let fever = seq % 211 == 0;
        let pass = rand::random::<u64>() % self.passes.max(1);
        let mut pass_id = [0u8; 8];
        pass_id.copy_from_slice(&(pass ^ hash_id(&self.community)).to_be_bytes());
        let entry = Entry {
            device: self.id.clone(),
            seq,
            boot_id: self.boot_id.clone(),
            mono_ms: seq * 1000,
            wall_ms,
            clock_synced: true,
            kind: EntryKind::Scan,
            direction: if seq % 2 == 0 { Direction::In } else { Direction::Out },
            pass_id: Some(PassId(pass_id)),
            role: Some(Role::Resident),
            decision: if fever { Decision::Deny } else { Decision::Allow },
            reason: if fever { "fever".into() } else { "ok".into() },
            temperature: Some(TempRecord::Centi(if fever { 3820 } else { 3640 })),
            note: None,
        };
        self.head = chain_hash(&self.head, &entry.digest());
        self.pending.push(PushedEntry { entry, hash: hex::encode(self.head) });
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The oldest unacknowledged entries, at most `max`, as a signed page.
    pub fn page(&self, max: usize) -> Option<PushRequest> {
        let entries: Vec<PushedEntry> = self.pending.iter().take(max).cloned().collect();
        let last = entries.last()?;
        let head: Hash = hex::decode(&last.hash).ok()?.try_into().ok()?;
        Some(PushRequest { checkpoint: Checkpoint::sign(&self.key, &self.id, last.entry.seq, &head), entries })
    }

    /// Forgets what the server has stored, up to `watermark`.
    pub fn acked(&mut self, watermark: u64) {
        self.pending.retain(|p| p.entry.seq > watermark);
    }

    pub fn heartbeat(&self, wall_ms: i64) -> Heartbeat {
        Heartbeat {
            clock: ClockReport {
                boot_id: self.boot_id.clone(),
                mono_ms: self.seq * 1000,
                wall_ms,
                synced: true,
                trust: Some(TimeTrust::Server),
                corrected_at_ms: Some(wall_ms),
            },
            queue: self.pending.len() as u64,
            health: HEALTH.iter().map(|d| HealthItem { device: d.to_string(), ok: true, state: "ok".into() }).collect(),
            checkpoint: Checkpoint::sign(&self.key, &self.id, self.seq, &self.head),
            version: "loadgen".into(),
            layout: None,
            log: None,
            time_nonce: None,
            // What a Pi in a gatehouse reports, so a scrape has every series.
            vitals: Some(Vitals {
                cpu_temp_c: Some(52.5),
                disk_free_bytes: Some(12 << 30),
                scan_ms: Some(18.0),
                lists_age_s: Some(600),
            }),
            update: None,
        }
    }
}

/// Spreads communities' pass ids apart, so each community has its own.
fn hash_id(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}
