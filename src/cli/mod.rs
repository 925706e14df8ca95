//! Command-line pieces too large for main.rs.

pub mod mail;
pub mod runs;
