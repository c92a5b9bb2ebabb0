//! The kiosk's memory and its link to the committee's server: the
//! hash-chained entry log, the lists and the sync state in SQLite
//! ([`store`]), the kiosk's clocks ([`clock`]) and the sync client
//! ([`sync`]). No screen, camera or hardware: the server's tests and the
//! load generator use it as a kiosk would.

pub mod clock;
pub mod store;
pub mod sync;
pub mod update;

// The gate core's types, under the path the kiosk uses.
use shoumen_gate as gate;
