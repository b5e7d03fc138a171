//! Billing keys: issued from card data or from the card-registration window's authKey,
//! read by their customer only, and charged.

use chrono::{DateTime, FixedOffset};
use payments_api::toss::*;

use super::super::error::TossFault;
use super::MerchantData;
use super::payment::{Order, Payment, card_company, card_company_code, card_decline, positive};
use crate::compat::Compat;
use crate::ids::random_alnum;

/// A billing key.
#[derive(Debug, Clone)]
pub struct BillingRecord {
    pub billing: TossBilling,
}

/// An authKey from the card-registration window, not yet exchanged for a billing key.
#[derive(Debug, Clone)]
pub struct AuthKeyRecord {
    pub customer_key: String,
    pub card_number: String,
}

/// Checks a `customerKey`: 2 to 300 characters.
pub fn check_customer_key(key: &str) -> Result<(), TossFault> {
    if (2..=300).contains(&key.chars().count()) {
        Ok(())
    } else {
        Err(TossFault::invalid(
            "customerKey must be 2 to 300 characters",
        ))
    }
}

fn unknown_billing_key() -> TossFault {
    TossFault::with("NOT_FOUND", "존재하지 않는 빌링키 입니다.")
}

impl MerchantData {
    /// Issues a billing key for a card already checked.
    pub fn issue_billing_key(
        &mut self,
        customer_key: &str,
        card_number: &str,
        now: DateTime<FixedOffset>,
        now_ms: i64,
    ) -> TossBilling {
        let billing = TossBilling {
            m_id: "tosspayments".to_owned(),
            customer_key: customer_key.to_owned(),
            billing_key: format!("{}=", random_alnum(43)),
            method: METHOD_CARD.to_owned(),
            card_company: card_company(card_number).to_owned(),
            card_number: card_number.to_owned(),
            authenticated_at: now,
            // The same card as a payment's `card` (see `Card::render`).
            card: Some(TossBillingCard {
                issuer_code: card_company_code(card_number).to_owned(),
                acquirer_code: card_company_code(card_number).to_owned(),
                number: card_number.to_owned(),
                card_type: "신용".to_owned(),
                owner_type: "개인".to_owned(),
            }),
        };
        self.billings.insert(
            billing.billing_key.clone(),
            BillingRecord {
                billing: billing.clone(),
            },
            now_ms,
        );
        billing
    }

    /// The customer registers a card in the card-registration window: an authKey to
    /// exchange for a billing key.
    pub fn register_card(
        &mut self,
        customer_key: &str,
        card_number: Option<String>,
        now_ms: i64,
    ) -> Result<String, TossFault> {
        check_customer_key(customer_key)?;
        let card_number = card_number.unwrap_or_else(|| "4330123412341234".to_owned());
        if !(15..=16).contains(&card_number.len())
            || !card_number.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(TossFault::of("INVALID_CARD_NUMBER"));
        }
        let auth_key = format!("bln_{}", random_alnum(28));
        self.auth_keys.insert(
            auth_key.clone(),
            AuthKeyRecord {
                customer_key: customer_key.to_owned(),
                card_number,
            },
            now_ms,
        );
        Ok(auth_key)
    }

    /// Exchanges an authKey, once, for a billing key of the same customer.
    pub fn exchange_auth_key(
        &mut self,
        auth_key: &str,
        customer_key: &str,
        now: DateTime<FixedOffset>,
        now_ms: i64,
    ) -> Result<TossBilling, TossFault> {
        let Some(auth) = self.auth_keys.get(auth_key, now_ms) else {
            return Err(TossFault::with(
                "NOT_FOUND",
                "authKey 가 존재하지 않거나 이미 사용되었습니다.",
            ));
        };
        if auth.customer_key != customer_key {
            return Err(TossFault::of("NOT_MATCHES_CUSTOMER_KEY"));
        }
        let card_number = auth.card_number.clone();
        self.auth_keys.remove(auth_key);
        Ok(self.issue_billing_key(customer_key, &card_number, now, now_ms))
    }

    /// Deletes a billing key.
    pub fn delete_billing_key(&mut self, billing_key: &str, now_ms: i64) -> Result<(), TossFault> {
        self.billings
            .get(billing_key, now_ms)
            .ok_or_else(unknown_billing_key)?;
        self.billings.remove(billing_key);
        Ok(())
    }

    /// A billing key, for its own customer only.
    pub fn billing(
        &self,
        billing_key: &str,
        customer_key: &str,
        now_ms: i64,
    ) -> Result<&TossBilling, TossFault> {
        let record = self
            .billings
            .get(billing_key, now_ms)
            .ok_or_else(unknown_billing_key)?;
        if record.billing.customer_key != customer_key {
            return Err(TossFault::of("NOT_MATCHES_CUSTOMER_KEY"));
        }
        Ok(&record.billing)
    }

    /// Charges a billing key: a new card payment, done at once. Returns its paymentKey. A
    /// refusal (`forced`, the test code, else the card's magic number) is stored as an
    /// `ABORTED` payment and answered as the error.
    pub fn charge(
        &mut self,
        billing_key: &str,
        input: &TossBillingCharge,
        forced: Option<String>,
        compat: Compat,
        now: i64,
        now_ms: i64,
    ) -> Result<String, TossFault> {
        let amount = positive("amount", input.amount)?;
        // The original fakes charged a key for any customer; Toss refuses another's.
        let card_number = if compat.original() {
            self.billings
                .get(billing_key, now_ms)
                .ok_or_else(unknown_billing_key)?
                .billing
                .card_number
                .clone()
        } else {
            self.billing(billing_key, &input.customer_key, now_ms)?
                .card_number
                .clone()
        };
        self.check_new_order(&input.order_id, now_ms)?;
        let order = Order {
            order_id: &input.order_id,
            order_name: input.order_name.as_deref().unwrap_or("정기 결제"),
            amount,
            tax_free: 0.0,
            kind: TossPaymentType::Billing,
        };
        let refusal = forced
            .or_else(|| card_decline(&card_number).map(str::to_owned))
            .map(|code| TossFault::of(&code));
        let Some(refusal) = refusal else {
            let payment = Payment::card(order, &card_number, 0, TossPaymentStatus::Done, now);
            return Ok(self.insert_payment(payment, now_ms));
        };
        let mut payment = Payment::card(order, &card_number, 0, TossPaymentStatus::InProgress, now);
        payment.abort(&refusal);
        self.insert_payment(payment, now_ms);
        Err(refusal)
    }
}
