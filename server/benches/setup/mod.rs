//! What both server benchmarks stand on: a database of the kind asked for (made with the
//! workspace's test kit), a fake Toss on loopback, and the payments server between them.

use base64::Engine as _;
use payments_fakes::Fake as _;
use payments_fakes::toss::FakeToss;
use payments_server::App;
use payments_server::config::{Config, TossAccount};
use payments_testkit::{Database, Provisioned};
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
    database: Provisioned,
}

impl Bench {
    /// `database` is `mariadb` (a fresh database on `PAYMENTS_BENCH_DATABASE_URL`, default
    /// `mysql://root@127.0.0.1:3306`) or `sqlite` (a temporary file).
    pub async fn start(database: &str, toss: FakeToss) -> Bench {
        let database = match database {
            "sqlite" => Database::Sqlite,
            "mariadb" => Database::MariaDb(
                std::env::var("PAYMENTS_BENCH_DATABASE_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
            ),
            other => panic!("DATABASE is mariadb or sqlite, not {other}"),
        };
        let database = payments_testkit::provision(&database)
            .await
            .expect("a bench database");
        let toss_url = payments_testkit::serve(toss.router())
            .await
            .expect("a port");
        let mut config = Config::sandbox(database.url.clone());
        config
            .pg
            .toss
            .insert("default".into(), TossAccount::new(&toss_url, TOSS_KEY));
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
            database,
        }
    }

    /// Removes the database.
    pub async fn finish(self) {
        self.app.db().pool.close().await;
        self.database.release().await;
    }
}
