//! `payments-server serve` as a real process, for the suites that kill it or its database.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `payments-server serve --config config`, without the `PAYMENTS_*` variables of
/// the environment the tests run in, and waits for its banner: the process and the address
/// it listens on.
pub fn serve(config: &Path) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payments-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PAYMENTS_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let address = banner
        .trim()
        .strip_prefix("payments server listening on ")
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"))
        .to_owned();
    (child, address)
}
