//! NetCatChat: talk 002 (Patrick Cloke and Stephen DiCato, "Twisted concepts & patterns"), the
//! system its slides build: a chat server that people use with `nc`, and in the same process an
//! HTTP API to administer it (`runner.py`, "Update reactor to expose API").
//!
//! One reactor, two listening ports, one state: the chat's factory keeps the users and the banner,
//! and the API's resources read and change that same factory. Everything is logged on stdout in
//! Twisted's legacy format (`log.startLogging(sys.stdout)`): the start, every message (`127.0.0.1:
//! hi all`), every API request, the shutdown.
//!
//! ```text
//! terminal 1:  cargo run --bin catchat                           # chat on 1400, API on 8080
//! terminal 2:  nc 127.0.0.1 1400                                 # Welcome to NetCatChat!
//! terminal 3:  nc 127.0.0.1 1400                                 # type: the other nc shows it
//! terminal 4:  curl 127.0.0.1:8080/users/                        # {"users": 2}
//!              curl -d '{"banner": "Be nice!"}' 127.0.0.1:8080/banner/
//! ```
//!
//! `--chat` and `--api` take endpoint strings (`tcp:0` for any free port, as the tests do);
//! `--api-token` protects the API; `--redis URL` shares one chat between several servers.

mod api;
mod chat;
mod scale;
mod setup;
mod text;
#[path = "../support/token.rs"]
mod token;

use std::io;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::output::report_error;
use common::cli::server::listen_on;
use common::log;
use common::protocol::Address;
use common::reactor::ListeningPort;

use setup::ChatOptions;

/// Run NetCatChat: a chat for `nc` users on port 1400 and its admin API on port 8080, in one
/// process (talk 002). Both listen on 127.0.0.1 unless told otherwise. The log goes to stdout.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples:\n  catchat\n  catchat --chat tcp:1400:interface=0.0.0.0 --api tcp:8080\n  \
                  catchat --api-token-file token.txt\n  nc 127.0.0.1 1400\n  \
                  curl -d '{\"banner\": \"Be nice!\"}' 127.0.0.1:8080/banner/"
)]
struct Options {
    #[command(flatten)]
    chat: ChatOptions,
}

/// How the log names each factory: as Python names a class, module first.
const CHAT_FACTORY: &str = "chat.NetCatChatFactory";
const SITE_FACTORY: &str = "common.web.Site";

fn main() -> ExitCode {
    let options = Options::parse().chat;
    let token = match options.token.token() {
        Ok(token) => token,
        Err(line) => {
            report_error(line);
            return ExitCode::from(2);
        }
    };
    common::cli::output::keep_serving_without_readers();
    let reactor = match common::cli::new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let catchat = match setup::build(&options, token, &reactor) {
        Ok(catchat) => catchat,
        Err(line) => {
            report_error(line);
            return ExitCode::from(2);
        }
    };
    log::start_logging(io::stdout());

    let Ok(chat_port) = listen_on(
        &reactor,
        std::slice::from_ref(&options.chat),
        catchat.factory.clone(),
    ) else {
        return ExitCode::FAILURE;
    };
    log_factory_start(
        &chat_port[0],
        "NetCatChatFactory",
        &repr(CHAT_FACTORY, &catchat.factory),
    );
    let Ok(api_port) = listen_on(
        &reactor,
        std::slice::from_ref(&options.api),
        catchat.site.clone(),
    ) else {
        chat_port[0].stop_listening();
        return ExitCode::FAILURE;
    };
    log_factory_start(&api_port[0], "Site", &repr(SITE_FACTORY, &catchat.site));
    log::msg(format!(
        "Listening for netcat on port {}",
        port_label(&chat_port[0].get_host())
    ));
    log::msg(format!(
        "Listening for HTTP on port {}",
        port_label(&api_port[0].get_host())
    ));

    let _ = reactor.run();

    if let Some(signal) = reactor.stopped_by_signal() {
        log::msg(format!("Received {signal}, shutting down."));
    }
    log_factory_stop(
        &chat_port[0],
        CHAT_FACTORY,
        &repr(CHAT_FACTORY, &catchat.factory),
    );
    log_factory_stop(
        &api_port[0],
        SITE_FACTORY,
        &repr(SITE_FACTORY, &catchat.site),
    );
    log::msg("Main loop terminated.");
    ExitCode::SUCCESS
}

/// `NetCatChatFactory starting on 1400` and `Starting factory <…>`, as Twisted logs a port.
fn log_factory_start(port: &ListeningPort, class: &str, repr: &str) {
    log::msg(format!(
        "{class} starting on {}",
        port_label(&port.get_host())
    ));
    log::msg(format!("Starting factory {repr}"));
}

/// Closes `port` and logs it as Twisted does: the closing line under the factory's name, then
/// `Stopping factory <…>`.
fn log_factory_stop(port: &ListeningPort, system: &str, repr: &str) {
    let address = port.get_host();
    port.stop_listening();
    let kind = match address {
        Address::Tcp(_) => "TCP",
        Address::Unix(_) => "UNIX",
    };
    log::msg_from(
        system,
        format!("({kind} Port {} Closed)", port_label(&address)),
    );
    log::msg(format!("Stopping factory {repr}"));
}

/// How Twisted names a port in its lines: a TCP port's number, a UNIX socket's quoted path.
fn port_label(address: &Address) -> String {
    match address {
        Address::Tcp(address) => address.port().to_string(),
        Address::Unix(path) => format!(
            "'{}'",
            path.as_deref()
                .map_or(String::new(), |path| path.display().to_string())
        ),
    }
}

/// An object as Python prints it: `<chat.NetCatChatFactory object at 0x55d4c0a1b2c0>`.
fn repr<T>(class: &str, object: &Rc<T>) -> String {
    format!("<{class} object at {:#x}>", Rc::as_ptr(object) as usize)
}
