//! Shoumen (守门): a gate terminal for residential compounds.
//!
//! See ARCHITECTURE.md for the map. In short: [`gate`] decides (pure),
//! [`store`] remembers (SQLite, hash-chained), [`scan`] reads QR codes, and
//! the binary wires them to the hardware and the screen.

pub mod app;
pub mod check;
pub mod config;
pub mod demo;
pub mod frame;
pub mod hw;
pub mod isolate;
pub mod ports;
pub mod scan;
pub mod service;
pub mod ui;
pub mod voice;

// The gate core and the store and sync client are crates of their own
// (crates/gate, crates/client), so what does not need the screen builds
// without it; the kiosk keeps their old paths.
pub use shoumen_client::{clock, store, sync};
pub use shoumen_gate as gate;
