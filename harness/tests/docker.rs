//! `Database::Docker` (feature `docker`): a MariaDB container where Docker runs, and a
//! clear error where it does not.

#![cfg(feature = "docker")]

use payments_harness::{Database, Harness};

fn docker_engine() -> bool {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    std::path::Path::new(&socket).exists()
}

#[tokio::test]
async fn a_container_database_or_a_clear_refusal() {
    let result = Harness::builder().database(Database::Docker).start().await;
    if docker_engine() {
        let harness = result.expect("a MariaDB container where Docker runs");
        harness.client().health().await.unwrap();
        harness.shutdown().await;
    } else {
        let error = result.expect_err("no Docker engine here").to_string();
        assert!(error.contains("Docker is not available"), "{error}");
        assert!(error.contains("PrivateMariaDb"), "{error}");
    }
}
