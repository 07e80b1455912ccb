//! Framing: turning a stream of bytes into messages (tutorial Part 12, Twisted's `protocols.basic`).
//!
//! TCP delivers bytes, not messages: one `data_received` may carry half a message, or three. A framing
//! protocol collects the bytes and hands complete messages to its handler. Two framings, as in
//! Twisted:
//!
//! * [`LineReceiver`]: messages end with a delimiter (`\r\n` by default); it can also switch to raw
//!   mode and pass bytes through unframed;
//! * [`NetstringReceiver`]: each message is `<length>:<bytes>,` (D. J. Bernstein's netstrings), which is
//!   what the poetry transformation protocol of Part 12 speaks.
//!
//! Each is a [`Protocol`](crate::protocol::Protocol) wrapped around a handler of ours, which sees
//! whole messages. Both check sizes as the bytes arrive, so a peer cannot make them buffer without
//! limit, and both close the connection on input they cannot frame.

mod lines;
mod netstring;

pub use lines::{LineHandler, LineReceiver, Lines};
pub use netstring::{NetstringHandler, NetstringReceiver, Netstrings, encode_netstring};
