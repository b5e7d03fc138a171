//! MariaDB servers a test process starts for itself and shares: each test gets a database
//! of its own on one, and the server stops when the last of those databases is released.

use std::io::Write as _;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use crate::DatabaseError;
use crate::database::{PrivateServer, start_private};

/// A server started for this process.
#[derive(Debug)]
pub(crate) struct SharedServer {
    /// `mysql://root@127.0.0.1:PORT`, no database.
    pub url: String,
    _stop: Stop,
}

/// What stops the server; dropped with it.
#[derive(Debug)]
enum Stop {
    Process(#[allow(dead_code)] PrivateServer),
    #[cfg(feature = "docker")]
    Container(#[allow(dead_code)] crate::container::Running),
}

impl SharedServer {
    #[cfg(feature = "docker")]
    pub(crate) fn container(url: String, running: crate::container::Running) -> Self {
        Self {
            url,
            _stop: Stop::Container(running),
        }
    }
}

static PRIVATE: LazyLock<Mutex<Weak<SharedServer>>> = LazyLock::new(Default::default);
static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// This process's private `mariadbd`, started if none runs.
pub(crate) async fn private() -> Result<Arc<SharedServer>, DatabaseError> {
    let _starting = STARTING.lock().await;
    if let Some(server) = PRIVATE.lock().expect("the private server").upgrade() {
        return Ok(server);
    }
    let private = start_private().await?;
    let server = Arc::new(SharedServer {
        url: private.url(),
        _stop: Stop::Process(private),
    });
    *PRIVATE.lock().expect("the private server") = Arc::downgrade(&server);
    Ok(server)
}

/// Says on standard error, past the test harness's capture, which MariaDB the tests use.
pub(crate) fn announce(what: &str) {
    let _ = writeln!(std::io::stderr(), "MariaDB for the tests: {what}");
}
