//! `harness trigger`: one thing a customer or a PG does, against a running sandbox
//! (`harness serve`), found through its admin API's discovery document. Each prints one line
//! of what happened, or one JSON object with `--json`.

use std::time::Duration;

use base64::Engine as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

/// The admin API of a `harness serve` on its default ports.
pub const DEFAULT_ADMIN: &str = "http://127.0.0.1:37822";

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The sandbox's admin API (the inbox's port; `/admin` is added when missing). Its
    /// discovery document names every other URL and credential.
    #[arg(long, env = "PAYMENTS_SANDBOX_ADMIN_URL", default_value = DEFAULT_ADMIN, global = true)]
    pub admin: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    #[command(flatten)]
    sandbox: AdminArgs,
    #[command(subcommand)]
    what: What,
}

/// The fakes `trigger` acts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Pg {
    Toss,
    Iamport,
    Portone,
}

impl Pg {
    fn name(self) -> &'static str {
        match self {
            Self::Toss => "toss",
            Self::Iamport => "iamport",
            Self::Portone => "portone",
        }
    }

    /// Its vendor code at the payments server.
    fn vendor(self) -> &'static str {
        match self {
            Self::Toss => "toss.payments",
            Self::Iamport => "iamport",
            Self::Portone => "portone",
        }
    }
}

#[derive(Debug, Args)]
struct Payment {
    /// The PG.
    #[arg(long, value_enum, default_value = "toss")]
    pg: Pg,
    /// The amount, in won.
    #[arg(long, default_value_t = 15000, value_parser = clap::value_parser!(u32).range(1..=1_000_000_000))]
    amount: u32,
    /// The order's id (the source id at the server); a fresh one when absent.
    #[arg(long)]
    order: Option<String>,
    /// Only at the PG: do not store the payment at the payments server.
    #[arg(long)]
    no_store: bool,
    /// The stored record's password.
    #[arg(long, default_value = "secret")]
    password: String,
}

#[derive(Debug, Subcommand)]
enum What {
    /// The customer pays by card at a PG; the payment is stored at the payments server with
    /// the sandbox's inbox as its webhook (unless --no-store).
    Card(Payment),
    /// A virtual account is issued at a PG, and stored unpaid (unless --no-store).
    VirtualAccount(Payment),
    /// The customer pays into a virtual account (ID: its paymentKey, imp_uid or paymentId).
    Deposit {
        #[arg(long, value_enum, default_value = "toss")]
        pg: Pg,
        id: String,
    },
    /// The customer registers a card for recurring payments; prints the billing key.
    BillingKey {
        #[arg(long, value_enum, default_value = "toss")]
        pg: Pg,
        /// The customer's id (Toss's customerKey, I'mport's customer_uid); a fresh one when
        /// absent.
        #[arg(long)]
        customer: Option<String>,
    },
    /// The merchant cancels a payment at the PG (ID: its paymentKey, imp_uid or paymentId),
    /// wholly or --amount of it; the PG tells the server, which tells the client.
    Cancel {
        #[arg(long, value_enum, default_value = "toss")]
        pg: Pg,
        id: String,
        /// The amount to cancel; all that remains when absent.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        amount: Option<u32>,
        #[arg(long, default_value = "cancelled by harness trigger")]
        reason: String,
    },
    /// The bank settles the pending refunds of a cancelled Toss virtual account (ID: its
    /// paymentKey) now: they go through, or with `--result failed` the bank refuses them.
    Refund {
        id: String,
        #[arg(long, value_enum, default_value = "completed")]
        result: RefundResult,
    },
    /// The next request(s) to a fake fail (its `/internal/faults` control): by default the
    /// one the payments server makes to check a payment.
    FailNext {
        #[arg(long, value_enum, default_value = "toss")]
        pg: Pg,
        /// The path to fail: exact, or a prefix ending with `*`.
        #[arg(long)]
        path: Option<String>,
        /// How many requests fail.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        times: u32,
        /// The PG's error code to answer with.
        #[arg(long)]
        code: Option<String>,
    },
    /// Moves the server's and every fake's clock forward together (`90s`, `15m`, `2h`,
    /// `3d`, `1d 12h`): due retries and expiries run.
    Clock {
        #[arg(value_parser = duration)]
        by: Duration,
    },
}

/// How the bank settles a refund (`trigger refund --result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RefundResult {
    Completed,
    Failed,
}

/// The customer's bank account a paid Toss virtual account is refunded to: the fake takes
/// the money back only to an account, as Toss does.
const TOSS_REFUND_ACCOUNT: &str = "12345678901234";

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration like 90s, 15m, 2h or 3d: {e}"))
}

pub fn run(args: TriggerArgs) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let sandbox = Sandbox::discover(&args.sandbox.admin).await?;
        let (line, value) = sandbox.trigger(args.what).await?;
        Ok(if args.sandbox.json {
            value.to_string()
        } else {
            line
        })
    })
}

/// A running sandbox, as its discovery document describes it.
pub struct Sandbox {
    pub http: reqwest::Client,
    pub admin: String,
    pub doc: Value,
}

impl Sandbox {
    /// Reads the discovery document; a sandbox that does not answer is a clear error.
    pub async fn discover(admin: &str) -> Result<Self, String> {
        payments_fakes::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let admin = admin.trim_end_matches('/');
        let admin = if admin.ends_with("/admin") {
            admin.to_owned()
        } else {
            format!("{admin}/admin")
        };
        let answer = http.get(&admin).send().await.map_err(|e| {
            format!(
                "no sandbox answers at {admin} ({e}); start one with `harness serve`, or name its admin API with --admin"
            )
        })?;
        if !answer.status().is_success() {
            return Err(format!(
                "{admin} answered {}: is it a sandbox's admin API?",
                answer.status()
            ));
        }
        let doc: Value = answer
            .json()
            .await
            .map_err(|e| format!("{admin} did not answer a discovery document: {e}"))?;
        if !doc["payments"]["url"].is_string() {
            return Err(format!("{admin} did not answer a discovery document"));
        }
        Ok(Self { http, admin, doc })
    }

    fn text(&self, pointer: &str) -> Result<&str, String> {
        self.doc
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the discovery document has no {pointer}"))
    }

    /// A request to a fake, authenticated as the payments server's merchant; the answer's
    /// JSON (I'mport's `response`), or an error with the fake's answer.
    async fn pg(
        &self,
        pg: Pg,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let fake = format!("/fakes/{}", pg.name());
        let url = format!("{}{path}", self.text(&format!("{fake}/url"))?);
        let auth = match pg {
            Pg::Toss => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:",
                    self.text(&format!("{fake}/credentials/secret_key"))?
                ))
            ),
            Pg::Portone => format!(
                "PortOne {}",
                self.text(&format!("{fake}/credentials/api_secret"))?
            ),
            Pg::Iamport => {
                let base = self.text(&format!("{fake}/url"))?;
                let token = self
                    .send(
                        reqwest::Method::POST,
                        &format!("{base}/users/getToken"),
                        "",
                        Some(json!({
                            "imp_key": self.text(&format!("{fake}/credentials/imp_key"))?,
                            "imp_secret": self.text(&format!("{fake}/credentials/imp_secret"))?,
                        })),
                    )
                    .await?;
                token["response"]["access_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        let answer = self.send(method, &url, &auth, body).await?;
        Ok(match pg {
            Pg::Iamport => answer["response"].clone(),
            _ => answer,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        auth: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, url);
        if !auth.is_empty() {
            request = request.header("authorization", auth);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| format!("{url} does not answer: {e}"))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        // I'mport answers its errors with a non-zero `code`, some with 200.
        let refused = value["code"].as_i64().is_some_and(|code| code != 0);
        if !status.is_success() || refused {
            return Err(format!("{url} answered {}: {value}", status.as_u16()));
        }
        Ok(value)
    }

    /// Stores a PG's payment at the payments server, with the inbox as its webhook;
    /// answers the history.
    async fn store(
        &self,
        pg: Pg,
        uid: &str,
        order: &str,
        amount: u32,
        password: &str,
    ) -> Result<Value, String> {
        let key = self.text("/payments/encryption/key")?;
        let iv = self.text("/payments/encryption/iv")?;
        let codec = payments_api::BodyCodec::new(key, iv).map_err(|e| e.to_string())?;
        let body = json!({
            "vendor": {"code": pg.vendor(), "store_id": "shop", "uid": uid},
            "source": {"schema": "shop", "table": "orders", "id": order},
            "webhook_url": self.text("/inbox/url")?,
            "price": amount,
            "password": password,
        });
        let url = format!("{}/payments/histories", self.text("/payments/url")?);
        let answer = self
            .http
            .post(&url)
            .header("content-type", "text/plain")
            .body(codec.encrypt_json(&body).map_err(|e| e.to_string())?)
            .send()
            .await
            .map_err(|e| format!("{url} does not answer: {e}"))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "the payments server refused to store it ({}): {text}",
                status.as_u16()
            ));
        }
        codec
            .decrypt_json(&text)
            .map_err(|e| format!("the payments server's answer does not decrypt: {e}"))
    }

    /// The payment at its PG, as `(status, amount, cancelled)`.
    async fn payment(&self, pg: Pg, id: &str) -> Result<(String, f64, f64), String> {
        let get = reqwest::Method::GET;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let number = |v: &Value| v.as_f64().unwrap_or_default();
        Ok(match pg {
            Pg::Toss => {
                let p = self
                    .pg(pg, get, &format!("/v1/payments/{id}"), None)
                    .await?;
                let total = number(&p["totalAmount"]);
                (
                    text(&p["status"]),
                    total,
                    total - number(&p["balanceAmount"]),
                )
            }
            Pg::Iamport => {
                let p = self.pg(pg, get, &format!("/payments/{id}"), None).await?;
                (
                    text(&p["status"]),
                    number(&p["amount"]),
                    number(&p["cancel_amount"]),
                )
            }
            Pg::Portone => {
                let p = self.pg(pg, get, &format!("/payments/{id}"), None).await?;
                (
                    text(&p["status"]),
                    number(&p["amount"]["total"]),
                    number(&p["amount"]["cancelled"]),
                )
            }
        })
    }

    async fn trigger(&self, what: What) -> Result<(String, Value), String> {
        let post = reqwest::Method::POST;
        match what {
            What::Card(p) => self.pay(p, false).await,
            What::VirtualAccount(p) => self.pay(p, true).await,
            What::Deposit { pg, id } => {
                match pg {
                    Pg::Toss => {
                        self.pg(
                            pg,
                            reqwest::Method::PUT,
                            &format!("/internal/{id}/deposit"),
                            None,
                        )
                        .await?
                    }
                    Pg::Iamport => {
                        self.pg(
                            pg,
                            reqwest::Method::PUT,
                            &format!("/internal/deposit/{id}"),
                            None,
                        )
                        .await?
                    }
                    Pg::Portone => {
                        self.pg(
                            pg,
                            post,
                            &format!("/internal/payments/{id}/deposit"),
                            Some(json!({})),
                        )
                        .await?
                    }
                };
                let (status, amount, _) = self.payment(pg, &id).await?;
                Ok((
                    format!(
                        "{} deposit into {id}: {amount} won paid in, {status}",
                        pg.name()
                    ),
                    json!({"pg": pg.name(), "id": id, "amount": amount, "status": status}),
                ))
            }
            What::BillingKey { pg, customer } => {
                let customer = customer.unwrap_or_else(|| format!("customer-{}", short_id()));
                let key = match pg {
                    Pg::Toss => {
                        let auth = self
                            .pg(
                                pg,
                                post.clone(),
                                "/internal/billing/authorizations",
                                Some(json!({"customerKey": customer})),
                            )
                            .await?;
                        let issued = self
                            .pg(
                                pg,
                                post,
                                "/v1/billing/authorizations/issue",
                                Some(json!({"authKey": auth["authKey"], "customerKey": customer})),
                            )
                            .await?;
                        issued["billingKey"].as_str().unwrap_or_default().to_owned()
                    }
                    Pg::Iamport => {
                        self.pg(pg, post, &format!("/subscribe/customers/{customer}"), Some(json!({"customer_uid": customer, "card_number": "4092-0230-1234-5678", "expiry": "2049-12", "birth": "880311"})))
                            .await?;
                        // I'mport names a billing key by the merchant's customer_uid.
                        customer.clone()
                    }
                    Pg::Portone => {
                        let registered = self
                            .pg(
                                pg,
                                post,
                                "/internal/billing-keys",
                                Some(json!({"customer": {"id": customer}})),
                            )
                            .await?;
                        registered["billingKey"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                    }
                };
                Ok((
                    format!("{} billing key {key} for customer {customer}", pg.name()),
                    json!({"pg": pg.name(), "billing_key": key, "customer": customer}),
                ))
            }
            What::Cancel {
                pg,
                id,
                amount,
                reason,
            } => {
                match pg {
                    Pg::Toss => {
                        let mut body = json!({"cancelReason": reason});
                        if let Some(amount) = amount {
                            body["cancelAmount"] = json!(amount);
                        }
                        let payment = self
                            .pg(
                                pg,
                                reqwest::Method::GET,
                                &format!("/v1/payments/{id}"),
                                None,
                            )
                            .await?;
                        if payment["method"] == "가상계좌"
                            && payment["status"] != "WAITING_FOR_DEPOSIT"
                        {
                            body["refundReceiveAccount"] = json!({
                                "bank": "국민",
                                "accountNumber": TOSS_REFUND_ACCOUNT,
                                "holderName": payment["virtualAccount"]["customerName"],
                            });
                        }
                        self.pg(pg, post, &format!("/v1/payments/{id}/cancel"), Some(body))
                            .await?
                    }
                    Pg::Iamport => {
                        let mut body = json!({"imp_uid": id, "reason": reason});
                        if let Some(amount) = amount {
                            body["amount"] = json!(amount);
                        }
                        self.pg(pg, post, "/payments/cancel", Some(body)).await?
                    }
                    Pg::Portone => {
                        let mut body = json!({"reason": reason});
                        if let Some(amount) = amount {
                            body["amount"] = json!(amount);
                        }
                        self.pg(pg, post, &format!("/payments/{id}/cancel"), Some(body))
                            .await?
                    }
                };
                let (status, total, cancelled) = self.payment(pg, &id).await?;
                Ok((
                    format!(
                        "{} payment {id} cancelled: {cancelled} of {total} won, {status}",
                        pg.name()
                    ),
                    json!({"pg": pg.name(), "id": id, "amount": total, "cancelled": cancelled, "status": status}),
                ))
            }
            What::Refund { id, result } => {
                let result = match result {
                    RefundResult::Completed => "COMPLETED",
                    RefundResult::Failed => "FAILED",
                };
                let payment = self
                    .pg(
                        Pg::Toss,
                        post,
                        &format!("/internal/{id}/refund"),
                        Some(json!({"result": result})),
                    )
                    .await?;
                let refund = payment["virtualAccount"]["refundStatus"]
                    .as_str()
                    .unwrap_or_default();
                let status = payment["status"].as_str().unwrap_or_default();
                Ok((
                    format!(
                        "toss refund of {id} settled {result}: refundStatus {refund}, {status}"
                    ),
                    json!({"pg": "toss", "id": id, "result": result, "refund_status": refund, "status": status}),
                ))
            }
            What::FailNext {
                pg,
                path,
                times,
                code,
            } => {
                let (default_path, default_code) = match pg {
                    Pg::Toss => ("/v1/payments/*", "FAILED_INTERNAL_SYSTEM_PROCESSING"),
                    Pg::Iamport => ("/payments/*", "-1"),
                    Pg::Portone => ("/payments/*", "PG_PROVIDER"),
                };
                let path = path.unwrap_or_else(|| default_path.to_owned());
                let code = code.unwrap_or_else(|| default_code.to_owned());
                self.pg(
                    pg,
                    post,
                    "/internal/faults",
                    Some(json!({"path": path, "times": times, "action": "error", "code": code})),
                )
                .await?;
                let requests = if times == 1 { "request" } else { "requests" };
                Ok((
                    format!(
                        "{}: the next {times} {requests} to {path} fail with {code}",
                        pg.name()
                    ),
                    json!({"pg": pg.name(), "path": path, "times": times, "code": code}),
                ))
            }
            What::Clock { by } => {
                let url = format!("{}/clock", self.admin);
                let clocks = self
                    .send(post, &url, "", Some(json!({"seconds": by.as_secs_f64()})))
                    .await?;
                let now = clocks["server"]["now"].as_str().unwrap_or_default();
                Ok((
                    format!(
                        "clocks moved forward by {}: the server's is now {now}",
                        humantime::format_duration(by)
                    ),
                    clocks,
                ))
            }
        }
    }

    /// A card payment or a virtual account at a PG, stored at the server unless asked not to.
    async fn pay(&self, p: Payment, virtual_account: bool) -> Result<(String, Value), String> {
        let post = reqwest::Method::POST;
        let order = p
            .order
            .clone()
            .unwrap_or_else(|| format!("order-{}", short_id()));
        let amount = p.amount;
        let id = match (p.pg, virtual_account) {
            (Pg::Toss, false) => {
                let paid = self
                    .pg(
                        p.pg,
                        post,
                        "/internal/payments",
                        Some(json!({"orderId": order, "amount": amount})),
                    )
                    .await?;
                paid["paymentKey"].as_str().unwrap_or_default().to_owned()
            }
            (Pg::Toss, true) => {
                let issued = self
                    .pg(p.pg, post, "/v1/virtual-accounts", Some(json!({"orderId": order, "orderName": "주문", "bank": "신한", "customerName": "홍길동", "amount": amount})))
                    .await?;
                issued["paymentKey"].as_str().unwrap_or_default().to_owned()
            }
            (Pg::Iamport, _) => {
                let mut body = json!({"merchant_uid": order, "amount": amount, "name": "주문"});
                if virtual_account {
                    body["pay_method"] = json!("vbank");
                }
                let paid = self
                    .pg(p.pg, post, "/internal/payments", Some(body))
                    .await?;
                paid["imp_uid"].as_str().unwrap_or_default().to_owned()
            }
            (Pg::Portone, _) => {
                let mut body = json!({"orderName": "주문", "amount": {"total": amount}});
                if virtual_account {
                    body["method"] = json!("VIRTUAL_ACCOUNT");
                    body["bank"] = json!("SHINHAN");
                }
                self.pg(
                    p.pg,
                    post,
                    &format!("/internal/payments/{order}"),
                    Some(body),
                )
                .await?;
                // PortOne names a payment by the store's own paymentId.
                order.clone()
            }
        };
        if id.is_empty() {
            return Err(format!("the fake {} named no payment", p.pg.name()));
        }
        let what = if virtual_account {
            "virtual account"
        } else {
            "card payment"
        };
        let mut value = json!({"pg": p.pg.name(), "id": id, "order": order, "amount": amount});
        let mut line = format!(
            "{} {what} {id} for order {order}: {amount} won",
            p.pg.name()
        );
        if !p.no_store {
            let history = self.store(p.pg, &id, &order, amount, &p.password).await?;
            let paid = if history["paid_at"].is_null() {
                "unpaid"
            } else {
                "paid"
            };
            line.push_str(&format!(
                "; stored as history {} ({paid}, password {:?})",
                history["id"].as_str().unwrap_or_default(),
                p.password
            ));
            value["history"] = history;
        } else {
            let (status, _, _) = self.payment(p.pg, &id).await?;
            line.push_str(&format!(", {status}"));
            value["status"] = json!(status);
        }
        Ok((line, value))
    }
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
