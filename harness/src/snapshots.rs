//! Scenario snapshots for `harness run`: `snapshots/<file stem>.snap` beside the scenario
//! file, in insta's file format (a metadata header, then the body), so that `cargo test`
//! (insta) and `harness run` read and write the same files.

use std::path::{Path, PathBuf};

use payments_harness::scenario::{snapshot_body, to_yaml};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// The `source` of a snapshot file `harness run` writes first (insta keeps the test's path
/// there; it does not take part in the comparison).
const SOURCE: &str = "harness run";

/// What became of a scenario's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The scenario records nothing and has no snapshot file.
    None,
    /// The run recorded what the file holds.
    Matched,
    /// The file was missing or different, and was written (`--update-snapshots`).
    Written,
}

impl Checked {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Matched => "matched",
            Self::Written => "written",
        }
    }
}

/// A snapshot that is missing or differs: why, and the difference line by line.
#[derive(Debug)]
pub struct Mismatch {
    pub message: String,
    pub diff: String,
}

/// Where the snapshot of scenario file `scenario` lives.
pub fn path_of(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    scenario
        .parent()
        .unwrap_or(Path::new("."))
        .join("snapshots")
        .join(format!("{stem}.snap"))
}

/// Compares what a run recorded with the snapshot file `path`; with `update`, writes the
/// file instead of failing when it is missing or differs.
pub fn check(
    path: &Path,
    description: &str,
    recorded: &[(String, Value)],
    update: bool,
) -> Result<Checked, Mismatch> {
    let new = snapshot_body(recorded);
    let old = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Mismatch {
                message: format!("cannot read the snapshot {}: {e}", path.display()),
                diff: String::new(),
            });
        }
    };
    let (header, old_body) = match &old {
        // A scenario that records nothing needs no file.
        None if recorded.is_empty() => return Ok(Checked::None),
        None => (None, String::new()),
        Some(text) => {
            let (header, body) = split(text);
            (header, body)
        }
    };
    // insta's comparison: trailing whitespace and line endings do not count.
    if old.is_some() && (normalize(&old_body) == normalize(&new) || same_yaml(&old_body, &new)) {
        return Ok(Checked::Matched);
    }
    let diff = diff(&old_body, &new);
    if update {
        let header = header.unwrap_or_else(|| new_header(description));
        let text = format!("{header}{}\n", new.trim_end());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Mismatch {
                message: format!("cannot make {}: {e}", dir.display()),
                diff: diff.clone(),
            })?;
        }
        std::fs::write(path, text).map_err(|e| Mismatch {
            message: format!("cannot write the snapshot {}: {e}", path.display()),
            diff: diff.clone(),
        })?;
        return Ok(Checked::Written);
    }
    let message = if old.is_none() {
        format!(
            "no snapshot {} (run with --update-snapshots to write it)",
            path.display()
        )
    } else {
        format!(
            "the answers differ from the snapshot {} (run with --update-snapshots to accept them)",
            path.display()
        )
    };
    Err(Mismatch { message, diff })
}

/// A snapshot file's metadata header (`---` … `---` and the line break after it), and its
/// body.
fn split(text: &str) -> (Option<String>, String) {
    let text = text.replace("\r\n", "\n");
    if let Some(rest) = text.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---\n")
    {
        let header_len = 4 + end + 5;
        return (
            Some(text[..header_len].to_owned()),
            text[header_len..].to_owned(),
        );
    }
    (None, text)
}

fn new_header(description: &str) -> String {
    let meta = Yaml::Hash(
        [("source", SOURCE), ("description", description)]
            .into_iter()
            .map(|(k, v)| (Yaml::String(k.into()), Yaml::String(v.into())))
            .collect(),
    );
    format!("---\n{}---\n", to_yaml(&meta))
}

/// Whether two bodies hold the same YAML, however quoted. Snapshots written with older
/// releases of insta leave the strings `y`, `n`, `Y` and `N` bare, which this emitter
/// quotes; they still match.
fn same_yaml(old: &str, new: &str) -> bool {
    match (
        YamlLoader::load_from_str(old),
        YamlLoader::load_from_str(new),
    ) {
        (Ok(old), Ok(new)) => old == new,
        _ => false,
    }
}

fn normalize(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n")
}

/// A unified diff from the snapshot (`-`) to this run (`+`).
fn diff(old: &str, new: &str) -> String {
    // No file is no line at all, not one empty line.
    let lines = |text: &str| match normalize(text) {
        empty if empty.is_empty() => empty,
        text => format!("{text}\n"),
    };
    let (old, new) = (lines(old), lines(new));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("snapshot", "this run")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_is_what_insta_writes() {
        let recorded = vec![(
            "step 7".to_owned(),
            json!({"status": 422, "body": {"code": "amount_mismatch", "message": "the PG's amount is 5000, not 500; the payment refunded"}}),
        )];
        assert_eq!(
            snapshot_body(&recorded),
            "- - step 7\n  - body:\n      code: amount_mismatch\n      message: \"the PG's amount is 5000, not 500; the payment refunded\"\n    status: 422\n"
        );
    }

    #[test]
    fn a_snapshot_that_quotes_differently_still_matches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.snap");
        // As insta wrote it: `y` bare.
        std::fs::write(
            &path,
            "---\nsource: harness run\ndescription: a\n---\n- - step 1\n  - answer: y\n",
        )
        .unwrap();
        let recorded = |answer: &str| vec![("step 1".to_owned(), json!({"answer": answer}))];
        assert_eq!(
            snapshot_body(&recorded("y")),
            "- - step 1\n  - answer: \"y\"\n"
        );
        assert_eq!(
            check(&path, "a", &recorded("y"), false).unwrap(),
            Checked::Matched
        );
        let mismatch = check(&path, "a", &recorded("n"), false).unwrap_err();
        assert!(
            mismatch.diff.contains("+  - answer: \"n\""),
            "{}",
            mismatch.diff
        );
    }

    #[test]
    fn the_header_is_kept_apart_from_the_body() {
        let (header, body) = split("---\nsource: a\ndescription: b\n---\n- x\n");
        assert_eq!(
            header.as_deref(),
            Some("---\nsource: a\ndescription: b\n---\n")
        );
        assert_eq!(body, "- x\n");
        assert_eq!(
            new_header("A: b"),
            "---\nsource: harness run\ndescription: \"A: b\"\n---\n"
        );
    }
}
