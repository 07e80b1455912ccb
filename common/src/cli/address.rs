//! Addresses: what the clients connect to and where the servers listen.
//!
//! The tutorial's clients take each server as `[hostname:]port`, where a bare port means the local
//! machine. Its servers take `--iface` and `--port`. The servers also print the peer of each
//! connection the way Python prints a socket address, `('127.0.0.1', 35458)`, which this module
//! reproduces so that a student's terminal looks like the tutorial's.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

use crate::protocol::Address;

/// The host a client uses when an address argument is a bare port.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// One poetry server as a client names it on the command line: `[host:]port`.
///
/// The host is kept as typed (a name is resolved only when connecting), so that the lines a client
/// prints show the address the user gave. An IPv6 literal is written in brackets, `[::1]:10000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    /// The host name or IP literal, without brackets.
    pub host: String,
    /// The TCP port, 1 to 65535.
    pub port: u16,
}

impl ServerAddress {
    /// Resolves the host and opens a blocking TCP connection, trying each resolved address in turn.
    ///
    /// `timeout` bounds each connection attempt; name resolution itself is left to the system.
    pub fn connect(&self, timeout: Duration) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in (self.host.as_str(), self.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "the name has no addresses")
        }))
    }
}

impl FromStr for ServerAddress {
    type Err = String;

    /// Parses `port`, `host:port` or `[ipv6]:port`.
    ///
    /// As in the tutorial, an address without brackets is split at its first colon, and an empty host
    /// (`:10000`) means the local machine. An address with several colons and no brackets is surely
    /// an IPv6 literal (`::1:10000`): the error shows how to write it (`[::1]:10000`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("'{text}' has a '[' but no closing ']'"))?;
            let port = rest
                .strip_prefix(':')
                .ok_or_else(|| format!("'{text}' needs ':port' after the ']'"))?;
            (host, port)
        } else {
            if let Some((host, port)) = text.rsplit_once(':')
                && host.contains(':')
            {
                return Err(format!(
                    "'{text}' has more than one ':': write an IPv6 address in brackets, as \
                     [{host}]:{port}"
                ));
            }
            match text.split_once(':') {
                Some((host, port)) => (host, port),
                None => ("", text),
            }
        };
        let host = if host.is_empty() { DEFAULT_HOST } else { host };
        Ok(ServerAddress {
            host: host.to_owned(),
            port: connect_port(port)?,
        })
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses the port a server listens on: 0 (any free port, the system picks) to 65535.
///
/// Meant as a clap `value_parser` for every `--port`, so that a wrong port is worded the same way by
/// every program, clients and servers alike (see [`port_in`]).
pub fn listen_port(text: &str) -> Result<u16, String> {
    port_in(text, 0)
}

/// Parses the port a client connects to: 1 to 65535 (nothing listens on port 0).
pub fn connect_port(text: &str) -> Result<u16, String> {
    port_in(text, 1)
}

/// A port from `lowest` to 65535, digits only; the two ways it can be wrong each have one wording,
/// `port must be a whole number, not 'x'` and `port 99999 is not in 0..=65535`.
fn port_in(text: &str, lowest: u16) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port must be a whole number, not '{text}'"));
    }
    match text.parse::<u16>() {
        Ok(port) if port >= lowest => Ok(port),
        _ => Err(format!("port {text} is not in {lowest}..=65535")),
    }
}

/// Resolves a server's `--iface` and `--port` into the one address to listen on.
///
/// A name such as `localhost` may resolve to both `::1` and `127.0.0.1`. The tutorial's servers listen
/// on IPv4 and its clients default to `127.0.0.1`, so an IPv4 address wins when there is one.
pub fn listen_address(iface: &str, port: u16) -> io::Result<SocketAddr> {
    let candidates: Vec<SocketAddr> = (iface, port).to_socket_addrs()?.collect();
    candidates
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| candidates.first())
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name has no addresses"))
}

/// Refuses a proxy's upstream `server` when it is the proxy itself, listening on `iface`:`port`:
/// each client would make the proxy fetch the poem from itself, and wait on that fetch for ever.
/// The error is the line to print. Every proxy of the tutorial checks this before it listens, so
/// that they refuse alike.
///
/// A name is resolved to compare it: `localhost:10000` is the proxy on `--port 10000`, and so is
/// `127.0.0.1:10000` for a proxy on every interface. With `--port 0` the proxy's port is not known
/// beforehand, so it cannot be named as the server; an address that does not resolve is left for
/// the download to report.
pub fn refuse_proxying_itself(
    server: &ServerAddress,
    iface: &str,
    port: u16,
) -> Result<(), String> {
    let Ok(listening) = listen_address(iface, port) else {
        return Ok(());
    };
    let Ok(upstream) = (server.host.as_str(), server.port).to_socket_addrs() else {
        return Ok(());
    };
    let itself = port != 0
        && upstream.into_iter().any(|upstream| {
            upstream.port() == listening.port()
                && (upstream.ip() == listening.ip()
                    || (listening.ip().is_unspecified() && upstream.ip().is_loopback()))
        });
    if itself {
        return Err(format!(
            "{server} is where this proxy listens: it would wait for ever on its own poem"
        ));
    }
    Ok(())
}

/// A peer address printed as Python prints a socket address: `('127.0.0.1', 35458)`.
///
/// The tutorial's servers print their peers this way (`Somebody at ('127.0.0.1', 35458) wants
/// poetry!`); an IPv6 peer gets Python's four-element form with flow info and scope id, and a
/// UNIX-domain peer its path as a Python string (`''` when the peer's socket has no name).
#[derive(Debug, Clone, Copy)]
pub struct PythonPeer<'a>(pub &'a Address);

impl fmt::Display for PythonPeer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tcp = match self.0 {
            Address::Tcp(tcp) => tcp,
            Address::Unix(path) => {
                let path = path.as_deref().map(|p| p.display().to_string());
                return write!(f, "'{}'", path.unwrap_or_default());
            }
        };
        match tcp {
            SocketAddr::V4(v4) => write!(f, "('{}', {})", v4.ip(), v4.port()),
            SocketAddr::V6(v6) => write!(
                f,
                "('{}', {}, {}, {})",
                v6.ip(),
                v6.port(),
                v6.flowinfo(),
                v6.scope_id()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerAddress, String> {
        text.parse()
    }

    fn address(host: &str, port: u16) -> ServerAddress {
        ServerAddress {
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn a_bare_port_means_the_local_machine() {
        assert_eq!(parse("10000"), Ok(address("127.0.0.1", 10000)));
    }

    #[test]
    fn host_and_port_split_at_the_first_colon() {
        assert_eq!(
            parse("example.org:10001"),
            Ok(address("example.org", 10001))
        );
        assert_eq!(parse("10.0.0.1:1"), Ok(address("10.0.0.1", 1)));
        assert_eq!(
            parse("a:b:1").unwrap_err(),
            "'a:b:1' has more than one ':': write an IPv6 address in brackets, as [a:b]:1"
        );
    }

    #[test]
    fn an_empty_host_means_the_local_machine() {
        assert_eq!(parse(":10002"), Ok(address("127.0.0.1", 10002)));
    }

    #[test]
    fn ipv6_literals_go_in_brackets() {
        assert_eq!(parse("[::1]:10003"), Ok(address("::1", 10003)));
        assert_eq!(parse("[::1]:10003").unwrap().to_string(), "[::1]:10003");
        assert_eq!(
            parse("[::1").unwrap_err(),
            "'[::1' has a '[' but no closing ']'"
        );
        assert_eq!(
            parse("[::1]").unwrap_err(),
            "'[::1]' needs ':port' after the ']'"
        );
    }

    #[test]
    fn ports_must_be_digits_in_range() {
        assert_eq!(
            parse("abc").unwrap_err(),
            "port must be a whole number, not 'abc'"
        );
        assert_eq!(
            parse("host:").unwrap_err(),
            "port must be a whole number, not ''"
        );
        assert_eq!(
            parse("").unwrap_err(),
            "port must be a whole number, not ''"
        );
        assert_eq!(
            parse("+80").unwrap_err(),
            "port must be a whole number, not '+80'"
        );
        assert_eq!(
            parse("-1").unwrap_err(),
            "port must be a whole number, not '-1'"
        );
        assert_eq!(parse("0").unwrap_err(), "port 0 is not in 1..=65535");
        assert_eq!(
            parse("65536").unwrap_err(),
            "port 65536 is not in 1..=65535"
        );
        assert_eq!(
            parse("99999999999999999999").unwrap_err(),
            "port 99999999999999999999 is not in 1..=65535"
        );
        assert_eq!(listen_port("0"), Ok(0));
        assert_eq!(
            listen_port("99999").unwrap_err(),
            "port 99999 is not in 0..=65535"
        );
        assert_eq!(
            listen_port("x").unwrap_err(),
            "port must be a whole number, not 'x'"
        );
        assert_eq!(parse("65535"), Ok(address("127.0.0.1", 65535)));
    }

    #[test]
    fn ipv6_without_brackets_gets_a_hint() {
        assert_eq!(
            parse("::1:10000").unwrap_err(),
            "'::1:10000' has more than one ':': write an IPv6 address in brackets, as [::1]:10000"
        );
    }

    #[test]
    fn display_shows_the_address_as_typed() {
        assert_eq!(parse("10000").unwrap().to_string(), "127.0.0.1:10000");
        assert_eq!(parse("localhost:7").unwrap().to_string(), "localhost:7");
    }

    #[test]
    fn listening_prefers_ipv4() {
        let addr = listen_address("localhost", 0).unwrap();
        assert!(addr.is_ipv4(), "{addr}");
        assert_eq!(listen_address("::1", 5).unwrap().to_string(), "[::1]:5");
    }

    #[test]
    fn a_proxy_is_refused_as_its_own_upstream() {
        let refused = |server: &str, iface: &str, port: u16| {
            refuse_proxying_itself(&parse(server).unwrap(), iface, port).is_err()
        };
        assert!(refused("10000", "localhost", 10000));
        assert!(refused("localhost:10000", "127.0.0.1", 10000));
        assert!(refused("127.0.0.1:10000", "0.0.0.0", 10000));
        assert!(!refused("10001", "localhost", 10000));
        // With port 0 the system picks the port: no upstream named beforehand can be it.
        assert!(!refused("10000", "localhost", 0));
        assert_eq!(
            refuse_proxying_itself(&parse("10000").unwrap(), "localhost", 10000).unwrap_err(),
            "127.0.0.1:10000 is where this proxy listens: it would wait for ever on its own poem"
        );
    }

    #[test]
    fn peers_print_as_python_tuples() {
        let v4: SocketAddr = "127.0.0.1:35458".parse().unwrap();
        assert_eq!(
            PythonPeer(&Address::Tcp(v4)).to_string(),
            "('127.0.0.1', 35458)"
        );
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(
            PythonPeer(&Address::Tcp(v6)).to_string(),
            "('::1', 80, 0, 0)"
        );
        let unix = Address::Unix(Some(std::path::Path::new("/tmp/s").into()));
        assert_eq!(PythonPeer(&unix).to_string(), "'/tmp/s'");
        assert_eq!(PythonPeer(&Address::Unix(None)).to_string(), "''");
    }
}
