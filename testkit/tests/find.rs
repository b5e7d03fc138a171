//! `Database::AnyMariaDb` finds a MariaDB of four ways, in order, says which, and without
//! any fails at once naming them. Each case runs this test binary again as a child
//! process, with the environment of that case.

use payments_testkit::{Database, provision};

/// The test the children run: a database on whatever MariaDB is found, used once.
#[tokio::test]
async fn a_database_on_the_mariadb_found() {
    let database = provision(&Database::AnyMariaDb)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url).await.unwrap();
    sqlx::query("CREATE TABLE t (id INT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    database.release().await;
}

/// Runs `a_database_on_the_mariadb_found` in a child with this environment; its output.
fn child(env: &[(&str, &str)], remove: &[&str]) -> (bool, String) {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args([
        "--exact",
        "a_database_on_the_mariadb_found",
        "--test-threads=1",
    ]);
    for name in remove {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port().to_string()
}

#[test]
fn with_no_way_at_all_each_test_fails_at_once_naming_the_four() {
    let empty = tempfile::tempdir().unwrap();
    let port = closed_port();
    let (passed, output) = child(
        &[
            ("PAYMENTS_TEST_MARIADB_PORT", &port),
            ("PATH", empty.path().to_str().unwrap()),
            ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
        ],
        &["PAYMENTS_TEST_DATABASE_URL"],
    );
    assert!(!passed, "{output}");
    for way in [
        "no MariaDB for the tests",
        "PAYMENTS_TEST_DATABASE_URL",
        &format!("127.0.0.1:{port}"),
        "install mariadb-server for a private mariadbd",
        "Docker engine",
    ] {
        assert!(output.contains(way), "{way:?} in {output}");
    }
    assert!(
        !output
            .lines()
            .any(|l| l.starts_with("MariaDB for the tests:")),
        "none was used: {output}"
    );
}

#[test]
fn a_private_mariadbd_when_no_server_answers() {
    let port = closed_port();
    let (passed, output) = child(
        &[("PAYMENTS_TEST_MARIADB_PORT", &port)],
        &["PAYMENTS_TEST_DATABASE_URL"],
    );
    assert!(passed, "{output}");
    assert!(
        output.contains("MariaDB for the tests: a private mariadbd of this process"),
        "{output}"
    );
}

#[test]
fn the_server_the_variable_names_comes_first() {
    // Closed, while a private mariadbd could start: the variable wins, and its server's
    // failure is the test's.
    let port = closed_port();
    let (passed, output) = child(
        &[(
            "PAYMENTS_TEST_DATABASE_URL",
            &format!("mysql://root@127.0.0.1:{port}"),
        )],
        &[],
    );
    assert!(!passed, "the named server is closed: {output}");
    assert!(
        output.contains(&format!(
            "MariaDB for the tests: the server at 127.0.0.1:{port}"
        )),
        "{output}"
    );
}

#[tokio::test]
async fn a_server_answering_on_the_port_comes_before_a_private_one() {
    let server = provision(&Database::PrivateMariaDb).await.unwrap();
    let port = port_of(&server.url);
    let (passed, output) = tokio::task::spawn_blocking(move || {
        child(
            &[("PAYMENTS_TEST_MARIADB_PORT", &port)],
            &["PAYMENTS_TEST_DATABASE_URL"],
        )
    })
    .await
    .unwrap();
    assert!(passed, "{output}");
    assert!(
        output.contains("MariaDB for the tests: the server at 127.0.0.1:"),
        "{output}"
    );
    server.release().await;
}

/// The port of `mysql://root@127.0.0.1:PORT/db`.
fn port_of(url: &str) -> String {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap()
        .to_owned()
}
