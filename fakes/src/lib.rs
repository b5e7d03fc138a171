//! Stateful in-memory fakes of the I'mport (PortOne V1) and Toss Payments APIs, so payment
//! flows run end to end in tests without a real PG.
//!
//! Each fake is an axum [`Router`](axum::Router) over in-memory state, usable in-process
//! (mount the router, or [`serve`](serve::serve) it on a port) or through
//! `harness fake …`. Besides the PG's API, each serves fake-only controls under
//! `/internal`: simulated customer actions, a movable clock, injected failures, a journal.
//!
//! - [`iamport`]: the fake I'mport (PortOne V1).
//! - [`toss`]: the fake Toss Payments.
//!
//! Shared machinery: [`core`] (what every fake has, and the [`Fake`](core::Fake) trait the
//! shared [`controls`] are written against), [`clock`], [`store`] (bounded, expiring maps),
//! [`registry`] (merchants), [`timers`], [`delivery`] (webhooks with retries), [`faults`],
//! [`journal`], [`serve`].

pub mod clock;
pub mod controls;
pub mod core;
pub mod delivery;
pub mod faults;
pub mod http;
pub mod iamport;
pub mod ids;
pub mod journal;
pub mod registry;
pub mod serve;
pub mod store;
pub mod timers;
pub mod tls;
pub mod toss;

pub use core::Fake;
