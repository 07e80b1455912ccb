//! twistd's `web` plugin, for static files: `twistd -n web --path . --port 8080`, the command of
//! talk 001's slide "A simple HTTP Server".
//!
//! The service tree is one `TcpServer` per place to listen, each with the same `Site` around a
//! `File` for the folder: the log says `Site starting on 8080` and `Starting factory <Site …>`,
//! then one access line per request, as twistd's does. Unlike twistd's, no file of the folder is
//! ever run (`.rpy`, `.epy` and `.cgi` files are served as they are), and in the foreground no pid
//! file is written unless asked for, so that it does not show up in the folder's listing.
//!
//! ```text
//! cargo run --bin poetryd -- --nodaemon web --path . --port 8080   # the talk's command
//! cargo run --bin poetryd -- --nodaemon web --path poetry --listen tcp:8080:interface=0.0.0.0
//! curl -i http://127.0.0.1:8080/
//! ```

use std::path::PathBuf;
use std::rc::Rc;

use clap::Args;
use common::cli::web::{FileOptions, folder};
use common::endpoints::ServerEndpoint;
use common::reactor::Reactor;
use common::service::{MultiService, TcpServer};
use common::web::Site;

/// Where twistd's web plugin listens unless told otherwise.
const DEFAULT_PORT: u16 = 8080;

#[derive(Debug, Args)]
pub struct Options {
    /// The folder to serve.
    #[arg(long, value_name = "FOLDER", value_parser = folder)]
    path: PathBuf,

    /// Where to listen: a port number (8080, as the talk wrote it) or a TCP endpoint
    /// (tcp:8080[:interface=ADDR]). On 127.0.0.1 unless the endpoint names an interface.
    /// [default: tcp:8080]
    #[arg(long, value_name = "PORT", value_parser = tcp_endpoint, conflicts_with = "listen")]
    port: Option<TcpPlace>,

    /// Where to listen, as a TCP endpoint: tcp:PORT[:interface=ADDR]. May be given several
    /// times.
    #[arg(long, value_name = "ENDPOINT", value_parser = tcp_endpoint)]
    listen: Vec<TcpPlace>,

    #[command(flatten)]
    files: FileOptions,
}

/// A TCP port and the interface it is on.
#[derive(Debug, Clone)]
struct TcpPlace {
    port: u16,
    interface: String,
}

/// Reads a `--port` or `--listen` value: a bare port number or a `tcp:` endpoint string.
fn tcp_endpoint(text: &str) -> Result<TcpPlace, String> {
    match text.parse::<ServerEndpoint>()? {
        ServerEndpoint::Tcp {
            port,
            interface,
            backlog: None,
        } => Ok(TcpPlace { port, interface }),
        ServerEndpoint::Tcp { .. } => Err("the web plugin takes no backlog".to_owned()),
        ServerEndpoint::Unix { .. } => Err("the web plugin listens on TCP only".to_owned()),
    }
}

/// The plugin's tree: a `TcpServer` with the folder's site for each place to listen.
pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    let site = Rc::new(Site::new(Rc::new(options.files.resource(&options.path))));
    let places = match (&options.port, options.listen.is_empty()) {
        (Some(place), _) => vec![place.clone()],
        (None, false) => options.listen.clone(),
        (None, true) => vec![TcpPlace {
            port: DEFAULT_PORT,
            interface: common::endpoints::DEFAULT_INTERFACE.to_owned(),
        }],
    };
    for place in places {
        let server = TcpServer::new(reactor, place.port, Rc::clone(&site), &place.interface);
        // Unnamed services never clash, so adding them cannot fail.
        let _ = top_service.add_service(Rc::new(server));
    }
    top_service
}
