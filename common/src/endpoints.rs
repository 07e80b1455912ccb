//! Endpoint strings: where to listen and where to connect, as one piece of text.
//!
//! Twisted lets a program say "listen on `tcp:8080`" or "connect to `unix:/tmp/chat.sock`" with a
//! string (`serverFromString` and `clientFromString`), so that the kind of socket is the user's
//! choice, not the program's. Talk 002's runner listens with `"tcp:1400"`. This module parses the
//! same strings into a [`ServerEndpoint`] or a [`ClientEndpoint`], and the reactor listens on or
//! connects to either with [`Reactor::listen`] and [`Reactor::connect`].
//!
//! The syntax is Twisted's: a type, then fields separated by colons, each a value by position or
//! a `name=value`; a colon or backslash inside a value is escaped with a backslash
//! (`tcp:8080:interface=\:\:1`).
//!
//! | string | meaning |
//! |---|---|
//! | `tcp:PORT[:interface=ADDR][:backlog=N]` | listen on a TCP port; port 0 picks a free one |
//! | `unix:PATH[:mode=OCTAL]` | listen on a UNIX socket, its file given those permissions |
//! | `tcp:HOST:PORT[:timeout=SECONDS]` | connect over TCP |
//! | `unix:PATH[:timeout=SECONDS]` | connect to a UNIX socket |
//!
//! One difference from Twisted, on purpose: a server endpoint without `interface` listens on
//! 127.0.0.1, not on every interface, so that nothing is exposed to the network unless asked for.
//! A bare number (`8080`) is taken as `tcp:8080`, as Twisted's older `strports` did.

use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use crate::cli::address::ServerAddress;
use crate::cli::duration::parse_duration;
use crate::protocol::{ClientFactory, Connector, Factory};
use crate::reactor::{CannotListenError, ListeningPort, Reactor};

/// The interface a server endpoint listens on when the string names none.
pub const DEFAULT_INTERFACE: &str = "127.0.0.1";

/// How long a connection attempt may take when the string gives no `timeout` (Twisted's 30 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a server listens: `tcp:8080:interface=0.0.0.0` or `unix:/tmp/echo.sock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEndpoint {
    /// A TCP port on one interface.
    Tcp {
        port: u16,
        interface: String,
        /// How many connections may wait to be accepted; the reactor's own default when `None`.
        backlog: Option<u32>,
    },
    /// A UNIX-domain socket, and the permissions of its file.
    Unix { path: PathBuf, mode: Option<u32> },
}

impl ServerEndpoint {
    /// A TCP endpoint on `port` of `interface`: what a server's `--port` and `--interface` mean.
    pub fn tcp(port: u16, interface: &str) -> ServerEndpoint {
        ServerEndpoint::Tcp {
            port,
            interface: interface.to_owned(),
            backlog: None,
        }
    }
}

/// Where a client connects: `tcp:localhost:8000` or `unix:/tmp/echo.sock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEndpoint {
    /// A TCP server, by host name or address.
    Tcp {
        host: String,
        port: u16,
        timeout: Duration,
    },
    /// A UNIX-domain socket.
    Unix { path: PathBuf, timeout: Duration },
}

impl ClientEndpoint {
    /// What the clients of the training and the talks take on their command line: an endpoint
    /// string (`tcp:localhost:8000`, `unix:/tmp/echo.sock`), or the tutorial's `[host:]port`
    /// (`localhost:8000`, `[::1]:8000`, `8000`), which means TCP.
    pub fn from_arg(text: &str) -> Result<ClientEndpoint, String> {
        let kind = text
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if kind == "tcp" || kind == "unix" {
            return text.parse();
        }
        let address: ServerAddress = text.parse()?;
        Ok(ClientEndpoint::Tcp {
            host: address.host,
            port: address.port,
            timeout: DEFAULT_CONNECT_TIMEOUT,
        })
    }

    /// The same endpoint with another connection timeout.
    pub fn with_timeout(mut self, limit: Duration) -> ClientEndpoint {
        match &mut self {
            ClientEndpoint::Tcp { timeout, .. } | ClientEndpoint::Unix { timeout, .. } => {
                *timeout = limit;
            }
        }
        self
    }
}

impl Reactor {
    /// Listens on `endpoint` with `factory`: `listen_tcp` or `listen_unix`, as the string said.
    pub fn listen<F: Factory + 'static>(
        &self,
        endpoint: &ServerEndpoint,
        factory: Rc<F>,
    ) -> Result<ListeningPort, CannotListenError> {
        match endpoint {
            ServerEndpoint::Tcp {
                port,
                interface,
                backlog,
            } => self.listen_tcp_with_backlog(*port, factory, interface, *backlog),
            ServerEndpoint::Unix { path, mode } => self.listen_unix(path, factory, *mode),
        }
    }

    /// Connects to `endpoint` with `factory`: `connect_tcp` or `connect_unix`, as the string said.
    pub fn connect<F: ClientFactory + 'static>(
        &self,
        endpoint: &ClientEndpoint,
        factory: Rc<F>,
    ) -> Connector {
        match endpoint {
            ClientEndpoint::Tcp {
                host,
                port,
                timeout,
            } => self.connect_tcp(host, *port, factory, *timeout),
            ClientEndpoint::Unix { path, timeout } => self.connect_unix(path, factory, *timeout),
        }
    }
}

/// An endpoint string cut into its type and its fields, escapes resolved.
struct Fields<'a> {
    text: &'a str,
    kind: String,
    positional: Vec<String>,
    named: Vec<(String, String)>,
}

impl<'a> Fields<'a> {
    /// Splits `text` at its unescaped colons. A field holding an unescaped `=` is a named one.
    fn parse(text: &'a str) -> Result<Fields<'a>, String> {
        let mut fields = vec![(String::new(), false)];
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let (field, has_equals) = fields.last_mut().expect("never empty");
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => field.push(escaped),
                    None => return Err(format!("'{text}' ends with a lone backslash")),
                },
                ':' => fields.push((String::new(), false)),
                '=' if !*has_equals => {
                    *has_equals = true;
                    field.push('\u{0}');
                }
                c => field.push(c),
            }
        }
        let mut fields = fields.into_iter();
        let (kind, _) = fields.next().expect("never empty");
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for (field, has_equals) in fields {
            match field.split_once('\u{0}') {
                Some((name, value)) if has_equals => {
                    named.push((name.to_owned(), value.to_owned()))
                }
                _ => positional.push(field),
            }
        }
        Ok(Fields {
            text,
            kind: kind.to_ascii_lowercase(),
            positional,
            named,
        })
    }

    /// The field called `name`, given by name or as the `index`th positional field.
    fn take(&mut self, name: &str, index: Option<usize>) -> Result<Option<String>, String> {
        let by_name = self.named.iter().position(|(n, _)| n == name);
        let by_name = by_name.map(|at| self.named.remove(at).1);
        let by_position = index.and_then(|i| self.positional.get_mut(i).map(std::mem::take));
        match (by_name, by_position) {
            (Some(_), Some(_)) => Err(format!("'{}' gives {name} twice", self.text)),
            (value, None) | (None, value) => Ok(value),
        }
    }

    /// Fails on any field that no `take` used.
    fn finish(self, known: &str) -> Result<(), String> {
        if let Some((name, _)) = self.named.first() {
            return Err(format!(
                "'{}': unknown option '{name}' (a {} endpoint takes {known})",
                self.text, self.kind
            ));
        }
        if let Some(extra) = self.positional.iter().find(|field| !field.is_empty()) {
            return Err(format!("'{}': unexpected field '{extra}'", self.text));
        }
        Ok(())
    }
}

/// Parses a port number for an endpoint: 0 to 65535 (0 only makes sense for a server), worded as
/// every `--port` is.
fn parse_port(text: &str) -> Result<u16, String> {
    crate::cli::address::listen_port(text)
}

fn parse_timeout(text: Option<String>) -> Result<Duration, String> {
    text.map_or(Ok(DEFAULT_CONNECT_TIMEOUT), |text| {
        parse_duration(&text).map_err(|error| format!("timeout: {error}"))
    })
}

fn required(value: Option<String>, what: &str, text: &str) -> Result<String, String> {
    value
        .filter(|value| !value.is_empty())
        .ok_or_else(|| format!("'{text}' needs {what}"))
}

fn unknown_kind(text: &str, kind: &str) -> String {
    format!("'{text}': unknown endpoint type '{kind}' (use tcp: or unix:)")
}

impl FromStr for ServerEndpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(ServerEndpoint::tcp(parse_port(text)?, DEFAULT_INTERFACE));
        }
        let mut fields = Fields::parse(text)?;
        match fields.kind.as_str() {
            "tcp" => {
                let port = required(fields.take("port", Some(0))?, "a port", text)?;
                let port = parse_port(&port)?;
                let interface = fields.take("interface", None)?;
                let interface = interface.unwrap_or_else(|| DEFAULT_INTERFACE.to_owned());
                let backlog = match fields.take("backlog", None)? {
                    Some(n) => Some(
                        n.parse::<u32>()
                            .map_err(|_| format!("backlog must be a whole number, not '{n}'"))?,
                    ),
                    None => None,
                };
                fields.finish("port, interface and backlog")?;
                Ok(ServerEndpoint::Tcp {
                    port,
                    interface,
                    backlog,
                })
            }
            "unix" => {
                let path = required(fields.take("address", Some(0))?, "a path", text)?;
                let mode = match fields.take("mode", None)? {
                    Some(mode) => Some(u32::from_str_radix(&mode, 8).map_err(|_| {
                        format!("mode must be octal permissions such as 660, not '{mode}'")
                    })?),
                    None => None,
                };
                fields.finish("address and mode")?;
                Ok(ServerEndpoint::Unix {
                    path: PathBuf::from(path),
                    mode,
                })
            }
            kind => Err(unknown_kind(text, kind)),
        }
    }
}

impl FromStr for ClientEndpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut fields = Fields::parse(text)?;
        match fields.kind.as_str() {
            "tcp" => {
                let host = required(fields.take("host", Some(0))?, "a host", text)?;
                let port = required(fields.take("port", Some(1))?, "a port", text)?;
                let port = parse_port(&port)?;
                if port == 0 {
                    return Err(format!("'{text}': cannot connect to port 0"));
                }
                let timeout = parse_timeout(fields.take("timeout", None)?)?;
                fields.finish("host, port and timeout")?;
                Ok(ClientEndpoint::Tcp {
                    host,
                    port,
                    timeout,
                })
            }
            "unix" => {
                let path = required(fields.take("path", Some(0))?, "a path", text)?;
                let timeout = parse_timeout(fields.take("timeout", None)?)?;
                fields.finish("path and timeout")?;
                Ok(ClientEndpoint::Unix {
                    path: PathBuf::from(path),
                    timeout,
                })
            }
            kind => Err(unknown_kind(text, kind)),
        }
    }
}

/// Writes a field of an endpoint string, escaping what would end it.
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace(':', "\\:")
}

fn escaped_path(path: &Path) -> String {
    escaped(&path.display().to_string())
}

impl fmt::Display for ServerEndpoint {
    /// The endpoint as a string that parses back to it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEndpoint::Tcp {
                port,
                interface,
                backlog,
            } => {
                write!(f, "tcp:{port}:interface={}", escaped(interface))?;
                match backlog {
                    Some(backlog) => write!(f, ":backlog={backlog}"),
                    None => Ok(()),
                }
            }
            ServerEndpoint::Unix { path, mode } => {
                write!(f, "unix:{}", escaped_path(path))?;
                match mode {
                    Some(mode) => write!(f, ":mode={mode:o}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for ClientEndpoint {
    /// The endpoint as a string that parses back to it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, timeout) = match self {
            ClientEndpoint::Tcp {
                host,
                port,
                timeout,
            } => (format!("tcp:{}:{port}", escaped(host)), timeout),
            ClientEndpoint::Unix { path, timeout } => {
                (format!("unix:{}", escaped_path(path)), timeout)
            }
        };
        f.write_str(&text)?;
        if *timeout != DEFAULT_CONNECT_TIMEOUT {
            write!(f, ":timeout={}", timeout.as_secs_f64())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(text: &str) -> Result<ServerEndpoint, String> {
        text.parse()
    }

    fn client(text: &str) -> Result<ClientEndpoint, String> {
        text.parse()
    }

    #[test]
    fn tcp_servers_listen_on_the_loopback_unless_told() {
        assert_eq!(
            server("tcp:1400"),
            Ok(ServerEndpoint::tcp(1400, "127.0.0.1"))
        );
        assert_eq!(
            server("tcp:port=1400"),
            Ok(ServerEndpoint::tcp(1400, "127.0.0.1"))
        );
        assert_eq!(server("TCP:0"), Ok(ServerEndpoint::tcp(0, "127.0.0.1")));
        assert_eq!(
            server("tcp:8080:interface=0.0.0.0"),
            Ok(ServerEndpoint::tcp(8080, "0.0.0.0"))
        );
        assert_eq!(
            server("tcp:8080:backlog=5"),
            Ok(ServerEndpoint::Tcp {
                port: 8080,
                interface: "127.0.0.1".into(),
                backlog: Some(5)
            })
        );
    }

    #[test]
    fn a_bare_number_is_a_tcp_port() {
        assert_eq!(server("8080"), Ok(ServerEndpoint::tcp(8080, "127.0.0.1")));
    }

    #[test]
    fn escaped_colons_stay_in_the_value() {
        assert_eq!(
            server(r"tcp:80:interface=\:\:1"),
            Ok(ServerEndpoint::tcp(80, "::1"))
        );
        let endpoint = ServerEndpoint::tcp(80, "::1");
        assert_eq!(endpoint.to_string(), r"tcp:80:interface=\:\:1");
        assert_eq!(server(&endpoint.to_string()), Ok(endpoint));
    }

    #[test]
    fn unix_servers_take_a_path_and_a_mode() {
        assert_eq!(
            server("unix:/tmp/chat.sock"),
            Ok(ServerEndpoint::Unix {
                path: "/tmp/chat.sock".into(),
                mode: None
            })
        );
        assert_eq!(
            server("unix:address=/tmp/a\\:b:mode=660"),
            Ok(ServerEndpoint::Unix {
                path: "/tmp/a:b".into(),
                mode: Some(0o660)
            })
        );
        assert_eq!(
            server("unix:/tmp/x:mode=660").unwrap().to_string(),
            "unix:/tmp/x:mode=660"
        );
    }

    #[test]
    fn clients_take_a_host_and_port_or_a_path() {
        assert_eq!(
            client("tcp:localhost:8000"),
            Ok(ClientEndpoint::Tcp {
                host: "localhost".into(),
                port: 8000,
                timeout: DEFAULT_CONNECT_TIMEOUT
            })
        );
        assert_eq!(
            client("tcp:host=example.org:port=80:timeout=2.5"),
            Ok(ClientEndpoint::Tcp {
                host: "example.org".into(),
                port: 80,
                timeout: Duration::from_millis(2500)
            })
        );
        assert_eq!(
            client("unix:/tmp/echo.sock:timeout=1"),
            Ok(ClientEndpoint::Unix {
                path: "/tmp/echo.sock".into(),
                timeout: Duration::from_secs(1)
            })
        );
        let endpoint = client("tcp:localhost:8000:timeout=1.5").unwrap();
        assert_eq!(endpoint.to_string(), "tcp:localhost:8000:timeout=1.5");
        assert_eq!(
            client("tcp:localhost:8000").unwrap().to_string(),
            "tcp:localhost:8000"
        );
    }

    #[test]
    fn clients_also_take_the_tutorials_host_and_port() {
        let tcp = |host: &str, port| ClientEndpoint::Tcp {
            host: host.into(),
            port,
            timeout: DEFAULT_CONNECT_TIMEOUT,
        };
        assert_eq!(
            ClientEndpoint::from_arg("localhost:8000"),
            Ok(tcp("localhost", 8000))
        );
        assert_eq!(ClientEndpoint::from_arg("8000"), Ok(tcp("127.0.0.1", 8000)));
        assert_eq!(ClientEndpoint::from_arg("[::1]:8000"), Ok(tcp("::1", 8000)));
        assert_eq!(
            ClientEndpoint::from_arg("tcp:localhost:8000"),
            Ok(tcp("localhost", 8000))
        );
        assert_eq!(
            ClientEndpoint::from_arg("unix:/tmp/s").map(|e| e.with_timeout(Duration::ZERO)),
            Ok(ClientEndpoint::Unix {
                path: "/tmp/s".into(),
                timeout: Duration::ZERO
            })
        );
        assert!(ClientEndpoint::from_arg("localhost").is_err());
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            server("ssl:443").unwrap_err(),
            "'ssl:443': unknown endpoint type 'ssl' (use tcp: or unix:)"
        );
        assert_eq!(server("tcp:").unwrap_err(), "'tcp:' needs a port");
        assert_eq!(server("tcp").unwrap_err(), "'tcp' needs a port");
        assert_eq!(
            server("tcp:99999").unwrap_err(),
            "port 99999 is not in 0..=65535"
        );
        assert_eq!(
            server("tcp:80:iface=x").unwrap_err(),
            "'tcp:80:iface=x': unknown option 'iface' (a tcp endpoint takes port, interface and backlog)"
        );
        assert_eq!(
            server("tcp:80:port=81").unwrap_err(),
            "'tcp:80:port=81' gives port twice"
        );
        assert_eq!(
            server("tcp:80:x").unwrap_err(),
            "'tcp:80:x': unexpected field 'x'"
        );
        assert_eq!(server("unix:").unwrap_err(), "'unix:' needs a path");
        assert_eq!(
            server("unix:/x:mode=rw").unwrap_err(),
            "mode must be octal permissions such as 660, not 'rw'"
        );
        assert_eq!(
            client("tcp:localhost").unwrap_err(),
            "'tcp:localhost' needs a port"
        );
        assert_eq!(
            client("tcp:localhost:0").unwrap_err(),
            "'tcp:localhost:0': cannot connect to port 0"
        );
        assert_eq!(
            server("tcp:1\\").unwrap_err(),
            "'tcp:1\\' ends with a lone backslash"
        );
        assert!(
            client("tcp:h:1:timeout=soon")
                .unwrap_err()
                .starts_with("timeout: ")
        );
    }
}
