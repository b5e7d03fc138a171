//! Billing keys and the payment schedules that charge them.

use chrono::{DateTime, Utc};
use payments_api::portone::*;

use super::Store;
use super::payment::mask_card;

/// A billing key: a registered card.
#[derive(Debug, Clone)]
pub struct BillingKeyRecord {
    /// Masked.
    pub card_number: String,
    pub brand: &'static str,
    /// The card's last four digits decide how its charges end (see [`super::decline`]).
    pub last_four: String,
    pub customer: Customer,
    pub custom_data: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl BillingKeyRecord {
    pub fn new(
        number: &str,
        customer: Customer,
        custom_data: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            card_number: mask_card(number),
            brand: super::card_brand(number),
            last_four: number
                .chars()
                .skip(number.len().saturating_sub(4))
                .collect(),
            customer,
            custom_data,
            issued_at: now,
            deleted_at: None,
        }
    }

    /// The billing key on the wire.
    pub fn render(&self, key: &str, store: &Store) -> BillingKeyInfo {
        let base = BillingKeyBase {
            billing_key: key.to_owned(),
            merchant_id: store.merchant_id.clone(),
            store_id: store.store_id.clone(),
            methods: Some(vec![BillingKeyPaymentMethod::BillingKeyPaymentMethodCard {
                card: Some(Card {
                    brand: Some(self.brand.to_owned()),
                    kind: Some("CREDIT".to_owned()),
                    bin: Some(self.card_number.chars().take(6).collect()),
                    number: Some(self.card_number.clone()),
                    ..Card::default()
                }),
            }]),
            channels: vec![store.channel()],
            customer: self.customer.clone(),
            custom_data: self.custom_data.clone(),
            requested_at: Some(self.issued_at),
            issued_at: self.issued_at,
        };
        match self.deleted_at {
            None => BillingKeyInfo::Issued(base),
            Some(deleted_at) => BillingKeyInfo::Deleted(DeletedBillingKey { base, deleted_at }),
        }
    }
}

/// A payment scheduled on a billing key.
#[derive(Debug, Clone)]
pub struct ScheduleRecord {
    pub payment_id: String,
    pub input: BillingKeyPaymentInput,
    pub status: PaymentScheduleStatus,
    pub created_at: DateTime<Utc>,
    pub time_to_pay: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    /// When it succeeded, failed or was revoked.
    pub ended_at: Option<DateTime<Utc>>,
}

impl ScheduleRecord {
    /// When it is due, while it waits.
    pub fn due_ms(&self) -> Option<i64> {
        (self.status == PaymentScheduleStatus::Scheduled)
            .then(|| self.time_to_pay.timestamp_millis())
    }

    /// The schedule on the wire.
    pub fn render(&self, id: &str, store: &Store) -> PaymentSchedule {
        let input = &self.input;
        let base = PaymentScheduleBase {
            id: id.to_owned(),
            merchant_id: store.merchant_id.clone(),
            store_id: store.store_id.clone(),
            payment_id: self.payment_id.clone(),
            billing_key: input.billing_key.clone(),
            order_name: input.order_name.clone(),
            is_cultural_expense: false,
            is_escrow: false,
            customer: input
                .customer
                .as_ref()
                .map(super::payment::customer_of)
                .unwrap_or_default(),
            custom_data: input.custom_data.clone().unwrap_or_default(),
            total_amount: input.amount.total,
            tax_free_amount: input.amount.tax_free,
            vat_amount: input.amount.vat,
            currency: input.currency.clone(),
            installment_month: input.installment_month,
            created_at: self.created_at,
            time_to_pay: self.time_to_pay,
        };
        let started_at = self.started_at.unwrap_or(self.time_to_pay);
        let completed = || CompletedSchedule {
            base: base.clone(),
            started_at,
            completed_at: self.ended_at.unwrap_or(started_at),
        };
        match self.status {
            PaymentScheduleStatus::Scheduled => PaymentSchedule::Scheduled(base),
            PaymentScheduleStatus::Started => PaymentSchedule::Started(StartedSchedule {
                base: base.clone(),
                started_at,
            }),
            PaymentScheduleStatus::Succeeded => PaymentSchedule::Succeeded(completed()),
            PaymentScheduleStatus::Failed => PaymentSchedule::Failed(completed()),
            PaymentScheduleStatus::Pending => PaymentSchedule::Pending(completed()),
            PaymentScheduleStatus::Revoked => PaymentSchedule::Revoked(RevokedSchedule {
                base: base.clone(),
                revoked_at: self.ended_at.unwrap_or(self.created_at),
            }),
        }
    }
}
