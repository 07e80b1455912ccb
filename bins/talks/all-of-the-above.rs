//! All of the above: talk 004 (Andrew Bennetts, "Network programming with Twisted"), p.7.
//!
//! One reactor serves any number of ports at once: the hello server on TCP 9001, the echo server
//! on TCP 9002 and the UDP echo server on UDP 9002, in one process, with the protocols of pp.4-6
//! used as they are (the talk's program imports them from the three earlier programs; ours
//! includes the same three files). Ctrl-C stops all three.
//!
//! ```text
//! terminal 1:  cargo run --bin all-of-the-above
//! terminal 2:  nc 127.0.0.1 9001                           # Hello, World!
//!              nc 127.0.0.1 9002                           # echo over TCP
//!              nc -u 127.0.0.1 9002                        # echo over UDP
//! ```

#[path = "protocols/echo.rs"]
mod echo;
#[path = "protocols/echo_udp.rs"]
mod echo_udp;
#[path = "protocols/hello.rs"]
mod hello;

use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::output::report_error;
use common::cli::server::{listen_on, run_server};
use common::endpoints::{DEFAULT_INTERFACE, ServerEndpoint};
use common::errln;

/// Serves hello on TCP 9001, echo on TCP 9002 and echo on UDP 9002, all from one reactor (talk
/// 004, p.7). Everything listens on 127.0.0.1 unless told otherwise.
#[derive(Parser)]
struct Options {
    /// Where the hello server listens, as an endpoint string (tcp:PORT[:interface=ADDR] or
    /// unix:PATH).
    #[arg(long, value_name = "ENDPOINT", default_value = "tcp:9001")]
    hello: ServerEndpoint,

    /// Where the TCP echo server listens, as an endpoint string.
    #[arg(long, value_name = "ENDPOINT", default_value = "tcp:9002")]
    echo: ServerEndpoint,

    /// The UDP port of the UDP echo server; 0 asks the system for any free port.
    #[arg(long, value_name = "PORT", default_value_t = 9002, value_parser = common::cli::address::listen_port)]
    udp_port: u16,

    /// The interface the UDP echo server listens on.
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_INTERFACE)]
    udp_interface: String,
}

fn main() -> ExitCode {
    let options = Options::parse();
    run_server(|reactor| {
        let mut ports = listen_on(reactor, &[options.hello], Rc::new(hello::HelloFactory))?;
        ports.extend(listen_on(
            reactor,
            &[options.echo],
            Rc::new(echo::EchoFactory),
        )?);
        let udp = Box::new(echo_udp::EchoUdp::default());
        match reactor.listen_udp(options.udp_port, udp, &options.udp_interface) {
            Ok(port) => errln!("listening on {} (UDP)", port.get_host()),
            Err(error) => {
                report_error(error);
                return Err(ExitCode::FAILURE);
            }
        }
        Ok(ports)
    })
}
