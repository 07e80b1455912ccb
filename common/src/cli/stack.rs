//! The stack demos' backtraces, cut down to the frames the lesson is about.
//!
//! The tutorial's stack demos (`stack`, clients 2.0 and 4.0 "with stacktrace") print how the
//! reactor came to call our code. A raw Rust backtrace of that moment has sixty to ninety frames,
//! most of them tokio's scheduler and std's start-up code, and the two or three frames that matter
//! (our callback, the reactor's loop, `main`) are lost among them. [`lesson_stack`] keeps the frames
//! of the program and of this crate (the reactor and the Deferreds), with their numbers so that the
//! gaps show, and counts the others in one last line.

use std::backtrace::Backtrace;
use std::fmt::Write;

/// The stack of the caller, as the stack demos print it: the frames of the program, whose crate is
/// `ours` (pass `env!("CARGO_CRATE_NAME")`), and those of `common`, each with its source lines, then
/// `... N frames of std and tokio` for all the others.
///
/// Frame names need symbols, which every build has; source lines need debug information, which
/// `cargo run` builds have. A release build inlines small functions into their callers, so a
/// callback the demo is about must be marked `#[inline(never)]` to keep its frame.
#[inline(never)]
pub fn lesson_stack(ours: &str) -> String {
    cut(&Backtrace::force_capture().to_string(), ours)
}

/// Keeps the frames of `ours` and `common` in `backtrace` (std's rendering: a `N: name` line per
/// frame, then `at file:line` lines) and counts the others.
fn cut(backtrace: &str, ours: &str) -> String {
    let mut kept = String::new();
    let mut others = 0;
    let mut keeping = false;
    for line in backtrace.lines() {
        if let Some(name) = frame_name(line) {
            // The frame of `lesson_stack` itself is no part of the story.
            if name.starts_with(concat!(module_path!(), "::lesson_stack")) {
                keeping = false;
                continue;
            }
            keeping = is_ours(name, ours);
            if !keeping {
                others += 1;
            }
        }
        if keeping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let _ = write!(kept, "      ... {others} frames of std and tokio");
    kept
}

/// The function name of a frame's first line (`  12: common::reactor::Reactor::run`), or `None` for
/// the `at` lines that follow it.
fn frame_name(line: &str) -> Option<&str> {
    let (number, name) = line.trim_start().split_once(": ")?;
    number.bytes().all(|b| b.is_ascii_digit()).then_some(name)
}

/// Whether a function belongs to the program or to `common`: its path, or the path of the type it
/// is a method of (`<get_poetry_2_stack::PoetryProtocol as common::protocol::Protocol>::...`),
/// starts with one of the two crates. A generic of std that merely mentions one of our types
/// (`core::ops::function::FnOnce::call_once<common::...>`) is std's.
fn is_ours(name: &str, ours: &str) -> bool {
    let path = name.strip_prefix('<').unwrap_or(name);
    [ours, "common"].iter().any(|krate| {
        path.strip_prefix(krate)
            .is_some_and(|rest| rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/library/std/src/backtrace.rs:312:9
   0: common::cli::stack::lesson_stack
             at ./common/src/cli/stack.rs:21:10
   1: stack::stack
             at ./common/examples/stack.rs:18:5
   2: core::ops::function::FnOnce::call_once<common::reactor::X>
   3: <stack::Demo as common::protocol::Protocol>::data_received
   4: tokio::runtime::park::CachedParkThread::block_on
             at /tokio/src/runtime/park.rs:281:63
   5: common::reactor::Reactor::run
             at ./common/src/reactor/mod.rs:200:9
   6: stacker::main
   7: stack::main
   8: main";

    #[test]
    fn only_our_frames_are_kept_and_the_others_counted() {
        assert_eq!(
            cut(RAW, "stack"),
            "   1: stack::stack
             at ./common/examples/stack.rs:18:5
   3: <stack::Demo as common::protocol::Protocol>::data_received
   5: common::reactor::Reactor::run
             at ./common/src/reactor/mod.rs:200:9
   7: stack::main
      ... 5 frames of std and tokio"
        );
    }

    #[test]
    fn the_real_stack_shows_this_test() {
        let stack = lesson_stack("common");
        assert!(stack.contains("the_real_stack_shows_this_test"), "{stack}");
        assert!(!stack.contains("std::backtrace"), "{stack}");
    }
}
