//! What the harness's flow tests (`harness.rs`, and `docker.rs` on a container) share.

use payments_api::payments::*;

pub fn history(
    code: VendorCode,
    uid: &str,
    order: &str,
    price: f64,
    hook: &str,
) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code,
            store_id: "shop".into(),
            uid: uid.into(),
        },
        source: PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.into(),
        },
        webhook_url: hook.into(),
        price,
        password: "secret".into(),
    }
}

pub fn order() -> String {
    format!("order-{}", uuid::Uuid::new_v4().simple())
}
