//! Databases for tests: a fresh one each time, removed when it is released.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::DatabaseError;
use crate::shared::SharedServer;

/// Where a test (or a harness) keeps the payments server's records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Database {
    /// A MariaDB server from `PAYMENTS_TEST_DATABASE_URL` if set, else SQLite.
    #[default]
    Auto,
    /// An SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on this MariaDB server (`mysql://user:pass@host:port`), dropped
    /// when the harness stops.
    MariaDb(String),
    /// A fresh database on the first MariaDB found of four ways, the choice made once per
    /// process and printed: the server at `PAYMENTS_TEST_DATABASE_URL`; a server answering
    /// on 127.0.0.1:3306 (root, no password) within 1 s; a private `mariadbd` when the
    /// binary is installed; a container when a Docker engine answers (feature `docker`).
    /// With none of them it fails at once, naming the four. A server or container started
    /// this way is shared by the process and stops when its last database is released.
    AnyMariaDb,
    /// A private `mariadbd` on a temporary directory, stopped when the harness stops
    /// (needs Debian's `mariadb-server` package or the like).
    PrivateMariaDb,
    /// This database URL as it is (e.g. a sandbox's SQLite file); kept when the harness
    /// stops.
    Url(String),
    /// A fresh database on a MariaDB container started through testcontainers (feature
    /// `docker`; needs a Docker engine): one container per image per process, removed when
    /// the last database on it is released. Made with [`Database::docker`].
    #[cfg(feature = "docker")]
    Docker(crate::container::Docker),
}

impl Database {
    /// A MariaDB container: the image of `PAYMENTS_TEST_MARIADB_IMAGE` (`name:tag`) if set,
    /// else the official `mariadb:10.11`; another with [`Docker::image`](crate::Docker::image).
    #[cfg(feature = "docker")]
    pub fn docker() -> crate::container::Docker {
        crate::container::Docker::default()
    }
}

#[cfg(feature = "docker")]
impl From<crate::container::Docker> for Database {
    fn from(docker: crate::container::Docker) -> Self {
        Self::Docker(docker)
    }
}

/// A database made for one test or harness, and how to remove it.
#[derive(Debug)]
pub struct Provisioned {
    /// Its URL, credentials included.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Nothing,
    Directory(#[allow(dead_code)] tempfile::TempDir),
    /// Drop the database `name` on `server`; then let go of the shared server it is on, if
    /// any (the last database on it stops it).
    Drop {
        server: String,
        name: String,
        on: Option<Arc<SharedServer>>,
    },
    /// A private `mariadbd` of this database's own: not shared, so that a test may kill
    /// and restart it.
    Process(PrivateServer),
}

impl Provisioned {
    /// Removes the database; also done, best effort, on drop.
    pub async fn release(mut self) {
        if let Cleanup::Drop { server, name, on } =
            std::mem::replace(&mut self.cleanup, Cleanup::Nothing)
        {
            let _ = execute(&server, &format!("DROP DATABASE IF EXISTS {name}")).await;
            drop(on);
        }
    }
}

impl Provisioned {
    /// Kills a private `mariadbd` (`SIGKILL`, as a crash would) and waits until it is gone;
    /// its data stays for [`Provisioned::restart_server`]. Only a
    /// [`Database::PrivateMariaDb`] can be killed: the servers of the other kinds are not
    /// this database's alone.
    pub async fn kill_server(&mut self) -> Result<(), DatabaseError> {
        let Cleanup::Process(server) = &mut self.cleanup else {
            return Err(DatabaseError(
                "only a private mariadbd can be killed".into(),
            ));
        };
        server.kill().await
    }

    /// Starts a killed private `mariadbd` again on the same data and port, and waits until
    /// it answers.
    pub async fn restart_server(&mut self) -> Result<(), DatabaseError> {
        let Cleanup::Process(server) = &mut self.cleanup else {
            return Err(DatabaseError(
                "only a private mariadbd can be restarted".into(),
            ));
        };
        if server.child.is_none() {
            server.start().await?;
        }
        Ok(())
    }
}

impl Drop for Provisioned {
    fn drop(&mut self) {
        if let Cleanup::Drop { server, name, on } =
            std::mem::replace(&mut self.cleanup, Cleanup::Nothing)
        {
            // No async in drop: a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _ = runtime
                        .block_on(execute(&server, &format!("DROP DATABASE IF EXISTS {name}")));
                }
                drop(on);
            })
            .join();
        }
    }
}

/// Makes the database `database` asks for.
pub async fn provision(database: &Database) -> Result<Provisioned, DatabaseError> {
    match database {
        Database::Auto => match std::env::var("PAYMENTS_TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => mariadb(&url).await,
            _ => sqlite(),
        },
        Database::Sqlite => sqlite(),
        Database::MariaDb(server) => mariadb(server).await,
        Database::AnyMariaDb => any_mariadb().await,
        Database::PrivateMariaDb => {
            let server = start_private().await?;
            Ok(Provisioned {
                url: format!("{}/payments", server.url()),
                cleanup: Cleanup::Process(server),
            })
        }
        Database::Url(url) => Ok(Provisioned {
            url: url.clone(),
            cleanup: Cleanup::Nothing,
        }),
        #[cfg(feature = "docker")]
        Database::Docker(docker) => on_shared(crate::container::shared(docker).await?).await,
    }
}

fn sqlite() -> Result<Provisioned, DatabaseError> {
    let dir =
        tempfile::tempdir().map_err(|e| DatabaseError(format!("a temporary directory: {e}")))?;
    Ok(Provisioned {
        url: format!("sqlite://{}", dir.path().join("payments.db").display()),
        cleanup: Cleanup::Directory(dir),
    })
}

async fn mariadb(server: &str) -> Result<Provisioned, DatabaseError> {
    let mut url = reqwest::Url::parse(server)
        .map_err(|e| DatabaseError(format!("{server:?} is not a database URL: {e}")))?;
    // Only the server part: the harness makes its own database.
    url.set_path("");
    let server = url.to_string().trim_end_matches('/').to_owned();
    let name = fresh_database(&server).await?;
    Ok(Provisioned {
        url: format!("{server}/{name}"),
        cleanup: Cleanup::Drop {
            server,
            name,
            on: None,
        },
    })
}

/// A fresh database on a server this process started, which it keeps running.
async fn on_shared(server: Arc<SharedServer>) -> Result<Provisioned, DatabaseError> {
    let name = fresh_database(&server.url).await?;
    Ok(Provisioned {
        url: format!("{}/{name}", server.url),
        cleanup: Cleanup::Drop {
            server: server.url.clone(),
            name,
            on: Some(server),
        },
    })
}

async fn fresh_database(server: &str) -> Result<String, DatabaseError> {
    let name = format!("payments_h_{}", uuid::Uuid::new_v4().simple());
    execute(server, &format!("CREATE DATABASE {name} {CHARSET}")).await?;
    Ok(name)
}

/// The character set and collation of every database made here: Korean text needs utf8mb4,
/// and the binary, no-pad collation compares keys exactly, as SQLite does.
const CHARSET: &str = "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin";

/// Runs one statement on its own connection: one attempt, no pool retrying a server
/// that is not up (the callers wait, or fail, themselves).
pub(crate) async fn execute(server: &str, sql: &str) -> Result<(), DatabaseError> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(server)
        .await
        .map_err(|e| DatabaseError(format!("cannot connect to the MariaDB server: {e}")))?;
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut connection)
        .await;
    let _ = connection.close().await;
    result
        .map(drop)
        .map_err(|e| DatabaseError(format!("{sql}: {e}")))
}

/// `program` in a directory of `PATH`, or in the `sbin` beside one of its `bin`s (Debian
/// puts `mariadbd` in `/usr/sbin`, which a user's `PATH` often lacks).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| {
            let sbin = dir
                .ends_with("bin")
                .then(|| dir.parent().map(|parent| parent.join("sbin")))
                .flatten();
            std::iter::once(dir).chain(sbin)
        })
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A `mariadbd` of this process on a temporary directory; killed when dropped.
#[derive(Debug)]
pub(crate) struct PrivateServer {
    program: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
    /// `None` while killed.
    child: Option<std::process::Child>,
}

impl PrivateServer {
    /// `mysql://root@127.0.0.1:PORT`, no database; `payments` exists on it.
    pub(crate) fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Starts `mariadbd` and waits until it takes queries, with the `payments` database made.
    async fn start(&mut self) -> Result<(), DatabaseError> {
        let dir = self.dir.path();
        let child = std::process::Command::new(&self.program)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--tmpdir={}", dir.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=8M",
                // Without these, a server started with no defaults speaks latin1.
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_nopad_bin",
            ])
            // mariadbd refuses to run as root unless told to.
            .args(if self.as_root {
                &["--user=root"][..]
            } else {
                &[]
            })
            // Its messages go to error.log; what it says before opening that file is noise.
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| DatabaseError(format!("mariadbd: {e}")))?;
        // Killed on any early return from here, by the drop of `self`.
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let create = format!("CREATE DATABASE IF NOT EXISTS payments {CHARSET}");
        loop {
            match execute(&self.url(), &create).await {
                Ok(()) => return Ok(()),
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await
                }
                Err(e) => {
                    let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                    return Err(DatabaseError(format!(
                        "the private mariadbd did not start: {e}\n{}",
                        tail(&log)
                    )));
                }
            }
        }
    }

    /// Kills `mariadbd` with `SIGKILL` and reaps it; the data directory stays.
    async fn kill(&mut self) -> Result<(), DatabaseError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || {
            child.kill()?;
            child.wait()
        })
        .await
        .map_err(|e| DatabaseError(format!("killing mariadbd: {e}")))?
        .map(drop)
        .map_err(|e| DatabaseError(format!("killing mariadbd: {e}")))
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) async fn start_private() -> Result<PrivateServer, DatabaseError> {
    let missing = |p: &str| {
        DatabaseError(format!(
            "{p} is not installed: a private MariaDB needs the mariadb-server package"
        ))
    };
    let install = find("mariadb-install-db").ok_or_else(|| missing("mariadb-install-db"))?;
    let program = find("mariadbd").ok_or_else(|| missing("mariadbd"))?;
    let dir = tempfile::tempdir().map_err(|e| DatabaseError(e.to_string()))?;
    let as_root = std::fs::metadata("/proc/self")
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        })
        .unwrap_or(false);
    let output = tokio::process::Command::new(&install)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.path().join("data").display()))
        // Its own temporary files: bootstraps running side by side in one /tmp were seen to
        // remove each other's temporary tables.
        .arg(format!("--tmpdir={}", dir.path().display()))
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=8M",
        ])
        .args(if as_root { &["--user=root"][..] } else { &[] })
        .output()
        .await
        .map_err(|e| DatabaseError(format!("mariadb-install-db: {e}")))?;
    if !output.status.success() {
        return Err(DatabaseError(format!(
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut server = PrivateServer {
        program,
        dir,
        port: free_port()?,
        as_root,
        child: None,
    };
    server.start().await?;
    Ok(server)
}

/// Where `Database::AnyMariaDb` found its MariaDB; chosen once per process.
#[derive(Debug)]
enum Found {
    /// A server already running: a database per test on it.
    Server(String),
    Private,
    #[cfg(feature = "docker")]
    Container,
    /// None of the four ways: why, said to every test that asks.
    Nothing(String),
}

static FOUND: tokio::sync::OnceCell<Found> = tokio::sync::OnceCell::const_new();

/// The variable naming the port of the MariaDB server looked for on 127.0.0.1 (3306).
const LOCAL_PORT_VARIABLE: &str = "PAYMENTS_TEST_MARIADB_PORT";

async fn any_mariadb() -> Result<Provisioned, DatabaseError> {
    let found = FOUND
        .get_or_init(|| async {
            let found = find_mariadb().await;
            match &found {
                Found::Server(url) => {
                    let at = reqwest::Url::parse(url)
                        .map(|u| {
                            format!(
                                "{}:{}",
                                u.host_str().unwrap_or("?"),
                                u.port().unwrap_or(3306)
                            )
                        })
                        .unwrap_or_default();
                    crate::shared::announce(&format!("the server at {at}"))
                }
                Found::Private => crate::shared::announce("a private mariadbd of this process"),
                #[cfg(feature = "docker")]
                Found::Container => {
                    let (name, tag) = crate::container::Docker::default().image_reference();
                    crate::shared::announce(&format!("a container of {name}:{tag}"))
                }
                Found::Nothing(_) => {}
            }
            found
        })
        .await;
    match found {
        Found::Server(url) => mariadb(url).await,
        Found::Private => on_shared(crate::shared::private().await?).await,
        #[cfg(feature = "docker")]
        Found::Container => {
            on_shared(crate::container::shared(&crate::container::Docker::default()).await?).await
        }
        Found::Nothing(why) => Err(DatabaseError(why.clone())),
    }
}

async fn find_mariadb() -> Found {
    if let Ok(url) = std::env::var("PAYMENTS_TEST_DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Found::Server(url);
    }
    let port = std::env::var(LOCAL_PORT_VARIABLE)
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(3306);
    let local = format!("mysql://root@127.0.0.1:{port}");
    if let Ok(Ok(())) =
        tokio::time::timeout(Duration::from_secs(1), execute(&local, "SELECT 1")).await
    {
        return Found::Server(local);
    }
    if find("mariadbd").is_some() && find("mariadb-install-db").is_some() {
        return Found::Private;
    }
    #[cfg(feature = "docker")]
    if crate::container::engine_answers().await {
        return Found::Container;
    }
    let docker = if cfg!(feature = "docker") {
        "run a Docker engine and point DOCKER_HOST at it"
    } else {
        "run a Docker engine and build with the `docker` feature"
    };
    Found::Nothing(format!(
        "no MariaDB for the tests: set PAYMENTS_TEST_DATABASE_URL to a server, start one on \
         127.0.0.1:{port} (root, no password), install mariadb-server for a private mariadbd, \
         or {docker}"
    ))
}

fn free_port() -> Result<u16, DatabaseError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| DatabaseError(e.to_string()))?;
    Ok(listener
        .local_addr()
        .map_err(|e| DatabaseError(e.to_string()))?
        .port())
}

pub(crate) fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
