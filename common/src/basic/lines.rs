//! `LineReceiver`: messages that end with a delimiter.
//!
//! A peer may send many requests at once and never read the replies (a client pipelining `get`s
//! of a large value). Each line answered adds its reply to the transport's buffer, and one read can
//! bring thousands of lines, so a server that answered all it received would keep a copy of every
//! reply. So, by default, a line connection stops when its transport holds more than
//! [`HIGH_WATER`] unsent bytes: the lines already received wait, nothing more is read, and when the
//! transport has sent everything it resumes us and the waiting lines are handled. The memory a
//! connection takes is then about one read and one high-water mark, whatever its peer does.

use std::rc::Rc;

use crate::protocol::{DisconnectReason, HIGH_WATER, Protocol, Transport};

/// What a line protocol does with its lines: the part we write; [`LineReceiver`] does the framing.
pub trait LineHandler {
    /// The connection is open; `lines` can write and close it.
    fn connection_made(&mut self, lines: &mut Lines) {
        let _ = lines;
    }

    /// A complete line arrived, without its delimiter.
    fn line_received(&mut self, line: &[u8], lines: &mut Lines);

    /// Bytes arrived in raw mode (see [`Lines::set_raw_mode`]).
    fn raw_data_received(&mut self, data: &[u8], lines: &mut Lines) {
        let _ = (data, lines);
    }

    /// A line longer than the maximum arrived (or is arriving); `line` is what was buffered. By
    /// default the connection is closed: a peer may not make us buffer without limit.
    fn line_length_exceeded(&mut self, line: &[u8], lines: &mut Lines) {
        let _ = line;
        lines.lose_connection();
    }

    /// The connection closed.
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        let _ = reason;
    }

    /// Whether lines wait, and the connection stops reading, while the peer is not taking what we
    /// write (the transport holds more than [`HIGH_WATER`] unsent bytes). Yes by default: that is
    /// what bounds a server's memory when a peer sends requests and never reads the replies.
    ///
    /// A client says no. It must go on reading the server's replies while its own requests wait to
    /// be sent: if it stopped, and the server stopped reading because we do not take its replies,
    /// each side would wait for the other for ever.
    fn holds_while_unread(&self) -> bool {
        true
    }
}

/// The framing state of a line connection, handed to the handler so it can write lines and switch
/// modes.
pub struct Lines {
    transport: Option<Rc<dyn Transport>>,
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no delimiter, so it is not searched again.
    searched: usize,
    delimiter: Vec<u8>,
    max_length: usize,
    raw: bool,
    /// The handler paused delivery ([`Lines::pause`]).
    paused: bool,
    /// The peer is not taking what we write: lines wait and the transport does not read (see the
    /// module's documentation) until the transport resumes us.
    held: bool,
}

impl Lines {
    /// The connection's transport.
    ///
    /// # Panics
    ///
    /// Before the connection is made.
    pub fn transport(&self) -> &Rc<dyn Transport> {
        self.transport
            .as_ref()
            .expect("a line protocol's transport is set when its connection is made")
    }

    /// Sends `line` followed by the delimiter, in one write: as two, the delimiter would wait
    /// for the peer to acknowledge the line (Nagle's algorithm), and a client that waits for a
    /// whole line before it asks again would wait that long each time.
    pub fn send_line(&self, line: &[u8]) {
        let mut message = Vec::with_capacity(line.len() + self.delimiter.len());
        message.extend_from_slice(line);
        message.extend_from_slice(&self.delimiter);
        self.transport().write(&message);
    }

    /// Closes the connection once what was written has been sent; no more lines are delivered.
    pub fn lose_connection(&self) {
        self.transport().lose_connection();
    }

    /// From now on, received bytes go to `raw_data_received` as they come, unframed.
    pub fn set_raw_mode(&mut self) {
        self.raw = true;
    }

    /// Back to lines. `extra` is data that belongs to the line stream (typically what followed a
    /// raw-mode message); it is framed before anything received later.
    pub fn set_line_mode(&mut self, extra: &[u8]) {
        self.raw = false;
        if !extra.is_empty() {
            let mut buffered = extra.to_vec();
            buffered.extend_from_slice(&self.buffer);
            self.buffer = buffered;
            self.searched = 0;
        }
    }

    /// Stops delivering lines (they are kept) until [`resume`](Lines::resume).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Delivers lines again; those already received are delivered with the next data, or by
    /// [`LineReceiver::resume_delivery`].
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// The bytes received and not yet delivered.
    pub fn buffered(&self) -> &[u8] {
        &self.buffer
    }

    fn stopped(&self) -> bool {
        self.paused
            || self.held
            || self
                .transport
                .as_ref()
                .is_some_and(|t| t.is_disconnecting())
    }

    /// How long the line being received already is: the buffer, less a partial delimiter at its
    /// end (a `\r` whose `\n` is still on its way does not make a line too long).
    fn unfinished_line_length(&self) -> usize {
        let partial = (1..self.delimiter.len())
            .rev()
            .find(|&n| self.buffer.ends_with(&self.delimiter[..n]))
            .unwrap_or(0);
        self.buffer.len() - partial
    }

    /// Where the next delimiter starts, searching only bytes not searched before.
    fn find_delimiter(&mut self) -> Option<usize> {
        let width = self.delimiter.len();
        if self.buffer.len() < width {
            return None;
        }
        let start = self.searched.saturating_sub(width - 1);
        let found = self.buffer[start..]
            .windows(width)
            .position(|window| window == self.delimiter.as_slice())
            .map(|offset| start + offset);
        if found.is_none() {
            self.searched = self.buffer.len();
        }
        found
    }
}

/// Twisted's `LineReceiver`: frames a byte stream into lines for a [`LineHandler`].
///
/// Lines longer than the maximum (16384 bytes by default) go to `line_length_exceeded`, which
/// closes the connection; an unterminated line is declared too long only once the buffer holds the
/// maximum plus a delimiter's length, so a line of exactly the maximum whose delimiter arrives split
/// is still accepted. Once the connection is closing, no more lines are delivered.
pub struct LineReceiver<H> {
    handler: H,
    lines: Lines,
}

impl<H: LineHandler> LineReceiver<H> {
    /// The default maximum line length, as Twisted's.
    pub const MAX_LENGTH: usize = 16384;

    /// A line receiver with `\r\n` lines of at most 16384 bytes.
    pub fn new(handler: H) -> Self {
        LineReceiver::with_delimiter(handler, b"\r\n", Self::MAX_LENGTH)
    }

    /// A line receiver with another delimiter (`b"\n"`, say) and maximum line length.
    pub fn with_delimiter(handler: H, delimiter: &[u8], max_length: usize) -> Self {
        LineReceiver {
            handler,
            lines: Lines {
                transport: None,
                buffer: Vec::new(),
                searched: 0,
                delimiter: delimiter.to_vec(),
                max_length,
                raw: false,
                paused: false,
                held: false,
            },
        }
    }

    /// The handler, to look at its state.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Delivers the lines buffered while paused (call after resuming).
    pub fn resume_delivery(&mut self) {
        self.lines.paused = false;
        self.deliver();
    }

    /// Stops reading, with what is buffered waiting, if the handler wants that and the
    /// transport holds more than the high-water mark.
    ///
    /// The transport is paused here, before the next line, rather than left to the reactor, which
    /// only pauses us once the callback has returned: by then every line of the read would have
    /// been answered. The reactor, seeing the transport's buffer over the mark, also calls our
    /// `pause_producing`, and later `resume_producing` once the buffer is empty, which is what
    /// starts us again.
    fn hold_if_unread(&mut self) -> bool {
        if let Some(transport) = &self.lines.transport
            && transport.buffered() > HIGH_WATER
            && self.handler.holds_while_unread()
        {
            self.lines.held = true;
            transport.pause_producing();
        }
        self.lines.held
    }

    /// Hands the handler every complete line in the buffer (or all of it, in raw mode), for as
    /// long as it does not pause, close, or switch mode in a way that stops delivery, and the
    /// peer takes what it is sent.
    fn deliver(&mut self) {
        loop {
            if self.lines.stopped() || self.hold_if_unread() {
                return;
            }
            if self.lines.raw {
                if self.lines.buffer.is_empty() {
                    return;
                }
                let data = std::mem::take(&mut self.lines.buffer);
                self.lines.searched = 0;
                self.handler.raw_data_received(&data, &mut self.lines);
                continue;
            }
            let Some(end) = self.lines.find_delimiter() else {
                if self.lines.unfinished_line_length() > self.lines.max_length {
                    let line = std::mem::take(&mut self.lines.buffer);
                    self.lines.searched = 0;
                    self.handler.line_length_exceeded(&line, &mut self.lines);
                }
                return;
            };
            if end > self.lines.max_length {
                // Everything from this line on: the protocol is past trusting the stream.
                let line = std::mem::take(&mut self.lines.buffer);
                self.lines.searched = 0;
                self.handler.line_length_exceeded(&line, &mut self.lines);
                return;
            }
            let rest = self
                .lines
                .buffer
                .split_off(end + self.lines.delimiter.len());
            let mut line = std::mem::replace(&mut self.lines.buffer, rest);
            line.truncate(end);
            self.lines.searched = 0;
            self.handler.line_received(&line, &mut self.lines);
        }
    }
}

impl<H: LineHandler> Protocol for LineReceiver<H> {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.lines.transport = Some(transport);
        self.handler.connection_made(&mut self.lines);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.lines.buffer.extend_from_slice(data);
        self.deliver();
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.handler.connection_lost(reason);
    }

    /// The peer is not taking what we write (our replies, or what the handler writes from a
    /// timer): read nothing more from it until it has, unless the handler would rather not.
    fn pause_producing(&mut self) {
        if self.handler.holds_while_unread() {
            self.lines.held = true;
            self.lines.transport().pause_producing();
        }
    }

    /// Everything written has been sent: read again, and first handle the lines that waited (the
    /// peer may be waiting for their replies, not sending more).
    fn resume_producing(&mut self) {
        if self.lines.held {
            self.lines.held = false;
            self.lines.transport().resume_producing();
            self.deliver();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{StringTransport, feed_in_chunks};

    /// Records what it receives; switches to raw mode after a line `RAW n` for n bytes.
    #[derive(Default)]
    struct Recorder {
        events: Vec<String>,
        raw_left: usize,
    }

    impl LineHandler for Recorder {
        fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
            let text = String::from_utf8_lossy(line).into_owned();
            if let Some(count) = text.strip_prefix("RAW ") {
                self.raw_left = count.parse().unwrap();
                lines.set_raw_mode();
            } else if text == "BYE" {
                lines.send_line(b"bye!");
                lines.lose_connection();
            }
            self.events.push(format!("line {text:?}"));
        }

        fn raw_data_received(&mut self, data: &[u8], lines: &mut Lines) {
            let taken = data.len().min(self.raw_left);
            self.raw_left -= taken;
            self.events
                .push(format!("raw {:?}", String::from_utf8_lossy(&data[..taken])));
            if self.raw_left == 0 {
                lines.set_line_mode(&data[taken..]);
            }
        }

        fn line_length_exceeded(&mut self, line: &[u8], lines: &mut Lines) {
            self.events.push(format!("too long: {} bytes", line.len()));
            lines.lose_connection();
        }
    }

    fn run(input: &[u8], chunk: usize, max: usize) -> (Vec<String>, Rc<StringTransport>) {
        let mut receiver = LineReceiver::with_delimiter(Recorder::default(), b"\r\n", max);
        let transport = feed_in_chunks(&mut receiver, input, chunk);
        (receiver.handler.events.clone(), transport)
    }

    #[test]
    fn lines_arrive_whole_in_every_chunk_size() {
        let input = b"first\r\nsecond line\r\n\r\nlast\r\n";
        for chunk in 1..=input.len() {
            let (events, _) = run(input, chunk, 100);
            assert_eq!(
                events,
                [
                    "line \"first\"",
                    "line \"second line\"",
                    "line \"\"",
                    "line \"last\""
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn raw_mode_and_back_with_the_extra_bytes() {
        let input = b"RAW 5\r\nhelloafter\r\n";
        for chunk in 1..=9 {
            let (events, _) = run(input, chunk, 100);
            let raw: String = events
                .iter()
                .filter_map(|e| e.strip_prefix("raw "))
                .map(|quoted| quoted.trim_matches('"').to_owned())
                .collect();
            assert_eq!(raw, "hello", "chunk {chunk}");
            assert_eq!(events.first().unwrap(), "line \"RAW 5\"");
            assert_eq!(events.last().unwrap(), "line \"after\"", "chunk {chunk}");
        }
    }

    #[test]
    fn no_lines_after_lose_connection() {
        for chunk in 1..=9 {
            let (events, transport) = run(b"one\r\nBYE\r\nnever\r\n", chunk, 100);
            assert_eq!(events, ["line \"one\"", "line \"BYE\""], "chunk {chunk}");
            assert_eq!(transport.value(), b"bye!\r\n");
            assert!(transport.is_disconnecting());
        }
    }

    #[test]
    fn long_lines_close_the_connection() {
        // A complete line over the maximum.
        let (events, transport) = run(b"12345678901\r\nnext\r\n", 64, 10);
        assert_eq!(events, ["too long: 19 bytes"]);
        assert!(transport.is_disconnecting());
        // An unterminated one, as soon as it is longer than the maximum (as Twisted's).
        let (events, _) = run(b"12345678901", 1, 10);
        assert_eq!(events, ["too long: 11 bytes"]);
        // A line of exactly the maximum, its delimiter split across reads, is fine.
        let mut receiver = LineReceiver::with_delimiter(Recorder::default(), b"\r\n", 10);
        let transport = StringTransport::new();
        receiver.connection_made(transport.clone());
        receiver.data_received(b"1234567890\r");
        receiver.data_received(b"\n");
        assert_eq!(receiver.handler.events, ["line \"1234567890\""]);
        assert!(!transport.is_disconnecting());
    }

    #[test]
    fn pausing_keeps_lines_until_resumed() {
        struct Pauser(Vec<String>);
        impl LineHandler for Pauser {
            fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
                self.0.push(String::from_utf8_lossy(line).into_owned());
                lines.pause();
            }
        }
        let mut receiver = LineReceiver::new(Pauser(Vec::new()));
        receiver.connection_made(StringTransport::new());
        receiver.data_received(b"a\r\nb\r\nc\r\n");
        assert_eq!(receiver.handler.0, ["a"]);
        receiver.resume_delivery();
        assert_eq!(receiver.handler.0, ["a", "b"]);
        receiver.resume_delivery();
        receiver.resume_delivery();
        assert_eq!(receiver.handler.0, ["a", "b", "c"]);
    }

    /// Answers every line with 40,000 bytes, to a peer that reads none of them: the transport's
    /// unsent bytes are all it was written.
    struct Answerer {
        seen: Vec<String>,
        transport: Rc<StringTransport>,
        holds: bool,
    }

    impl LineHandler for Answerer {
        fn line_received(&mut self, line: &[u8], lines: &mut Lines) {
            self.seen.push(String::from_utf8_lossy(line).into_owned());
            lines.send_line(&[b'x'; 40_000]);
            self.transport.set_buffered(self.transport.value().len());
        }

        fn holds_while_unread(&self) -> bool {
            self.holds
        }
    }

    fn answerer(holds: bool) -> (LineReceiver<Answerer>, Rc<StringTransport>) {
        let transport = StringTransport::new();
        let mut receiver = LineReceiver::new(Answerer {
            seen: Vec::new(),
            transport: transport.clone(),
            holds,
        });
        receiver.connection_made(transport.clone());
        (receiver, transport)
    }

    #[test]
    fn lines_wait_while_the_peer_does_not_take_the_replies() {
        let (mut receiver, transport) = answerer(true);
        receiver.data_received(b"a\r\nb\r\nc\r\nd\r\n");
        // Two replies are past the high-water mark: the rest waits, and nothing more is read.
        assert_eq!(receiver.handler.seen, ["a", "b"]);
        assert!(transport.producing_paused());
        receiver.data_received(b"e\r\n");
        assert_eq!(receiver.handler.seen, ["a", "b"]);
        // The reactor pauses us too, then resumes us once the peer has taken everything.
        receiver.pause_producing();
        transport.clear();
        transport.set_buffered(0);
        receiver.resume_producing();
        assert_eq!(receiver.handler.seen, ["a", "b", "c", "d"]);
        assert!(transport.producing_paused());
        transport.clear();
        transport.set_buffered(0);
        receiver.resume_producing();
        assert_eq!(receiver.handler.seen, ["a", "b", "c", "d", "e"]);
        assert!(!transport.producing_paused());
    }

    #[test]
    fn a_handler_that_does_not_hold_hears_every_line() {
        let (mut receiver, transport) = answerer(false);
        receiver.data_received(b"a\r\nb\r\nc\r\nd\r\n");
        receiver.pause_producing();
        assert_eq!(receiver.handler.seen, ["a", "b", "c", "d"]);
        assert!(!transport.producing_paused());
    }
}
