//! The records: one module per group of tables, the only code that writes
//! them (and, for their invariants, reads them). Each imports the leaves,
//! the database and other records below it in this list's dependency
//! order, never a report, an operation or a face.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod calls;
pub mod checkins;
pub mod chores;
pub mod community;
pub mod devices;
pub mod drill;
pub mod evidence;
pub mod ingest;
pub mod keys;
pub mod registrations;
pub mod residents;
pub mod returnees;
pub mod robot;
pub mod roster;
pub mod screen_enroll;
pub mod sensors;
pub mod sequencer;
pub mod updates;
pub mod witnesses;
