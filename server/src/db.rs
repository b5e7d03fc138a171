//! The database: one code path for MariaDB and SQLite through sqlx's `Any` driver, runtime
//! queries only, times as integer milliseconds so both databases store them alike. The
//! tables' queries live with their owners: `records::store` and `outbox`.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

/// The schema's migrations for MariaDB, embedded in the binary.
pub static MARIADB_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mariadb");
/// The same steps for SQLite.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How long a request waits for a database connection before it is answered 503: while
/// the database is unreachable, clients learn it at once instead of after sqlx's default
/// 30 s, and the pool reconnects by itself once the database is back.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a connection may have been idle in the pool and still be used without a
/// check (a ping) first.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    MariaDb,
    Sqlite,
}

/// A connection pool and what it is connected to.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    held: Arc<Held>,
    /// Reads under way at once ([`Db::fetch_all`]): at most three quarters of the pool, so
    /// that a burst of reads on a slow database leaves writes, transactions and the relay
    /// a quarter of it.
    reads: Arc<tokio::sync::Semaphore>,
}

/// Connections that single-statement reads keep checked out of the pool between reads.
///
/// sqlx pings every connection that goes back into its pool (`return_to_pool`, not
/// configurable in 0.9) in a task of its own: for a read by id that is a second round trip,
/// half of the database's commands and a good share of the server's system calls. A read
/// whose statement completed leaves its connection in a state fit for the next one, so it
/// keeps the connection here instead; one that failed or was cancelled midway gives it
/// back to the pool, whose ping then tests it. These connections count against the pool's
/// maximum, so at most half of it waits here between reads, and what no read used for a
/// moment goes back: writes, transactions and the relay are never short of connections
/// for long.
struct Held {
    idle: Mutex<Vec<(PoolConnection<Any>, Instant)>>,
    max: usize,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("idle", &self.len())
            .field("max", &self.max)
            .finish()
    }
}

impl Held {
    fn new(max: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(max)),
            max,
        }
    }

    fn len(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }

    /// The connection put back last, if it was used within [`CHECK_IDLE_AFTER`]. Held
    /// connections are taken last in, first out, so when that one is older, all are: they
    /// go back to the pool, which pings a connection idle that long before handing it out.
    fn take(&self) -> Option<PoolConnection<Any>> {
        let stale = {
            let mut idle = self.idle.lock().ok()?;
            let (connection, since) = idle.pop()?;
            if since.elapsed() <= CHECK_IDLE_AFTER {
                return Some(connection);
            }
            idle.push((connection, since));
            std::mem::take(&mut *idle)
        };
        drop(stale);
        None
    }

    /// Keeps `connection` for the next read, or gives it back to the pool when enough are
    /// held already.
    fn put(&self, connection: PoolConnection<Any>) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        if idle.len() < self.max {
            idle.push((connection, Instant::now()));
        }
    }

    /// Gives back to the pool the connections no read used within [`CHECK_IDLE_AFTER`]:
    /// when reads stop, the pool has its whole size again for writes.
    fn release_stale(&self) {
        let stale: Vec<_> = {
            let Ok(mut idle) = self.idle.lock() else {
                return;
            };
            let fresh = idle
                .iter()
                .position(|(_, since)| since.elapsed() <= CHECK_IDLE_AFTER)
                .unwrap_or(idle.len());
            idle.drain(..fresh).collect()
        };
        drop(stale);
    }
}

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected mysql://… or sqlite:…)")]
    Scheme,
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Connects; a SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            (Backend::MariaDb, url.replacen("mariadb:", "mysql:", 1))
        } else if url.starts_with("sqlite:") {
            let url = if url.contains("memory") || url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else {
            return Err(DbError::Scheme);
        };
        let options = AnyConnectOptions::from_str(&url).map_err(DbError::Connect)?;
        // An in-memory SQLite database lives in one connection; a file takes one writer.
        let max = match backend {
            Backend::MariaDb => 32,
            Backend::Sqlite if url.contains("memory") => 1,
            Backend::Sqlite => 4,
        };
        let mut pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings every idle connection before handing it out (and again when it is
            // returned): under load that is a round trip to the database per query, as
            // costly there as a point select. A connection returned a moment ago was just
            // pinged; only one idle for longer is checked, so a database that went away
            // while the pool was quiet is still noticed before a query fails on it.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for > CHECK_IDLE_AFTER {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            });
        if backend == Backend::MariaDb {
            pool = pool.after_connect(|connection, _| Box::pin(read_own_writes(connection)));
        }
        let pool = pool.connect_with(options).await.map_err(DbError::Connect)?;
        let held = Arc::new(Held::new(max as usize / 2));
        let weak = Arc::downgrade(&held);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECK_IDLE_AFTER);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(held) = weak.upgrade() else { break };
                held.release_stale();
            }
        });
        let max = max as usize;
        Ok(Self {
            pool,
            backend,
            held,
            reads: Arc::new(tokio::sync::Semaphore::new(max - max / 4)),
        })
    }

    /// The rows of a single-statement read (no transaction, nothing left open) that
    /// `query` makes, run on a held connection ([`Held`]) when one was used within
    /// [`CHECK_IDLE_AFTER`], else on one from the pool. When the database dropped the held
    /// connection meanwhile (it restarted, or the connection was killed), the read is made
    /// again on one from the pool: a read changes nothing, so running it twice is safe. A
    /// read waits its turn when three quarters of the pool are reading already.
    pub async fn fetch_all<'q>(
        &self,
        query: impl Fn() -> sqlx::query::Query<'q, Any, AnyArguments>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let _turn = match tokio::time::timeout(ACQUIRE_TIMEOUT, self.reads.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        if let Some(mut connection) = self.held.take() {
            match query().fetch_all(&mut *connection).await {
                Ok(rows) => {
                    self.held.put(connection);
                    return Ok(rows);
                }
                Err(e) if is_unavailable(&e) => {
                    tracing::debug!(error = %e, "a held connection was lost; reading again");
                }
                Err(e) => return Err(e),
            }
        }
        let mut connection = self.pool.acquire().await?;
        let rows = query().fetch_all(&mut *connection).await?;
        self.held.put(connection);
        Ok(rows)
    }

    /// Closes every connection: the held ones first, since the pool's `close` waits for
    /// every connection checked out of it.
    pub async fn close(&self) {
        let held = self
            .held
            .idle
            .lock()
            .map(|mut idle| std::mem::take(&mut *idle));
        drop(held);
        self.pool.close().await;
    }

    /// How many connections are held for reads, idle between them.
    pub fn held_idle(&self) -> usize {
        self.held.len()
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::MariaDb => &MARIADB_MIGRATOR,
            Backend::Sqlite => &SQLITE_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers a trivial query within [`ACQUIRE_TIMEOUT`].
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let query = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(ACQUIRE_TIMEOUT, query).await {
            Ok(done) => done.map(drop),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

/// On a Galera node, makes the session's reads wait until the node has applied every
/// transaction the cluster committed before them (`wsrep_sync_wait` bit 1: reads), whatever
/// else the node's setting asks: instances on different nodes then read what each other
/// wrote, as on one server (a record stored through one is found through another at once;
/// the relay's claim sees the leases other nodes took). Elsewhere it changes nothing: a
/// MariaDB without Galera has the variable and ignores it, a server without it is left as
/// it is.
async fn read_own_writes(connection: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    let set = sqlx::query("SET SESSION wsrep_sync_wait = @@session.wsrep_sync_wait | 1")
        .execute(&mut *connection)
        .await;
    match set {
        // 1193: unknown system variable (a MySQL-compatible server without Galera).
        Err(sqlx::Error::Database(e)) if mariadb_number(e.as_ref()) == Some(1193) => Ok(()),
        other => other.map(drop),
    }
}

/// Every table of records and client events, children before their parents.
const TABLES: [&str; 6] = [
    "payment_webhook_attempts",
    "payment_webhook_events",
    "payment_pending_events",
    "payment_history_cancels",
    "payment_histories",
    "payment_reservations",
];

impl Db {
    /// Deletes every record and client event, keeping the schema: a sandbox's reset, so a
    /// test suite can reuse one database between tests. Never called by the server itself.
    pub async fn delete_all_records(&self) -> Result<(), sqlx::Error> {
        retry_conflicts(|| async {
            let mut tx = self.pool.begin().await?;
            for table in TABLES {
                sqlx::query(trusted(format!("DELETE FROM {table}")))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })
        .await
    }
}

/// Marks SQL assembled from the code's own constants (never from input) as safe.
pub(crate) fn trusted(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Whether an error means the database cannot be reached now (down, restarting, the
/// connection lost, a Galera node not in the cluster) rather than that the query was
/// wrong: worth a retry later.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // MariaDB's "server shutdown in progress", "connection was killed", "gone away" and
        // "lost connection"; Galera's 1047 "WSREP has not yet prepared node for application
        // use" (a node joining, or cut off from the cluster) comes as 08S01.
        sqlx::Error::Database(e) => {
            matches!(
                mariadb_number(e.as_ref()),
                Some(1047 | 1053 | 1927 | 2006 | 2013)
            ) || matches!(e.code().as_deref(), Some("08S01" | "70100"))
        }
        _ => false,
    }
}

/// MariaDB's own number of an error (SQLSTATEs are shared by many).
fn mariadb_number(error: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    error
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(|e| e.number())
}

/// Whether the database rolled a transaction back because it conflicted with another, so
/// that running it again whole is correct and is what the error asks for: an InnoDB
/// deadlock (1213, SQLSTATE 40001), and on Galera a certification failure, which a node
/// reports the same way ("WSREP detected deadlock/conflict"), at any statement or at
/// COMMIT, when a transaction of another node wrote the same rows first. Galera does not
/// replicate row locks, so `FOR UPDATE` on one node does not keep another from taking the
/// same rows; the loser learns it here.
pub fn is_conflict(error: &sqlx::Error) -> bool {
    let Some(e) = error.as_database_error() else {
        return false;
    };
    mariadb_number(e) == Some(1213) || e.code().as_deref() == Some("40001")
}

/// How many times [`retry_conflicts`] runs a transaction in all.
pub const CONFLICT_ATTEMPTS: u32 = 8;
/// The first retry waits up to this long (jittered), each next one up to twice as long.
const CONFLICT_BACKOFF: Duration = Duration::from_millis(4);

/// Runs the write transaction `run` makes, again while the database rolls it back for a
/// conflict ([`is_conflict`]), at most [`CONFLICT_ATTEMPTS`] times in all, after a random
/// pause that doubles each time (at most about half a second in all): the racers then
/// come back at different moments. Any other outcome, and the last conflict, is the
/// answer. `run` must make the whole transaction afresh each time, reading what it
/// decides on inside it.
pub async fn retry_conflicts<T, F, Fut>(mut run: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match run().await {
            Err(e) if attempt < CONFLICT_ATTEMPTS && is_conflict(&e) => {
                let ceiling = CONFLICT_BACKOFF * 2u32.pow(attempt - 1);
                tracing::debug!(attempt, error = %e, "a transaction conflicted; running it again");
                tokio::time::sleep(ceiling.mul_f64(0.5 + random_unit() / 2.0)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// A random number in [0, 1].
fn random_unit() -> f64 {
    let mut random = [0u8; 2];
    let _ = getrandom::fill(&mut random);
    f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX)
}

/// Whether an error is a unique-key violation (a duplicate record).
pub fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
