//! Signing keys kept out of the database (issue 29): the evidence log's
//! and the passes'. A copy of the database (a backup, a dump, a replica)
//! then cannot sign a checkpoint or a pass; the keys live in one directory
//! readable by the service alone (`--keys DIR`, or a systemd credential
//! directory), one file per key, backed up apart from the database.
//!
//! A pass key moved out leaves in its column `file:` and its public key
//! (hex): the database still says which key it is, and a file holding
//! another is refused.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;

use super::DbError;

/// Set once at start (`--keys`); a process without it signs only with
/// keys still in the database.
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// The mark a pass key column holds once its key is in a file.
const OUTSIDE: &str = "file:";

/// Reads keys moved out of the database from `dir` (once per process).
pub fn keep_in(dir: PathBuf) {
    let _ = DIR.set(dir);
}

/// The directory keys are read from, if the process was given one.
pub fn dir() -> Option<&'static Path> {
    DIR.get().map(PathBuf::as_path)
}

/// A community id as it may stand in a file name or a log's origin.
pub fn clean(community: &str) -> String {
    community.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// Writes `text` to a new file at `path`, readable by its owner only, and
/// syncs it, before the caller lets the database forget the key. A file
/// already there is kept if `same` says it holds this key, else refused.
pub fn write_secret(path: &Path, text: &str, same: impl Fn(&str) -> bool) -> Result<(), DbError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| DbError::Setup(format!("cannot write {}: {e}", path.display()));
    if path.exists() {
        let there = std::fs::read_to_string(path).map_err(failed)?;
        if !same(there.trim()) {
            return Err(DbError::Setup(format!("{} already holds another key; move it away first", path.display())));
        }
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(failed)?;
    writeln!(f, "{text}").map_err(failed)?;
    f.sync_all().map_err(failed)?;
    // The new name is durable only once its directory is.
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent).and_then(|d| d.sync_all()).map_err(failed)?;
    }
    Ok(())
}

/// The text of a key file, for `what` (words of the error).
pub fn read_secret(what: &str, file: impl FnOnce(&Path) -> PathBuf) -> Result<String, DbError> {
    let missing = |why: String| DbError::Setup(format!("{what} is kept outside the database: {why}"));
    let Some(dir) = dir() else {
        return Err(missing("start with --keys DIR (the directory move-keys wrote)".into()));
    };
    let path = file(dir);
    std::fs::read_to_string(&path)
        .map(|t| t.trim().to_string())
        .map_err(|e| missing(format!("cannot read {}: {e}", path.display())))
}

/// The file of `community`'s pass key whose public key is `public` (hex):
/// one per key, so a rotation's next and old keys have theirs.
pub fn pass_key_file(dir: &Path, community: &str, public: &str) -> PathBuf {
    dir.join(format!("{}.pass-{}.key", clean(community), &public[..public.len().min(16)]))
}

/// A pass key from its column: its hex, or the mark of a key in a file.
pub fn pass_key(community: &str, column: &str) -> Result<SigningKey, DbError> {
    let corrupt = || DbError::Corrupt(format!("a signing key of {community} is not 32 hex bytes"));
    let Some(public) = column.strip_prefix(OUTSIDE) else {
        return from_hex(column).ok_or_else(corrupt);
    };
    let what = format!("the pass-signing key {} of {community}", &public[..public.len().min(16)]);
    let text = read_secret(&what, |dir| pass_key_file(dir, community, public))?;
    let key = from_hex(&text).ok_or_else(corrupt)?;
    if hex::encode(key.verifying_key().as_bytes()) != public {
        return Err(DbError::Setup(format!("{what}: its file holds another key")));
    }
    Ok(key)
}

fn from_hex(text: &str) -> Option<SigningKey> {
    let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&bytes))
}

/// Whether a pass key column marks a key kept in a file.
pub fn is_outside(column: &str) -> bool {
    column.starts_with(OUTSIDE)
}

/// What a pass key column holds for `key`: its hex, or, with `outside`,
/// the mark of the file written (in the directory given at start) first.
pub fn pass_key_column(community: &str, key: &SigningKey, outside: bool) -> Result<String, DbError> {
    if !outside {
        return Ok(hex::encode(key.to_bytes()));
    }
    let dir = dir().ok_or_else(|| {
        DbError::Setup(format!(
            "the pass-signing keys of {community} are kept outside the database: start with --keys DIR to make a new one"
        ))
    })?;
    move_pass_key(community, key, dir)
}

/// Writes `key` into `dir` and returns the column's mark for it.
pub fn move_pass_key(community: &str, key: &SigningKey, dir: &Path) -> Result<String, DbError> {
    let public = hex::encode(key.verifying_key().as_bytes());
    let text = hex::encode(key.to_bytes());
    write_secret(&pass_key_file(dir, community, &public), &text, |there| there == text)?;
    Ok(format!("{OUTSIDE}{public}"))
}

/// Deletes a retired pass key's file, if it was kept in one.
pub fn forget_pass_key(community: &str, column: &str) {
    if let (Some(public), Some(dir)) = (column.strip_prefix(OUTSIDE), dir()) {
        let path = pass_key_file(dir, community, public);
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "the retired pass key's file was not deleted; delete it");
        }
    }
}
