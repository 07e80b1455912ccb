//! poetryd, our `twistd`: tutorial Part 16, "Twisted Daemonologie", with the plugin of Fast Poetry
//! 3.0 (`twisted/plugins/fastpoetry_plugin.py`) and, beside it, plugins for a slow poetry server,
//! the transform server of Part 12 (`transformedpoetry`), the caching proxy of Part 14
//! (`poetry-proxy`), twistd's `web` plugin for static files (talk 001's `twistd web --path`), and
//! talk 002's chat server with its API (`catchat`) and its admin dashboard (`catchat-dashboard`,
//! the talk's `twistd web --wsgi=dashboard.app`).
//!
//! A production server should not live in a terminal: it runs as a daemon (no terminal, its own
//! session, so that logging out does not stop it), writes a log file instead of printing, and
//! records its process id in a file so that `kill $(cat poetryd.pid)` stops it cleanly. twistd does
//! all that for any Twisted application; poetryd does it for the poetry services of this project.
//!
//! Each plugin only builds a tree of services (a service that holds the poem, and a `TcpServer`
//! that listens with a factory using it), as a Twisted plugin's `makeService` does. poetryd puts
//! that tree under an `Application`, becomes a daemon, starts the tree once the reactor runs, and
//! on SIGTERM or SIGINT stops it again and logs how the shutdown went. SIGHUP reopens the log file,
//! for logrotate.
//!
//! ```text
//! cargo run --bin poetryd -- fastpoetry --port 10000 --poem poetry/ecstasy.txt   # returns at once
//! nc localhost 10000; cat poetryd.log                                             # a request, logged
//! kill $(cat poetryd.pid)                                                         # clean shutdown
//! cargo run --bin poetryd -- --nodaemon slowpoetry --port 10001 --poem poetry/science.txt
//! cargo run --bin poetryd -- --nodaemon --pidfile t.pid transformedpoetry --port 11000
//! cargo run --bin poetryd -- --nodaemon --pidfile p.pid poetry-proxy --port 10002 --server 10000
//! cargo run --bin poetryd -- --nodaemon web --path . --port 8080                   # talk 001
//! cargo run --bin poetryd -- --nodaemon catchat                                    # talk 002
//! cargo run --bin poetryd -- --nodaemon --pidfile d.pid catchat-dashboard          # talk 002
//! ```

mod catchat;
mod catchat_dashboard;
mod daemon;
mod fastpoetry;
mod pidfile;
mod poem_service;
mod poetry_proxy;
mod slowpoetry;
#[path = "../../talks/support/token.rs"]
mod token;
#[path = "../support/transform_server.rs"]
mod transform_server;
mod transformedpoetry;
mod web;

use std::any::type_name;
use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::{CommandFactory, Parser, Subcommand};
use common::cli::new_reactor;
use common::cli::output::{plain_error, program_name, report_error};
use common::defer::{Deferred, Failure, succeed};
use common::errln;
use common::log;
use common::reactor::Reactor;
use common::service::{Application, MultiService, Service};
use tokio::signal::unix::{SignalKind, signal};

use daemon::{Forked, StartReport, daemonize};
use pidfile::PidFile;

/// The pid file's name unless `--pidfile` gives another.
const PID_FILE: &str = "poetryd.pid";

/// Run a poetry service as a daemon, as twistd runs a Twisted plugin (tutorial Part 16).
///
/// poetryd detaches from the terminal, logs to a file and writes its process id to a pid file once
/// the service listens; `kill $(cat poetryd.pid)` stops it cleanly. Its own options come before the
/// plugin's name, the plugin's options after it. With no plugin, it lists the plugins.
#[derive(Debug, Parser)]
#[command(
    name = "poetryd",
    version,
    subcommand_value_name = "PLUGIN",
    subcommand_help_heading = "Plugins",
    disable_help_subcommand = true,
    after_help = "Examples:\n  poetryd fastpoetry --port 10000 --poem poetry/ecstasy.txt\n  \
                  poetryd --nodaemon slowpoetry --port 10001 --poem poetry/science.txt --delay 0.5\n  \
                  poetryd transformedpoetry --port 11000\n  \
                  poetryd poetry-proxy --port 10002 --server 10000\n  \
                  poetryd --nodaemon web --path . --port 8080\n  \
                  poetryd catchat --chat tcp:1400 --api tcp:8080\n  \
                  poetryd --pidfile dashboard.pid catchat-dashboard --port 5000\n  \
                  poetryd fastpoetry --help\nStop a daemon with: kill $(cat poetryd.pid)"
)]
struct Options {
    /// Stay in the foreground, and log to stdout unless --logfile is given.
    #[arg(short, long)]
    nodaemon: bool,

    /// Where the log goes: poetryd.log by default, stdout with --nodaemon; `-` is stdout.
    #[arg(short, long, value_name = "FILE")]
    logfile: Option<PathBuf>,

    /// The file that holds the server's process id while it runs. [default: poetryd.pid; none for
    /// the web plugin with --nodaemon, which would write it into the folder it serves]
    #[arg(long, value_name = "FILE")]
    pidfile: Option<PathBuf>,

    #[command(subcommand)]
    plugin: Option<Plugin>,
}

/// The plugins: each builds the service tree of one kind of poetry server from its options.
#[derive(Debug, Subcommand)]
enum Plugin {
    /// A fast poetry service.
    ///
    /// Each client gets the whole poem as soon as it connects (Fast Poetry 3.0, the plugin of
    /// Part 16).
    Fastpoetry(fastpoetry::Options),
    /// A slow poetry service.
    ///
    /// Each client gets the poem a few characters at a time, with a pause between sends, and all
    /// clients are served at once (the reactor's slow server of Part 11, as a plugin).
    Slowpoetry(slowpoetry::Options),
    /// A poetry transformation service.
    ///
    /// Each client sends one netstring, `<name>.<poem>`, and gets the poem back transformed, as
    /// one netstring, before the server closes the connection (the transform server of Part 12,
    /// as a plugin).
    #[command(after_help = transform_server::transforms_help())]
    Transformedpoetry(transformedpoetry::Options),
    /// A caching poetry proxy.
    ///
    /// The first client makes the proxy fetch the poem from the upstream server; clients arriving
    /// meanwhile wait for that same download, and later ones get the cached copy (the proxy of
    /// Part 14, as a plugin).
    PoetryProxy(poetry_proxy::Options),
    /// A web server for static files.
    ///
    /// Serves a folder over HTTP, as `twistd web --path` does (talk 001, "A simple HTTP Server"):
    /// files with their length, type and date, ranges, listings of folders without an index file.
    /// No file is ever run, and nothing outside the folder is served.
    Web(web::Options),
    /// A chat server for nc users, with its admin API.
    ///
    /// Every user gets the banner when they connect, then everything the others send (talk 002's
    /// NetCatChat); the HTTP API counts the users and reads and sets the banner.
    Catchat(catchat::Options),
    /// The chat server's admin dashboard.
    ///
    /// A web page that shows the chat's user count and banner and sets the banner, through the
    /// chat server's API (talk 002's dashboard, which the talk ran with `twistd web --wsgi`).
    CatchatDashboard(catchat_dashboard::Options),
}

impl Plugin {
    /// The plugin's name, which is also the application's.
    fn tapname(&self) -> &'static str {
        match self {
            Plugin::Fastpoetry(_) => "fastpoetry",
            Plugin::Slowpoetry(_) => "slowpoetry",
            Plugin::Transformedpoetry(_) => "transformedpoetry",
            Plugin::PoetryProxy(_) => "poetry-proxy",
            Plugin::Web(_) => "web",
            Plugin::Catchat(_) => "catchat",
            Plugin::CatchatDashboard(_) => "catchat-dashboard",
        }
    }

    /// What the plugin's options cannot be checked for while they are parsed (a file to read, a
    /// combination): refused here, in the terminal, before poetryd forks.
    fn check(&self) -> Result<(), String> {
        match self {
            Plugin::Catchat(options) => options.check(),
            Plugin::CatchatDashboard(options) => options.check(),
            Plugin::PoetryProxy(options) => options.check(),
            _ => Ok(()),
        }
    }

    /// Whether the plugin writes a pid file in the foreground when no `--pidfile` asks for one.
    /// The tutorial's `kill $(cat twistd.pid)` needs it; a web server would list it in the folder
    /// it serves (the web plugin's usual folder is the current one).
    fn pid_file_in_foreground(&self) -> bool {
        !matches!(self, Plugin::Web(_))
    }

    /// The top service of the plugin's tree: Twisted's `IServiceMaker.makeService`.
    fn make_service(&self, reactor: &Reactor) -> MultiService {
        match self {
            Plugin::Fastpoetry(options) => fastpoetry::make_service(options, reactor),
            Plugin::Slowpoetry(options) => slowpoetry::make_service(options, reactor),
            Plugin::Transformedpoetry(options) => transformedpoetry::make_service(options, reactor),
            Plugin::PoetryProxy(options) => poetry_proxy::make_service(options, reactor),
            Plugin::Web(options) => web::make_service(options, reactor),
            Plugin::Catchat(options) => catchat::make_service(options, reactor),
            Plugin::CatchatDashboard(options) => catchat_dashboard::make_service(options, reactor),
        }
    }
}

/// Where the log goes: a file, or stdout (a terminal, most likely).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogPlace {
    File,
    Stdout,
}

/// Sends the log where the options say: a file (the daemon's default), or stdout.
fn start_logging(options: &Options) -> io::Result<LogPlace> {
    let file = match &options.logfile {
        Some(path) if path.as_os_str() != "-" => Some(path.clone()),
        Some(_) => None,
        None if options.nodaemon => None,
        None => Some(PathBuf::from("poetryd.log")),
    };
    match file {
        Some(path) => log::start_logging_to_file(&path)
            .map(|()| LogPlace::File)
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "cannot open the log file {}: {}",
                        path.display(),
                        plain_error(&error)
                    ),
                )
            }),
        None => {
            log::start_logging(io::stdout());
            Ok(LogPlace::Stdout)
        }
    }
}

/// Watches SIGHUP, as a task of the reactor: it reopens the log file (logrotate has moved it
/// away) and the server goes on.
fn watch_hangups() {
    let watching = Deferred::from_future(async move {
        let mut hangup = signal(SignalKind::hangup()).map_err(Failure::new)?;
        loop {
            hangup.recv().await;
            reopen_log();
        }
    });
    watching.add_errback(|failure| {
        log::err(failure.report());
        Ok(())
    });
}

/// Stops the application when the reactor is asked to stop (SIGINT or SIGTERM, which the reactor
/// watches itself), and keeps the loop running until every service has stopped: twistd's
/// "before shutdown" trigger. A service may take its time (downloads in flight finish within
/// their grace period); a second signal stops at once.
fn stop_before_shutdown(reactor: &Reactor, application: Rc<Application>) {
    let handle = reactor.clone();
    reactor.add_before_shutdown(move || {
        if let Some(name) = handle.stopped_by_signal() {
            log::msg(format!("Received {name}, shutting down."));
        }
        if application.running() {
            application.stop_service()
        } else {
            succeed(())
        }
    });
}

fn reopen_log() {
    match log::reopen_log() {
        Ok(true) => log::msg("Received SIGHUP, reopened the log file."),
        Ok(false) => {
            log::msg("Received SIGHUP; the log is not a file, there is nothing to reopen.")
        }
        Err(error) => log::msg(format!(
            "Received SIGHUP, but cannot reopen the log file: {}",
            plain_error(&error)
        )),
    }
}

/// The daemon's life, from the startup lines to `Server Shut Down.`: start the application once
/// the reactor runs, write the pid file, tell the starting process, run until a signal, stop.
///
/// `pid_file` is the pid file to write, if any, and the pid of the stale file it replaced.
fn serve(
    plugin: &Plugin,
    pid_file: Option<(PidFile, Option<i32>)>,
    report: StartReport,
    log_failure: bool,
) -> ExitCode {
    log::msg(format!(
        "poetryd {} (pid {}) starting up.",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    ));
    log::msg(format!("reactor class: {}.", type_name::<Reactor>()));
    if let Some((pid_file, Some(pid))) = &pid_file {
        log::msg(format!(
            "Removed the stale pid file {} (PID {pid} is not running).",
            pid_file.path.display()
        ));
    }
    let pid_file = pid_file.map(|(pid_file, _)| Rc::new(pid_file));
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            if log_failure {
                log::msg(&error);
            }
            report.failed(&format!("{}: error: {error}", program_name()));
            return ExitCode::FAILURE;
        }
    };
    let application = Rc::new(Application::new(plugin.tapname()));
    // A new application has no services, so this cannot clash.
    let _ = application.add_service(Rc::new(plugin.make_service(&reactor)));

    let started = Rc::new(Cell::new(false));
    let (handle, app, ok) = (
        reactor.clone(),
        Rc::clone(&application),
        Rc::clone(&started),
    );
    let to_write = pid_file.clone();
    reactor.call_when_running(move || {
        // Signals first: a SIGHUP that arrives once we have said we are up must not kill us.
        watch_hangups();
        stop_before_shutdown(&handle, Rc::clone(&app));
        let outcome = app
            .start()
            .map_err(|failure| format!("{}: error: {}", program_name(), failure.error()))
            .and_then(|()| to_write.map_or(Ok(()), |pid_file| pid_file.write()));
        match outcome {
            Ok(()) => {
                ok.set(true);
                report.ready();
            }
            Err(line) => {
                if log_failure {
                    log::msg(&line);
                }
                report.failed(&line);
                let _ = app.stop_service();
                let _ = handle.stop();
            }
        }
    });
    let _ = reactor.run();
    if application.running() {
        // The loop ended without the signal task (something else stopped it): stop the services
        // now. Ports close at once; a service that needs the loop to stop cannot be waited for.
        let _ = application.stop_service();
    }
    log::msg("Main loop terminated.");
    if let Some(pid_file) = pid_file.filter(|_| started.get()) {
        pid_file.remove();
    }
    log::msg("Server Shut Down.");
    if started.get() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    // A closed log pipe must not take the server down with it.
    common::cli::output::keep_serving_without_readers();
    let Some(plugin) = &options.plugin else {
        // twistd with no plugin lists them; so does our help.
        let _ = Options::command().print_long_help();
        return ExitCode::SUCCESS;
    };
    // Everything that can be refused is checked here, in the terminal, before forking.
    if let Err(line) = plugin.check() {
        report_error(line);
        return ExitCode::from(2);
    }
    let pid_path = options.pidfile.clone().or_else(|| {
        (!options.nodaemon || plugin.pid_file_in_foreground()).then(|| PathBuf::from(PID_FILE))
    });
    let pid_file = match pid_path.map(|path| PidFile { path }) {
        None => None,
        Some(pid_file) => match pid_file.clear_stale() {
            Ok(stale) => Some((pid_file, stale)),
            Err(line) => {
                errln!("{line}");
                return ExitCode::FAILURE;
            }
        },
    };
    let log_place = match start_logging(&options) {
        Ok(place) => place,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    let report = if options.nodaemon {
        StartReport::foreground()
    } else {
        match daemonize() {
            Ok(Forked::Exit(status)) => return status,
            Ok(Forked::Daemon(report)) => report,
            Err(error) => {
                report_error(error);
                return ExitCode::FAILURE;
            }
        }
    };
    // A failure to start is said once: on stderr, and in the log unless the log is the terminal.
    let log_failure = !(options.nodaemon && log_place == LogPlace::Stdout);
    serve(plugin, pid_file, report, log_failure)
}
