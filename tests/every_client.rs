//! Every poetry client against the reactor's slow server, `slowpoetry-reactor`, which serves all of
//! a client's connections at once (the other test files mostly use the blocking `slowpoetry`).

mod support;

use std::collections::BTreeSet;

use support::{Server, poem, poem_path, run};

const CLIENTS: [&str; 8] = [
    "get-poetry-blocking",
    "get-poetry-async",
    "get-poetry-1",
    "get-poetry-1-broken",
    "get-poetry-2",
    "get-poetry-2-simple",
    "get-poetry-3",
    "get-poetry-3-1",
];

fn reactor_server(name: &str) -> Server {
    Server::start(
        "slowpoetry-reactor",
        &[
            poem_path(name).to_str().unwrap(),
            "--delay",
            "2ms",
            "--quiet",
        ],
    )
}

#[test]
fn every_client_gets_every_poem_intact_from_slowpoetry_reactor() {
    let servers = [
        reactor_server("ecstasy.txt"),
        reactor_server("alla_sera.txt"),
    ];
    let expected: BTreeSet<Vec<u8>> = [poem("ecstasy.txt"), poem("alla_sera.txt")].into();
    let ports = [servers[0].arg(), servers[1].arg()];
    // The server serves them all at once, so the clients run side by side.
    let runs: Vec<_> = CLIENTS
        .iter()
        .map(|&client| {
            let ports = ports.clone();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let save_dir = dir.path().to_str().unwrap();
                let output = run(client, &[&ports[0], &ports[1], "--save-dir", save_dir]);
                (client, output, dir)
            })
        })
        .collect();
    for handle in runs {
        let (client, output, dir) = handle.join().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{client}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Clients number saved poems by task or by the order they ended: compare them as a set.
        let saved: BTreeSet<Vec<u8>> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(saved == expected, "{client} saved {} poems", saved.len());
    }
}
