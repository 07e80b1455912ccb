//! The load of the Perspective Broker benchmark (scripts/bench/pb.sh): one connection, logged in
//! as guest/guest, on which IN_FLIGHT calls of `echo("hello world")` always wait for their answers
//! (a new call goes out as each answer comes), for SECONDS seconds. It reports the calls answered.
//!
//! ```text
//! cargo run --release --example pb-load -- PORT [IN_FLIGHT] [SECONDS]     # 100 5
//! ```
//!
//! The server is any pbecho: ours (`pbecho-server`) or Twisted's
//! (`scripts/interop/twisted/pbecho_server.py`). The client speaks PB itself, on plain tokio with
//! common's Banana and Jelly codecs, rather than through our broker, so that the same client
//! measures both servers and its own cost stays small and steady. Every answer is checked (it must
//! be the text sent); any other answer is an error, and the exit status is then 1.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use common::cli::address::connect_port;
use common::cred::respond;
use common::spread::banana::{BananaError, Decoder, Dialect, Int, Item, Writer};
use common::spread::jelly::{JellyError, SecurityOptions, Value, jelly, unjelly};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The load of the Perspective Broker benchmark (scripts/bench/pb.sh): one connection to a pbecho
/// server on 127.0.0.1, logged in as guest/guest, on which IN_FLIGHT calls of echo("hello world")
/// always wait for their answers, for SECONDS seconds. Reports the calls answered; any wrong answer
/// makes the exit status 1.
#[derive(Debug, Parser)]
#[command(name = "pb-load")]
struct Options {
    /// The pbecho server's port on 127.0.0.1.
    #[arg(value_parser = connect_port)]
    port: u16,

    /// How many calls wait for their answers at any time (at least one).
    #[arg(default_value_t = 100)]
    in_flight: u64,

    /// For how many seconds.
    #[arg(default_value_t = 5)]
    seconds: u64,
}

/// What every call sends, and expects back.
const TEXT: &str = "hello world";

fn main() -> ExitCode {
    let Options {
        port,
        in_flight,
        seconds,
    } = Options::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match runtime.block_on(run(port, in_flight.max(1), Duration::from_secs(seconds))) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("pb-load: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs in, then keeps `in_flight` echo calls going until `length` is over and the last answers
/// are in.
async fn run(port: u16, in_flight: u64, length: Duration) -> Result<ExitCode, String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let _ = stream.set_nodelay(true);
    let mut connection = Connection::new(stream);
    let avatar = connection.log_in(b"guest", b"guest").await?;

    let started = Instant::now();
    let deadline = started + length;
    let (mut sent, mut answered, mut errors) = (0u64, 0u64, 0u64);
    let mut out = Vec::with_capacity(64 * 1024);
    for _ in 0..in_flight {
        sent += 1;
        connection.call(&mut out, sent, avatar, "echo", Value::Text(TEXT.into()))?;
    }
    connection.send(&mut out).await?;
    while answered < sent {
        let (_, outcome) = connection.next_answer().await?;
        answered += 1;
        if outcome != Ok(Value::Text(TEXT.into())) {
            errors += 1;
        }
        if Instant::now() < deadline {
            sent += 1;
            connection.call(&mut out, sent, avatar, "echo", Value::Text(TEXT.into()))?;
        }
        // Send what the answers read so far called for, in one write, once none is left buffered.
        if !connection.has_item_buffered() {
            connection.send(&mut out).await?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{answered} calls in {elapsed:.3} s: {:.0}/s; errors {errors}",
        answered as f64 / elapsed
    );
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes the start of `("message" id object method 1 ...)`, up to the arguments.
fn message_head(
    writer: &mut Writer<'_>,
    id: u64,
    object: &Item,
    method: &str,
) -> Result<(), BananaError> {
    writer.list_header(7)?;
    writer.bytes(b"message")?;
    writer.int(id as i64);
    writer.item(object)?;
    writer.bytes(method.as_bytes())?;
    writer.int(1);
    Ok(())
}

/// One PB connection, as seen from the client.
struct Connection {
    stream: TcpStream,
    decoder: Decoder,
    security: SecurityOptions,
    buffer: Vec<u8>,
    /// An item already decoded but not yet taken.
    pending: Option<Item>,
}

impl Connection {
    fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            decoder: Decoder::new(),
            security: SecurityOptions::new(),
            buffer: vec![0; 64 * 1024],
            pending: None,
        }
    }

    /// The dialect exchange, the version, and the login of spec 5.1; the avatar's luid.
    async fn log_in(&mut self, user: &[u8], password: &[u8]) -> Result<i64, String> {
        let offer = self.next_item().await?;
        if !matches!(&offer, Item::List(words) if words.contains(&Item::Bytes(b"pb".to_vec()))) {
            return Err(format!("not a PB server: it offered {offer:?}"));
        }
        let mut out = Vec::new();
        Writer::new(&mut out, Dialect::None)
            .bytes(b"pb")
            .map_err(|error| error.to_string())?;
        self.decoder.set_dialect(Dialect::Pb);
        let mut writer = Writer::new(&mut out, Dialect::Pb);
        writer.list_header(2).map_err(|error| error.to_string())?;
        writer
            .bytes(b"version")
            .map_err(|error| error.to_string())?;
        writer.int(6);
        self.call_on(
            &mut out,
            1,
            Item::Bytes(b"root".to_vec()),
            "login",
            Value::Bytes(user.to_vec()),
        )?;
        self.send(&mut out).await?;
        let (challenge, challenger) = match self.next_answer().await? {
            (1, Ok(Value::Tuple(parts))) => match parts.as_slice() {
                [Value::Bytes(challenge), Value::Remote(challenger)] => {
                    (challenge.clone(), i64::from(*challenger))
                }
                _ => return Err(format!("unexpected answer to login: {parts:?}")),
            },
            other => return Err(format!("unexpected answer to login: {other:?}")),
        };
        let response = respond(&challenge, password);
        let arguments = Value::Tuple(vec![Value::Bytes(response.to_vec()), Value::None]);
        self.message(
            &mut out,
            2,
            Item::Int(Int::Small(challenger)),
            "respond",
            &arguments,
        )?;
        self.send(&mut out).await?;
        match self.next_answer().await? {
            (2, Ok(Value::Remote(avatar))) => Ok(i64::from(avatar)),
            (_, Err(failure)) => Err(format!("login failed: {failure}")),
            other => Err(format!("unexpected answer to respond: {other:?}")),
        }
    }

    /// Adds to `out` the call `method(argument)` on object `luid`, request id `id`.
    fn call(
        &self,
        out: &mut Vec<u8>,
        id: u64,
        luid: i64,
        method: &str,
        argument: Value,
    ) -> Result<(), String> {
        self.call_on(out, id, Item::Int(Int::Small(luid)), method, argument)
    }

    fn call_on(
        &self,
        out: &mut Vec<u8>,
        id: u64,
        object: Item,
        method: &str,
        argument: Value,
    ) -> Result<(), String> {
        self.message(out, id, object, method, &Value::Tuple(vec![argument]))
    }

    /// Adds to `out` `("message" id object method 1 arguments ("dictionary"))`.
    fn message(
        &self,
        out: &mut Vec<u8>,
        id: u64,
        object: Item,
        method: &str,
        arguments: &Value,
    ) -> Result<(), String> {
        let mut writer = Writer::new(out, Dialect::Pb);
        message_head(&mut writer, id, &object, method)
            .map_err(JellyError::from)
            .and_then(|()| jelly(arguments, &mut writer))
            .and_then(|()| jelly(&Value::Dict(Vec::new()), &mut writer))
            .map_err(|error| error.to_string())
    }

    /// Writes out everything in `out`, and empties it.
    async fn send(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if out.is_empty() {
            return Ok(());
        }
        self.stream
            .write_all(out)
            .await
            .map_err(|error| format!("cannot send: {error}"))?;
        out.clear();
        Ok(())
    }

    /// Whether an item can be taken without reading the socket.
    fn has_item_buffered(&mut self) -> bool {
        if self.pending.is_none() {
            self.pending = match self.decoder.next_item() {
                Some(Ok(item)) => Some(item),
                _ => None,
            };
        }
        self.pending.is_some()
    }

    /// The next answer or error: its request id and the value or the failure's text. The server's
    /// version message and decrefs in between are skipped.
    async fn next_answer(&mut self) -> Result<(i64, Result<Value, String>), String> {
        loop {
            let Item::List(mut parts) = self.next_item().await? else {
                return Err("the server sent something that is not a message".into());
            };
            if parts.len() != 3 {
                continue;
            }
            let body = parts.pop().unwrap();
            let id = match &parts[1] {
                Item::Int(id) => id.as_i64().unwrap_or(-1),
                _ => -1,
            };
            let value = unjelly(body, &self.security).map_err(|error| error.to_string())?;
            match &parts[0] {
                Item::Bytes(kind) if kind == b"answer" => return Ok((id, Ok(value))),
                Item::Bytes(kind) if kind == b"error" => return Ok((id, Err(format!("{value}")))),
                _ => {}
            }
        }
    }

    /// The next item from the server, reading as much as needed.
    async fn next_item(&mut self) -> Result<Item, String> {
        if let Some(item) = self.pending.take() {
            return Ok(item);
        }
        loop {
            match self.decoder.next_item() {
                Some(Ok(item)) => return Ok(item),
                Some(Err(error)) => return Err(error.to_string()),
                None => {}
            }
            let count = self
                .stream
                .read(&mut self.buffer)
                .await
                .map_err(|error| format!("cannot read: {error}"))?;
            if count == 0 {
                return Err("the server closed the connection".into());
            }
            self.decoder.feed(&self.buffer[..count]);
        }
    }
}
