//! The Slow Poetry Server, blocking edition: tutorial Part 2, "Slow Poetry and the Apocalypse".
//!
//! This server sends a poem a few characters at a time with a pause between sends, so that the time a
//! download takes can be seen and measured. It is written the plain, synchronous way, with std's
//! blocking sockets: it accepts one client, drips the whole poem to it, and only then accepts the
//! next. While one client is served the others wait in the listen queue and get nothing, which is
//! exactly what the tutorial wants a student to notice.
//!
//! Run the three servers of Part 2, each in its own terminal:
//!
//! ```text
//! cargo run --bin slowpoetry -- --port 10000 poetry/ecstasy.txt --num-bytes 30
//! cargo run --bin slowpoetry -- --port 10001 poetry/fascination.txt
//! cargo run --bin slowpoetry -- --port 10002 poetry/science.txt
//! ```
//!
//! and watch one of them with netcat (`nc localhost 10000`), or fetch from all three with
//! `get-poetry-blocking` and `get-poetry-async`.

use std::fs;
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::Parser;
use common::cli::address::{PythonPeer, listen_address};
use common::cli::duration::{TimeFormat, parse_timeout};
use common::cli::output::{plain_error, report_error};
use common::cli::poem::chunks;
use common::cli::server::{PacingOptions, ServeOptions};
use common::protocol::Address;
use common::{errln, outln};

/// Serve one poem, slowly, to one client at a time (tutorial Part 2).
///
/// A deliberately blocking server: each client gets the poem a few characters at a time with a
/// pause between sends, and the next client waits until the current one is done. It prints the port
/// it listens on first, then a line per client and per send.
#[derive(Debug, Parser)]
#[command(
    name = "slowpoetry",
    version,
    after_help = "Examples:\n  slowpoetry poetry/ecstasy.txt                      (any free port)\n  \
                  slowpoetry --port 10000 poetry/ecstasy.txt --num-bytes 30\n  \
                  slowpoetry --num-bytes 50 --delay 5 poetry/ecstasy.txt\n\
                  Then fetch with: nc localhost 10000"
)]
struct Options {
    #[command(flatten)]
    serve: ServeOptions,

    #[command(flatten)]
    pacing: PacingOptions,

    /// Give up on a client that takes nothing for this long: seconds (10) or a number with a
    /// unit (500ms). One client at a time is this server's lesson; a client that never reads
    /// must not keep the others waiting for ever.
    #[arg(long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    send_timeout: Duration,
}

fn main() -> ExitCode {
    let options = Options::parse();
    // A closed log pipe must not take the server down with it.
    common::cli::output::keep_serving_without_readers();
    let listener = match listen_address(&options.serve.iface, options.serve.port)
        .and_then(TcpListener::bind)
    {
        Ok(listener) => listener,
        Err(error) => {
            report_error(format_args!(
                "cannot listen on {} port {}: {}",
                options.serve.iface,
                options.serve.port,
                plain_error(&error)
            ));
            return ExitCode::FAILURE;
        }
    };
    let port = listener
        .local_addr()
        .map_or(options.serve.port, |addr| addr.port());
    outln!("Serving {} on port {port}.", options.serve.poem.display());

    // One client at a time: `serve` does not return until this client has the whole poem (or has
    // gone), and only then does the loop come back to accept the next one.
    for connection in listener.incoming() {
        match connection {
            Ok(client) => serve(client, &options),
            Err(error) => {
                // Usually the process ran out of file descriptors; pause so the loop does not spin.
                errln!("accept failed: {error}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    ExitCode::SUCCESS
}

/// Sends the whole poem to one client, a chunk at a time, blocking in `write_all` and `sleep`.
fn serve(mut client: TcpStream, options: &Options) {
    let peer = match client.peer_addr() {
        Ok(addr) => Address::Tcp(addr),
        Err(error) => {
            errln!("a client left before it could be served: {error}");
            return;
        }
    };
    let peer = PythonPeer(&peer);
    outln!("Somebody at {peer} wants poetry!");
    if let Err(error) = client.set_write_timeout(Some(options.send_timeout)) {
        errln!("cannot serve {peer}: {error}");
        return;
    }

    // Read afresh for every client, so an edited poem shows in the next download.
    let poem = match fs::read(&options.serve.poem) {
        Ok(poem) => poem,
        Err(error) => {
            errln!("cannot read {}: {error}", options.serve.poem.display());
            return;
        }
    };
    for chunk in chunks(&poem, options.pacing.chars_per_chunk()) {
        outln!("Sending {} bytes", chunk.len());
        match client.write_all(chunk) {
            Ok(()) => {}
            // A write that waited as long as it may: the client is not reading.
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let waited = TimeFormat::Human.show(options.send_timeout);
                outln!("Somebody at {peer} took nothing for {waited}: giving up");
                return;
            }
            Err(error) => {
                outln!("Somebody at {peer} went away: {}", plain_error(&error));
                return;
            }
        }
        thread::sleep(options.pacing.delay);
    }
    // End of file is the end of the poem: closing our side tells the client it has everything.
    let _ = client.shutdown(Shutdown::Write);
}
