//! Shoumen (守门): a gate terminal for residential compounds.
//!
//! See ARCHITECTURE.md for the map. In short: [`gate`] decides (pure),
//! [`store`] remembers (SQLite, hash-chained), [`scan`] reads QR codes, and
//! the binary wires them to the hardware and the screen.

pub mod app;
pub mod check;
pub mod clock;
pub mod config;
pub mod demo;
pub mod frame;
pub mod gate;
pub mod hw;
pub mod isolate;
pub mod ports;
pub mod scan;
pub mod service;
pub mod store;
pub mod sync;
pub mod ui;
pub mod voice;
