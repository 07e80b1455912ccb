//! What the reactor costs per timed call and per write, against plain tokio doing the same (the
//! two things the slow poetry server does for each chunk of each client).
//!
//! * (a) timed calls: 10,000 repeating calls, one every 100 ms each, their first runs spread over
//!   the first 100 ms (as ten thousand clients arriving), for 3 seconds: about 300,000 calls.
//!   Plain tokio: 10,000 tasks, each sleeping 100 ms in a loop.
//! * (b) writes: 10-byte writes on one loopback TCP connection whose other end a thread drains,
//!   100 per turn of the loop, 200,000 in all. Plain tokio: `try_write` on a `TcpStream`.
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
use std::io::Read;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};
use common::reactor::Reactor;

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
const WRITES: u32 = 200_000;
const WRITES_PER_TURN: u32 = 100;
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

/// Connects to `port` from a new thread that reads everything until end of file.
fn drain(port: u16) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
        let mut buffer = vec![0; 64 * 1024];
        let mut total = 0;
        while let Ok(count @ 1..) = socket.read(&mut buffer) {
            total += count as u64;
        }
        total
    })
}

/// The protocol of (b): writes `WRITES_PER_TURN` chunks per turn of the loop until it has written
/// `WRITES`, then closes and stops the reactor, noting the CPU time the writing took.
struct Writer {
    reactor: Reactor,
    spent: Rc<Cell<u64>>,
}

impl Protocol for Writer {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        let spent = Rc::clone(&self.spent);
        let started = thread_cpu_ns();
        let mut written = 0;
        self.reactor.call_repeatedly(Duration::ZERO, move || {
            for _ in 0..WRITES_PER_TURN {
                transport.write(CHUNK);
            }
            written += WRITES_PER_TURN;
            if written < WRITES {
                return Some(Duration::ZERO);
            }
            spent.set(thread_cpu_ns() - started);
            transport.lose_connection();
            None
        });
    }

    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        let _ = self.reactor.stop();
    }
}

struct WriterFactory(Rc<RefCell<Option<Writer>>>);

impl Factory for WriterFactory {
    fn build_protocol(&self, _peer: &Address) -> Option<Box<dyn Protocol>> {
        self.0
            .borrow_mut()
            .take()
            .map(|writer| Box::new(writer) as Box<dyn Protocol>)
    }
}

/// (b) on the reactor: nanoseconds of CPU per `transport.write`.
fn reactor_writes() -> f64 {
    let reactor = Reactor::new().expect("a reactor");
    let spent = Rc::new(Cell::new(0));
    let writer = Writer {
        reactor: reactor.clone(),
        spent: Rc::clone(&spent),
    };
    let factory = Rc::new(WriterFactory(Rc::new(RefCell::new(Some(writer)))));
    let port = reactor
        .listen_tcp(0, factory, "127.0.0.1")
        .expect("listens");
    let reader = drain(port.get_host().port().expect("a TCP port"));
    reactor.run().expect("the reactor runs");
    let received = reader.join().expect("the reader ends");
    assert_eq!(received, u64::from(WRITES) * CHUNK.len() as u64);
    spent.get() as f64 / f64::from(WRITES)
}

/// (b) on plain tokio: nanoseconds of CPU per write, waiting for room whenever the socket is full.
fn tokio_writes() -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listens");
        let reader = drain(listener.local_addr().expect("an address").port());
        let (socket, _) = listener.accept().await.expect("accepts");
        let started = thread_cpu_ns();
        let mut written = 0;
        while written < WRITES {
            for _ in 0..WRITES_PER_TURN {
                loop {
                    match socket.try_write(CHUNK) {
                        Ok(_) => break,
                        Err(_) => socket.writable().await.expect("writable"),
                    }
                }
            }
            written += WRITES_PER_TURN;
            tokio::task::yield_now().await;
        }
        let spent = thread_cpu_ns() - started;
        drop(socket);
        let received = reader.join().expect("the reader ends");
        assert_eq!(received, u64::from(WRITES) * CHUNK.len() as u64);
        spent as f64 / f64::from(WRITES)
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
            "(b) 200000 writes of 10 bytes, per write:",
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
