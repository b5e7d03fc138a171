//! MariaDB in a container, through testcontainers (feature `docker`). One container per
//! image per test process, shared by every database made on it and removed when the last
//! of them is released. A start that fails removes the container it made, whether the
//! engine could not start it or it never accepted connections.
//!
//! Every call to the engine runs on one runtime of this module's own: a `#[tokio::test]`
//! has a runtime per test, and a container (with its engine client) started on one test's
//! runtime could not be removed once that runtime has ended.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use testcontainers::bollard::Docker as Engine;
use testcontainers::bollard::errors::Error as BollardError;
use testcontainers::bollard::models::{HostConfig, PortBinding};
use testcontainers::bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};
use testcontainers::core::IntoContainerPort as _;
use testcontainers::core::error::ClientError;
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _, TestcontainersError};

use crate::DatabaseError;
use crate::shared::SharedServer;

/// The image used unless one is named: the official MariaDB image, in the series the
/// payments server is tested on.
pub const DEFAULT_IMAGE: (&str, &str) = ("mariadb", "10.11");

/// The variable naming another image (`name:tag`, or `name` for `latest`).
pub const IMAGE_VARIABLE: &str = "PAYMENTS_TEST_MARIADB_IMAGE";

/// How long a container may take from created to accepting connections (the official
/// image initialises its data directory on the first start: seconds, not minutes).
const READY_WITHIN: Duration = Duration::from_secs(90);

/// The label every test database container carries, and its value.
const ROLE_LABEL: (&str, &str) = ("org.payments-sandbox.role", "test-database");

/// The label naming one start's container. When the engine has created the container but
/// starting it fails, testcontainers hands back nothing to remove; this label is how the
/// start finds that container and removes it rather than leaving it behind, `Created`.
const START_LABEL: &str = "org.payments-sandbox.start";

/// A MariaDB container for `Database::Docker`, made with [`crate::Database::docker`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Docker {
    image: Option<(String, String)>,
}

impl Docker {
    /// Runs this image (e.g. `("mariadb", "11.4")`) instead of `PAYMENTS_TEST_MARIADB_IMAGE`'s
    /// or the default official one. It must behave like the official image: honour
    /// `MARIADB_ALLOW_EMPTY_ROOT_PASSWORD` and listen on port 3306.
    pub fn image(mut self, name: impl Into<String>, tag: impl Into<String>) -> Self {
        self.image = Some((name.into(), tag.into()));
        self
    }

    /// The image's name and tag: the one asked for, else the environment's, else the default.
    pub fn image_reference(&self) -> ImageReference {
        if let Some(image) = &self.image {
            return image.clone();
        }
        match std::env::var(IMAGE_VARIABLE) {
            Ok(value) if !value.trim().is_empty() => split_reference(value.trim()),
            _ => (DEFAULT_IMAGE.0.to_owned(), DEFAULT_IMAGE.1.to_owned()),
        }
    }
}

/// `registry:5000/name:tag` → (`registry:5000/name`, `tag`); no tag means `latest`.
fn split_reference(reference: &str) -> (String, String) {
    let last_part = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_part..].rfind(':') {
        Some(i) => (
            reference[..last_part + i].to_owned(),
            reference[last_part + i + 1..].to_owned(),
        ),
        None => (reference.to_owned(), "latest".to_owned()),
    }
}

pub(crate) static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("testkit-containers")
        .enable_all()
        .build()
        .expect("a runtime for the container engine's client")
});

/// Runs `future` on this module's runtime, from any runtime or none.
async fn on_runtime<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T, DatabaseError> {
    RUNTIME
        .spawn(future)
        .await
        .map_err(|e| DatabaseError(format!("the container task failed: {e}")))
}

/// An image's name and tag.
type ImageReference = (String, String);

/// The running containers, by image: weak, so the last database released removes one.
static CONTAINERS: LazyLock<Mutex<HashMap<ImageReference, Weak<SharedServer>>>> =
    LazyLock::new(Default::default);
/// One start at a time, so that tests starting together share one container.
static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shared container of this image, started if none runs.
pub(crate) async fn shared(docker: &Docker) -> Result<Arc<SharedServer>, DatabaseError> {
    let image = docker.image_reference();
    let _starting = STARTING.lock().await;
    if let Some(server) = CONTAINERS
        .lock()
        .expect("the container table")
        .get(&image)
        .and_then(Weak::upgrade)
    {
        return Ok(server);
    }
    let server = Arc::new(start(image.clone()).await?);
    CONTAINERS
        .lock()
        .expect("the container table")
        .insert(image, Arc::downgrade(&server));
    Ok(server)
}

/// Whether a Docker engine answers (`DOCKER_HOST`, else the default socket), within 2 s.
pub(crate) async fn engine_answers() -> bool {
    on_runtime(async {
        let Ok(client) = Engine::connect_with_defaults() else {
            return false;
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), client.ping()).await,
            Ok(Ok(_))
        )
    })
    .await
    .unwrap_or(false)
}

fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

async fn start((name, tag): ImageReference) -> Result<SharedServer, DatabaseError> {
    if !engine_answers().await {
        return Err(DatabaseError(format!(
            "no Docker engine answers at {}: start one (or podman's Docker API service, as \
             scripts/container-ready does) and point DOCKER_HOST at it",
            engine_address()
        )));
    }
    let image = format!("{name}:{tag}");
    let start = uuid::Uuid::new_v4().simple().to_string();
    let container = match on_runtime(run(name, tag, start.clone())).await? {
        Ok(container) => Running(Some(Arc::new(container))),
        Err(error) => {
            let mut error = match error {
                TestcontainersError::Client(ClientError::PullImage { err, .. }) => {
                    DatabaseError(format!(
                        "the image {image} is not here and cannot be pulled ({err}): pull or \
                         build it (scripts/container-ready builds localhost/mariadb:10.11), or \
                         name another with {IMAGE_VARIABLE}"
                    ))
                }
                e => DatabaseError(format!(
                    "the MariaDB container ({image}) did not start: {e}"
                )),
            };
            let label = format!("{START_LABEL}={start}");
            if let Err(why) = on_runtime(remove_labelled(label.clone())).await? {
                error.0.push_str(&format!(
                    "; the container it left could not be removed ({why}): remove it with \
                     `docker rm -f $(docker ps -aq --filter label={label})`"
                ));
            }
            return Err(error);
        }
    };
    let port = {
        let container = container.clone_handle();
        on_runtime(async move { container.get_host_port_ipv4(3306).await })
            .await?
            .map_err(|e| DatabaseError(format!("the MariaDB container's port: {e}")))?
    };
    // Published on 127.0.0.1 only, so that is where it is (testcontainers' own guess of
    // the host can be a bridge's address when the tests themselves run in a container).
    let url = format!("mysql://root@127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        match crate::database::execute(&url, "SELECT 1").await {
            Ok(()) => break,
            Err(error) => {
                let handle = container.clone_handle();
                let running = on_runtime(async move { handle.is_running().await })
                    .await?
                    .unwrap_or(false);
                if !running || started.elapsed() > READY_WITHIN {
                    let handle = container.clone_handle();
                    let log = on_runtime(async move { handle.stderr_to_vec().await })
                        .await?
                        .unwrap_or_default();
                    let what = if running {
                        format!("did not accept connections within {READY_WITHIN:?} ({error})")
                    } else {
                        "exited before accepting connections".to_owned()
                    };
                    return Err(DatabaseError(format!(
                        "the MariaDB container ({image}) {what}; check the image with \
                         `docker run --rm -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 {image}`. \
                         Its last log lines:\n{}",
                        crate::database::tail(&String::from_utf8_lossy(&log))
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(SharedServer::container(url, container))
}

/// Removes every container, in any state, that carries `label` (`name=value`); a container
/// already gone counts as removed.
async fn remove_labelled(label: String) -> Result<(), String> {
    let client = Engine::connect_with_defaults().map_err(|e| e.to_string())?;
    let found = client
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_owned(), vec![label])])),
            ..Default::default()
        }))
        .await
        .map_err(|e| e.to_string())?;
    for id in found.into_iter().filter_map(|c| c.id) {
        let removed = client
            .remove_container(
                &id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        match removed {
            Ok(())
            | Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(format!("container {id}: {e}")),
        }
    }
    Ok(())
}

async fn run(
    name: String,
    tag: String,
    start: String,
) -> Result<ContainerAsync<GenericImage>, TestcontainersError> {
    GenericImage::new(name, tag)
        .with_exposed_port(3306.tcp())
        .with_env_var("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1")
        .with_label(ROLE_LABEL.0, ROLE_LABEL.1)
        .with_label(START_LABEL, start)
        // Published explicitly on 127.0.0.1 with an engine-chosen port: podman 4.3 reports
        // published-all ports without a host address, which testcontainers cannot read, and
        // nothing outside this machine needs the test database.
        .with_host_config_modifier(|config: &mut HostConfig| {
            config.publish_all_ports = Some(false);
            config.port_bindings = Some(HashMap::from([(
                "3306/tcp".to_owned(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(String::new()),
                }]),
            )]));
        })
        .start()
        .await
}

/// A started container: removed when dropped, on this module's runtime, before the drop
/// returns (so none is left when the last test of a process ends).
#[derive(Debug)]
pub(crate) struct Running(Option<Arc<ContainerAsync<GenericImage>>>);

impl Running {
    /// The container, for a call made on the module's runtime.
    fn clone_handle(&self) -> Arc<ContainerAsync<GenericImage>> {
        self.0.clone().expect("a running container")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(container) = self.0.take() else {
            return;
        };
        let (done, removed) = std::sync::mpsc::channel();
        RUNTIME.spawn(async move {
            // Calls on it ran to completion before this drop: this is the last reference.
            if let Ok(container) = Arc::try_unwrap(container) {
                let _ = container.rm().await;
            }
            let _ = done.send(());
        });
        let _ = removed.recv_timeout(Duration::from_secs(30));
    }
}
