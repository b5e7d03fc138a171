//! The fuzz targets on the stable toolchain: every committed corpus input again (seeds and
//! what `cargo fuzz` found), then a proptest loop of random and mutated input per target.

use std::path::{Path, PathBuf};

use payments_fuzz::TARGETS;
use proptest::prelude::*;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn every_committed_input_runs_clean() {
    for (target, run) in TARGETS {
        let inputs = corpus(target);
        assert!(!inputs.is_empty(), "the corpus of {target} is empty");
        for (path, bytes) in inputs {
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(outcome.is_ok(), "{target}: {} panics", path.display());
        }
    }
}

/// Random bytes, and corpus inputs with random bytes flipped, inserted or cut.
fn input(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, b)| b).collect();
    let mutated = (
        proptest::sample::select(seeds),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, byte, kind) in edits {
                let len = bytes.len();
                match kind {
                    0 if len > 0 => bytes[at.index(len)] = byte,
                    1 => bytes.insert(at.index(len + 1), byte),
                    _ if len > 0 => bytes.truncate(at.index(len)),
                    _ => bytes.push(byte),
                }
            }
            bytes
        });
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..512), mutated]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn codec_takes_any_input(bytes in input("codec")) {
        payments_fuzz::codec(&bytes);
    }

    #[test]
    fn signature_takes_any_input(bytes in input("signature")) {
        payments_fuzz::signature(&bytes);
    }

    #[test]
    fn wire_types_take_any_input(bytes in input("wire_types")) {
        payments_fuzz::wire_types(&bytes);
    }

    #[test]
    fn pg_notifications_take_any_input(bytes in input("pg_notifications")) {
        payments_fuzz::pg_notifications(&bytes);
    }

    #[test]
    fn scenarios_take_any_input(bytes in input("scenario")) {
        payments_fuzz::scenario(&bytes);
    }
}
