//! What the tests of `common`'s examples share: finding a built example and running it.

#![allow(dead_code)] // each test file uses a different part of this module

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The path of a built example: `cargo test` builds them into `target/<profile>/examples/`.
pub fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    deps.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// Runs an example to completion with no input.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Captured output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}
