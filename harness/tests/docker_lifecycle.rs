//! The shared container's life (feature `docker`): started by the first harness, removed
//! when the last one stops. A test binary of its own, so no other test holds the container.

#![cfg(feature = "docker")]

use payments_harness::{Database, Harness};

#[tokio::test]
async fn the_container_goes_with_the_last_harness() {
    let first = Harness::builder()
        .database(Database::docker())
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (server, _) = first.database_url().rsplit_once('/').unwrap();
    let server = server.to_owned();
    let second = Harness::builder()
        .database(Database::docker())
        .start()
        .await
        .unwrap();
    assert!(second.database_url().starts_with(&format!("{server}/")));
    first.shutdown().await;
    assert!(answers(&server).await, "the second harness still uses it");
    second.shutdown().await;
    assert!(!answers(&server).await, "removed with the last harness");
}

/// Whether the server takes a connection and a query (one attempt, no retries).
async fn answers(server: &str) -> bool {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    match sqlx::AnyConnection::connect(server).await {
        Ok(mut connection) => sqlx::query("SELECT 1")
            .execute(&mut connection)
            .await
            .is_ok(),
        Err(_) => false,
    }
}
