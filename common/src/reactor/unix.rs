//! UNIX-domain sockets: `listen_unix` and `connect_unix`, Twisted's reactor methods of the same
//! names.
//!
//! A UNIX socket is a stream socket named by a path instead of a port, for programs on the same
//! machine. The protocols, factories and transports are the same as TCP's; only the making of
//! the socket differs, and one chore that ports do not have: the socket's file stays behind when a
//! server dies, so a new server must tell a stale file (nothing listens) from a live one.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

use super::Reactor;
use super::port::{CannotListenError, ListeningPort};
use crate::protocol::{Address, ClientFactory, ConnectError, Connector, Destination, Factory};

impl Reactor {
    /// Listens for connections on the UNIX socket at `path`, making a protocol with `factory` for
    /// each, and gives the socket file the permissions `mode` if one is given (`0o660`).
    ///
    /// A file already at `path` is replaced only when it is a socket that nothing listens on (left
    /// behind by a server that died); a live socket, or any other kind of file, is an error.
    /// Stopping the port removes the socket file.
    pub fn listen_unix<F: Factory + 'static>(
        &self,
        path: &Path,
        factory: Rc<F>,
        mode: Option<u32>,
    ) -> Result<ListeningPort, CannotListenError> {
        let cannot = |error| CannotListenError::new(path.display().to_string(), error);
        remove_stale_socket(path).map_err(cannot)?;
        let listener = {
            let _context = self.inner.runtime.enter();
            UnixListener::bind(path).map_err(cannot)?
        };
        if let Some(mode) = mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(cannot)?;
        }
        // Remember which file is ours, so that stopping never removes a socket that another
        // server has put at the same path since.
        let ours = fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
        let owned_path = path.to_path_buf();
        let cleanup = move || {
            let same = fs::metadata(&owned_path).map(|m| (m.dev(), m.ino())).ok();
            if same.is_some() && same == ours {
                let _ = fs::remove_file(&owned_path);
            }
        };
        let address = Address::Unix(Some(Rc::from(path)));
        Ok(self.accept_on(listener, address, factory, cleanup))
    }

    /// Connects to the UNIX socket at `path`, giving up after `timeout`; the factory hears of it
    /// as of a TCP connection.
    pub fn connect_unix<F: ClientFactory + 'static>(
        &self,
        path: &Path,
        factory: Rc<F>,
        timeout: Duration,
    ) -> Connector {
        let destination = Destination::Unix(Rc::from(path));
        self.connect_with(destination, factory, timeout, open(path.to_path_buf()))
    }
}

/// Connects to the socket at `path`.
async fn open(path: PathBuf) -> Result<(UnixStream, Address, Address), ConnectError> {
    let stream = UnixStream::connect(&path)
        .await
        .map_err(|error| ConnectError::from_io(&error))?;
    Ok((
        stream,
        Address::Unix(None),
        Address::Unix(Some(path.into())),
    ))
}

/// Makes room for a new socket at `path`: nothing there is fine; a socket that refuses
/// connections is stale and removed; a socket that accepts one has a live server behind it.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "Address already in use",
        )),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => fs::remove_file(path),
        Err(error) => Err(error),
    }
}
