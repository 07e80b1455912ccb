//! The library that every program of the project shares.
//!
//! The programs in `bins/` re-create, one tutorial stage at a time, the servers and clients of Dave
//! Peticolas's *An Introduction to Asynchronous Programming and Twisted*. Each stage keeps its own
//! networking logic in its own file, so that a reader can put version N beside version N+1 and see what
//! changed. What the stages share and what is not the lesson of any of them lives here, once.
//!
//! # Crate map
//!
//! * [`cli`]: the command-line plumbing of every program.
//!   * [`cli::address`]: the `[host:]port` arguments of the clients, the `--iface`/`--port` pair of the
//!     servers, and the Python-style peer text the servers print.
//!   * [`cli::duration`]: durations in (`0.7`, `700ms`, `1s`) and out (`0:00:10.126361` as the tutorial
//!     prints them, `10.1263614082` as the EuroPython training's Python 2 prints a float, or a human
//!     or machine form on request), and the demos' `--time-scale`.
//!   * [`cli::poem`]: poem files, the character-sized chunks a slow server sends, and what a client does
//!     with a poem once it has it (save it, print it).
//!   * [`cli::output`]: printing lines (of text, or of raw bytes) that reach a pipe at once, and
//!     one-line error reports.
//!   * [`cli::server`]: the options the poetry servers share (`--port`, `--iface`, `--delay`...),
//!     the later courses' `--listen`, and the `main` of a server, silent or logging as twistd does.
//!   * [`cli::time_options`]: the clients' `--timeout`, `--connect-timeout` and `--time-format`,
//!     declared once.
//!   * [`cli::progress`]: `--progress`, live lines per download on a terminal.
//!   * [`cli::timeline`]: `--timeline FILE.svg`, the tutorial's figure of the downloads over time
//!     (one lane per download, a mark per piece received), drawn from a real run.
//!   * [`cli::client`]: what the poetry clients do alike (help when given no server, the closing
//!     report, the exit status).
//!   * [`cli::web`]: the options of the programs that serve a folder over HTTP.
//!   * [`cli::http`]: `--timeout` and `--cacert`, the options of the programs that fetch over HTTP.
//!
//! * [`reactor`] (Parts 3 and 4): the event loop, Twisted's API on a single-threaded tokio runtime:
//!   `run`/`stop`, `call_when_running`, `call_later` and its [`reactor::DelayedCall`], TCP and
//!   UNIX-domain ports and connections, UDP. Errors and panics in callbacks are reported, and the loop goes on.
//! * [`protocol`] (Part 5): [`protocol::Protocol`], [`protocol::Factory`],
//!   [`protocol::ClientFactory`] and [`protocol::Transport`]: the reactor makes the connections and
//!   moves the bytes, our code says what to do with them.
//!   * [`protocol::ReconnectingClientFactory`] (the training's web front): one connection kept up,
//!     made again after each failure or loss, with an exponential [`protocol::Backoff`].
//! * [`endpoints`] (talk 002, and every server of the later courses): `tcp:8080`, `unix:/path`,
//!   Twisted's endpoint strings, so that where a program listens or connects is the user's choice.
//! * [`basic`] (Part 12): framing a byte stream into messages: [`basic::LineReceiver`] and
//!   [`basic::NetstringReceiver`].
//! * [`defer`] (Parts 7 to 19): [`defer::Deferred`], Twisted's promise of a result to come, typed;
//!   [`defer::Failure`]; `DeferredList` and friends; cancellation; `async`/`.await` on Deferreds;
//!   `DeferredLock`, `DeferredSemaphore` and `DeferredQueue` for taking turns.
//! * [`keyvalue`] (the training's second half): the key-value store whose entries expire, with a
//!   memory bound, and the line protocol its server and client speak;
//!   [`keyvalue::memcached`], the same store served over memcached's text protocol.
//! * [`memcache`] (the training's memcached clients): memcached's text protocol, client side:
//!   [`memcache::MemcacheClient`], each request a Deferred, pipelined; and the reader of
//!   memcached's replies that it is built on.
//! * [`log`] (Part 16, used earlier by servers): twistd-style log lines.
//! * [`poetry`] (Part 15): the minimal poetry server ([`poetry::PoetryServerFactory`]) and client
//!   ([`poetry::get_poetry`], a Deferred of the poem) that tests run against each other.
//! * [`spread`] (the training's Perspective Broker): Twisted's remote calls, byte for byte:
//!   [`spread::banana`], the token stream and its limits; [`spread::jelly`], values as Banana
//!   lists, with an allow-list of what a receiver accepts; [`spread::pb`], the broker itself:
//!   calls and answers both ways, references counted across the connection, failures a Python
//!   caller can trap, [`spread::pb::PBServerFactory`] and [`spread::pb::PBClientFactory`].
//! * [`cred`] (pbecho's login): [`cred::Portal`], a [`cred::Realm`] that makes avatars, the
//!   in-memory user database, and the MD5 challenge-response PB logs in with.
//! * [`stats`]: percentiles and histograms of measured durations, for the timing client.
//! * [`service`] (Part 16): [`service::Service`], [`service::MultiService`],
//!   [`service::Application`] and [`service::TcpServer`]: a server as a tree of services that a
//!   daemon starts and stops together.
//! * [`testing`]: an in-memory transport, to test protocols without sockets.
//! * [`web`] (the training and the talks): Twisted Web: a tree of [`web::Resource`]s served by a
//!   [`web::Site`], the factory a reactor listens with; pages that answer at once or stream their
//!   answer later; folders and files on disk ([`web::File`]); HTTP itself by hyper;
//!   [`web::serve_site`], the whole `main` of a web program; [`web::client`], `getPage` and
//!   `Agent`, the HTTP client, with Deferreds; and [`web::xmlrpc`], XML-RPC's server (a resource)
//!   and client (`Proxy`).

pub mod basic;
pub mod cli;
pub mod cred;
pub mod defer;
pub mod endpoints;
pub mod keyvalue;
pub mod log;
pub mod memcache;
pub mod poetry;
pub mod protocol;
pub mod reactor;
pub mod service;
pub mod spread;
pub mod stats;
pub mod testing;
pub mod web;
