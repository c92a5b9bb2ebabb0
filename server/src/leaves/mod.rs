//! The leaves of the server: pure helpers that import nothing of the
//! server (words, times, text, tokens and digests, CSV, China's divisions,
//! the roles and their permissions, Prometheus' text format, a volunteer's
//! hours on a shift). Every floor
//! may use them.

pub mod cells;
pub mod csv;
pub mod detail;
pub mod divisions;
pub mod duty;
pub mod exposition;
pub mod place;
pub mod roles;
pub mod schedule;
pub mod secrets;
pub mod text;
pub mod time;
pub mod words;
