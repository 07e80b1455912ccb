//! `kv`: the key-value store from a shell, one request per run (the project's own, for people and
//! scripts, over the EuroPython 2011 training's key-value server).
//!
//! `kv get KEY` prints the value; `kv set KEY VALUE` stores it (a value may hold spaces: the words
//! after the key are joined with one space); `kv delete KEY` deletes it. Each is one request of
//! [`KeyValueClient`], a Deferred.
//!
//! Exit status: 0 done, 1 the key is not there (get, delete), 2 anything else (a wrong command
//! line, no server, an error answer, no answer within the timeout), said in one line on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin keyvalue-server
//! terminal 2:  cargo run --bin kv -- set a hello world
//!              cargo run --bin kv -- get a                  # hello world
//!              cargo run --bin kv -- delete a; cargo run --bin kv -- get a; echo $?   # 1
//! ```

#[path = "support/keyvalue_clients.rs"]
mod keyvalue_clients;

use std::cell::Cell;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Parser, Subcommand};
use common::cli::new_reactor;
use common::cli::output::{print_bytes_line, program_name, report_error};
use common::defer::{Deferred, Failure};
use common::errln;
use common::keyvalue::{ClientError, KeyValueClient};

use keyvalue_clients::ServerOptions;

/// Get, set or delete one key of the training's key-value store (keyvalue-server). Exit status 1
/// when the key is not there, 2 on any other error.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples, with keyvalue-server running:\n  kv set a hello world\n  kv get a\n  \
                  kv delete a"
)]
struct Options {
    #[command(flatten)]
    server: ServerOptions,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the value of KEY.
    Get { key: OsString },
    /// Store VALUE (the remaining words, joined by spaces) under KEY.
    Set {
        key: OsString,
        #[arg(required = true, num_args = 1..)]
        value: Vec<OsString>,
    },
    /// Delete KEY.
    Delete { key: OsString },
}

/// How a run ended.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Done,
    Missing,
    Failed,
}

/// The request the command asks for; a get prints its value.
fn request(client: KeyValueClient, command: &Command) -> Deferred<()> {
    match command {
        Command::Get { key } => client.get(key.as_bytes()).add_callback(|value| {
            print_bytes_line(&mut std::io::stdout().lock(), &[&value]);
            Ok::<(), Failure>(())
        }),
        Command::Set { key, value } => {
            let words: Vec<&[u8]> = value.iter().map(|word| word.as_bytes()).collect();
            client.set(key.as_bytes(), &words.join(&b' '))
        }
        Command::Delete { key } => client.delete(key.as_bytes()),
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let reactor = match new_reactor() {
        Ok(reactor) => reactor,
        Err(error) => {
            report_error(error);
            return ExitCode::from(2);
        }
    };
    let ending = Rc::new(Cell::new(Ending::Done));
    let (stopper, ended) = (reactor.clone(), Rc::clone(&ending));
    let command = options.command;
    options
        .server
        .connect(&reactor)
        .add_callback(move |client: KeyValueClient| {
            let done = request(client.clone(), &command);
            done.add_both(move |result: Result<(), Failure>| {
                client.close();
                result
            })
        })
        .add_errback(move |failure: Failure| {
            if let Some(ClientError::NotFound(key)) = failure.downcast_ref::<ClientError>() {
                errln!(
                    "{}: no such key: {}",
                    program_name(),
                    String::from_utf8_lossy(key)
                );
                ended.set(Ending::Missing);
            } else {
                report_error(failure.error());
                ended.set(Ending::Failed);
            }
            Ok::<(), Failure>(())
        })
        .add_both(move |_: Result<(), Failure>| stopper.stop().map_err(Failure::new));
    let _ = reactor.run();
    match ending.get() {
        Ending::Done => ExitCode::SUCCESS,
        Ending::Missing => ExitCode::from(1),
        Ending::Failed => ExitCode::from(2),
    }
}
