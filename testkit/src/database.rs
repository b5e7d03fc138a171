//! Databases for tests: a fresh one each time, removed when it is released.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::DatabaseError;

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
    /// A private `mariadbd` on a temporary directory, stopped when the harness stops
    /// (needs Debian's `mariadb-server` package or the like).
    PrivateMariaDb,
    /// This database URL as it is (e.g. a sandbox's SQLite file); kept when the harness
    /// stops.
    Url(String),
    /// A MariaDB container started through testcontainers, removed when the harness stops
    /// (feature `docker`; needs a Docker engine).
    #[cfg(feature = "docker")]
    Docker,
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
    Drop {
        server: String,
        name: String,
    },
    Process(PrivateServer),
    /// Dropping the container stops and removes it.
    #[cfg(feature = "docker")]
    Container(
        #[allow(dead_code)]
        Box<
            testcontainers_modules::testcontainers::ContainerAsync<
                testcontainers_modules::mariadb::Mariadb,
            >,
        >,
    ),
}

impl Provisioned {
    /// Removes the database; also done, best effort, on drop.
    pub async fn release(mut self) {
        if let Cleanup::Drop { server, name } =
            std::mem::replace(&mut self.cleanup, Cleanup::Nothing)
        {
            let _ = execute(&server, &format!("DROP DATABASE IF EXISTS {name}")).await;
        }
    }
}

impl Provisioned {
    /// Kills a private `mariadbd` (`SIGKILL`, as a crash would) and waits until it is gone;
    /// its data stays for [`Provisioned::restart_server`]. Other databases refuse.
    pub async fn kill_server(&mut self) -> Result<(), DatabaseError> {
        let Cleanup::Process(server) = &mut self.cleanup else {
            return Err(DatabaseError(
                "only a private mariadbd can be killed".into(),
            ));
        };
        if let Some(mut child) = server.child.take() {
            child
                .kill()
                .await
                .map_err(|e| DatabaseError(format!("killing mariadbd: {e}")))?;
        }
        Ok(())
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
        match std::mem::replace(&mut self.cleanup, Cleanup::Nothing) {
            Cleanup::Drop { server, name } => {
                // No async in drop: a thread with a runtime of its own.
                let _ = std::thread::spawn(move || {
                    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        let _ = runtime
                            .block_on(execute(&server, &format!("DROP DATABASE IF EXISTS {name}")));
                    }
                })
                .join();
            }
            Cleanup::Process(mut server) => {
                if let Some(child) = server.child.as_mut() {
                    let _ = child.start_kill();
                }
                drop(server);
            }
            #[cfg(feature = "docker")]
            Cleanup::Container(container) => drop(container),
            Cleanup::Directory(_) | Cleanup::Nothing => {}
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
        Database::PrivateMariaDb => private_mariadb().await,
        Database::Url(url) => Ok(Provisioned {
            url: url.clone(),
            cleanup: Cleanup::Nothing,
        }),
        #[cfg(feature = "docker")]
        Database::Docker => docker().await,
    }
}

#[cfg(feature = "docker")]
async fn docker() -> Result<Provisioned, DatabaseError> {
    use testcontainers_modules::mariadb::Mariadb;
    use testcontainers_modules::testcontainers::runners::AsyncRunner as _;
    let unavailable = |e: &dyn std::fmt::Display| {
        DatabaseError(format!(
            "Docker is not available ({e}): use Database::PrivateMariaDb or \
             PAYMENTS_TEST_DATABASE_URL instead"
        ))
    };
    let container = Mariadb::default()
        .start()
        .await
        .map_err(|e| unavailable(&e))?;
    let host = container.get_host().await.map_err(|e| unavailable(&e))?;
    let port = container
        .get_host_port_ipv4(3306)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(Provisioned {
        url: format!("mysql://root@{host}:{port}/test"),
        cleanup: Cleanup::Container(Box::new(container)),
    })
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
    let name = format!("payments_h_{}", uuid::Uuid::new_v4().simple());
    execute(&server, &format!("CREATE DATABASE {name} {CHARSET}")).await?;
    Ok(Provisioned {
        url: format!("{server}/{name}"),
        cleanup: Cleanup::Drop { server, name },
    })
}

async fn execute(server: &str, sql: &str) -> Result<(), DatabaseError> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server)
        .await
        .map_err(|e| DatabaseError(format!("cannot connect to the MariaDB server: {e}")))?;
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await;
    pool.close().await;
    result
        .map(drop)
        .map_err(|e| DatabaseError(format!("{sql}: {e}")))
}

fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The character set and collation of every database made here: Korean text needs utf8mb4,
/// and the binary, no-pad collation compares keys exactly, as SQLite does.
const CHARSET: &str = "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin";

/// A `mariadbd` of a test's own, on a temporary directory.
#[derive(Debug)]
struct PrivateServer {
    program: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
    /// `None` while killed.
    child: Option<tokio::process::Child>,
}

impl PrivateServer {
    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Starts `mariadbd` and waits until it takes queries, with the test database made.
    async fn start(&mut self) -> Result<(), DatabaseError> {
        let dir = self.dir.path();
        let child = tokio::process::Command::new(&self.program)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
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
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DatabaseError(format!("mariadbd: {e}")))?;
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
}

async fn private_mariadb() -> Result<Provisioned, DatabaseError> {
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
    Ok(Provisioned {
        url: format!("{}/payments", server.url()),
        cleanup: Cleanup::Process(server),
    })
}

fn free_port() -> Result<u16, DatabaseError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| DatabaseError(e.to_string()))?;
    Ok(listener
        .local_addr()
        .map_err(|e| DatabaseError(e.to_string()))?
        .port())
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
