//! The kiosk's updater: puts a signed release in place with dpkg and takes
//! it out again when it breaks the gate, with no network needed.
//!
//! Two sides share the files in the kiosk's data directory (`update/`):
//!
//! - the **kiosk** (user `shoumen`, `crates/client`'s sync thread and the
//!   kiosk's self-test) downloads the release the server offers, checks it
//!   and leaves it there with the request to install (`pending.note`,
//!   `pending.deb`, `install-now`), and after a restart writes what its
//!   self-test found (`self-test.json`);
//! - the **updater** (root, `shoumen-update`, started by systemd when the
//!   request appears and at every boot) checks the release again against
//!   the release keys in `/etc/shoumen/kiosk.toml`, keeps a copy of it and
//!   of the package it replaces in its own directory, and walks the phases
//!   in [`state::Phase`], writing each to disk before doing it. A power cut
//!   anywhere leaves a phase on disk that [`apply`] carries on from at the
//!   next boot: dpkg's interrupted work is finished (`dpkg --configure -a`)
//!   and the install is tried once more or rolled back.
//!
//! The updater decides nothing the release keys did not sign: it never
//! installs a version lower than the one installed (a server cannot push an
//! old, vulnerable release), nor one that failed here before.

pub mod error;
pub mod files;
pub mod host;
pub mod run;
pub mod self_test;
pub mod state;

pub use run::{apply, install, recover, UpdateError};
