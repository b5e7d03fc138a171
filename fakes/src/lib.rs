//! Stateful in-memory fakes of the I'mport (PortOne V1) and Toss Payments APIs, so that
//! payment flows run end to end in tests without a real PG.
//!
//! Their wire types live in the `payments-api` crate.
