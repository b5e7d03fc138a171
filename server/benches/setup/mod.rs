//! What both server benchmarks stand on: a database of the kind asked for, a fake Toss on
//! loopback, and the payments server between them.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_fakes::Fake as _;
use payments_fakes::toss::FakeToss;
use payments_server::App;
use payments_server::config::{BodyEncryption, Config, Pgs, Relay, Secret, Storage, TossAccount};
use tokio::net::TcpListener;

/// The fake Toss's secret key, also the server's.
pub const TOSS_KEY: &str = "test_sk_bench";

/// A running server on a fresh database, with the fake Toss it verifies payments at.
pub struct Bench {
    pub app: App,
    pub server_url: String,
    pub toss_url: String,
    /// The `Authorization` header of the fake Toss's merchant.
    pub toss_auth: String,
    _toss: FakeToss,
    /// A MariaDB database to drop at the end: the admin pool and its name.
    cleanup: Option<(sqlx::AnyPool, String)>,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// `database` is `mariadb` (a fresh database on `PAYMENTS_BENCH_DATABASE_URL`, default
    /// `mysql://root@127.0.0.1:3306`) or `sqlite` (a temporary file).
    pub async fn start(database: &str, toss: FakeToss) -> Bench {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (database_url, cleanup) = match database {
            "sqlite" => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            ),
            "mariadb" => {
                let server = std::env::var("PAYMENTS_BENCH_DATABASE_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
                let name = format!("payments_bench_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::AnyPool::connect(&server)
                    .await
                    .expect("MariaDB answers");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("a bench database");
                (
                    format!("{}/{name}", server.trim_end_matches('/')),
                    Some((admin, name)),
                )
            }
            other => panic!("DATABASE is mariadb or sqlite, not {other}"),
        };

        let toss_url = serve(toss.router()).await;
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("an address"),
            database_url: Secret::new(database_url),
            migrate_on_start: true,
            encryption: BodyEncryption {
                key: Secret::new(SANDBOX_KEY),
                iv: Secret::new(SANDBOX_IV),
            },
            storage: Storage {
                active_key: "k1".into(),
                keys: BTreeMap::from([(
                    "k1".to_owned(),
                    Secret::new(base64::engine::general_purpose::STANDARD.encode([9u8; 32])),
                )]),
                password_pepper: Secret::new("a-pepper-for-the-benchmarks"),
            },
            pg: Pgs {
                toss: BTreeMap::from([(
                    "default".to_owned(),
                    TossAccount {
                        base_url: toss_url.clone(),
                        secret_key: Secret::new(TOSS_KEY),
                    },
                )]),
                ..Pgs::default()
            },
            relay: Relay::with_secret("whsec_YmVuY2gtc2lnbmluZy1zZWNyZXQ="),
        };
        let app = App::build(&config).await.expect("the server starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address").to_string();
        let server = app.clone();
        tokio::spawn(async move { server.serve(listener, std::future::pending()).await });

        Bench {
            app,
            server_url: format!("http://{address}"),
            toss_url,
            toss_auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"))
            ),
            _toss: toss,
            cleanup,
            _dir: dir,
        }
    }

    /// Drops the MariaDB database, if there is one.
    pub async fn finish(self) {
        if let Some((admin, name)) = self.cleanup {
            self.app.db().pool.close().await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
                .execute(&admin)
                .await;
        }
    }
}

/// Serves `router` on a free loopback port; its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        router,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    url
}
