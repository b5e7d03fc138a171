//! Writes the OpenAPI documents of the payments API, the admin API and the fakes:
//! `openapi --write DIR` (the committed ones: `--write openapi` from the repository's root),
//! `openapi --check DIR` (fails when a file differs), or `openapi NAME` to print one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use payments_harness::openapi;

#[derive(Debug, Parser)]
#[command(about = "Writes or checks the sandbox's OpenAPI documents")]
struct Args {
    /// Write every document into this directory as <name>.json.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["check", "name"])]
    write: Option<PathBuf>,
    /// Fail when a document in this directory is missing or differs from the code's.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    check: Option<PathBuf>,
    /// Print one document: payments, admin, toss, iamport or portone.
    name: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(dir) = args.write {
        return match openapi::write(&dir) {
            Ok(files) => {
                for file in files {
                    println!("wrote {file}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: writing into {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
    if let Some(dir) = args.check {
        let stale = openapi::stale(&dir);
        if stale.is_empty() {
            println!("the documents in {} are up to date", dir.display());
            return ExitCode::SUCCESS;
        }
        for line in stale {
            eprintln!("{line}");
        }
        eprintln!("regenerate them with `{}`", openapi::REGENERATE);
        return ExitCode::FAILURE;
    }
    let documents = openapi::documents();
    let names: Vec<&str> = documents.iter().map(|(name, _)| *name).collect();
    match args.name {
        Some(name) => match documents.iter().find(|(n, _)| *n == name) {
            Some((_, document)) => {
                print!("{}", openapi::render(document));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "error: no document {name:?}; the documents are {}",
                    names.join(", ")
                );
                ExitCode::FAILURE
            }
        },
        None => {
            eprintln!(
                "error: give --write DIR, --check DIR or one of {}",
                names.join(", ")
            );
            ExitCode::FAILURE
        }
    }
}
