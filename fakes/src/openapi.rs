//! The fakes' OpenAPI 3.1 documents, served at `GET /openapi.json` by each fake and
//! committed as `openapi/<fake>.json`.
//!
//! Each fake declares its PG's routes and its own `/internal` controls (its module
//! `openapi`); the controls every fake shares are declared here, and [`document`] joins the
//! two. The schemas come from the wire types (`payments_api`) and the fakes' own types. The
//! operations are declared on functions that only carry the annotations, beside the
//! routers rather than on the handlers, so that one route table's change does not touch
//! every handler; a test sends a request to every documented route and fails on one the
//! fake does not serve.

// The functions below exist for their annotations only; nothing calls them.
#![allow(dead_code)]

use axum::Json;
use axum::extract::State;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use crate::controls::{Advance, ClockState, JournalQuery};
use crate::core::Fake;
use crate::delivery::DeliveryView;
use crate::faults::{ActiveFault, FaultRule};
use crate::journal::JournalSnapshot;

/// Fake `F`'s whole document: its PG's routes and controls, and the shared controls.
pub fn document<F: Fake>() -> Document {
    let mut doc = F::openapi();
    doc.merge(Shared::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// `GET /openapi.json`.
pub(crate) async fn serve<F: Fake>(State(_): State<F>) -> Json<Document> {
    Json(document::<F>())
}

/// What every fake's description ends with.
pub const SHARED_DESCRIPTION: &str = "\n\nEvery fake also serves the shared controls under \
`/internal` (clock, fault rules, journal, webhook deliveries, reset, a webhook sink) and this \
document at `/openapi.json`. Errors are in the PG's own shape.";

/// The controls every fake serves.
#[derive(OpenApi)]
#[openapi(
    paths(
        clock,
        advance,
        faults,
        add_fault,
        clear_faults,
        journal,
        deliveries,
        reset,
        sink,
        openapi_json
    ),
    tags((name = "controls", description = "The controls every fake shares"))
)]
struct Shared;

/// The fake's clock.
#[utoipa::path(get, path = "/internal/clock", tag = "controls",
    responses((status = 200, description = "OK", body = ClockState)))]
fn clock() {}

/// Move the fake's clock forward (at most ten years); due expiries and webhooks run.
#[utoipa::path(post, path = "/internal/clock", tag = "controls",
    request_body = Advance,
    responses(
        (status = 200, description = "The clock after the move", body = ClockState),
        (status = 400, description = "A malformed body or a negative move, in the PG's error shape"),
    ))]
fn advance() {}

/// The active fault rules.
#[utoipa::path(get, path = "/internal/faults", tag = "controls",
    responses((status = 200, description = "OK", body = Vec<ActiveFault>)))]
fn faults() {}

/// Add a fault rule: matching requests of the PG's API fail, wait or go unanswered.
#[utoipa::path(post, path = "/internal/faults", tag = "controls",
    request_body = FaultRule,
    responses(
        (status = 201, description = "The rule, active", body = ActiveFault),
        (status = 400, description = "A malformed rule, in the PG's error shape"),
    ))]
fn add_fault() {}

/// Remove every fault rule.
#[utoipa::path(delete, path = "/internal/faults", tag = "controls",
    responses((status = 204, description = "Removed")))]
fn clear_faults() {}

/// The requests the fake answered, the webhooks it tried, the bodies its sink received.
#[utoipa::path(get, path = "/internal/journal", tag = "controls", params(JournalQuery),
    responses((status = 200, description = "OK", body = JournalSnapshot)))]
fn journal() {}

/// Every webhook the fake is sending or sent.
#[utoipa::path(get, path = "/internal/webhooks", tag = "controls",
    responses((status = 200, description = "OK", body = Vec<DeliveryView>)))]
fn deliveries() {}

/// Forget everything: the PG's data, the clock's offset, faults, journal, webhooks.
#[utoipa::path(post, path = "/internal/reset", tag = "controls",
    responses((status = 204, description = "Reset")))]
fn reset() {}

/// A webhook sink: records a posted body, JSON or form-encoded, in the journal.
#[utoipa::path(post, path = "/internal/webhook", tag = "controls",
    request_body(content = serde_json::Value, description = "Any JSON, or a form-encoded body"),
    responses(
        (status = 200, description = "Recorded"),
        (status = 400, description = "Neither JSON nor form-encoded, in the PG's error shape"),
    ))]
fn sink() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "controls",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
fn openapi_json() {}
