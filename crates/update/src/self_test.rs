//! What a kiosk's self-test found, written by the kiosk after it starts on
//! a new version and read by the updater: shared with the kiosk.

pub use shoumen_protocol::release::{Check, SelfTest};
