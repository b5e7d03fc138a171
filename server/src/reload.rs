//! Replacing a running server with a new process without refusing a request.
//!
//! The running process (the *old* one) starts the new one with its listening socket
//! inherited (systemd's `LISTEN_FDS` convention, so socket activation works the same way)
//! and a socket on which the new one says it is ready, or why it cannot start. Until then
//! the old one keeps serving, and keeps serving if the new one fails. Once the new one is
//! ready, both accept from the same socket for a moment; then the old one stops accepting,
//! answers every request still under way with `Connection: close` (so its clients open
//! their next connection to the new process instead of finding a kept-alive one closed
//! under them), lets the relay finish its deliveries, and exits.
//!
//! One socket, never closed: no connection waiting in its accept queue is lost, which two
//! sockets sharing a port with `SO_REUSEPORT` cannot promise (closing one drops its queue).

use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use command_fds::{CommandFdExt as _, FdMapping};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The environment variable naming the socket on which a new process reports back.
pub const NOTIFY_ENV: &str = "PAYMENTS_RELOAD_NOTIFY";

/// The listening socket: the one inherited from the process this one replaces (or from
/// systemd's socket activation), else a new one bound to `address`, with `SO_REUSEPORT`
/// if `reuse_port` (several instances on one port, the kernel spreading connections).
pub fn listener(address: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let mut inherited = listenfd::ListenFd::from_env();
    if let Some(listener) = inherited.take_tcp_listener(0)? {
        listener.set_nonblocking(true)?;
        return Ok(listener);
    }
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // A restarted server binds again while the old one's connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Whether this process was started to replace another one.
pub fn is_successor() -> bool {
    std::env::var_os(NOTIFY_ENV).is_some()
}

/// Tells the process this one replaces that it serves now, or why it cannot; nothing when
/// it replaces none. The message is one datagram: `READY`, or `FAILED <why>`.
pub fn notify(outcome: Result<(), &str>) {
    let Some(path) = std::env::var_os(NOTIFY_ENV) else {
        return;
    };
    let message = match outcome {
        Ok(()) => "READY".to_owned(),
        Err(why) => format!("FAILED {why}"),
    };
    let sent = std::os::unix::net::UnixDatagram::unbound()
        .and_then(|socket| socket.send_to(message.as_bytes(), &path));
    if let Err(error) = sent {
        // The old process then sees no answer, waits out its timeout and keeps serving.
        tracing::warn!(%error, "could not tell the replaced process the outcome");
    }
}

/// How to start the process that replaces this one.
#[derive(Debug, Clone)]
pub struct Successor {
    /// The program: the path this process was started from, so a binary replaced on disk
    /// is the one started.
    pub binary: PathBuf,
    /// Its arguments: this process's own.
    pub args: Vec<OsString>,
    /// How long it may take to be ready before it is given up (and killed).
    pub timeout: Duration,
}

impl Successor {
    /// Starts the new process with `listener` as its socket and waits until it is ready:
    /// answers its process id, or why it is not serving (it is not running then).
    pub async fn start(&self, listener: &std::net::TcpListener) -> Result<u32, String> {
        let path = std::env::temp_dir().join(format!(
            "payments-server-reload-{}-{}.sock",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let answers = tokio::net::UnixDatagram::bind(&path)
            .map_err(|e| format!("cannot create the socket the new process answers on: {e}"))?;
        // The socket file is only its address: gone once bound and at the end either way.
        let _remove = RemoveOnDrop(path.clone());
        let inherited = listener
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| format!("cannot pass the listening socket on: {e}"))?;
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(&self.args)
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDNAMES")
            .env(NOTIFY_ENV, &path)
            .stdin(std::process::Stdio::null());
        // The first inherited descriptor is 3 in the `LISTEN_FDS` convention.
        command
            .fd_mappings(vec![FdMapping {
                parent_fd: inherited,
                child_fd: 3,
            }])
            .map_err(|e| format!("cannot pass the listening socket on: {e}"))?;
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let pid = child.id().unwrap_or_default();
        let mut buffer = vec![0u8; 4096];
        tokio::select! {
            // The answer first: a process that fails says why, then exits at once.
            biased;
            received = answers.recv(&mut buffer) => {
                let message = match received {
                    Ok(n) => String::from_utf8_lossy(&buffer[..n]).into_owned(),
                    Err(e) => format!("FAILED cannot read its answer: {e}"),
                };
                if message == "READY" {
                    return Ok(pid);
                }
                let why = message.strip_prefix("FAILED ").unwrap_or(&message).to_owned();
                // It exits by itself after saying why; make sure, and reap it.
                let _ = child.kill().await;
                Err(why)
            }
            status = child.wait() => {
                if let Ok(n) = answers.try_recv(&mut buffer) {
                    let message = String::from_utf8_lossy(&buffer[..n]);
                    if let Some(why) = message.strip_prefix("FAILED ") {
                        return Err(why.to_owned());
                    }
                }
                Err(match status {
                    Ok(status) => format!("the new process ended before it was ready ({status})"),
                    Err(e) => format!("the new process could not be watched: {e}"),
                })
            }
            () = tokio::time::sleep(self.timeout) => {
                let _ = child.kill().await;
                Err(format!("the new process was not ready within {} s; stopped it", self.timeout.as_secs()))
            }
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes this process's id to `path`, replacing the file at once (a reader never sees it
/// half written).
pub fn write_pid_file(path: &Path) -> io::Result<()> {
    write_atomically(path, &format!("{}\n", std::process::id()))
}

/// Removes `path` if it still names this process (after a reload it names the new one).
pub fn remove_pid_file(path: &Path) {
    let ours = std::fs::read_to_string(path)
        .is_ok_and(|text| text.trim() == std::process::id().to_string());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}

/// The file beside the pid file where a reload's outcome is written: `reloaded <pid>` or
/// `failed: <why>`, for `payments-server reload` to report.
pub fn outcome_file(pid_file: &Path) -> PathBuf {
    let mut name = pid_file.as_os_str().to_owned();
    name.push(".reload");
    PathBuf::from(name)
}

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// A listener that stops accepting when told, and counts the connections it accepted that
/// are still open, so that a stopping server knows when its clients have all moved on.
#[derive(Debug)]
pub struct Accepting {
    listener: Option<TcpListener>,
    address: SocketAddr,
    stop: watch::Receiver<bool>,
    open: Arc<AtomicUsize>,
}

impl Accepting {
    /// Accepts from `listener` until `stop` turns true; `open` counts open connections.
    pub fn new(
        listener: TcpListener,
        stop: watch::Receiver<bool>,
        open: Arc<AtomicUsize>,
    ) -> io::Result<Self> {
        Ok(Self {
            address: listener.local_addr()?,
            listener: Some(listener),
            stop,
            open,
        })
    }
}

impl axum::serve::Listener for Accepting {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let stopped = *self.stop.borrow();
            let Some(listener) = self.listener.as_ref().filter(|_| !stopped) else {
                // Closing this process's copy of the socket: the queue stays with the
                // new process's copy.
                self.listener = None;
                std::future::pending::<()>().await;
                continue;
            };
            let mut gone = false;
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        self.open.fetch_add(1, Ordering::SeqCst);
                        let counted = Counted { stream, open: self.open.clone() };
                        return (counted, peer);
                    }
                    Err(error) => accept_error(error).await,
                },
                // A server that dropped its side of the channel accepts no more either.
                changed = self.stop.changed() => gone = changed.is_err(),
            }
            if gone {
                self.listener = None;
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.address)
    }
}

/// As axum's own listener does: a connection that failed before it was accepted is the
/// client's business; anything else (out of file descriptors) is waited out.
async fn accept_error(error: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// An accepted connection, counted open until dropped.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
