//! The OpenAPI documents of every API the sandbox serves, as committed under `openapi/`:
//! written by `cargo run -p payments-harness --bin openapi -- --write openapi`, and
//! compared with the committed files by a test, so a change of the code that changes a
//! document fails until the files are regenerated.

use std::path::Path;

/// The command that rewrites the committed documents.
pub const REGENERATE: &str = "cargo run -p payments-harness --bin openapi -- --write openapi";

/// Every document, by file stem: `payments`, `admin`, and one per fake.
pub fn documents() -> Vec<(&'static str, utoipa::openapi::OpenApi)> {
    vec![
        ("payments", payments_server::http::openapi::document()),
        ("admin", crate::admin::document()),
        ("toss", fake::<payments_fakes::toss::FakeToss>()),
        ("iamport", fake::<payments_fakes::iamport::FakeIamport>()),
        ("portone", fake::<payments_fakes::portone::FakePortOne>()),
    ]
}

fn fake<F: payments_fakes::core::Fake>() -> utoipa::openapi::OpenApi {
    payments_fakes::openapi::document::<F>()
}

/// A document as it is committed: pretty JSON with a final newline.
pub fn render(document: &utoipa::openapi::OpenApi) -> String {
    let mut text = document
        .to_pretty_json()
        .expect("an OpenAPI document is plain maps and strings");
    text.push('\n');
    text
}

/// Writes every document into `dir` as `<stem>.json`; answers the files written.
pub fn write(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (stem, document) in documents() {
        let path = dir.join(format!("{stem}.json"));
        std::fs::write(&path, render(&document))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// The files in `dir` that are missing or differ from the generated documents.
pub fn stale(dir: &Path) -> Vec<String> {
    documents()
        .into_iter()
        .filter_map(|(stem, document)| {
            let path = dir.join(format!("{stem}.json"));
            match std::fs::read_to_string(&path) {
                Ok(text) if text == render(&document) => None,
                Ok(_) => Some(format!("{} differs", path.display())),
                Err(e) => Some(format!("{}: {e}", path.display())),
            }
        })
        .collect()
}
