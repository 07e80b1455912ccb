//! `NetstringReceiver`: messages framed as `<length>:<bytes>,`.
//!
//! The rules (D. J. Bernstein's netstrings, and Twisted's strict reading of them): the length is
//! decimal ASCII digits, with no leading zero (`0:,` is the empty string; `007:` is wrong), and counts
//! bytes; exactly that many bytes follow the colon, then a comma. The parser checks every byte as it
//! arrives: a length that grows past the maximum is refused while its digits are still coming, and the
//! comma must be at its exact place. Input that is merely incomplete waits for more; input that is
//! wrong closes the connection, and nothing more is delivered.

use std::rc::Rc;

use crate::protocol::{DisconnectReason, Protocol, Transport};

/// What a netstring protocol does with its messages.
pub trait NetstringHandler {
    /// The connection is open.
    fn connection_made(&mut self, netstrings: &mut Netstrings) {
        let _ = netstrings;
    }

    /// A complete netstring arrived; `payload` is what was between the colon and the comma.
    fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings);

    /// The peer sent something that is not a netstring; the connection is being closed. `why` says
    /// what was wrong, for a log line.
    fn bad_netstring(&mut self, why: &str) {
        let _ = why;
    }

    /// The connection closed.
    fn connection_lost(&mut self, reason: &DisconnectReason) {
        let _ = reason;
    }

    /// The transport holds more unsent data than it should: the peer is not taking what we write.
    /// A server that answers requests should stop reading new ones until it does
    /// (`netstrings.transport().pause_producing()`), so that a peer that sends without reading
    /// cannot make it pile up replies. By default nothing is done.
    fn pause_producing(&mut self, netstrings: &mut Netstrings) {
        let _ = netstrings;
    }

    /// The transport has sent what it held.
    fn resume_producing(&mut self, netstrings: &mut Netstrings) {
        let _ = netstrings;
    }
}

/// Encodes `payload` as a netstring.
pub fn encode_netstring(payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!("{}:", payload.len()).into_bytes();
    encoded.extend_from_slice(payload);
    encoded.push(b',');
    encoded
}

/// The netstring side of a connection, handed to the handler so it can reply and close.
pub struct Netstrings {
    transport: Option<Rc<dyn Transport>>,
    max_length: usize,
}

impl Netstrings {
    /// The connection's transport.
    ///
    /// # Panics
    ///
    /// Before the connection is made.
    pub fn transport(&self) -> &Rc<dyn Transport> {
        self.transport
            .as_ref()
            .expect("a netstring protocol's transport is set when its connection is made")
    }

    /// Sends `payload` as one netstring.
    pub fn send_string(&self, payload: &[u8]) {
        let length = payload.len().to_string();
        self.transport()
            .write_sequence(&[length.as_bytes(), b":", payload, b","]);
    }

    /// Closes the connection once what was written has been sent.
    pub fn lose_connection(&self) {
        self.transport().lose_connection();
    }

    /// The largest payload accepted.
    pub fn max_length(&self) -> usize {
        self.max_length
    }
}

/// Where the parser is in the current netstring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parse {
    /// Reading the length: the digits so far and their value.
    Length { digits: usize, value: usize },
    /// Reading the payload: how many bytes it has.
    Payload { length: usize },
    /// After a parse error: nothing more is read.
    Broken,
}

/// Twisted's `NetstringReceiver`: frames a byte stream into netstrings for a [`NetstringHandler`].
pub struct NetstringReceiver<H> {
    handler: H,
    netstrings: Netstrings,
    state: Parse,
    payload: Vec<u8>,
}

impl<H: NetstringHandler> NetstringReceiver<H> {
    /// The default maximum payload length, as Twisted's.
    pub const MAX_LENGTH: usize = 99999;

    /// A receiver of netstrings of at most 99999 bytes.
    pub fn new(handler: H) -> Self {
        NetstringReceiver::with_max_length(handler, Self::MAX_LENGTH)
    }

    /// A receiver of netstrings of at most `max_length` bytes.
    pub fn with_max_length(handler: H, max_length: usize) -> Self {
        NetstringReceiver {
            handler,
            netstrings: Netstrings {
                transport: None,
                max_length,
            },
            state: Parse::Length {
                digits: 0,
                value: 0,
            },
            payload: Vec::new(),
        }
    }

    /// The handler, to look at its state.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Whether the stream was refused (and the connection is closing).
    pub fn is_broken(&self) -> bool {
        self.state == Parse::Broken
    }

    fn refuse(&mut self, why: &str) {
        self.state = Parse::Broken;
        self.payload = Vec::new();
        self.handler.bad_netstring(why);
        if let Some(transport) = &self.netstrings.transport {
            transport.lose_connection();
        }
    }

    /// Parses `data`, delivering each netstring as it completes.
    fn parse(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self
                .netstrings
                .transport
                .as_ref()
                .is_some_and(|t| t.is_disconnecting())
            {
                return;
            }
            match self.state {
                Parse::Broken => return,
                Parse::Length { digits, value } => {
                    let byte = data[0];
                    data = &data[1..];
                    match byte {
                        b'0'..=b'9' => {
                            if digits == 1 && value == 0 {
                                return self.refuse("a length with a leading zero");
                            }
                            let value = value * 10 + usize::from(byte - b'0');
                            if value > self.netstrings.max_length {
                                return self.refuse("a length over the maximum");
                            }
                            self.state = Parse::Length {
                                digits: digits + 1,
                                value,
                            };
                        }
                        b':' if digits > 0 => {
                            self.state = Parse::Payload { length: value };
                            self.payload.reserve(value);
                        }
                        b':' => return self.refuse("a colon with no length before it"),
                        _ => return self.refuse("a length that is not a number"),
                    }
                }
                Parse::Payload { length } => {
                    let wanted = length - self.payload.len();
                    if wanted > 0 {
                        let taken = wanted.min(data.len());
                        self.payload.extend_from_slice(&data[..taken]);
                        data = &data[taken..];
                        continue;
                    }
                    // The payload is complete: the next byte must be the comma.
                    if data[0] != b',' {
                        return self.refuse("no comma after the payload");
                    }
                    data = &data[1..];
                    let payload = std::mem::take(&mut self.payload);
                    self.state = Parse::Length {
                        digits: 0,
                        value: 0,
                    };
                    self.handler.string_received(&payload, &mut self.netstrings);
                }
            }
        }
    }
}

impl<H: NetstringHandler> Protocol for NetstringReceiver<H> {
    fn connection_made(&mut self, transport: Rc<dyn Transport>) {
        self.netstrings.transport = Some(transport);
        self.handler.connection_made(&mut self.netstrings);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.parse(data);
    }

    fn connection_lost(&mut self, reason: &DisconnectReason) {
        self.handler.connection_lost(reason);
    }

    fn pause_producing(&mut self) {
        self.handler.pause_producing(&mut self.netstrings);
    }

    fn resume_producing(&mut self) {
        self.handler.resume_producing(&mut self.netstrings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::feed_in_chunks;

    /// Records the payloads received and the complaints.
    #[derive(Default)]
    struct Recorder {
        received: Vec<Vec<u8>>,
        complaints: Vec<String>,
    }

    impl NetstringHandler for Recorder {
        fn string_received(&mut self, payload: &[u8], _netstrings: &mut Netstrings) {
            self.received.push(payload.to_vec());
        }
        fn bad_netstring(&mut self, why: &str) {
            self.complaints.push(why.to_owned());
        }
    }

    /// Feeds `input` in pieces of `chunk` bytes; returns what was received and whether the
    /// connection was closed.
    fn feed(input: &[u8], chunk: usize, max: usize) -> (Vec<Vec<u8>>, bool) {
        let mut receiver = NetstringReceiver::with_max_length(Recorder::default(), max);
        let transport = feed_in_chunks(&mut receiver, input, chunk);
        (
            receiver.handler.received.clone(),
            transport.is_disconnecting(),
        )
    }

    #[test]
    fn valid_netstrings_in_every_chunk_size() {
        let cases: [(&[u8], &[&[u8]]); 5] = [
            (b"0:,", &[b""]),
            (b"1:a,", &[b"a"]),
            (b"2:ab,", &[b"ab"]),
            (b"4:1:a,,", &[b"1:a,"]),
            (b"1:a,1:b,3:c,d,", &[b"a", b"b", b"c,d"]),
        ];
        for (input, expected) in cases {
            for chunk in 1..=9 {
                let (received, closed) = feed(input, chunk, 50);
                assert_eq!(received, expected, "{input:?} in chunks of {chunk}");
                assert!(!closed);
            }
        }
    }

    #[test]
    fn long_strings_round_trip_in_every_chunk_size() {
        for payload in [
            b"hello world how are you123 :today".to_vec(),
            vec![b'a'; 515],
        ] {
            let encoded = encode_netstring(&payload);
            for chunk in 1..=9 {
                let (received, closed) = feed(&encoded, chunk, 699);
                assert_eq!(received, std::slice::from_ref(&payload), "chunk {chunk}");
                assert!(!closed);
            }
        }
    }

    #[test]
    fn illegal_input_closes_the_connection() {
        let mut over_max = b"51:".to_vec();
        over_max.extend(std::iter::repeat_n(b'a', 50));
        over_max.extend_from_slice(b"b,");
        let cases: Vec<&[u8]> = vec![
            b"9999999999999999999999",
            b"abc",
            b"4:abcde",
            &over_max,
            b"2:aaa,",
            b"0:a,",
            b":aaa,",
            b"3aaa,",
            b"aaa,",
            b"aaa",
            b"00:,",
            b"01:a,",
            b"007:abcdefg,",
        ];
        for input in cases {
            for chunk in 1..=9 {
                let (received, closed) = feed(input, chunk, 50);
                assert!(received.is_empty(), "{input:?}: {received:?}");
                assert!(
                    closed,
                    "{:?} in chunks of {chunk}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn the_maximum_is_checked_while_the_digits_arrive() {
        assert_eq!(feed(b"12:", 1, 12), (vec![], false));
        assert_eq!(feed(b"12:", 1, 11), (vec![], true));
        assert_eq!(feed(b"1000:", 1, 11), (vec![], true));
        // A length equal to the maximum is accepted (Twisted's old off-by-one).
        let payload = vec![b'x'; 12];
        assert_eq!(
            feed(&encode_netstring(&payload), 5, 12),
            (vec![payload], false)
        );
    }

    #[test]
    fn incomplete_input_waits() {
        for input in [&b"1"[..], b"12", b"12:hel", b"11:cummingsify"] {
            assert_eq!(feed(input, 1, 99999), (vec![], false), "{input:?}");
        }
    }

    #[test]
    fn nothing_is_delivered_after_an_error() {
        let (received, closed) = feed(b"1:a,x1:b,", 1, 50);
        assert_eq!(received, [b"a".to_vec()]);
        assert!(closed);
    }

    #[test]
    fn lengths_count_bytes() {
        let text = "こんにちは".as_bytes();
        assert_eq!(encode_netstring(text)[..3], *b"15:");
        assert_eq!(feed(&encode_netstring(text), 2, 50).0, [text.to_vec()]);
    }

    #[test]
    fn send_string_writes_a_netstring() {
        struct Echo;
        impl NetstringHandler for Echo {
            fn string_received(&mut self, payload: &[u8], netstrings: &mut Netstrings) {
                netstrings.send_string(&payload.to_ascii_lowercase());
            }
        }
        let mut receiver = NetstringReceiver::new(Echo);
        let transport = feed_in_chunks(&mut receiver, b"27:cummingsify.HERE IS MY POEM,", 4);
        assert_eq!(transport.value(), b"27:cummingsify.here is my poem,");
    }
}
