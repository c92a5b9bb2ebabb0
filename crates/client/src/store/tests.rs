use shoumen_protocol::{Direction, EntryKind, ListItem, Reason, TempRecord};

use super::*;

const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_790_000_000_000;

fn draft(i: u64, decision: Decision, pass: Option<u8>) -> EntryDraft {
    EntryDraft {
        wall_ms: T0 + i as i64 * 1000,
        mono_ms: 5_000 + i * 1000,
        clock_synced: true,
        kind: EntryKind::Scan,
        direction: Direction::In,
        pass_id: pass.map(|n| PassId([n; 8])),
        role: None,
        decision,
        reason: if decision == Decision::Allow { Reason::Ok } else { Reason::Revoked },
        temperature: Some(TempRecord::Centi(3650)),
        note: None,
    }
}

fn store_with(n: u64) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.db"), "boot-1").unwrap();
    for i in 1..=n {
        store.append(&draft(i, Decision::Allow, Some(i as u8))).unwrap();
    }
    (dir, store)
}

fn broken_at(store: &Store) -> u64 {
    store.verify_chain().unwrap().expect_err("tampering went unnoticed").seq()
}

#[test]
fn entries_get_consecutive_seqs_and_a_verifying_chain() {
    let (_dir, store) = store_with(5);
    let report = store.verify_chain().unwrap().unwrap();
    assert_eq!(report.entries, 5);
    let e3 = store.entry(3).unwrap().unwrap();
    assert_eq!((e3.seq, e3.boot_id.as_str(), e3.device.as_str()), (3, "boot-1", store.device_id()));
    assert_eq!(e3.mono_ms, 8_000);
}

#[test]
fn seqs_continue_after_reopening() {
    let (dir, store) = store_with(3);
    let device = store.device_id().to_string();
    drop(store);
    let mut store = Store::open(&dir.path().join("kiosk.db"), "boot-2").unwrap();
    assert_eq!(store.device_id(), device);
    let e = store.append(&draft(4, Decision::Deny, None)).unwrap();
    assert_eq!((e.seq, e.boot_id.as_str()), (4, "boot-2"));
    assert!(store.verify_chain().unwrap().is_ok());
}

#[test]
fn altered_entry_is_found() {
    let (_dir, store) = store_with(5);
    store.conn.execute("UPDATE entries SET body = replace(body, '\"allow\"', '\"deny\"') WHERE seq = 3", []).unwrap();
    assert_eq!(broken_at(&store), 3);
}

#[test]
fn altered_entry_with_recomputed_digest_is_found() {
    let (_dir, store) = store_with(5);
    let body: String = store.conn.query_row("SELECT body FROM entries WHERE seq = 2", [], |r| r.get(0)).unwrap();
    let forged = body.replace("3650", "3690");
    let digest: Hash = Sha256::digest(forged.as_bytes()).into();
    store
        .conn
        .execute("UPDATE entries SET body = ?1, digest = ?2 WHERE seq = 2", params![forged, &digest[..]])
        .unwrap();
    assert_eq!(broken_at(&store), 2);
}

#[test]
fn deleted_entry_is_found() {
    let (_dir, store) = store_with(5);
    store.conn.execute("DELETE FROM entries WHERE seq = 4", []).unwrap();
    assert_eq!(broken_at(&store), 4);
}

#[test]
fn deleted_last_entry_is_found() {
    let (_dir, store) = store_with(5);
    store.conn.execute("DELETE FROM entries WHERE seq = 5", []).unwrap();
    assert_eq!(broken_at(&store), 5);
}

#[test]
fn reordered_entries_are_found() {
    let (_dir, store) = store_with(5);
    // Swap rows 2 and 3 wholesale, keeping the seq column in order.
    store
        .conn
        .execute_batch(
            "UPDATE entries SET seq = -2 WHERE seq = 2;
             UPDATE entries SET seq = 2 WHERE seq = 3;
             UPDATE entries SET seq = 3 WHERE seq = -2;",
        )
        .unwrap();
    assert_eq!(broken_at(&store), 2);
}

#[test]
fn allowed_entries_update_presence_and_denied_ones_do_not() {
    let (_dir, mut store) = store_with(0);
    store.append(&draft(1, Decision::Allow, Some(1))).unwrap();
    store.append(&draft(2, Decision::Deny, Some(2))).unwrap();
    let presence = store.presence().unwrap();
    assert_eq!(presence.get(&PassId([1; 8])).map(|p| p.direction), Some(Direction::In));
    assert_eq!(presence.get(&PassId([2; 8])), None);
    assert!(store.clear_presence(&PassId([1; 8])).unwrap());
    assert!(store.presence().unwrap().is_empty());
}

fn snapshot(version: u64, ids: &[u8]) -> ListSnapshot {
    ListSnapshot {
        kind: ListKind::Revocations,
        version,
        issued_at: T0 / 1000,
        expires_at: T0 / 1000 + 86_400,
        items: ids
            .iter()
            .map(|&n| ListItem { pass_id: PassId([n; 8]), from: None, until: None, source: None })
            .collect(),
    }
}

#[test]
fn lists_refuse_rollback_and_expiry() {
    let (_dir, mut store) = store_with(0);
    store.put_list(&snapshot(5, &[1]), T0).unwrap();
    store.put_list(&snapshot(5, &[1]), T0).unwrap();
    let err = store.put_list(&snapshot(4, &[]), T0).unwrap_err();
    assert!(matches!(err, StoreError::Rollback { have: 5, offered: 4, .. }), "{err}");
    let err = store.put_list(&snapshot(5, &[]), T0).unwrap_err();
    assert!(matches!(err, StoreError::Rollback { .. }), "same version, other content: {err}");
    let err = store.put_list(&snapshot(6, &[]), T0 + 2 * DAY_MS).unwrap_err();
    assert!(matches!(err, StoreError::ListExpired { .. }), "{err}");
    store.put_list(&snapshot(6, &[1, 2]), T0).unwrap();
    assert_eq!(store.list(ListKind::Revocations).unwrap().unwrap().items.len(), 2);
    assert_eq!(store.lists().unwrap().synced_at_ms, None);
    store.mark_lists_synced(T0).unwrap();
    assert_eq!(store.lists().unwrap().synced_at_ms, Some(T0));
}

#[test]
fn the_ack_watermark_only_moves_forward_and_not_past_the_head() {
    let (_dir, mut store) = store_with(10);
    store.set_acked(6).unwrap();
    store.set_acked(3).unwrap();
    assert_eq!(store.acked_seq().unwrap(), 6);
    assert!(matches!(store.set_acked(11), Err(StoreError::AckBeyondHead { .. })));
    let pending: Vec<u64> = store.unacked(100).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(pending, [7, 8, 9, 10]);
    assert_eq!(store.unacked(2).unwrap().len(), 2);
}

#[test]
fn retention_drops_only_old_acknowledged_payloads_and_the_chain_still_verifies() {
    let (_dir, mut store) = store_with(10);
    store.set_acked(4).unwrap();
    // Entries are 1 s apart from T0; "now" is 31 days later, keep 30 days.
    let dropped = store.apply_retention(T0 + 31 * DAY_MS, 30).unwrap();
    assert_eq!(dropped, 4);
    assert!(store.entry(4).unwrap().is_none());
    assert!(store.entry(5).unwrap().is_some(), "unacknowledged entries keep their payload");
    let report = store.verify_chain().unwrap().unwrap();
    assert_eq!((report.entries, report.pruned), (10, 4));
    // Nothing recent goes, even when acknowledged.
    store.set_acked(10).unwrap();
    assert_eq!(store.apply_retention(T0 + DAY_MS, 30).unwrap(), 0);
}

#[test]
fn a_full_disk_is_reported_as_such_and_loses_nothing_committed() {
    let (_dir, mut store) = store_with(3);
    let pages: i64 = store.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    store.conn.pragma_update(None, "max_page_count", pages).unwrap();
    let mut big = draft(4, Decision::Allow, Some(4));
    big.note = Some("x".repeat(50_000));
    let err = store.append(&big).unwrap_err();
    assert!(matches!(err, StoreError::DiskFull), "{err}");
    assert!(err.to_string().contains("free space"));
    assert_eq!(store.head_seq().unwrap(), 3);
    assert!(store.verify_chain().unwrap().is_ok());
}

#[test]
fn counts_split_in_out_denied_and_fever() {
    let (_dir, mut store) = store_with(2);
    let mut out = draft(3, Decision::Allow, Some(9));
    out.direction = Direction::Out;
    store.append(&out).unwrap();
    store.append(&draft(4, Decision::Deny, None)).unwrap();
    let mut fever = draft(5, Decision::Guard, Some(7));
    fever.reason = Reason::Fever;
    store.append(&fever).unwrap();
    let c = store.counts_since(T0).unwrap();
    assert_eq!(c, Counts { allowed_in: 2, allowed_out: 1, denied: 2, fever: 1 });
}

#[test]
fn store_uses_wal_and_full_sync() {
    let (_dir, store) = store_with(0);
    let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let sync: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}

#[test]
fn an_own_entry_older_than_a_merged_presence_does_not_replace_it() {
    // The south gate saw pass 1 go out at T0 + 10 s; this kiosk's entry of
    // T0 + 2 s reaches its store after that (it was waiting on the lock).
    let (_dir, mut store) = store_with(0);
    let out = Presence { direction: Direction::Out, at_ms: T0 + 10_000 };
    store.merge_presence(&[(PassId([1; 8]), out)], 7).unwrap();
    store.append(&draft(2, Decision::Allow, Some(1))).unwrap();
    assert_eq!(store.presence().unwrap()[&PassId([1; 8])], out, "the newer report holds");
    // A newer entry of our own does replace it.
    store.append(&draft(11, Decision::Allow, Some(1))).unwrap();
    assert_eq!(store.presence().unwrap()[&PassId([1; 8])].direction, Direction::In);
}

/// Who is on duty survives a restart (issue 32): the duty entries of the
/// log are read back in order, the sign-ins with their pass and time; a
/// scan with a duty-like reason but another kind is not duty.
#[test]
fn duty_sign_ins_and_outs_are_read_back_from_the_log_after_reopening() {
    let (dir, mut store) = store_with(2);
    let duty = |i: u64, pass: u8, reason: Reason| EntryDraft {
        kind: EntryKind::Duty,
        reason,
        temperature: None,
        role: Some(shoumen_protocol::Role::Duty),
        ..draft(i, Decision::Allow, Some(pass))
    };
    store.append(&duty(3, 30, Reason::DutyStart)).unwrap();
    store.append(&duty(4, 31, Reason::DutyStart)).unwrap();
    store.append(&duty(5, 30, Reason::DutyEnd)).unwrap();
    store.append(&EntryDraft { reason: Reason::DutyStart, ..draft(6, Decision::Allow, Some(32)) }).unwrap();
    drop(store);
    let store = Store::open(&dir.path().join("kiosk.db"), "boot-2").unwrap();
    let read = store.duty_since(T0).unwrap();
    assert_eq!(
        read,
        [
            (PassId([30; 8]), true, T0 + 3_000),
            (PassId([31; 8]), true, T0 + 4_000),
            (PassId([30; 8]), false, T0 + 5_000)
        ]
    );
    assert_eq!(store.duty_since(T0 + 4_500).unwrap(), [(PassId([30; 8]), false, T0 + 5_000)]);
}

/// A quiet gate's sync rounds write nothing to the card when nothing
/// changed: the time anchor within a second, the lists' confirmation within
/// ten minutes, the same evidence head. Each is written again once it moves.
#[test]
fn a_sync_rounds_bookkeeping_is_written_only_when_it_moved() {
    let (_dir, mut store) = store_with(0);
    let writes = |store: &Store| store.conn.total_changes();
    let anchor = |mono_ms: u64, server_ms: i64| Anchor { boot_id: "boot-1".into(), mono_ms, server_ms };
    store.set_time_anchor(&anchor(1_000, T0)).unwrap();
    store.mark_lists_synced(T0).unwrap();
    let before = writes(&store);
    // Thirty seconds later, the same offset (and 400 ms of network jitter).
    store.set_time_anchor(&anchor(31_000, T0 + 30_400)).unwrap();
    store.mark_lists_synced(T0 + 30_000).unwrap();
    assert_eq!(writes(&store), before, "nothing written for an unchanged round");
    // The server's time says something new: written.
    store.set_time_anchor(&anchor(61_000, T0 + 65_000)).unwrap();
    assert_eq!(store.time_base().unwrap().anchor.unwrap().server_ms, T0 + 65_000);
    // Ten minutes on, both are written again, so a restart finds them fresh.
    let later = T0 + 65_000 + REWRITE_AFTER_MS;
    store.set_time_anchor(&anchor(61_000 + REWRITE_AFTER_MS as u64, later)).unwrap();
    store.mark_lists_synced(later).unwrap();
    assert_eq!(store.time_base().unwrap().anchor.unwrap().server_ms, later);
    assert_eq!(store.lists().unwrap().synced_at_ms, Some(later));
    // A new boot's anchor is always kept.
    let next_boot = Anchor { boot_id: "boot-2".into(), mono_ms: 500, server_ms: later + 1 };
    store.set_time_anchor(&next_boot).unwrap();
    assert_eq!(store.time_base().unwrap().anchor.unwrap().boot_id, "boot-2");
}
