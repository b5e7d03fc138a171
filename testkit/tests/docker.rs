//! `Database::docker()` (feature `docker`) when the container fails: a start that fails
//! leaves no container behind, whether the engine cannot start the container at all or it
//! starts and exits before accepting connections. Each case runs on an image made for it
//! from the MariaDB image of `PAYMENTS_TEST_MARIADB_IMAGE`, so they need a Docker engine
//! (`DOCKER_HOST`) and that image; like the harness's docker tests, they fail rather than
//! skip without them.

#![cfg(feature = "docker")]

use std::collections::HashMap;

use payments_testkit::{Database, provision};
use testcontainers::bollard::Docker as Engine;
use testcontainers::bollard::models::{ContainerConfig, ContainerCreateBody};
use testcontainers::bollard::query_parameters::{
    CommitContainerOptions, ListContainersOptions, RemoveContainerOptions, RemoveImageOptions,
};

fn engine() -> Engine {
    Engine::connect_with_defaults().expect("a Docker engine client (DOCKER_HOST)")
}

const FORCE: RemoveContainerOptions = RemoveContainerOptions {
    v: true,
    force: true,
    link: false,
};

/// A container of `image`, created, not started.
async fn create(engine: &Engine, image: &str) -> String {
    engine
        .create_container(
            None,
            ContainerCreateBody {
                image: Some(image.to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("a container of {image}: {e}"))
        .id
}

/// An image of this test only (a tag of its own): the MariaDB image with `entrypoint`.
async fn mariadb_with_entrypoint(
    engine: &Engine,
    what: &str,
    entrypoint: &str,
) -> (String, String) {
    let (name, tag) = Database::docker().image_reference();
    let source = create(engine, &format!("{name}:{tag}")).await;
    let image = (
        format!("localhost/payments-sandbox-test-{what}"),
        uuid::Uuid::new_v4().simple().to_string(),
    );
    let committed = engine
        .commit_container(
            CommitContainerOptions {
                container: Some(source.clone()),
                repo: Some(image.0.clone()),
                tag: Some(image.1.clone()),
                changes: Some(format!("ENTRYPOINT {entrypoint}")),
                ..Default::default()
            },
            ContainerConfig::default(),
        )
        .await;
    let _ = engine.remove_container(&source, Some(FORCE)).await;
    committed.expect("the engine commits the image");
    image
}

/// The containers of `image`, in any state.
async fn containers_of(engine: &Engine, image: &str) -> Vec<String> {
    engine
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "ancestor".to_owned(),
                vec![image.to_owned()],
            )])),
            ..Default::default()
        }))
        .await
        .expect("the engine lists containers")
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

/// Provisions a database on a container of `image`, expecting the start to fail; the error
/// and the containers of the image that are left, once the image and they are removed
/// (so nothing stays behind whatever the test then asserts).
async fn failed_start(engine: &Engine, (name, tag): (String, String)) -> (String, Vec<String>) {
    let image = format!("{name}:{tag}");
    // The check sees a container the image leaves: one made by hand is listed.
    let by_hand = create(engine, &image).await;
    let listed = containers_of(engine, &image).await;
    let _ = engine.remove_container(&by_hand, Some(FORCE)).await;
    assert_eq!(listed, [by_hand], "the engine lists the image's containers");

    let error = match provision(&Database::docker().image(name, tag).into()).await {
        Ok(database) => {
            database.release().await;
            "the database was provisioned".to_owned()
        }
        Err(error) => error.to_string(),
    };
    let left = containers_of(engine, &image).await;
    for id in &left {
        let _ = engine.remove_container(id, Some(FORCE)).await;
    }
    let _ = engine
        .remove_image(
            &image,
            Some(RemoveImageOptions {
                force: true,
                ..Default::default()
            }),
            None,
        )
        .await;
    (error, left)
}

/// An entrypoint that is not in the image: the engine creates the container and cannot
/// start it (testcontainers then returns no container); the start removes it all the same.
#[tokio::test]
async fn a_container_that_cannot_start_is_removed() {
    let engine = engine();
    let image = mariadb_with_entrypoint(
        &engine,
        "unstartable",
        r#"["/payments-sandbox-nothing-here"]"#,
    )
    .await;
    let shown = format!("{}:{}", image.0, image.1);
    let (error, left) = failed_start(&engine, image).await;
    assert!(
        error.contains(&format!("the MariaDB container ({shown}) did not start")),
        "{error}"
    );
    assert!(!error.contains("could not be removed"), "{error}");
    assert_eq!(left, Vec::<String>::new(), "no container is left behind");
}

/// An entrypoint that starts no server and ends a few seconds later: the container runs
/// (long enough for testcontainers to hand it over) and ends before accepting a
/// connection; the start removes it.
#[tokio::test]
async fn a_container_that_exits_before_it_is_ready_is_removed() {
    let engine = engine();
    let image = mariadb_with_entrypoint(&engine, "exits", r#"["/bin/sh", "-c", "sleep 5"]"#).await;
    let shown = format!("{}:{}", image.0, image.1);
    let (error, left) = failed_start(&engine, image).await;
    assert!(
        error.contains(&format!(
            "the MariaDB container ({shown}) exited before accepting connections"
        )),
        "{error}"
    );
    assert_eq!(left, Vec::<String>::new(), "no container is left behind");
}
