//! What the reactor costs per timed call and per write, against plain tokio doing the same (the
//! two things the slow poetry server does for each chunk of each client).
//!
//! * (a) timed calls: 10,000 repeating calls, one every 100 ms each, their first runs spread over
//!   the first 100 ms (as ten thousand clients arriving), for 3 seconds: about 300,000 calls.
//!   Plain tokio: 10,000 tasks, each sleeping 100 ms in a loop.
//! * (b) writes: 1,000 loopback TCP connections; each turn of the loop writes 10 bytes to every one,
//!   200 turns: 200,000 writes, each to a connection that was not touched for a while (as a slow
//!   server's are). Their other ends are read only afterwards. Plain tokio: `try_write` on
//!   `TcpStream`s.
//!
//! Each figure is the CPU time of the loop's thread (from /proc, in nanoseconds) divided by the
//! number of calls or writes, the median of the rounds. It includes what the kernel spends for
//! that thread: sleeping and waking for (a), the system call for (b). Run it optimised, on a quiet
//! machine:
//!
//! ```text
//! cargo run --release -p common --example bench-reactor
//! cargo run --release -p common --example bench-reactor -- --rounds 5 --only a
//! ```

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use common::protocol::{Address, Factory, Protocol, Transport};
use common::reactor::Reactor;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Time the reactor's timed calls and writes against plain tokio (CPU nanoseconds per operation).
#[derive(Debug, Parser)]
#[command(name = "bench-reactor")]
struct Options {
    /// How many times to run each workload; the median round is reported.
    #[arg(long, default_value_t = 3)]
    rounds: u32,

    /// Run only workload a or b (to profile one of them).
    #[arg(long, value_parser = ["a", "b"])]
    only: Option<String>,
}

const CALLS: u32 = 10_000;
const INTERVAL: Duration = Duration::from_millis(100);
const RUN_FOR: Duration = Duration::from_secs(3);
const CONNECTIONS: u32 = 1000;
const WRITE_ROUNDS: u32 = 200;
const CHUNK: &[u8] = b"0123456789";

/// CPU time this thread has used so far, in nanoseconds (the first field of its schedstat).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The delay before the first run of call `n`, so that the calls come due evenly over an interval.
fn spread(n: u32) -> Duration {
    INTERVAL * n / CALLS
}

/// (a) on the reactor: nanoseconds of CPU per timed call.
fn reactor_timers() -> f64 {
    let reactor = Reactor::new().expect("a reactor");
    let calls = Rc::new(Cell::new(0u64));
    for n in 0..CALLS {
        let calls = Rc::clone(&calls);
        reactor.call_repeatedly(spread(n), move || {
            calls.set(calls.get() + 1);
            Some(INTERVAL)
        });
    }
    let stopper = reactor.clone();
    reactor.call_later(RUN_FOR, move || stopper.stop());
    let started = thread_cpu_ns();
    reactor.run().expect("the reactor runs");
    (thread_cpu_ns() - started) as f64 / calls.get() as f64
}

/// (a) on plain tokio: nanoseconds of CPU per wake-up of a sleeping task.
fn tokio_timers() -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    let calls = Rc::new(Cell::new(0u64));
    let started = thread_cpu_ns();
    local.block_on(&runtime, async {
        for n in 0..CALLS {
            let calls = Rc::clone(&calls);
            tokio::task::spawn_local(async move {
                tokio::time::sleep(spread(n)).await;
                loop {
                    calls.set(calls.get() + 1);
                    tokio::time::sleep(INTERVAL).await;
                }
            });
        }
        tokio::time::sleep(RUN_FOR).await;
    });
    (thread_cpu_ns() - started) as f64 / calls.get() as f64
}

/// Makes `CONNECTIONS` connections to `port` from a new thread, which waits for word that the
/// writing is over, then reads them all until end of file and returns how many bytes came.
///
/// Nothing reads while the writes are timed: the few bytes fit in the sockets' buffers, and a
/// reader waking up after every write would make the kernel's share of a write, and so the
/// figures, vary far more than anything the reactor adds.
fn drain(port: u16, written: mpsc::Receiver<()>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut sockets = Vec::new();
            for _ in 0..CONNECTIONS {
                sockets.push(
                    TcpStream::connect(("127.0.0.1", port))
                        .await
                        .expect("connects"),
                );
            }
            written.recv().expect("the writer says when it is done");
            let readers: Vec<_> = sockets
                .into_iter()
                .map(|mut socket| {
                    tokio::spawn(async move {
                        let mut buffer = vec![0; 4096];
                        let mut total = 0;
                        while let Ok(count @ 1..) = socket.read(&mut buffer).await {
                            total += count as u64;
                        }
                        total
                    })
                })
                .collect();
            let mut total = 0;
            for reader in readers {
                total += reader.await.expect("a reader ends");
            }
            total
        })
    })
}

/// What (b) writes in all.
fn expected_bytes() -> u64 {
    u64::from(CONNECTIONS * WRITE_ROUNDS) * CHUNK.len() as u64
}

/// The state (b) shares on the reactor: the connections made so far, and the CPU time the writing
/// took.
struct Writers {
    reactor: Reactor,
    transports: RefCell<Vec<Rc<dyn Transport>>>,
    spent: Cell<u64>,
    written: mpsc::Sender<()>,
}

impl Writers {
    /// Once every connection is made: one chunk to each connection per turn of the loop, for
    /// `WRITE_ROUNDS` turns, then every connection is closed.
    fn start(self: &Rc<Self>) {
        let writers = Rc::clone(self);
        let started = thread_cpu_ns();
        let mut rounds = 0;
        self.reactor.call_repeatedly(Duration::ZERO, move || {
            let transports = writers.transports.borrow();
            for transport in transports.iter() {
                transport.write(CHUNK);
            }
            rounds += 1;
            if rounds < WRITE_ROUNDS {
                return Some(Duration::ZERO);
            }
            writers.spent.set(thread_cpu_ns() - started);
            let _ = writers.written.send(());
            for transport in transports.iter() {
                transport.lose_connection();
            }
            None
        });
    }
}

/// One connection of (b): hands its transport over.
struct Writer(Rc<Writers>);

impl Protocol for Writer {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let count = {
            let mut transports = self.0.transports.borrow_mut();
            transports.push(transport);
            transports.len()
        };
        if count == CONNECTIONS as usize {
            self.0.start();
        }
    }
}

impl Factory for Writer {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Writer(Rc::clone(&self.0))))
    }
}

/// (b) on the reactor: nanoseconds of CPU per `transport.write`.
fn reactor_writes() -> f64 {
    let reactor = Reactor::new().expect("a reactor");
    let (written, reader_waits) = mpsc::channel();
    let writers = Rc::new(Writers {
        reactor: reactor.clone(),
        transports: RefCell::new(Vec::new()),
        spent: Cell::new(0),
        written,
    });
    let port = reactor
        .listen_tcp(0, Rc::new(Writer(Rc::clone(&writers))), "127.0.0.1")
        .expect("listens");
    let reader = drain(port.get_host().port().expect("a TCP port"), reader_waits);
    // The loop runs until the reader has seen every connection end: a connection we close ends
    // only once its peer has closed too (it lingers), and that takes a running loop.
    let (watched, stopper) = (Rc::new(RefCell::new(Some(reader))), reactor.clone());
    let watcher = Rc::clone(&watched);
    reactor.call_repeatedly(Duration::from_millis(10), move || {
        if watcher
            .borrow()
            .as_ref()
            .is_some_and(|reader| reader.is_finished())
        {
            let _ = stopper.stop();
            return None;
        }
        Some(Duration::from_millis(10))
    });
    reactor.run().expect("the reactor runs");
    let reader = watched.borrow_mut().take().expect("the reader");
    assert_eq!(reader.join().expect("the reader ends"), expected_bytes());
    writers.spent.get() as f64 / f64::from(CONNECTIONS * WRITE_ROUNDS)
}

/// (b) on plain tokio: nanoseconds of CPU per write, waiting for room whenever a socket is full.
fn tokio_writes() -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listens");
        let (written, reader_waits) = mpsc::channel();
        let reader = drain(
            listener.local_addr().expect("an address").port(),
            reader_waits,
        );
        let mut sockets = Vec::new();
        for _ in 0..CONNECTIONS {
            sockets.push(listener.accept().await.expect("accepts").0);
        }
        let started = thread_cpu_ns();
        for _ in 0..WRITE_ROUNDS {
            for socket in &sockets {
                while socket.try_write(CHUNK).is_err() {
                    socket.writable().await.expect("writable");
                }
            }
            tokio::task::yield_now().await;
        }
        let spent = thread_cpu_ns() - started;
        let _ = written.send(());
        drop(sockets);
        assert_eq!(reader.join().expect("the reader ends"), expected_bytes());
        spent as f64 / f64::from(CONNECTIONS * WRITE_ROUNDS)
    })
}

/// A workload measured on the reactor, then on plain tokio: nanoseconds of CPU per operation.
type Workload = fn() -> f64;

/// The median of some figures.
fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

fn main() -> ExitCode {
    let options = Options::parse();
    let only = options.only.as_deref();
    let mut runs: Vec<(&str, Workload, Workload)> = Vec::new();
    if only != Some("b") {
        runs.push((
            "(a) 10000 calls every 100 ms for 3 s, per timed call:",
            reactor_timers,
            tokio_timers,
        ));
    }
    if only != Some("a") {
        runs.push((
            "(b) 200 x 1000 connections, 10-byte writes, per write:",
            reactor_writes,
            tokio_writes,
        ));
    }
    for (label, reactor, tokio) in runs {
        // The two sides take turns, so that a change in the machine's load hits both alike, and
        // each ratio compares runs made side by side.
        let (mut ours, mut plain, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..options.rounds.max(1) {
            ours.push(reactor());
            plain.push(tokio());
            ratios.push(ours[ours.len() - 1] / plain[plain.len() - 1]);
        }
        println!(
            "{label:<56} reactor {:>6.0} ns, plain tokio {:>6.0} ns ({:.2}x)",
            median(ours),
            median(plain),
            median(ratios)
        );
    }
    ExitCode::SUCCESS
}
