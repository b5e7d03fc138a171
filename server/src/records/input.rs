//! What a client's input must be before anything is asked of a PG or the database.

use payments_api::payments::{
    PaymentCancelCreate, PaymentHistoryCreate, PaymentReservationCreate, PaymentSource,
    PaymentVendor,
};

use super::RecordError;
use crate::money::Amount;

/// A payment to store: answers the price the client expects.
pub(super) fn history(input: &PaymentHistoryCreate) -> Result<Amount, RecordError> {
    vendor(&input.vendor)?;
    source(&input.source)?;
    password(&input.password)?;
    let price = amount(input.price, |p| !p.is_negative()).ok_or(RecordError::InvalidAmount(
        "price must be a whole number of at least 0",
    ))?;
    let url_ok = input.webhook_url.len() <= 1024
        && reqwest::Url::parse(&input.webhook_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !url_ok {
        return Err(RecordError::invalid(
            "webhook_url must be an http(s) URL of at most 1024 characters",
        ));
    }
    Ok(price)
}

/// A cancel: answers the amount to refund.
pub(super) fn cancel(input: &PaymentCancelCreate) -> Result<Amount, RecordError> {
    source(&input.source)?;
    text("reason", &input.reason, 200)?;
    amount(input.price, Amount::is_positive).ok_or(RecordError::InvalidAmount(
        "price must be a whole number above 0",
    ))
}

/// A client's amount: a whole number of the currency's unit (KRW has no minor unit, and
/// fractions such as `0.1` or `1e-320` would only round somewhere), that `fits`.
fn amount(value: f64, fits: impl Fn(Amount) -> bool) -> Option<Amount> {
    Amount::from_f64(value)
        .ok()
        .filter(|a| a.is_whole() && fits(*a))
}

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
pub(super) fn idempotency_key(key: &str) -> Result<(), RecordError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RecordError::invalid(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(())
}

/// A billing key to store.
pub(super) fn reservation(input: &PaymentReservationCreate) -> Result<(), RecordError> {
    vendor(&input.vendor)?;
    source(&input.source)?;
    password(&input.password)?;
    text("title", &input.title, 255)
}

fn text(name: &str, value: &str, max: usize) -> Result<(), RecordError> {
    if value.trim().is_empty() {
        return Err(RecordError::invalid(format!("{name} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(RecordError::invalid(format!(
            "{name} must be at most {max} characters"
        )));
    }
    Ok(())
}

fn source(source: &PaymentSource) -> Result<(), RecordError> {
    text("source.schema", &source.schema, 255)?;
    text("source.table", &source.table, 255)?;
    text("source.id", &source.id, 255)
}

fn vendor(vendor: &PaymentVendor) -> Result<(), RecordError> {
    text("vendor.store_id", &vendor.store_id, 255)?;
    text("vendor.uid", &vendor.uid, 255)?;
    // The uid is a path segment of the PG's URL, and URLs resolve `.` and `..` (escaped or
    // not) to other paths: no PG's id is one.
    if matches!(vendor.uid.as_str(), "." | "..") {
        return Err(RecordError::invalid("vendor.uid must not be . or .."));
    }
    Ok(())
}

fn password(password: &str) -> Result<(), RecordError> {
    if password.is_empty() || password.len() > 1024 {
        return Err(RecordError::invalid("password must be 1 to 1024 bytes"));
    }
    Ok(())
}
