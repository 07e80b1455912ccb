//! Fast Poetry 2.0: tutorial Part 16, "Twisted Daemonologie" (`twisted-server-3/fastpoetry.py`, the
//! tac file).
//!
//! Fast Poetry 1.0 (Part 11) kept the poem on its factory and listened itself. Here the server is
//! a tree of services, the tree of the tutorial's Figure 34:
//!
//! ```text
//! Application "fastpoetry"
//! └── MultiService
//!     ├── PoetryService       loads the poem when started, and holds it
//!     └── TcpServer           listens on localhost:10000 when started
//!         └── PoetryFactory   asks the PoetryService for the poem
//!             └── PoetryProtocol, one per connection: log, send the poem, close
//! ```
//!
//! The service holding the poem knows nothing about TCP; the factory knows nothing about files.
//! Building the tree starts nothing (a tac file only describes a deployment): the services start
//! when the reactor runs, and stop, the last first, when it is stopped (Ctrl-C, or SIGTERM). The
//! program then does what `twistd --nodaemon --python fastpoetry.py` does: it runs in the
//! foreground and logs to stdout in twistd's format. `poetryd` is the real daemon.
//!
//! ```text
//! cargo run --bin fastpoetry-2                                        # terminal 1, from the top
//! nc localhost 10000                                                  # terminal 2
//! cargo run --bin fastpoetry-2 -- --port 10001 --poem poetry/science.txt
//! ```

use std::any::type_name;
use std::cell::{Cell, RefCell};
use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::new_reactor;
use common::cli::output::{plain_error, report_error};
use common::cli::poem::poetry_file;
use common::defer::Failure;
use common::log;
use common::protocol::{Address, Factory, Protocol, Transport};
use common::reactor::Reactor;
use common::service::{Application, MultiService, Service, ServiceState, TcpServer};

/// Serve a poem from a tree of services, in the foreground, logging as twistd does (tutorial
/// Part 16).
///
/// The configuration is the tutorial tac file's: poetry/ecstasy.txt on port 10000 of localhost.
/// The options only change it. Stop it with Ctrl-C; the log shows every service stopping.
#[derive(Debug, Parser)]
#[command(
    name = "fastpoetry-2",
    version,
    after_help = "Example (from the top of the project):\n  fastpoetry-2\nThen fetch with: nc localhost 10000"
)]
struct Options {
    /// The port to listen on; 0 asks the system for any free port (the log says which).
    #[arg(long, default_value_t = 10000, value_parser = common::cli::address::listen_port)]
    port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = "localhost")]
    iface: String,

    /// The poem to serve [default: poetry/ecstasy.txt, from the top of the project].
    #[arg(long, value_name = "FILE", value_parser = poetry_file)]
    poem: Option<PathBuf>,
}

/// The tac file's poem, a path relative to where the program is started: the top of the project.
const DEFAULT_POEM: &str = "poetry/ecstasy.txt";

/// The poem to serve: the one named with `--poem`, else the tac file's. Started away from the top of
/// the project (an installed program usually is), the default is not there: that is a usage
/// error that says what to do, rather than a failure once the services start.
fn poem_to_serve(options: &Options) -> Result<PathBuf, String> {
    match &options.poem {
        Some(poem) => Ok(poem.clone()),
        None => poetry_file(DEFAULT_POEM).map_err(|_| {
            format!("no {DEFAULT_POEM} here: start it from the top of the project, or name a poem with --poem FILE")
        }),
    }
}

/// Holds the poem: loads it when started. It knows nothing about connections, so another protocol
/// could serve the same poem.
struct PoetryService {
    state: ServiceState,
    poetry_file: PathBuf,
    poem: RefCell<Option<Rc<[u8]>>>,
}

impl Service for PoetryService {
    fn state(&self) -> &ServiceState {
        &self.state
    }

    fn start_service(&self) -> Result<(), Failure> {
        let poem = fs::read(&self.poetry_file).map_err(|error| {
            Failure::exception(format!(
                "cannot read {}: {}",
                self.poetry_file.display(),
                plain_error(&error)
            ))
        })?;
        *self.poem.borrow_mut() = Some(poem.into());
        self.state.set_running(true);
        log::msg(format!(
            "loaded a poem from: {}",
            self.poetry_file.display()
        ));
        Ok(())
    }
}

/// One connection: log it, send the poem the service holds, close.
struct PoetryProtocol {
    service: Rc<PoetryService>,
}

impl Protocol for PoetryProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        if let Some(poem) = self.service.poem.borrow().as_ref() {
            log::msg_from(
                &type_name::<PoetryFactory>().replace("::", "."),
                format!(
                    "sending {} bytes of poetry to {}",
                    poem.len(),
                    transport.get_peer()
                ),
            );
            transport.write(poem);
        }
        transport.lose_connection();
    }
}

/// Makes the protocols; the poem is no longer here but on the service.
struct PoetryFactory {
    service: Rc<PoetryService>,
}

impl Factory for PoetryFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(PoetryProtocol {
            service: Rc::clone(&self.service),
        }))
    }
}

/// The tac file: the tree of services, built but not started.
fn application(reactor: &Reactor, options: &Options, poem: PathBuf) -> Application {
    // This will hold the services that together make the poetry server.
    let top_service = Rc::new(MultiService::new());

    // The poetry service loads the poem when it is started.
    let poetry_service = Rc::new(PoetryService {
        state: ServiceState::default(),
        poetry_file: poem,
        poem: RefCell::new(None),
    });
    // The TCP service connects the factory to a listening socket, once it is started.
    let factory = Rc::new(PoetryFactory {
        service: Rc::clone(&poetry_service),
    });
    let tcp_service = Rc::new(TcpServer::new(
        reactor,
        options.port,
        factory,
        &options.iface,
    ));

    let application = Application::new("fastpoetry");
    // Unnamed services never clash, so none of these can fail.
    let _ = top_service.add_service(poetry_service);
    let _ = top_service.add_service(tcp_service);
    let _ = application.add_service(top_service);
    application
}

fn main() -> ExitCode {
    let options = Options::parse();
    let poem = match poem_to_serve(&options) {
        Ok(poem) => poem,
        Err(error) => {
            report_error(error);
            return ExitCode::from(2);
        }
    };
    // A closed log pipe must not take the server down with it.
    common::cli::output::keep_serving_without_readers();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let application = Rc::new(application(&reactor, &options, poem));

    // From here on, what twistd does with the application of a tac file.
    log::start_logging(io::stdout());
    let started = Rc::new(Cell::new(true));
    let (app, handle, ok) = (
        Rc::clone(&application),
        reactor.clone(),
        Rc::clone(&started),
    );
    reactor.call_when_running(move || {
        if let Err(failure) = app.start() {
            ok.set(false);
            // Once, on stderr: the log is on the same terminal, and a second line would only
            // repeat it.
            report_error(failure.error());
            let _ = handle.stop();
        }
    });
    let _ = reactor.run();
    // Ctrl-C or SIGTERM stopped the loop: stop the services, the last started first. Closing a
    // port is immediate, so there is nothing to wait for.
    let _ = application.stop_service();
    log::msg("Main loop terminated.");
    log::msg("Server Shut Down.");
    if started.get() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
