//! The UDP echo server: talk 004 (Andrew Bennetts, "Network programming with Twisted"), p.6
//! "Echo Server -- UDP", port 9999.
//!
//! UDP has no connections, so there is no factory: one `DatagramProtocol` serves the whole port,
//! and each datagram arrives with the address it came from, which is where the echo goes. Twisted
//! reads at most 8192 bytes of a datagram and silently drops the rest; ours takes datagrams whole,
//! up to UDP's limit of 65,507 bytes. An empty datagram is echoed as an empty datagram.
//!
//! ```text
//! terminal 1:  cargo run --bin echo-udp
//! terminal 2:  nc -u 127.0.0.1 9999                        # type a line: it comes back
//! ```

#[path = "protocols/echo_udp.rs"]
mod echo_udp;

use std::process::ExitCode;

use clap::Parser;
use common::cli::output::report_error;
use common::cli::server::run_server;
use common::endpoints::DEFAULT_INTERFACE;
use common::errln;

/// Sends every UDP datagram back to its sender (talk 004, p.6). Listens on 127.0.0.1:9999
/// unless told otherwise.
#[derive(Parser)]
struct Options {
    /// The UDP port to listen on; 0 asks the system for any free port.
    #[arg(long, default_value_t = 9999, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on (0.0.0.0 for every interface, as the talk's server did).
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_INTERFACE)]
    interface: String,
}

fn main() -> ExitCode {
    let options = Options::parse();
    run_server(|reactor| {
        let protocol = Box::new(echo_udp::EchoUdp::default());
        match reactor.listen_udp(options.port, protocol, &options.interface) {
            // As on the slide, the port is not kept: the reactor serves it until it stops.
            Ok(port) => errln!("listening on {} (UDP)", port.get_host()),
            Err(error) => {
                report_error(error);
                return Err(ExitCode::FAILURE);
            }
        }
        Ok(Vec::new())
    })
}
