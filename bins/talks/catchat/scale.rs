//! Several chat servers, one chat: the talk's closing question ("How would you scale to many
//! Twisted servers? Keep state in one place, make the services stateless") answered with Redis.
//!
//! With `--redis URL`, each `catchat` still serves its own users exactly as before, and Redis
//! joins them into one chat:
//!
//! * a message is written to this server's other users at once, as always, and published on the
//!   channel `catchat:messages` (prefixed with this server's id); every other server delivers it
//!   to its own users;
//! * the banner lives in the key `catchat:banner`; a change is stored there and published on the
//!   channel of the same name, so every server greets its next users with it;
//! * each server keeps its number of users in `catchat:users:<id>`, which expires unless the
//!   server refreshes it (every few seconds), so a server that dies stops counting; `/users/`
//!   adds them all up.
//!
//! The client is the `redis` crate's, on the reactor's own runtime. When Redis goes away the
//! server says so in the log and goes on serving its own users (only what crosses servers stops);
//! it tries again every second, and says when it is back.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::time::Duration;

use common::log;
use common::reactor::Reactor;
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::{AsyncCommands, AsyncConnectionConfig, Msg, RedisResult};

use super::chat::{Chat, Elsewhere};

/// The channel every message goes through.
const MESSAGES: &str = "catchat:messages";
/// The banner's key, and the channel that announces a new one.
const BANNER: &str = "catchat:banner";
/// The start of each server's user count key.
const USERS: &str = "catchat:users:";
/// How long a server's count lives unless refreshed, and how often it is refreshed.
const COUNT_LIFETIME_SECONDS: u64 = 15;
const REFRESH: Duration = Duration::from_secs(5);
/// How long to wait before connecting again, and the most a connection or a command may take.
const RETRY: Duration = Duration::from_secs(1);
const PATIENCE: Duration = Duration::from_secs(2);

/// This server's link to the Redis that the servers share.
pub struct Shared {
    url: String,
    client: redis::Client,
    /// This server's name among the others: its messages come back to it, and are dropped.
    id: String,
    chat: Weak<Chat>,
    /// The connection for commands and publishing; `None` while Redis is away.
    connection: RefCell<Option<MultiplexedConnection>>,
    /// A write of this server's user count is on its way.
    count_pending: Cell<bool>,
}

/// Shares `chat` through the Redis at `url` from the moment the reactor runs. Fails, with one
/// line, when `url` is not a Redis URL.
pub fn share(chat: &Rc<Chat>, url: &str, reactor: &Reactor) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|error| format!("--redis {url}: {error}"))?;
    let shared = Rc::new(Shared {
        url: url.to_owned(),
        client,
        id: server_id(),
        chat: Rc::downgrade(chat),
        connection: RefCell::new(None),
        count_pending: Cell::new(false),
    });
    chat.share_with(Rc::clone(&shared) as Rc<dyn Elsewhere>);
    reactor.call_when_running(move || {
        tokio::task::spawn_local(shared.stay_connected());
    });
    Ok(())
}

/// A name no other server has: the host's process id and the time it started.
fn server_id() -> String {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{}-{started:x}", std::process::id())
}

impl Shared {
    /// Connects, serves, and connects again whenever the link breaks, for as long as the
    /// reactor runs.
    async fn stay_connected(self: Rc<Self>) {
        let mut reported_down = false;
        loop {
            match self.connect().await {
                Ok(messages) => {
                    reported_down = false;
                    log::msg(format!("Sharing the chat through Redis at {}", self.url));
                    let why = self.serve(messages).await;
                    self.connection.replace(None);
                    log::msg(format!(
                        "Lost Redis at {} ({why}): this server's users keep chatting among \
                         themselves; reconnecting",
                        self.url
                    ));
                }
                Err(error) if !reported_down => {
                    reported_down = true;
                    log::msg(format!(
                        "Cannot reach Redis at {}: {error}; this server's users chat among \
                         themselves until it answers",
                        self.url
                    ));
                }
                Err(_) => {}
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Opens both connections, subscribes, agrees on the banner and says how many users this
    /// server has.
    async fn connect(&self) -> RedisResult<PubSubStream> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(PATIENCE))
            .set_response_timeout(Some(PATIENCE));
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&[MESSAGES, BANNER]).await?;
        // The first server to arrive brings its banner; the others take the one in Redis.
        if let Some(chat) = self.chat.upgrade() {
            let _: bool = connection.set_nx(BANNER, chat.banner()).await?;
            let banner: String = connection.get(BANNER).await?;
            chat.set_banner(&banner);
        }
        *self.connection.borrow_mut() = Some(connection.clone());
        self.write_count(&mut connection).await?;
        Ok(pubsub.into_on_message())
    }

    /// Delivers what the other servers publish, and refreshes this server's count, until the
    /// link breaks; returns why it did.
    async fn serve(&self, mut messages: PubSubStream) -> String {
        let mut refresh = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => self.received(&message),
                    None => return "the connection closed".to_owned(),
                },
                _ = refresh.tick() => {
                    let Some(mut connection) = self.connection.borrow().clone() else {
                        return "the connection closed".to_owned();
                    };
                    if let Err(error) = self.write_count(&mut connection).await {
                        return error.to_string();
                    }
                }
            }
        }
    }

    /// A message or a banner from another server (or this one, for banners).
    fn received(&self, message: &Msg) {
        let Some(chat) = self.chat.upgrade() else {
            return;
        };
        let payload = message.get_payload_bytes();
        match message.get_channel_name() {
            MESSAGES => {
                let Some(split) = payload.iter().position(|&byte| byte == b'\n') else {
                    return;
                };
                if payload[..split] != *self.id.as_bytes() {
                    chat.deliver(None, &payload[split + 1..]);
                }
            }
            BANNER => {
                if let Ok(banner) = std::str::from_utf8(payload) {
                    chat.set_banner(banner);
                }
            }
            _ => {}
        }
    }

    /// Stores this server's number of users, for a while.
    async fn write_count(&self, connection: &mut MultiplexedConnection) -> RedisResult<()> {
        let count = self.chat.upgrade().map_or(0, |chat| chat.user_count());
        let key = format!("{USERS}{}", self.id);
        connection
            .set_ex::<_, _, ()>(key, count, COUNT_LIFETIME_SECONDS)
            .await
    }

    /// The connection for a command, if Redis is there.
    fn connection(&self) -> Option<MultiplexedConnection> {
        self.connection.borrow().clone()
    }
}

impl Elsewhere for Shared {
    fn said(&self, data: &[u8]) {
        let Some(mut connection) = self.connection() else {
            return;
        };
        let payload = [self.id.as_bytes(), b"\n", data].concat();
        tokio::task::spawn_local(async move {
            // A message that cannot be published is lost to the other servers only; the broken
            // link is noticed, and logged, by the task that serves it.
            let _: RedisResult<()> = connection.publish(MESSAGES, payload).await;
        });
    }

    /// Writes the new count soon: a thousand users arriving at once make one write, not a
    /// thousand.
    fn users_changed(self: Rc<Self>, _count: usize) {
        if self.count_pending.replace(true) {
            return;
        }
        tokio::task::spawn_local(async move {
            self.count_pending.set(false);
            if let Some(mut connection) = self.connection() {
                let _ = self.write_count(&mut connection).await;
            }
        });
    }

    fn can_share(&self) -> bool {
        self.connection.borrow().is_some()
    }

    fn banner_changed(&self, banner: &str) {
        let Some(mut connection) = self.connection() else {
            return;
        };
        let banner = banner.to_owned();
        tokio::task::spawn_local(async move {
            let stored: RedisResult<()> = connection.set(BANNER, &banner).await;
            if stored.is_ok() {
                let _: RedisResult<()> = connection.publish(BANNER, &banner).await;
            }
        });
    }

    fn user_count(&self) -> Option<Pin<Box<dyn Future<Output = usize>>>> {
        let mut connection = self.connection()?;
        let local = self.chat.upgrade().map_or(0, |chat| chat.user_count());
        Some(Box::pin(async move {
            total_users(&mut connection).await.unwrap_or(local)
        }))
    }
}

/// The users of every server that has written its count lately.
async fn total_users(connection: &mut MultiplexedConnection) -> RedisResult<usize> {
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{USERS}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(connection)
            .await?;
        keys.extend(found);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    if keys.is_empty() {
        return Ok(0);
    }
    let counts: Vec<Option<usize>> = connection.mget(&keys).await?;
    Ok(counts.into_iter().flatten().sum())
}
