//! clerk — a back-office robot.
//!
//! Documents arrive in watched folders ([`intake`]); each is stored whole in a content-addressed
//! blob store and as a row in the [`store`] before it leaves the inbox. Workers then move it along,
//! one leased job per stage: [`read`] gets its text (the PDF text layer, or OCR for scans and
//! images) from a reader process that untrusted bytes cannot escape, [`classify`] decides its
//! document type from the declarative [`definitions`] and extracts and validates its fields. Whatever cannot be read, recognised or completed becomes an
//! item on the human exception queue ([`exceptions`]) with a reason a person understands. Every
//! arrow is durable: a crash at any point resumes from the last committed state.

pub mod audit;
pub mod backup;
pub mod batches;
pub mod bots;
pub mod classify;
pub mod config;
pub mod daemon;
pub mod definitions;
pub mod exceptions;
pub mod heartbeat;
pub mod http;
pub mod intake;
pub mod invoice;
pub mod learn;
pub mod lease;
pub mod metrics;
pub mod pipeline;
pub mod read;
pub mod retention;
pub mod runner;
pub mod runs;
pub mod secrets;
pub mod service;
pub mod shutdown;
pub mod split;
pub mod states;
pub mod store;
pub mod users;
pub mod vendors;
pub mod web;
