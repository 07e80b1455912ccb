//! Perspective Broker against the real thing: Twisted's own PB, in Python, talking to our programs
//! and our programs talking to it, on the seeds' examples (talk 004's pbecho, the training's
//! key-value store over PB and its ipc pair). The Python peers are ours, written on current
//! Twisted's API, in `scripts/interop/twisted/`.
//!
//! Twisted comes from the virtual environment that `scripts/interop/pb.sh` makes once per machine
//! (`.ci/run` calls it before the tests). Without it, e.g. with no access to PyPI, each test says
//! so and passes.

mod support;

use support::lines;
use support::twisted::{self, PythonServer};

/// The Python peers agree with each other: the reference the other tests hold us to.
#[test]
fn the_twisted_peers_talk_to_each_other() {
    let Some(python) = twisted::python() else {
        return;
    };
    let server = PythonServer::start(&python, "pbecho_server.py");
    let client = twisted::run(&python, "pbecho_client.py", &[&server.arg()]);
    assert_eq!(
        lines(&client.stdout),
        [
            "connected.",
            "Message received: hello world",
            "error received: <class 'pbecho.DefinedError'>",
        ]
    );
    assert!(client.status.success());
    assert_eq!(server.next_line(), "echoing hello world");
    let logged_out = server.next_line();
    assert!(
        logged_out.starts_with("<pbecho.SimplePerspective object at 0x")
            && logged_out.ends_with("> logged out"),
        "{logged_out}"
    );

    let store = PythonServer::start(&python, "keyvalue_pb_server.py");
    let client = twisted::run(
        &python,
        "keyvalue_pb_client.py",
        &[
            &store.arg(),
            "('set', b'a', 'x y')",
            "('get', b'a')",
            "('get', 'a')",
        ],
    );
    assert_eq!(
        lines(&client.stdout),
        ["set: b'a'", "get: 'x y'", "get: builtins.KeyError: 'a'"]
    );
}
