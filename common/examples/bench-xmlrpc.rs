//! How long the XML-RPC documents take to read and write, apart from HTTP: the call that
//! `scripts/bench/xmlrpc.sh` sends (`echo` with five arguments) read with `parse_call`, and its
//! answer written with `write_response`, each timed in microseconds per document (best of the
//! rounds).
//!
//! ```text
//! cargo run --release -p common --example bench-xmlrpc
//! ```

use std::hint::black_box;
use std::time::Instant;

use common::web::xmlrpc::{Value, parse_call, write_call, write_response};

const DOCUMENTS: u32 = 200_000;

fn main() {
    common::cli::no_options(
        "How long the XML-RPC documents take to read and write, apart from HTTP, in microseconds per document.",
    );
    let args = vec![
        Value::Int(42),
        Value::from("hello, world"),
        Value::Double(3.5),
        Value::Bool(true),
        Value::Array(vec![1.into(), 2.into(), 3.into()]),
    ];
    let call = write_call("echo", &args, false).unwrap_or_default();
    let answer = Value::Array(args);
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..DOCUMENTS {
            black_box(parse_call(black_box(call.as_bytes())).ok());
        }
        let read = started.elapsed().as_secs_f64() * 1e6 / f64::from(DOCUMENTS);
        let started = Instant::now();
        for _ in 0..DOCUMENTS {
            black_box(write_response(black_box(&answer), false).ok());
        }
        let written = started.elapsed().as_secs_f64() * 1e6 / f64::from(DOCUMENTS);
        best = (best.0.min(read), best.1.min(written));
    }
    println!(
        "echo with five arguments: read a call in {:.2} us, write its answer in {:.2} us",
        best.0, best.1
    );
}
