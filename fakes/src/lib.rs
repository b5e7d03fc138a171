//! Stateful in-memory fakes of the I'mport (PortOne V1), Toss Payments and PortOne V2 APIs, so payment
//! flows run end to end in tests without a real PG.
//!
//! Each fake is an axum [`Router`](axum::Router) over in-memory state, usable in-process
//! (mount [`Fake::router`], or [`serve`](serve::serve) it on a port) or through
//! `harness fake …`. Besides the PG's API, each serves fake-only controls under
//! `/internal`: simulated customer actions, a movable clock, injected failures, a journal.
//!
//! - [`iamport`]: the fake I'mport (PortOne V1).
//! - [`toss`]: the fake Toss Payments.
//! - [`portone`]: the fake PortOne V2.
//!
//! All are laid out alike: `model/` holds a merchant's records and every rule by which
//! they are made and change (a stored record keeps only what varies, compactly, and is
//! rendered to the PG's wire type when read); `routes/` has one module per resource of the
//! PG's API, whose handlers read the request, call the model and answer; `internal.rs`
//! the PG's own controls; `error.rs` the PG's error shape; `mod.rs` the configuration,
//! authentication and the [`Fake`] implementation.
//!
//! Shared machinery: [`core`] (what every fake has, and the [`Fake`] trait that assembles
//! each fake's app and through which the shared [`controls`] work), [`http`] (journal,
//! request ids, tracing, error shapes), [`clock`], [`store`] (bounded, expiring maps),
//! [`registry`] (merchants), [`timers`], [`delivery`] (webhooks with retries), [`faults`],
//! [`journal`], [`serve`].

pub mod checkout;
pub mod clock;
pub mod compat;
pub mod controls;
pub mod core;
pub mod delivery;
pub mod faults;
pub mod http;
pub mod iamport;
pub mod ids;
pub mod journal;
pub mod openapi;
pub mod portone;
pub mod registry;
pub mod serve;
pub mod store;
pub mod timers;
pub mod tls;
pub mod toss;

pub use core::Fake;
