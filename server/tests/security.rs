//! The server attacked from outside, one check per test, each printing one summary line
//! (`security: <check>: <counts>: <verdict>`) so that a CI log shows what was tried.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY, SCHEME_HEADER};
use payments_api::payments::*;
use payments_api::{BodyCodec, Scheme};
use serde_json::json;
use support::{Backend, Ctx, Inbox, PASSWORD};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What a client sees of an answer: status, content type and body, byte for byte.
type Seen = (u16, String, String);

async fn send(ctx: &Ctx, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Seen {
    let mut request = ctx
        .http
        .patch(format!("{}{path}", ctx.url))
        .header("content-type", "text/plain");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

fn codec() -> BodyCodec {
    BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap()
}

fn accessor(order: &str) -> PaymentSourceAccessor {
    PaymentSourceAccessor {
        source: PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.into(),
        },
        password: PASSWORD.into(),
    }
}

/// The classic attack on CBC: before a captured block `C`, put a block `R` of the
/// attacker's choosing and try every value of its last byte. Exactly those `R` for which
/// `D(C) ⊕ R` ends in a valid padding decrypt "successfully"; if the server's answer tells
/// them apart, the attacker learns the last byte of `D(C)`, and byte by byte the plaintext.
/// Answers every distinct answer seen, with the guesses that got it.
async fn oracle_round(ctx: &Ctx, block: &[u8]) -> Vec<(Seen, Vec<u8>)> {
    let mut seen: Vec<(Seen, Vec<u8>)> = Vec::new();
    for guess in 0..=255u8 {
        let mut forged = vec![0x41; 16];
        forged[15] = guess;
        forged.extend_from_slice(block);
        let answer = send(
            ctx,
            "/payments/histories/get",
            &[],
            B64.encode(&forged).into_bytes(),
        )
        .await;
        match seen.iter_mut().find(|(s, _)| *s == answer) {
            Some((_, guesses)) => guesses.push(guess),
            None => seen.push((answer, vec![guess])),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_padding_oracle_attack_learns_nothing() {
    let ctx = Ctx::start(Backend::Sqlite).await;
    // A captured request: the password of a record (a captured answer is attacked alike).
    let captured = codec()
        .encrypt_json(&PaymentSourceAccessor {
            password: "the-captured-password".into(),
            ..accessor("captured")
        })
        .unwrap();
    let ciphertext = B64.decode(&captured).unwrap();
    let mut answers = BTreeSet::new();
    let mut requests = 0;
    for block in ciphertext.chunks(16) {
        let seen = oracle_round(&ctx, block).await;
        requests += 256;
        assert_eq!(
            seen.len(),
            1,
            "the answers tell guesses apart: {:?}",
            seen.iter()
                .map(|(s, g)| (s, g.len(), g.first()))
                .collect::<Vec<_>>()
        );
        answers.extend(seen.into_iter().map(|(s, _)| s));
    }
    // Every other way a body can fail gets that same answer too.
    let c = codec();
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("not Base64", b"not base64!".to_vec()),
        ("not a whole block", b"AAAA".to_vec()),
        ("not text", vec![0xff, 0xfe, 0x00]),
        ("empty", Vec::new()),
        ("another key", {
            let other = BodyCodec::new(&"k".repeat(32), SANDBOX_IV).unwrap();
            other.encrypt_json(&accessor("x")).unwrap().into_bytes()
        }),
        ("not UTF-8", c.encrypt(&[0xff, 0xfe, 0xfd]).into_bytes()),
        ("not JSON", c.encrypt(b"password=x").into_bytes()),
        ("wrong shape", c.encrypt(br#"{"password":1}"#).into_bytes()),
        (
            "bad padding",
            B64.encode(&ciphertext[..ciphertext.len() - 16])
                .into_bytes(),
        ),
    ];
    for (what, body) in malformed {
        let answer = send(&ctx, "/payments/histories/get", &[], body).await;
        requests += 1;
        assert!(
            answers.contains(&answer),
            "{what}: {answer:?} differs from {answers:?}"
        );
    }
    let (status, _, body) = answers.iter().next().unwrap();
    assert_eq!(*status, 400);
    let body: ErrorBody = serde_json::from_str(body).unwrap();
    assert_eq!(body.code, "undecryptable");
    // The captured request itself still reads (a record that does not exist).
    let real = send(&ctx, "/payments/histories/get", &[], captured.into_bytes()).await;
    assert_eq!(real.0, 404, "{real:?}");
    report(format!(
        "security: padding oracle: {requests} forged or malformed bodies, {} distinct answer: identical answers",
        answers.len()
    ));
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_bodies_round_trip_and_refuse_tampering() {
    let ctx = Ctx::start(Backend::Sqlite).await;
    let order = uuid::Uuid::new_v4().to_string();
    let key = ctx.toss_card(&order, 5000).await;
    let client = ctx.client.clone().with_scheme(Scheme::Aes256Gcm);
    let create = PaymentHistoryCreate {
        vendor: PaymentVendor {
            code: VendorCode::TossPayments,
            store_id: "store-1".into(),
            uid: key,
        },
        source: accessor(&order).source,
        webhook_url: "https://example.com/hook".into(),
        price: 5000.0,
        password: PASSWORD.into(),
    };
    let created = client.create_history(&create).await.unwrap();
    let read = client.history_by_source(&accessor(&order)).await.unwrap();
    assert_eq!(created.id, read.id);
    // The legacy client reads the same record, in the legacy scheme.
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order))
            .await
            .unwrap()
            .id,
        read.id
    );

    // The answer is in the scheme asked for, and says so.
    let c = codec();
    let body = c
        .encrypt_json_with(Scheme::Aes256Gcm, &accessor(&order))
        .unwrap();
    let response = ctx
        .http
        .patch(format!("{}/payments/histories/get", ctx.url))
        .header("content-type", "text/plain")
        .header(SCHEME_HEADER, "aes-256-gcm")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[SCHEME_HEADER], "aes-256-gcm");
    let text = response.text().await.unwrap();
    assert!(c.decrypt(&text).is_err(), "not the legacy scheme");
    let history: PaymentHistory = c.decrypt_json_with(Scheme::Aes256Gcm, &text).unwrap();
    assert_eq!(history.id, read.id);

    // Any change to an authenticated body: the one undecryptable answer.
    let undecryptable = send(
        &ctx,
        "/payments/histories/get",
        &[],
        b"not base64!".to_vec(),
    )
    .await;
    let mut sealed = B64.decode(&body).unwrap();
    let mut tampered = 0;
    for i in 0..sealed.len() {
        sealed[i] ^= 0x01;
        let answer = send(
            &ctx,
            "/payments/histories/get",
            &[(SCHEME_HEADER, "aes-256-gcm")],
            B64.encode(&sealed).into_bytes(),
        )
        .await;
        sealed[i] ^= 0x01;
        assert_eq!(answer, undecryptable, "byte {i}");
        tampered += 1;
    }
    let unknown = send(
        &ctx,
        "/payments/histories/get",
        &[(SCHEME_HEADER, "rot13")],
        body.into_bytes(),
    )
    .await;
    assert_eq!(unknown.0, 400);
    assert!(unknown.2.contains("unsupported_encryption"), "{unknown:?}");
    report(format!(
        "security: authenticated bodies: round trip, {tampered} tampered bodies refused: identical answers"
    ));
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_monitor_shows_no_arguments() {
    let ctx = Ctx::start(Backend::Sqlite).await;
    let system = ctx.client.system().await.unwrap();
    let program = std::env::args().next().unwrap();
    let name = std::path::Path::new(&program)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(system.arguments, vec![name]);
    report(format!(
        "security: system monitor: {} of {} arguments shown (the program's name): no arguments",
        system.arguments.len(),
        std::env::args().count()
    ));
    ctx.finish().await;
}

#[test]
fn a_broken_configuration_is_reported_without_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cret-database-password";
    let broken = [
        // A string left open: TOML's message quotes the line.
        format!("database_url = \"mysql://payments:{secret}@db/payments\n"),
        // A value of the wrong type: serde's message quotes the value.
        format!("database_url = \"sqlite::memory:\"\nmigrate_on_start = \"{secret}\"\n"),
    ];
    for text in &broken {
        let path = dir.path().join("payments.toml");
        std::fs::write(&path, text).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_payments-server"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PAYMENTS_") {
                command.env_remove(name);
            }
        }
        let output = command
            .args(["serve", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("line") || stderr.contains("invalid"),
            "{stderr}"
        );
        assert!(!stderr.contains(secret), "{stderr}");
    }
    report(format!(
        "security: configuration errors: {} broken files, 0 values echoed: no secrets shown",
        broken.len()
    ));
}

/// Waits until the first event of `order` has an attempt; answers it.
async fn first_attempt(ctx: &Ctx, order: &str) -> PaymentWebhookEvent {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = ctx.client.webhook_events(&accessor(order)).await.unwrap();
        if let Some(event) = events.into_iter().find(|e| !e.attempts.is_empty()) {
            return event;
        }
        assert!(Instant::now() < deadline, "no delivery attempt for {order}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Toss virtual account stored with `hook`, then paid: one event for `hook`.
async fn paid_with_hook(ctx: &Ctx, hook: &str) -> String {
    let order = uuid::Uuid::new_v4().to_string();
    let uid = ctx.toss_virtual_account(&order, 25000).await;
    ctx.client
        .create_history(&PaymentHistoryCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "store-1".into(),
                uid: uid.clone(),
            },
            source: accessor(&order).source,
            webhook_url: hook.into(),
            price: 25000.0,
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let (status, body) = ctx
        .toss_call(
            reqwest::Method::PUT,
            &format!("/internal/{uid}/deposit"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_refuses_internal_targets() {
    // The production default: no private network allowed.
    let ctx = Ctx::start_with(Backend::Sqlite, |config| {
        config.relay.allow_private.clear();
        config.relay.timeout_seconds = 2.0;
    })
    .await;
    let inbox = Inbox::start().await;
    let port = inbox.url.rsplit(':').next().unwrap().trim_end_matches('/');
    let targets = [
        inbox.url.clone(),
        format!("http://[::1]:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
        format!("http://localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
    ];
    for target in &targets {
        let order = paid_with_hook(&ctx, target).await;
        let event = first_attempt(&ctx, &order).await;
        let attempt = &event.attempts[0];
        assert_eq!(attempt.status, None, "{target}: {attempt:?}");
        let excerpt = attempt.excerpt.as_deref().unwrap_or_default();
        assert!(excerpt.starts_with("refused"), "{target}: {excerpt}");
        assert_eq!(event.state, WebhookEventState::Pending, "retried later");
    }
    assert!(inbox.try_next().await.is_none(), "nothing was delivered");
    ctx.client.health().await.unwrap();
    report(format!(
        "security: ssrf: {} internal targets, {} refused, 0 delivered: refused",
        targets.len(),
        targets.len()
    ));
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_follows_no_redirect() {
    // Loopback allowed, as in a sandbox: the redirect itself is what is refused.
    let ctx = Ctx::start(Backend::Sqlite).await;
    let inbox = Inbox::start().await;
    let target = inbox.url.clone();
    let redirector = payments_testkit::serve(axum::Router::new().fallback(move || {
        let target = target.clone();
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, target)],
            )
        }
    }))
    .await
    .unwrap();
    let order = paid_with_hook(&ctx, &redirector).await;
    let event = first_attempt(&ctx, &order).await;
    assert_eq!(event.attempts[0].status, Some(307), "{event:?}");
    assert_eq!(event.state, WebhookEventState::Pending);
    assert!(
        inbox.try_next().await.is_none(),
        "the redirect was followed"
    );
    report("security: ssrf: 1 redirect, 0 followed: refused".to_owned());
    ctx.finish().await;
}

on_both!(client_values_are_sealed_at_rest, |ctx| {
    // A billing key titled with a person's name.
    let customer = uuid::Uuid::new_v4().to_string();
    let (status, billing) = ctx
        .toss_call(
            reqwest::Method::POST,
            "/v1/billing/authorizations/card",
            Some(json!({"customerKey": customer, "cardNumber": "5365101234567540", "cardExpirationYear": "49", "cardExpirationMonth": "03", "cardPassword": "99", "customerBirthday": "880311"})),
        )
        .await;
    assert_eq!(status, 200, "{billing}");
    let title = "홍길동의 개인 카드";
    let reservation = ctx
        .client
        .create_reservation(&PaymentReservationCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "store-1".into(),
                uid: billing["billingKey"].as_str().unwrap().into(),
            },
            source: PaymentSource {
                schema: "shop".into(),
                table: "customers".into(),
                id: customer,
            },
            title: title.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    // A webhook URL with credentials, whose endpoint answers with what it was sent.
    let echo = payments_testkit::serve(axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "customer 김고객 card 4330-1234\r\n\x07 not processed",
        )
    }))
    .await
    .unwrap();
    let hook = echo.replacen("http://", "http://hookuser:hook-pass-1234@", 1);
    let order = paid_with_hook(&ctx, &hook).await;
    let event = first_attempt(&ctx, &order).await;
    assert_eq!(event.webhook_url, hook, "the client reads its URL back");
    let excerpt = event.attempts[0].excerpt.clone().unwrap();
    assert_eq!(excerpt, "customer 김고객 card 4330-1234 not processed");
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order))
            .await
            .unwrap()
            .webhook_url
            .as_deref(),
        Some(hook.as_str())
    );
    ctx.restart().await;
    assert_eq!(
        ctx.client
            .reservation_at(reservation.id, PASSWORD)
            .await
            .unwrap()
            .title,
        title
    );

    let dump = ctx.dump().await;
    let secrets = [
        "홍길동",
        "hook-pass-1234",
        "hookuser",
        "김고객",
        "4330-1234",
    ];
    for secret in secrets {
        assert!(!dump.contains(secret), "{secret} is stored in clear");
    }

    // A row written before sealing (plain columns, no sealed ones) still reads.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(ctx.config.database_url.expose())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE payment_reservations SET title = 'an older title', title_sealed = NULL WHERE id = ?",
    )
    .bind(reservation.id.to_string())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE payment_histories SET webhook_url = 'https://old.example/hook', webhook_url_sealed = NULL \
         WHERE source_id = ?",
    )
    .bind(order.clone())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(
        ctx.client
            .reservation_at(reservation.id, PASSWORD)
            .await
            .unwrap()
            .title,
        "an older title"
    );
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order))
            .await
            .unwrap()
            .webhook_url
            .as_deref(),
        Some("https://old.example/hook")
    );
    report(format!(
        "security: secrets at rest ({:?}): {} personal values and credentials, 0 in clear: sealed",
        ctx.backend,
        secrets.len()
    ));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_delays_no_other_client() {
    let ctx = Ctx::start_with(Backend::Sqlite, |config| {
        config.relay.timeout_seconds = 2.0;
    })
    .await;
    // A black hole: it takes connections and never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("http://{}/hook", hole.local_addr().unwrap());
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = hole.accept().await {
            held.push(connection);
        }
    });
    const DEAD: usize = 200;
    let mut dead = Vec::new();
    for _ in 0..DEAD {
        dead.push(paid_with_hook(&ctx, &hole_url).await);
    }
    // Another client's event, written after all of those.
    let inbox = Inbox::start().await;
    let order = paid_with_hook(&ctx, &inbox.url).await;
    let delivery = inbox.next(Duration::from_secs(60)).await;
    assert_eq!(delivery.event.source.id, order);
    // By then the dead endpoint had a few attempts, not one per event.
    let attempts = ctx.rows("payment_webhook_attempts").await;
    assert!(
        attempts < 32,
        "{attempts} attempts: the dead endpoint's events were tried one by one"
    );
    // Its events wait, pending, for the endpoint to come back.
    let pending = ctx
        .client
        .webhook_events(&accessor(&dead[DEAD - 1]))
        .await
        .unwrap();
    assert_eq!(pending[0].state, WebhookEventState::Pending);
    report(format!(
        "security: dead endpoint: {DEAD} events pending to a black hole, {attempts} attempts there before another client's event arrived: not delayed"
    ));
    holding.abort();
    ctx.finish().await;
}

on_both!(forged_notifications_keep_one_pending_event, |ctx| {
    // A payment the PG knows and no client stored (yet): each notification costs a PG
    // read, and keeps the payment's one pending notification, not one more each time.
    let key = ctx.toss_card(&uuid::Uuid::new_v4().to_string(), 1000).await;
    let notification = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-24T10:00:00.000000", "data": {"paymentKey": key}});
    const FORGED: usize = 50;
    for _ in 0..FORGED {
        let response = ctx
            .http
            .post(format!("{}/payments/webhooks/toss", ctx.url))
            .json(&notification)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let kept = ctx.rows("payment_pending_events").await;
    assert_eq!(kept, 1);
    report(format!(
        "security: forged notifications ({:?}): {FORGED} for one payment, {kept} kept: deduplicated",
        ctx.backend
    ));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_rate_limited_per_source_address() {
    let ctx = Ctx::start_with(Backend::Sqlite, |config| {
        config.pg.notifications = payments_server::config::Intake {
            per_second: 1,
            burst: 5,
        };
    })
    .await;
    let post = |http: reqwest::Client| {
        let url = format!("{}/payments/webhooks/toss", ctx.url);
        async move {
            let response = http
                .post(url)
                .json(&json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "forged"}}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").is_some();
            (status, retry_after, response.text().await.unwrap())
        }
    };
    const SENT: usize = 20;
    let mut limited = 0;
    for _ in 0..SENT {
        let (status, retry_after, body) = post(ctx.http.clone()).await;
        if status == 429 {
            limited += 1;
            assert!(retry_after);
            let error: ErrorBody = serde_json::from_str(&body).unwrap();
            assert_eq!(error.code, "rate_limited");
        } else {
            assert_eq!(status, 200, "{body}");
        }
    }
    // Five at once, then one a second: most of a quick series is refused.
    assert!(limited > 0, "none of {SENT} limited");
    // Another source address has a limit of its own.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    assert_eq!(post(other).await.0, 200);
    // The client API is not limited.
    ctx.client.health().await.unwrap();
    report(format!(
        "security: notification flood: {SENT} from one address, {limited} answered 429: rate limited"
    ));
    ctx.finish().await;
}

/// Prints a summary line and keeps it for CI (see `payments_testkit::report`).
fn report(line: String) {
    payments_testkit::report(env!("CARGO_TARGET_TMPDIR"), "security", &line);
}
