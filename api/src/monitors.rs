//! Wire types of the monitor endpoints: `/monitors/performance` and `/monitors/system`
//! (`/monitors/health` answers with an empty body).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::wire::iso_millis;

/// How hard the server process is working (`GET /monitors/performance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Performance {
    pub cpu: CpuUsage,
    pub memory: MemoryUsage,
    /// Seconds since the process started.
    pub uptime: f64,
    pub requests: RequestCounts,
}

/// CPU time the process has used, in microseconds (as Node's `process.cpuUsage()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CpuUsage {
    pub user: u64,
    pub system: u64,
}

/// Memory the process holds, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemoryUsage {
    /// Resident set size.
    pub rss: u64,
    /// Virtual memory size.
    #[serde(rename = "virtual")]
    pub virtual_size: u64,
}

/// HTTP requests the process has answered since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestCounts {
    /// Answered requests.
    pub total: u64,
    /// Requests being handled right now.
    pub in_flight: u64,
    /// Answered with a 4xx status.
    pub client_errors: u64,
    /// Answered with a 5xx status.
    pub server_errors: u64,
}

/// What is running (`GET /monitors/system`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct System {
    /// A random id drawn once per process: tells instances behind a balancer apart.
    pub uid: Uuid,
    /// The process's command line.
    pub arguments: Vec<String>,
    pub package: Package,
    /// The commit the binary was built from, when the build could tell.
    pub commit: Option<Commit>,
    /// When the process started.
    #[serde(with = "iso_millis")]
    pub created_at: DateTime<Utc>,
}

/// The server's package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Package {
    pub name: String,
    pub version: String,
}

/// A source commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Commit {
    /// The full hash.
    pub hash: String,
    pub branch: Option<String>,
    /// The first line of the commit message.
    pub subject: Option<String>,
    #[serde(with = "iso_millis::option")]
    pub committed_at: Option<DateTime<Utc>>,
}
