//! Records the commit the server is built from, for `/monitors/system`, when git can tell.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    // Where git keeps HEAD and the refs: in a linked worktree `.git` is a file, and a path
    // that does not exist would rerun this script, and rebuild the server, on every build.
    for (name, fallback) in [("HEAD", "../.git/HEAD"), ("refs", "../.git/refs")] {
        let path = git(&["rev-parse", "--git-path", name]).unwrap_or_else(|| fallback.to_owned());
        println!("cargo::rerun-if-changed={path}");
    }
    if let Some(hash) = git(&["rev-parse", "HEAD"]) {
        println!("cargo::rustc-env=PAYMENTS_BUILD_COMMIT={hash}");
        for (name, args) in [
            ("BRANCH", &["rev-parse", "--abbrev-ref", "HEAD"][..]),
            ("SUBJECT", &["log", "-1", "--format=%s"][..]),
            ("COMMITTED_AT", &["log", "-1", "--format=%ct"][..]),
        ] {
            if let Some(value) = git(args) {
                println!("cargo::rustc-env=PAYMENTS_BUILD_{name}={value}");
            }
        }
    }
}
