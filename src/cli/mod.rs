//! Command-line pieces too large for main.rs.

pub mod runs;
