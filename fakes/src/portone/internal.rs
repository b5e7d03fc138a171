//! The fake-only controls under `/internal`: what the customer does in PortOne's browser
//! windows, and the store's settings.

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::portone::*;
use serde::{Deserialize, Serialize};

use super::FakePortOne;
use super::error::PortOneFault;
use super::model::{self, Account, Order, PaymentRecord, card_method, customer_of};
use super::routes::{Merchant, PortOneJson};

/// What the customer does in the payment window.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PortOneWindowPayment)]
pub(super) struct WindowPayment {
    order_name: String,
    amount: PaymentAmountInput,
    #[serde(default = "krw")]
    currency: String,
    /// `CARD` (default) or `VIRTUAL_ACCOUNT`.
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    card_number: Option<String>,
    #[serde(default)]
    bank: Option<String>,
    #[serde(default)]
    valid_hours: Option<i32>,
    #[serde(default)]
    customer: Option<CustomerInput>,
    #[serde(default)]
    custom_data: Option<String>,
    /// `PC` (default) or `MOBILE`.
    #[serde(default)]
    platform: Option<String>,
    /// The store confirms the payment itself with `POST /payments/{id}/confirm`: the card
    /// is only authorised, and a `paymentToken` handed over.
    #[serde(default)]
    manual_confirm: bool,
}

fn krw() -> String {
    "KRW".to_owned()
}

/// What the browser SDK hands back to the merchant's page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PortOneWindowResult)]
pub(super) struct WindowResult {
    payment_id: String,
    transaction_type: &'static str,
    tx_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// `POST /internal/payments/{paymentId}`: the customer completes the payment window: a
/// card is paid (or, with `manualConfirm`, authorised for the store to confirm), a virtual
/// account issued.
pub(super) async fn payment_window(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<WindowPayment>,
) -> Result<Json<WindowResult>, PortOneFault> {
    let now = fake.now();
    let now_ms = fake.now_ms();
    let platform = match input.platform.as_deref() {
        None | Some("PC") => "PC",
        Some("MOBILE") => "MOBILE",
        Some(other) => {
            return Err(PortOneFault::invalid(format!(
                "platform must be PC or MOBILE, got {other:?}"
            )));
        }
    };
    let order = Order::new(
        &input.order_name,
        input.amount,
        &input.currency,
        input.customer.as_ref(),
        input.custom_data.as_deref(),
    )?;
    let (result, events) = {
        let mut data = merchant.lock();
        data.check_new_attempt(&payment_id, &order, now_ms)?;
        let mut payment = PaymentRecord::new(&payment_id, order, platform, now);
        let tx_id = payment.transaction_id.to_string();
        let mut result = WindowResult {
            payment_id: payment_id.clone(),
            transaction_type: "PAYMENT",
            tx_id,
            payment_token: None,
            code: None,
            message: None,
        };
        let events = match input.method.as_deref().unwrap_or("CARD") {
            "CARD" => {
                let number = input.card_number.as_deref().unwrap_or("4330123412341234");
                if !(15..=16).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(PortOneFault::invalid("cardNumber must be 15 or 16 digits"));
                }
                payment.method = Some(card_method(number, 0));
                if input.manual_confirm {
                    let token = format!("payment-token-{}", uuid::Uuid::new_v4());
                    payment.payment_token = Some(token.as_str().into());
                    result.payment_token = Some(token);
                    Vec::new()
                } else {
                    let (outcome, events) = model::settle(&mut payment, number, now);
                    if let Err(fault) = outcome {
                        result.code = Some(fault.kind.clone());
                        result.message = Some(fault.message.clone());
                    }
                    events
                }
            }
            "VIRTUAL_ACCOUNT" => {
                let bank = input.bank.as_deref().unwrap_or("SHINHAN");
                model::check_bank(bank)?;
                let expiry = VirtualAccountExpiry {
                    valid_hours: input.valid_hours,
                    due_date: None,
                };
                let expires_at = model::account_deadline(now, &expiry)?;
                vec![payment.issue_account(
                    Account {
                        bank: bank.to_owned(),
                        account_number: crate::ids::random_digits(14),
                        remittee_name: None,
                        issued_at: now,
                        expires_at,
                    },
                    now,
                )]
            }
            other => {
                return Err(PortOneFault::invalid(format!(
                    "method must be CARD or VIRTUAL_ACCOUNT, got {other:?}"
                )));
            }
        };
        data.insert_payment(payment, now_ms);
        (result, events)
    };
    fake.notify(&merchant, events).await;
    Ok(Json(result))
}

/// `POST /internal/payments/{paymentId}/deposit`: the customer pays into the virtual
/// account.
pub(super) async fn deposit(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
) -> Result<Json<Payment>, PortOneFault> {
    let now = fake.now();
    let (payment, event) = {
        let mut data = merchant.lock();
        let event = data.change_payment(&payment_id, fake.now_ms(), |p| p.deposit(now))??;
        let payment = data
            .payment(&payment_id, fake.now_ms())?
            .render(&data.store);
        (payment, event)
    };
    fake.notify(&merchant, vec![event]).await;
    Ok(Json(payment))
}

/// What the customer does in the billing-key window.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PortOneCardRegistration)]
pub(super) struct CardRegistration {
    #[serde(default)]
    card_number: Option<String>,
    #[serde(default)]
    customer: Option<CustomerInput>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PortOneCardRegistered)]
pub(super) struct CardRegistered {
    billing_key: String,
}

/// `POST /internal/billing-keys`: the customer registers a card in the billing-key window.
pub(super) async fn billing_key_window(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    PortOneJson(input): PortOneJson<CardRegistration>,
) -> Result<Json<CardRegistered>, PortOneFault> {
    let now = fake.now();
    let credential = CardCredential {
        number: input
            .card_number
            .unwrap_or_else(|| "4330123412341234".to_owned()),
        expiry_year: format!("{:02}", (chrono::Datelike::year(&now) + 3) % 100),
        expiry_month: "12".to_owned(),
        birth_or_business_registration_number: None,
        password_two_digits: None,
    };
    let customer = input.customer.as_ref().map(customer_of).unwrap_or_default();
    let (billing_key, event) =
        merchant
            .lock()
            .issue_billing_key(&credential, customer, None, now)?;
    fake.notify(&merchant, vec![event]).await;
    Ok(Json(CardRegistered { billing_key }))
}

/// A store's settings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PortOneStoreSettings)]
pub(super) struct MerchantSettings {
    #[serde(default, skip_deserializing)]
    store_id: String,
    #[serde(default, skip_deserializing)]
    merchant_id: String,
    /// Where this store's webhooks go; `null` sends none.
    webhook_url: Option<String>,
    /// The `whsec_` secret its webhooks are signed with.
    #[serde(default)]
    webhook_secret: Option<String>,
}

/// `GET /internal/merchant`: the authenticated store's settings.
pub(super) async fn merchant(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
) -> Json<MerchantSettings> {
    let data = merchant.lock();
    let webhook_url = match &data.webhook_url {
        Some(own) => own.clone(),
        None => fake.inner.config.webhook_url.clone(),
    };
    Json(MerchantSettings {
        store_id: data.store.store_id.clone(),
        merchant_id: data.store.merchant_id.clone(),
        webhook_url,
        webhook_secret: Some(
            data.webhook_secret
                .clone()
                .unwrap_or_else(|| fake.inner.config.webhook_secret.clone()),
        ),
    })
}

/// `PUT /internal/merchant`: sets the store's webhook URL and, if given, secret.
pub(super) async fn set_merchant(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    PortOneJson(settings): PortOneJson<MerchantSettings>,
) -> Result<Json<MerchantSettings>, PortOneFault> {
    if let Some(url) = &settings.webhook_url {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(PortOneFault::invalid(format!(
                    "{url:?} is not an http(s) URL"
                )));
            }
        }
    }
    if let Some(secret) = &settings.webhook_secret
        && (!secret.starts_with(payments_api::signature::SECRET_PREFIX)
            || payments_api::signature::secret_key(secret).is_err())
    {
        return Err(PortOneFault::invalid(
            "webhookSecret must be whsec_ and Base64",
        ));
    }
    {
        let mut data = merchant.lock();
        data.webhook_url = Some(settings.webhook_url);
        if let Some(secret) = settings.webhook_secret {
            data.webhook_secret = Some(secret);
        }
    }
    Ok(self::merchant(State(fake), Extension(merchant)).await)
}
