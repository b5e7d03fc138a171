//! The integrated payment server: it verifies payments and billing keys at the PGs, keeps
//! them encrypted behind per-record passwords, cancels through the PGs and relays PG events
//! to client webhooks.
//!
//! Its wire contract lives in the `payments-api` crate.
