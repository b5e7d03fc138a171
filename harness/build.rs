//! Scenario files are found by a glob at compile time: a new or removed file must rebuild
//! the scenario tests.

fn main() {
    println!("cargo::rerun-if-changed=../scenarios");
}
