//! What the payments sandbox's tests stand on, in one place for the server's own tests and
//! benchmarks and for the harness (which re-exports it to client backends):
//!
//! - [`provision`]: a fresh database per test, by the [`Database`] asked for (SQLite in a
//!   temporary directory, a database of its own on a MariaDB server, a private `mariadbd`,
//!   a container), removed when the [`Provisioned`] database is released or dropped;
//! - [`Inbox`]: a client backend's webhook endpoint that checks each delivery's signature,
//!   decrypts it and hands the events to the test in arrival order;
//! - [`serve`]: an axum router on a free loopback port.
//!
//! It depends on the wire crate alone, so the crates it serves keep pointing one way.

#[cfg(feature = "docker")]
mod container;
mod database;
mod inbox;
mod shared;

#[cfg(feature = "docker")]
pub use container::Docker;
pub use database::{Database, Provisioned, provision};
pub use inbox::{Delivery, INBOX_CAPACITY, Inbox, InboxError, InboxEvent};

/// Why a database could not be made or reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DatabaseError(pub String);

/// Serves `router` on a free loopback port until the runtime ends; its base URL.
pub async fn serve(router: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(url)
}

/// Prints a suite's summary line and appends it to `<tmpdir>/reports/<suite>.txt`, so that a
/// CI run shows the lines of a suite it ran once, without running it again with
/// `--nocapture`. `tmpdir` is the test's `CARGO_TARGET_TMPDIR`. A line that cannot be written
/// to the file is still printed: the report is a convenience, the test's assertions decide.
pub fn report(tmpdir: &str, suite: &str, line: &str) {
    use std::io::Write as _;

    println!("{line}");
    let dir = std::path::Path::new(tmpdir).join("reports");
    let appended = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{suite}.txt")))?;
        // One write per line: lines of tests running in parallel do not interleave.
        file.write_all(format!("{line}\n").as_bytes())
    });
    if let Err(error) = appended {
        eprintln!("the {suite} report was not written: {error}");
    }
}
