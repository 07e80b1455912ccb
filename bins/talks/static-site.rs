//! A static web site: talk 001 (Pascal Bach, "Twisted intro"), the slide "The same in code":
//! `Site(File('.'))` listening on port 8080, the code version of `twistd web --path .`.
//!
//! The whole program is one resource: a `File` for the folder, which answers every path below it
//! with the file of that name (its type from its extension, ranges and `If-Modified-Since`
//! honoured, big files streamed), a listing for a folder with no index file, and a 404 for
//! anything else, including every path that would lead out of the folder. The `Site` around it
//! speaks HTTP. Like the slide's program it prints nothing; it says where it listens on stderr.
//!
//! ```text
//! terminal 1:  cargo run --bin static-site                    # the current folder, port 8080
//!              cargo run --bin static-site -- poetry --port 8000
//! terminal 2:  curl -i http://127.0.0.1:8080/
//!              curl -r 0-99 http://127.0.0.1:8080/README.md
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use common::cli::server::{ListenOptions, listen_on, run_server};
use common::cli::web::{FileOptions, folder};
use common::web::Site;

/// The slide's port.
const PORT: u16 = 8080;

/// Serves a folder over HTTP, as Twisted's `Site(File('.'))` does (talk 001, "The same in code").
/// Listens on 127.0.0.1:8080 unless told otherwise.
///
/// Files are sent with their length, type and date; ranges and If-Modified-Since are honoured. A
/// folder asked with a trailing slash shows its index file or a listing. Nothing outside the folder
/// is ever served, and no file is ever run.
#[derive(Parser)]
#[command(version)]
struct Options {
    /// The folder to serve.
    #[arg(value_name = "FOLDER", default_value = ".", value_parser = folder)]
    folder: PathBuf,

    #[command(flatten)]
    files: FileOptions,

    #[command(flatten)]
    listen: ListenOptions,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let endpoints = options.listen.endpoints(PORT);
    let root = Rc::new(options.files.resource(&options.folder));
    run_server(|reactor| listen_on(reactor, &endpoints, Rc::new(Site::new(root))))
}
