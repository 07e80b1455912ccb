//! The timing client: how long does a server take to answer? (The timing client of the EuroPython
//! Twisted training, `timingclient.py`, grown into a small load tool.)
//!
//! Tutorial mode sends one request per argument, all at the same time, and prints how long each took
//! and the whole: with a blocking server the whole is the sum of the requests; with an asynchronous
//! one it is the slowest. Load mode (`-n`, `-z`) sends the same request many times, `-c` at a time,
//! and reports throughput, latency percentiles and a histogram, as text or `--json` for scripts.
//!
//! It runs on the project's reactor: each request is a connection made with `connect_tcp` and a small
//! protocol that sends the request and reads the answer.
//!
//! The training's own client (slide "Let's time it!") is tutorial mode with line requests, the
//! default kind: each text goes out as `<text>\r\n`, the answer ends when the server closes, and
//! `--time-format python` prints the seconds as the training's Python 2 does (`0.505914449692`).
//! The training makes its requests with a thread each; here the reactor waits on all of them, which
//! prints the same lines.
//!
//! ```text
//! cargo run --bin slowpoetry-reactor -- --port 10000 poetry/science.txt --delay 10ms   # terminal 1
//! cargo run --bin timing-client -- --kind poetry 10000 first second third               # terminal 2
//! cargo run --release --bin timing-client -- --kind poetry -n 2000 -c 100 10000
//!
//! cargo run --bin upperserver                                                   # the training's
//! cargo run --bin timing-client -- --time-format python 127.0.0.1:8000 a b c d  # timingclient.py
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser, ValueEnum};
use common::basic::{NetstringHandler, NetstringReceiver, Netstrings, encode_netstring};
use common::cli::address::ServerAddress;
use common::cli::duration::{TimeFormat, parse_duration};
use common::cli::new_reactor;
use common::cli::output::{plain_connect_error, report_error};
use common::cli::time_options::{RequestTimeoutOption, TimeFormatOption};
use common::protocol::{
    Address, ClientFactory, ConnectError, Connector, DisconnectReason, Factory, Protocol, Transport,
};
use common::reactor::{DelayedCall, Reactor};
use common::stats::{Bucket, histogram, mean, percentile};
use common::{errln, outln};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Time requests to a server: one per argument, all at once (tutorial mode), or many (load mode).
///
/// Tutorial mode prints `<request> took <seconds>` as each answer completes, then
/// `finished in <seconds>`. Load mode (-n or -z) prints throughput, errors by kind, latency
/// percentiles (nearest rank: the p-th percentile is the sample at rank ceil(p/100 x n)) and a
/// histogram.
#[derive(Debug, Parser)]
#[command(
    name = "timing-client",
    version,
    after_help = "Examples:\n  \
                  timing-client --kind poetry 10000 one two three\n  \
                  timing-client --kind line 127.0.0.1:8000 hello world\n  \
                  timing-client --time-format python 127.0.0.1:8000 a b c d   (the training's)\n  \
                  timing-client --kind transform 11000 'cummingsify.HERE IS MY POEM'\n  \
                  timing-client --kind poetry -n 10000 -c 200 --json 10000",
    // The shared --time-format, printing plain seconds by default, as the training's client does.
    mut_arg("time_format", |arg| arg.default_value("seconds"))
)]
struct Options {
    /// The server, as [host:]port.
    #[arg(value_name = "ADDRESS")]
    server: Option<ServerAddress>,

    /// What to send: in tutorial mode one request each; in load mode the first is sent every time.
    #[arg(value_name = "REQUEST")]
    payloads: Vec<String>,

    /// The kind of request: poetry (connect, read to the end), line (send a line, read the answer to
    /// the end) or transform (send NAME.TEXT as a netstring, read one netstring back).
    #[arg(long, value_enum, default_value_t = Kind::Line)]
    kind: Kind,

    /// Load mode: send this many requests.
    #[arg(short = 'n', long = "requests", value_name = "N")]
    total: Option<u64>,

    /// Load mode: keep this many requests in flight.
    #[arg(short = 'c', long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,

    /// Load mode: send requests for this long (30s, 2m), however many that makes.
    #[arg(short = 'z', long, value_parser = parse_duration)]
    duration: Option<Duration>,

    #[command(flatten)]
    timeout: RequestTimeoutOption,

    /// Load mode: print the report as JSON (the schema is in the README).
    #[arg(long)]
    json: bool,

    /// Never draw a progress bar (there is none anyway when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,

    #[command(flatten)]
    time_format: TimeFormatOption,
}

/// The kinds of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Poetry,
    Line,
    Transform,
}

impl Kind {
    /// The bytes to send for `payload`.
    fn encode(self, payload: &str) -> Vec<u8> {
        match self {
            Kind::Poetry => Vec::new(),
            Kind::Line => format!("{payload}\r\n").into_bytes(),
            Kind::Transform => encode_netstring(payload.as_bytes()),
        }
    }
}

/// Why a request failed.
enum Failure {
    /// The connection could not be made.
    Connect(ConnectError),
    /// It was made, and then the request failed in this way, as the report counts them: `timeout`,
    /// `lost`, `no answer`.
    Request(&'static str),
}

impl Failure {
    /// The kind of failure, as the load-mode report counts them.
    fn kind(&self) -> &'static str {
        match self {
            Failure::Connect(ConnectError::Refused) => "refused",
            Failure::Connect(ConnectError::TimedOut) => "timeout",
            Failure::Connect(ConnectError::DnsLookup { .. }) => "dns",
            Failure::Connect(ConnectError::Other(_) | ConnectError::Cancelled) => "connect",
            Failure::Request(kind) => kind,
        }
    }
}

/// How one request ended.
type Outcome = Result<Duration, Failure>;

/// What to do with a request's outcome.
type OnDone = Box<dyn FnOnce(Outcome)>;

/// One request: the factory of its single connection.
struct Request {
    kind: Kind,
    bytes: Rc<[u8]>,
    started: Instant,
    reactor: Reactor,
    timeout: Duration,
    /// Called once with the outcome.
    done: Cell<Option<OnDone>>,
    timed_out: Rc<Cell<bool>>,
    /// For transform requests: whether the whole answer arrived.
    answered: Rc<Cell<bool>>,
}

impl Request {
    fn finish(&self, outcome: Outcome) {
        if let Some(done) = self.done.take() {
            done(outcome);
        }
    }
}

impl Factory for Request {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let exchange = Exchange {
            bytes: Rc::clone(&self.bytes),
            reactor: self.reactor.clone(),
            timeout: self.timeout,
            timer: None,
            timed_out: Rc::clone(&self.timed_out),
        };
        Some(match self.kind {
            Kind::Transform => Box::new(NetstringReceiver::new(Reply {
                exchange,
                answered: Rc::clone(&self.answered),
            })),
            Kind::Poetry | Kind::Line => Box::new(ReadToEnd(exchange)),
        })
    }
}

impl ClientFactory for Request {
    fn client_connection_failed(&self, _connector: &Connector, reason: &ConnectError) {
        self.finish(Err(Failure::Connect(reason.clone())));
    }

    fn client_connection_lost(&self, _connector: &Connector, reason: &DisconnectReason) {
        let outcome = match reason {
            _ if self.timed_out.get() => Err(Failure::Request("timeout")),
            DisconnectReason::Done if self.kind == Kind::Transform && !self.answered.get() => {
                Err(Failure::Request("no answer"))
            }
            DisconnectReason::Done => Ok(self.started.elapsed()),
            DisconnectReason::Lost(_) => Err(Failure::Request("lost")),
            DisconnectReason::Aborted => Err(Failure::Request("no answer")),
        };
        self.finish(outcome);
    }
}

/// What every request's protocol does: send the request, and give up after the timeout.
struct Exchange {
    bytes: Rc<[u8]>,
    reactor: Reactor,
    timeout: Duration,
    timer: Option<DelayedCall>,
    timed_out: Rc<Cell<bool>>,
}

impl Exchange {
    fn start(&mut self, transport: &Rc<dyn Transport>) {
        transport.write(&self.bytes);
        let (late, flag) = (Rc::clone(transport), Rc::clone(&self.timed_out));
        self.timer = Some(self.reactor.call_later(self.timeout, move || {
            flag.set(true);
            late.abort_connection();
        }));
    }

    fn stop_timer(&mut self) {
        if let Some(timer) = self.timer.take()
            && timer.active()
        {
            let _ = timer.cancel();
        }
    }
}

/// Poetry and line requests: the answer ends when the server closes the connection.
struct ReadToEnd(Exchange);

impl Protocol for ReadToEnd {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.0.start(&transport);
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        self.0.stop_timer();
    }
}

/// Transform requests: the answer is one netstring; then we close.
struct Reply {
    exchange: Exchange,
    answered: Rc<Cell<bool>>,
}

impl NetstringHandler for Reply {
    fn connection_made(&mut self, netstrings: &mut Netstrings) {
        self.exchange.start(netstrings.transport());
    }

    fn string_received(&mut self, _payload: &[u8], netstrings: &mut Netstrings) {
        self.answered.set(true);
        netstrings.lose_connection();
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        self.exchange.stop_timer();
    }
}

/// Starts one request; `done` gets its outcome.
fn send(
    reactor: &Reactor,
    server: &ServerAddress,
    kind: Kind,
    bytes: Rc<[u8]>,
    timeout: Duration,
    done: OnDone,
) {
    let request = Rc::new(Request {
        kind,
        bytes,
        started: Instant::now(),
        reactor: reactor.clone(),
        timeout,
        done: Cell::new(Some(done)),
        timed_out: Rc::new(Cell::new(false)),
        answered: Rc::new(Cell::new(false)),
    });
    reactor.connect_tcp(&server.host, server.port, request, timeout);
}

fn main() -> ExitCode {
    let options = Options::parse();
    let Some(server) = options.server.clone() else {
        let _ = Options::command().print_long_help();
        return ExitCode::SUCCESS;
    };
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::FAILURE;
        }
    };
    if options.total.is_some() || options.duration.is_some() {
        load_mode(&reactor, &server, &options)
    } else {
        tutorial_mode(&reactor, &server, &options)
    }
}

/// One request per argument, all at once; each reported as it completes.
fn tutorial_mode(reactor: &Reactor, server: &ServerAddress, options: &Options) -> ExitCode {
    let payloads = if options.payloads.is_empty() && options.kind == Kind::Poetry {
        vec![server.to_string()]
    } else {
        options.payloads.clone()
    };
    if payloads.is_empty() {
        let _ = Options::command().print_long_help();
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let total = payloads.len();
    let pending = Rc::new(Cell::new(total));
    let failed = Rc::new(Cell::new(false));
    let format = options.time_format.time_format;
    for payload in payloads {
        let (pending, failed, stopper) = (Rc::clone(&pending), Rc::clone(&failed), reactor.clone());
        let bytes: Rc<[u8]> = options.kind.encode(&payload).into();
        let address = server.clone();
        let done = Box::new(move |outcome: Outcome| {
            match outcome {
                Ok(took) => outln!("{payload} took {}", format.show(took)),
                // As the other clients that do not copy Twisted's words say it.
                Err(Failure::Connect(error)) if error != ConnectError::TimedOut => {
                    failed.set(true);
                    errln!(
                        "{payload} failed to connect to {address}: {}",
                        plain_connect_error(&error)
                    );
                }
                Err(failure) => {
                    failed.set(true);
                    errln!("{payload} failed: {}", failure.kind());
                }
            }
            pending.set(pending.get() - 1);
            if pending.get() == 0 {
                let _ = stopper.stop();
            }
        });
        send(
            reactor,
            server,
            options.kind,
            bytes,
            options.timeout.timeout,
            done,
        );
    }
    let _ = reactor.run();
    let elapsed = format.show(started.elapsed());
    if reactor.stopped_by_signal().is_some() {
        // Not `finished in`: some requests never finished.
        outln!(
            "{} of {total} requests answered in {elapsed}",
            total - pending.get()
        );
    } else {
        outln!("finished in {elapsed}");
    }
    common::cli::client::exit_status_after(reactor, failed.get())
}

/// What load mode measures while it runs.
struct Load {
    reactor: Reactor,
    server: ServerAddress,
    kind: Kind,
    bytes: Rc<[u8]>,
    timeout: Duration,
    concurrency: u64,
    /// Requests left to start (with -n), and when to stop starting them (with -z).
    left: Option<u64>,
    deadline: Option<Instant>,
    in_flight: u64,
    latencies: Vec<Duration>,
    errors: BTreeMap<&'static str, u64>,
    progress: Option<ProgressBar>,
}

/// Starts requests until `concurrency` are in flight or there are no more to start; stops the
/// reactor when none is left in flight.
fn top_up(load: &Rc<RefCell<Load>>) {
    loop {
        let next = {
            let mut state = load.borrow_mut();
            let may_start = state.left.is_none_or(|left| left > 0)
                && state
                    .deadline
                    .is_none_or(|deadline| Instant::now() < deadline);
            if !may_start || state.in_flight >= state.concurrency {
                if state.in_flight == 0 {
                    let _ = state.reactor.stop();
                }
                return;
            }
            state.in_flight += 1;
            if let Some(left) = state.left.as_mut() {
                *left -= 1;
            }
            (
                state.reactor.clone(),
                state.server.clone(),
                state.kind,
                Rc::clone(&state.bytes),
                state.timeout,
            )
        };
        let (reactor, server, kind, bytes, timeout) = next;
        let on_done = Rc::clone(load);
        let done = Box::new(move |outcome: Outcome| {
            {
                let mut state = on_done.borrow_mut();
                state.in_flight -= 1;
                match outcome {
                    Ok(took) => state.latencies.push(took),
                    Err(failure) => *state.errors.entry(failure.kind()).or_default() += 1,
                }
                if let Some(bar) = &state.progress {
                    bar.inc(1);
                }
            }
            top_up(&on_done);
        });
        send(&reactor, &server, kind, bytes, timeout, done);
    }
}

/// The load-mode report; also its `--json` schema (times in seconds).
#[derive(Debug, Serialize)]
struct Report {
    /// The server, as given on the command line (`127.0.0.1:10000`), as the failed requests of
    /// tutorial mode name it.
    server: String,
    requests: u64,
    succeeded: u64,
    failed: u64,
    errors: BTreeMap<&'static str, u64>,
    total_seconds: f64,
    requests_per_second: f64,
    latency_seconds: Option<Latency>,
    histogram: Vec<Bar>,
}

#[derive(Debug, Serialize)]
struct Latency {
    min: f64,
    mean: f64,
    max: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    #[serde(rename = "p99.9")]
    p99_9: f64,
}

#[derive(Debug, Serialize)]
struct Bar {
    upper_seconds: f64,
    count: usize,
}

fn load_mode(reactor: &Reactor, server: &ServerAddress, options: &Options) -> ExitCode {
    let payload = options
        .payloads
        .first()
        .cloned()
        .unwrap_or_else(|| match options.kind {
            Kind::Transform => "cummingsify.HERE IS MY POEM".to_owned(),
            Kind::Line | Kind::Poetry => "hello".to_owned(),
        });
    let show_progress = !options.json && !options.no_progress && std::io::stderr().is_terminal();
    let progress = show_progress.then(|| {
        let bar = match options.total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} requests {wide_bar} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let started = Instant::now();
    let load = Rc::new(RefCell::new(Load {
        reactor: reactor.clone(),
        server: server.clone(),
        kind: options.kind,
        bytes: options.kind.encode(&payload).into(),
        timeout: options.timeout.timeout,
        concurrency: options.concurrency,
        left: options.total,
        deadline: options.duration.map(|duration| started + duration),
        in_flight: 0,
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        progress,
    }));
    let first = Rc::clone(&load);
    reactor.call_when_running(move || top_up(&first));
    let _ = reactor.run();
    let elapsed = started.elapsed();

    let mut state = load.borrow_mut();
    if let Some(bar) = state.progress.take() {
        bar.finish_and_clear();
    }
    let mut latencies = std::mem::take(&mut state.latencies);
    let report = summarize(server, &mut latencies, &state.errors, elapsed);
    if options.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => outln!("{json}"),
            Err(error) => {
                report_error(format_args!("cannot write the report: {error}"));
                return ExitCode::FAILURE;
            }
        }
    } else {
        print_report(&report, &latencies, options.time_format.time_format);
    }
    common::cli::client::exit_status_after(reactor, report.failed > 0)
}

fn summarize(
    server: &ServerAddress,
    latencies: &mut [Duration],
    errors: &BTreeMap<&'static str, u64>,
    elapsed: Duration,
) -> Report {
    latencies.sort_unstable();
    let succeeded = latencies.len() as u64;
    let failed: u64 = errors.values().sum();
    let seconds = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64());
    let latency_seconds = (!latencies.is_empty()).then(|| Latency {
        min: seconds(latencies.first().copied()),
        mean: seconds(mean(latencies)),
        max: seconds(latencies.last().copied()),
        p50: seconds(percentile(latencies, 50.0)),
        p90: seconds(percentile(latencies, 90.0)),
        p99: seconds(percentile(latencies, 99.0)),
        p99_9: seconds(percentile(latencies, 99.9)),
    });
    let total = succeeded + failed;
    Report {
        server: server.to_string(),
        requests: total,
        succeeded,
        failed,
        errors: errors.clone(),
        total_seconds: elapsed.as_secs_f64(),
        requests_per_second: total as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        latency_seconds,
        histogram: histogram(latencies, 10)
            .into_iter()
            .map(|Bucket { upper, count }| Bar {
                upper_seconds: upper.as_secs_f64(),
                count,
            })
            .collect(),
    }
}

fn print_report(report: &Report, sorted: &[Duration], format: TimeFormat) {
    let show = |seconds: f64| format.show(Duration::from_secs_f64(seconds));
    outln!(
        "Requests:      {} ({} succeeded, {} failed)",
        report.requests,
        report.succeeded,
        report.failed
    );
    outln!("Total time:    {}", show(report.total_seconds));
    outln!("Requests/sec:  {:.1}", report.requests_per_second);
    if let Some(latency) = &report.latency_seconds {
        outln!(
            "Latency:       min {}  mean {}  max {}",
            show(latency.min),
            show(latency.mean),
            show(latency.max)
        );
        outln!(
            "Percentiles:   p50 {}  p90 {}  p99 {}  p99.9 {}",
            show(latency.p50),
            show(latency.p90),
            show(latency.p99),
            show(latency.p99_9)
        );
    }
    if !report.errors.is_empty() {
        let errors: Vec<String> = report
            .errors
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        outln!("Errors:        {}", errors.join(", "));
    }
    if !sorted.is_empty() {
        outln!("Histogram:");
        let widest = report
            .histogram
            .iter()
            .map(|bar| bar.count)
            .max()
            .unwrap_or(1)
            .max(1);
        for bar in &report.histogram {
            let length = bar.count * 40 / widest;
            outln!(
                "  {:>12}  [{:>7}]  {}",
                show(bar.upper_seconds),
                bar.count,
                "■".repeat(length)
            );
        }
    }
}
