//! Every scenario file under `scenarios/` is a test: run on a fresh harness, its snapshots
//! compared with the reviewed ones in `scenarios/snapshots/`.

use std::path::PathBuf;
use std::time::Duration;

use payments_harness::Harness;
use payments_harness::scenario::Scenario;
use rstest::rstest;

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario(#[files("../scenarios/*.yaml")] path: PathBuf) {
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let harness = Harness::builder()
        .pg_timeout(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let outcome = scenario
        .run(&format!("scenarios/{name}"), &harness, |_, _| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    insta::with_settings!({
        snapshot_path => "../../scenarios/snapshots",
        prepend_module_to_snapshot => false,
        description => scenario.name.clone(),
        omit_expression => true,
    }, {
        // The body `harness run` writes too, so both read and write the same files.
        insta::assert_snapshot!(stem, outcome.snapshot_body());
    });
    harness.shutdown().await;
}

fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[tokio::test]
async fn errors_point_at_the_file_the_step_and_the_field() {
    let (_dir, path) = write("name: x\nsteps:\n  - toss: GET /a\n    payments: GET /b\n");
    let error = Scenario::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("broken.yaml: step 1: a step is exactly one of"),
        "{error}"
    );

    let (_dir, path) = write("name: x\nstep: []\n");
    let error = Scenario::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("broken.yaml: file:") && error.contains("step"),
        "{error}"
    );

    let (_dir, path) = write("name: x\nsteps:\n  - clock: {toss: -5}\n");
    let error = Scenario::load(&path).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "{}: step 1: clock.toss: expected seconds from 0 to 1e12, got -5",
            path.display()
        )
    );

    let (_dir, path) = write("name: x\nsteps:\n  - clock: {server: 5}\n");
    let error = Scenario::load(&path).unwrap_err().to_string();
    assert!(
        error.ends_with(
            "step 1: clock.server: unknown clock; expected payments, iamport, toss or portone"
        ),
        "{error}"
    );

    let harness = Harness::start().await.unwrap();
    let (_dir, path) = write(
        "name: x\ngenerate: [order]\nsteps:\n  - name: pay\n    toss: POST /internal/payments\n    body: {orderId: \"{{order}}\", amount: 100}\n    expect: {status: 200, body: {amount: 200}}\n",
    );
    let scenario = Scenario::load(&path).unwrap();
    let error = scenario
        .run("broken.yaml", &harness, |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "broken.yaml: step 1 (pay): body.amount: expected 200, got 100"
    );

    let (_dir, path) = write("name: x\nsteps:\n  - toss: GET /v1/payments/{{nothing}}\n");
    let scenario = Scenario::load(&path).unwrap();
    let error = scenario
        .run("broken.yaml", &harness, |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("step 1: unknown variable {{nothing}}"),
        "{error}"
    );
    harness.shutdown().await;
}
