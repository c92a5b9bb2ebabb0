//! Power loss, beyond SIGKILL: the store runs on a SQLite VFS shim that
//! keeps every write in memory until the file is synced, as a disk cache
//! does. A "power cut" at a random write or sync throws away what was not
//! synced (keeping a random part of it: caches write back in any order),
//! then the store is opened again from what reached the disk.
//!
//! After every cut: each entry whose `append` returned is there, unchanged,
//! the hash chain verifies and SQLite's integrity check passes.
//!
//! `SHOUMEN_POWER_CUTS` sets the number of cuts (CI runs the default 25;
//! the figure in docs/reliability.md is from 200).

// A VFS is C callbacks over raw pointers: this file is unsafe by nature.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;
use std::sync::Mutex;

use rusqlite::ffi;
use shoumen::gate::EntryDraft;
use shoumen::store::Store;
use shoumen_protocol::{Decision, Direction, EntryKind, PassId};

/// The shim's state: when the power goes, and whether it has.
struct Power {
    /// Writes and syncs left before the cut; `None`: no cut planned.
    left: Option<u64>,
    cut: bool,
    rng: u64,
}

static POWER: Mutex<Power> = Mutex::new(Power { left: None, cut: false, rng: 0x9E37_79B9 });

fn lock() -> std::sync::MutexGuard<'static, Power> {
    POWER.lock().unwrap_or_else(|e| e.into_inner())
}

impl Power {
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Counts one write or sync; true if the power is (now) gone.
    fn tick(&mut self) -> bool {
        if let Some(left) = self.left.as_mut() {
            if *left == 0 {
                self.cut = true;
            } else {
                *left -= 1;
            }
        }
        self.cut
    }
}

enum Op {
    Write(i64, Vec<u8>),
    Truncate(i64),
}

/// Our file: SQLite's handle header first, then the real file and the
/// writes the disk has not seen yet.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    real_buf: *mut u8,
    real_len: usize,
    pending: *mut Vec<Op>,
}

static mut BASE_VFS: *mut ffi::sqlite3_vfs = std::ptr::null_mut();
static mut METHODS: ffi::sqlite3_io_methods = unsafe { std::mem::zeroed() };

unsafe fn shim<'a>(f: *mut ffi::sqlite3_file) -> &'a mut ShimFile {
    &mut *(f as *mut ShimFile)
}

unsafe fn real_methods(f: &ShimFile) -> &ffi::sqlite3_io_methods {
    &*(*f.real).pMethods
}

unsafe fn real_size(f: &ShimFile) -> i64 {
    let mut size: ffi::sqlite3_int64 = 0;
    (real_methods(f).xFileSize.unwrap())(f.real, &mut size);
    size
}

/// The size the file has for SQLite: the disk's, with pending writes.
unsafe fn apparent_size(f: &ShimFile) -> i64 {
    let mut size = real_size(f);
    for op in &*f.pending {
        match op {
            Op::Write(off, data) => size = size.max(off + data.len() as i64),
            Op::Truncate(t) => size = *t,
        }
    }
    size
}

/// Puts pending operations on the disk: all of them (a sync), or at a cut a
/// random part of them.
unsafe fn flush(f: &mut ShimFile, keep: &mut dyn FnMut() -> bool) -> c_int {
    let ops = std::mem::take(&mut *f.pending);
    let m = real_methods(f);
    for op in ops {
        if !keep() {
            continue;
        }
        let rc = match op {
            Op::Write(off, data) => {
                (m.xWrite.unwrap())(f.real, data.as_ptr() as *const c_void, data.len() as c_int, off)
            }
            Op::Truncate(t) => (m.xTruncate.unwrap())(f.real, t),
        };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    let f = shim(file);
    // A clean close hands the writes to the OS; after a cut they are gone.
    let cut = lock().cut;
    if cut {
        (*f.pending).clear();
    } else {
        flush(f, &mut || true);
    }
    let rc = (real_methods(f).xClose.unwrap())(f.real);
    drop(Box::from_raw(f.pending));
    drop(Vec::from_raw_parts(f.real_buf, f.real_len, f.real_len));
    rc
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amt: c_int,
    off: ffi::sqlite3_int64,
) -> c_int {
    let f = shim(file);
    let rc = (real_methods(f).xRead.unwrap())(f.real, buf, amt, off);
    if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_IOERR_SHORT_READ {
        return rc;
    }
    let out = std::slice::from_raw_parts_mut(buf as *mut u8, amt as usize);
    for op in &*f.pending {
        match op {
            Op::Write(woff, data) => {
                let (a, b) = ((*woff).max(off), (woff + data.len() as i64).min(off + amt as i64));
                if a < b {
                    out[(a - off) as usize..(b - off) as usize]
                        .copy_from_slice(&data[(a - woff) as usize..(b - woff) as usize]);
                }
            }
            Op::Truncate(t) => {
                if *t < off + amt as i64 {
                    out[(*t - off).max(0) as usize..].fill(0);
                }
            }
        }
    }
    if off + amt as i64 <= apparent_size(f) {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_IOERR_SHORT_READ
    }
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amt: c_int,
    off: ffi::sqlite3_int64,
) -> c_int {
    if lock().tick() {
        return ffi::SQLITE_IOERR_WRITE;
    }
    let data = std::slice::from_raw_parts(buf as *const u8, amt as usize).to_vec();
    (*shim(file).pending).push(Op::Write(off, data));
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    if lock().tick() {
        return ffi::SQLITE_IOERR_TRUNCATE;
    }
    (*shim(file).pending).push(Op::Truncate(size));
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let f = shim(file);
    let cut = lock().tick();
    if cut {
        // The cache wrote back some of it, in no particular order, before
        // the lights went out.
        flush(f, &mut || lock().next() % 2 == 0);
        return ffi::SQLITE_IOERR_FSYNC;
    }
    let rc = flush(f, &mut || true);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    (real_methods(f).xSync.unwrap())(f.real, flags)
}

unsafe extern "C" fn x_file_size(file: *mut ffi::sqlite3_file, size: *mut ffi::sqlite3_int64) -> c_int {
    *size = apparent_size(shim(file));
    ffi::SQLITE_OK
}

macro_rules! pass_through {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let f = shim(file);
            (real_methods(f).$field.unwrap())(f.real, $($arg),*)
        }
    };
}
pass_through!(x_lock, xLock, (l: c_int));
pass_through!(x_unlock, xUnlock, (l: c_int));
pass_through!(x_check_reserved, xCheckReservedLock, (out: *mut c_int));
pass_through!(x_file_control, xFileControl, (op: c_int, arg: *mut c_void));
pass_through!(x_sector_size, xSectorSize, ());
pass_through!(x_device_characteristics, xDeviceCharacteristics, ());
pass_through!(x_shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int));
pass_through!(x_shm_unmap, xShmUnmap, (delete: c_int));

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let f = shim(file);
    (real_methods(f).xShmMap.unwrap())(f.real, region, size, extend, out)
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    let f = shim(file);
    (real_methods(f).xShmBarrier.unwrap())(f.real)
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    let base = BASE_VFS;
    let len = (*base).szOsFile as usize;
    let mut buf = vec![0u8; len];
    let real = buf.as_mut_ptr() as *mut ffi::sqlite3_file;
    std::mem::forget(buf);
    let rc = ((*base).xOpen.unwrap())(base, name, real, flags, out);
    let f = file as *mut ShimFile;
    (*f).real = real;
    (*f).real_buf = real as *mut u8;
    (*f).real_len = len;
    (*f).pending = Box::into_raw(Box::default());
    if rc != ffi::SQLITE_OK || (*real).pMethods.is_null() {
        (*f).base.pMethods = std::ptr::null();
        drop(Box::from_raw((*f).pending));
        drop(Vec::from_raw_parts((*f).real_buf, len, len));
        return rc;
    }
    (*f).base.pMethods = std::ptr::addr_of!(METHODS);
    ffi::SQLITE_OK
}

/// Registers the "powercut" VFS once.
fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| unsafe {
        ffi::sqlite3_initialize();
        let base = ffi::sqlite3_vfs_find(std::ptr::null());
        BASE_VFS = base;
        METHODS = ffi::sqlite3_io_methods {
            iVersion: 2,
            xClose: Some(x_close),
            xRead: Some(x_read),
            xWrite: Some(x_write),
            xTruncate: Some(x_truncate),
            xSync: Some(x_sync),
            xFileSize: Some(x_file_size),
            xLock: Some(x_lock),
            xUnlock: Some(x_unlock),
            xCheckReservedLock: Some(x_check_reserved),
            xFileControl: Some(x_file_control),
            xSectorSize: Some(x_sector_size),
            xDeviceCharacteristics: Some(x_device_characteristics),
            xShmMap: Some(x_shm_map),
            xShmLock: Some(x_shm_lock),
            xShmBarrier: Some(x_shm_barrier),
            xShmUnmap: Some(x_shm_unmap),
            xFetch: None,
            xUnfetch: None,
        };
        let mut vfs: ffi::sqlite3_vfs = *base;
        vfs.szOsFile = std::mem::size_of::<ShimFile>() as c_int;
        vfs.zName = CString::new("powercut").unwrap().into_raw() as *const c_char;
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(x_open);
        let vfs = Box::into_raw(Box::new(vfs));
        assert_eq!(ffi::sqlite3_vfs_register(vfs, 0), ffi::SQLITE_OK);
    });
}

fn draft(n: u64) -> EntryDraft {
    EntryDraft {
        wall_ms: 1_790_000_000_000 + n as i64,
        mono_ms: n,
        clock_synced: true,
        kind: EntryKind::Scan,
        direction: if n % 2 == 0 { Direction::In } else { Direction::Out },
        pass_id: Some(PassId(n.to_be_bytes())),
        role: None,
        decision: Decision::Allow,
        reason: shoumen_protocol::Reason::Ok,
        temperature: None,
        note: None,
    }
}

/// What a power cut may not take: every entry whose append returned.
fn check_after_cut(db: &Path, committed: &[(u64, String)], round: u32) {
    // The WAL index lives in shared memory, which a power cut loses too.
    let _ = std::fs::remove_file(db.with_extension("db-shm"));
    let store =
        Store::open(db, "after-power-cut").unwrap_or_else(|e| panic!("cut {round}: the store does not open: {e}"));
    assert_eq!(store.integrity_check().unwrap(), "ok", "cut {round}");
    let report = store.verify_chain().unwrap().unwrap_or_else(|b| panic!("cut {round}: {b}"));
    for (seq, body) in committed {
        let e = store.entry(*seq).unwrap().unwrap_or_else(|| panic!("cut {round}: committed entry {seq} is gone"));
        assert_eq!(&serde_json::to_string(&e).unwrap(), body, "cut {round}: entry {seq} changed");
    }
    assert!(report.entries >= committed.last().map_or(0, |c| c.0), "cut {round}");
}

/// The shim's state is global: its tests take turns.
static TURN: Mutex<()> = Mutex::new(());

#[test]
fn the_shim_does_lose_what_was_never_synced() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    register();
    *lock() = Power { left: None, cut: false, rng: 7 };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nosync.db");
    {
        let conn =
            rusqlite::Connection::open_with_flags_and_vfs(&db, rusqlite::OpenFlags::default(), "powercut").unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; CREATE TABLE t (n INTEGER);").unwrap();
        for n in 0..200 {
            conn.execute("INSERT INTO t VALUES (?1)", [n]).unwrap();
        }
        // Power off before anything was synced.
        lock().left = Some(0);
        let _ = conn.execute("INSERT INTO t VALUES (-1)", []);
    }
    let _ = std::fs::remove_file(dir.path().join("nosync.db-shm"));
    let rows: i64 = rusqlite::Connection::open(&db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)))
        .unwrap_or(0);
    assert!(rows < 200, "without syncs the cut lost nothing ({rows} rows): the shim does not model a power cut");
}

#[test]
fn every_committed_entry_survives_power_cuts() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    register();
    let cuts: u32 = std::env::var("SHOUMEN_POWER_CUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let mut committed: Vec<(u64, String)> = Vec::new();
    let (mut failed_appends, mut n) = (0u64, 0u64);
    for round in 1..=cuts {
        {
            let mut power = lock();
            power.cut = false;
            power.left = None;
        }
        let mut store = Store::open_with_vfs(&db, "before-power-cut", Some("powercut")).unwrap();
        {
            let mut power = lock();
            let at = 1 + power.next() % 400;
            power.left = Some(at);
        }
        while !lock().cut {
            n += 1;
            match store.append(&draft(n)) {
                Ok(e) => committed.push((e.seq, serde_json::to_string(&e).unwrap())),
                Err(_) => failed_appends += 1,
            }
            if n % 7 == 0 {
                let _ = store.set_acked(store.head_seq().unwrap_or(0));
            }
        }
        drop(store);
        check_after_cut(&db, &committed, round);
    }
    println!(
        "{cuts} power cuts: {} entries committed and found again, {failed_appends} appends refused at a cut",
        committed.len()
    );
    assert!(committed.len() as u64 > u64::from(cuts), "the cuts came too early to test anything");
}
