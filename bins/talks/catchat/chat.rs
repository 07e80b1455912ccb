//! The chat itself (talk 002's `chat.py`): a protocol per connected `nc`, and a factory that
//! holds what they share, the set of users and the banner.
//!
//! The slides' lesson is the split between the two: a `Protocol` lives as long as its connection
//! and reacts to its events (`connection_made`, `data_received`, `connection_lost`); the
//! `Factory` outlives them all and keeps the state. Here that state is a [`Chat`], which the
//! admin API (`api.rs`) reads and changes too: one process, one chat.
//!
//! What a user sees is the original's: the banner when they connect, then every byte the others
//! send, exactly as it arrived (no names, no framing), and nothing when someone leaves. What the
//! server does beyond the talk is keep each user from costing it unbounded memory: a user who
//! does not read what the others say is disconnected once too much waits for them, and a line
//! longer than the limit ends its sender's connection.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use common::log;
use common::protocol::{Address, DisconnectReason, Factory, Protocol, Transport};

use super::text::log_text;

/// The banner a new chat starts with, as the talk's.
pub const DEFAULT_BANNER: &str = "Welcome to NetCatChat!\r\n";

/// What one user may cost the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most bytes that may wait, written but unsent, for one user: past it, that user (who is
    /// not reading) is disconnected.
    pub max_unsent: usize,
    /// The longest line a user may send, newline excluded: a longer one disconnects its sender.
    pub max_line: usize,
}

/// One connected user, as the chat knows them.
pub struct User {
    transport: Rc<dyn Transport>,
    /// Where the user is in the chat's list; moves when another user leaves.
    slot: Cell<usize>,
    /// The user's address, for the log.
    peer: Address,
}

/// What a relay of messages beyond this process needs to hear (a Redis shared by several
/// servers, see `scale.rs`). Without one, the chat is this process's alone.
pub trait Elsewhere {
    /// A user of this server said `data`.
    fn said(&self, data: &[u8]);
    /// The number of users of this server changed.
    fn users_changed(self: Rc<Self>, count: usize);
    /// Whether a change can be shared now (Redis is there).
    fn can_share(&self) -> bool;
    /// The banner was changed here: every server should have it.
    fn banner_changed(&self, banner: &str);
    /// The number of users of every server, when it can be known.
    fn user_count(&self) -> Option<Pin<Box<dyn Future<Output = usize>>>>;
}

/// The state every connection and the API share: Twisted's `NetCatChatFactory`, with its
/// `clients` and `banner`.
pub struct Chat {
    users: RefCell<Vec<Rc<User>>>,
    banner: RefCell<String>,
    limits: Limits,
    elsewhere: RefCell<Option<Rc<dyn Elsewhere>>>,
}

impl Chat {
    /// An empty chat with the talk's banner.
    pub fn new(limits: Limits) -> Rc<Chat> {
        Rc::new(Chat {
            users: RefCell::new(Vec::new()),
            banner: RefCell::new(DEFAULT_BANNER.to_owned()),
            limits,
            elsewhere: RefCell::new(None),
        })
    }

    /// Tells `elsewhere` of every message and every change in the number of users from now on.
    pub fn share_with(&self, elsewhere: Rc<dyn Elsewhere>) {
        *self.elsewhere.borrow_mut() = Some(elsewhere);
    }

    fn elsewhere(&self) -> Option<Rc<dyn Elsewhere>> {
        self.elsewhere.borrow().clone()
    }

    /// How many users are connected to this server.
    pub fn user_count(&self) -> usize {
        self.users.borrow().len()
    }

    /// The banner new users get.
    pub fn banner(&self) -> String {
        self.banner.borrow().clone()
    }

    /// Changes the banner for the users who connect to this server from now on.
    pub fn set_banner(&self, banner: &str) {
        *self.banner.borrow_mut() = banner.to_owned();
    }

    /// Changes the banner here, and on every server if the chat is shared.
    pub fn change_banner(&self, banner: &str) {
        self.set_banner(banner);
        if let Some(elsewhere) = self.elsewhere() {
            elsewhere.banner_changed(banner);
        }
    }

    /// Whether the chat is shared with other servers but cannot reach them now: a change made
    /// here would not be theirs.
    pub fn cut_off(&self) -> bool {
        self.elsewhere()
            .is_some_and(|elsewhere| !elsewhere.can_share())
    }

    /// The number of users of every server sharing the chat, when it is shared and can be
    /// asked; `None` when this server's count is the answer.
    pub fn total_users(&self) -> Option<Pin<Box<dyn Future<Output = usize>>>> {
        self.elsewhere()?.user_count()
    }

    /// Adds a user and greets them with the banner.
    fn join(&self, transport: Rc<dyn Transport>, peer: Address) -> Rc<User> {
        let user = Rc::new(User {
            transport,
            slot: Cell::new(0),
            peer,
        });
        let count = {
            let mut users = self.users.borrow_mut();
            user.slot.set(users.len());
            users.push(Rc::clone(&user));
            users.len()
        };
        user.transport.write(self.banner.borrow().as_bytes());
        if let Some(elsewhere) = self.elsewhere() {
            elsewhere.users_changed(count);
        }
        user
    }

    /// Removes a user who left: the last of the list takes their place.
    fn leave(&self, user: &User) {
        let count = {
            let mut users = self.users.borrow_mut();
            let slot = user.slot.get();
            let still_there = users
                .get(slot)
                .is_some_and(|listed| std::ptr::eq(Rc::as_ptr(listed), user));
            if !still_there {
                return;
            }
            users.swap_remove(slot);
            if let Some(moved) = users.get(slot) {
                moved.slot.set(slot);
            }
            users.len()
        };
        if let Some(elsewhere) = self.elsewhere() {
            elsewhere.users_changed(count);
        }
    }

    /// Sends what `from` said to every other user of this server, and beyond it if the chat is
    /// shared.
    fn say(&self, from: &User, data: &[u8]) {
        self.deliver(Some(from), data);
        if let Some(elsewhere) = self.elsewhere() {
            elsewhere.said(data);
        }
    }

    /// Writes `data` to every user of this server but `from`. A user who has let too much pile
    /// up unread is disconnected: they are not reading, and the others must not pay for it.
    pub fn deliver(&self, from: Option<&User>, data: &[u8]) {
        for user in self.users.borrow().iter() {
            if from.is_some_and(|from| std::ptr::eq(from, Rc::as_ptr(user))) {
                continue;
            }
            let transport = &user.transport;
            transport.write(data);
            let unsent = transport.buffered();
            if unsent > self.limits.max_unsent && !transport.is_disconnecting() {
                log::msg(format!(
                    "Disconnecting {}: {unsent} bytes are waiting for it to read, more than the \
                     limit of {}",
                    user.peer.short(),
                    self.limits.max_unsent
                ));
                transport.abort_connection();
            }
        }
    }
}

/// One user's connection: Twisted's `NetCatChatProtocol`.
pub struct NetCatChatProtocol {
    chat: Rc<Chat>,
    peer: Address,
    user: Option<Rc<User>>,
    /// How long the line being received is so far (bytes since the last newline).
    line_length: usize,
}

impl NetCatChatProtocol {
    /// The text that starts each of this user's log lines: the address without the port, as the
    /// original logged it.
    fn who(&self) -> String {
        match &self.peer {
            Address::Tcp(address) => address.ip().to_string(),
            other => other.short(),
        }
    }

    /// Updates the length of the current line with `data`; `false` if a line grew too long.
    fn lines_fit(&mut self, data: &[u8]) -> bool {
        let max = self.chat.limits.max_line;
        let mut rest = data;
        while let Some(end) = rest.iter().position(|&byte| byte == b'\n') {
            if self.line_length + end > max {
                return false;
            }
            self.line_length = 0;
            rest = &rest[end + 1..];
        }
        self.line_length += rest.len();
        self.line_length <= max
    }
}

impl Protocol for NetCatChatProtocol {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.user = Some(self.chat.join(transport, self.peer.clone()));
    }

    /// Whatever arrived (part of a line, several lines, binary) is logged and relayed at once.
    fn data_received(&mut self, data: &[u8]) {
        let Some(user) = self.user.clone() else {
            return;
        };
        if !self.lines_fit(data) {
            log::msg(format!(
                "Disconnecting {}: it sent a line longer than the limit of {} bytes",
                user.peer.short(),
                self.chat.limits.max_line
            ));
            user.transport.abort_connection();
            return;
        }
        log::msg(format!("{}: {}", self.who(), log_text(data)));
        self.chat.say(&user, data);
    }

    /// The user closed, was cut off, or half-closed (which counts as leaving, as in Twisted).
    /// Nobody is told: the original's `Goodbye` went to the closed connection and was never seen.
    fn connection_lost(&mut self, _reason: &DisconnectReason) {
        if let Some(user) = self.user.take() {
            self.chat.leave(&user);
        }
    }
}

/// Makes a [`NetCatChatProtocol`] per connection, all sharing one [`Chat`].
pub struct NetCatChatFactory {
    pub chat: Rc<Chat>,
}

impl Factory for NetCatChatFactory {
    fn build_protocol(&self, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(NetCatChatProtocol {
            chat: Rc::clone(&self.chat),
            peer: peer.clone(),
            user: None,
            line_length: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(max_line: usize) -> NetCatChatProtocol {
        let chat = Chat::new(Limits {
            max_unsent: 1 << 20,
            max_line,
        });
        NetCatChatProtocol {
            chat,
            peer: Address::Tcp("127.0.0.1:1".parse().unwrap()),
            user: None,
            line_length: 0,
        }
    }

    #[test]
    fn lines_are_measured_across_chunks() {
        let mut chat = protocol(5);
        assert!(chat.lines_fit(b"abc"));
        assert!(chat.lines_fit(b"de\nabcde\n"));
        assert!(chat.lines_fit(b"ab"));
        assert!(!chat.lines_fit(b"cdef"));

        let mut chat = protocol(5);
        assert!(!chat.lines_fit(b"ok\nmuch too long\nok\n"));
        let mut chat = protocol(5);
        assert!(chat.lines_fit(b"\n\n\n12345\n"));
    }
}
