//! The wire contract of the payments sandbox, with no server or database inside.
//!
//! - [`payments`]: the records and requests of the payments API, and the events it relays
//!   to a client's webhook; [`monitors`]: its monitor endpoints;
//! - [`iamport`], [`toss`] and [`portone`] (PortOne V2): the PG APIs the server talks to
//!   and the fakes imitate;
//! - [`codec`]: the AES body encryption every payments-API body travels in;
//! - [`signature`]: the Standard Webhooks signatures of relayed events;
//! - [`wire`]: the number and time formats the three share;
//! - `client` (feature `client`): a typed async client of the payments API.
//!
//! Client backends depend on this crate alone, so it pulls in neither a web framework nor a
//! database driver.

#[cfg(feature = "client")]
pub mod client;
pub mod codec;
pub mod iamport;
pub mod monitors;
pub mod payments;
pub mod portone;
pub mod signature;
#[cfg(feature = "tls")]
pub mod tls;
pub mod toss;
pub mod wire;

pub use codec::{BodyCodec, DecodeError, KeyError, Scheme, Undecryptable};
