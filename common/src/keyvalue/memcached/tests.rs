//! The memcached protocol without sockets: replies byte for byte, in every chunk size, and
//! expiry under a paused clock.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use super::{MemcachedFactory, MemcachedOptions};
use crate::keyvalue::{Store, StoreOptions};
use crate::protocol::{Address, DisconnectReason, Factory, HIGH_WATER, Protocol, Transport};
use crate::reactor::Reactor;
use crate::testing::{StringTransport, feed_in_chunks};

fn peer() -> Address {
    Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 54321)))
}

/// A connection of a fresh server, on a store of a paused-clock reactor.
fn connection(options: MemcachedOptions) -> (Reactor, Store, Box<dyn Protocol>) {
    let reactor = Reactor::with_paused_clock().unwrap();
    let store = Store::new(&reactor, StoreOptions::default());
    let factory = MemcachedFactory::new(store.clone(), options);
    let protocol = factory.build_protocol(&peer()).unwrap();
    (reactor, store, protocol)
}

/// Feeds `input` to a fresh server in pieces of every size, and checks it answers `expected`
/// each time.
fn answers_in_every_chunk_size(options: MemcachedOptions, input: &[u8], expected: &[u8]) {
    for chunk in 1..=input.len() {
        let (_reactor, _store, mut protocol) = connection(options.clone());
        let transport = feed_in_chunks(&mut *protocol, input, chunk);
        assert_eq!(
            String::from_utf8_lossy(&transport.value()),
            String::from_utf8_lossy(expected),
            "in pieces of {chunk} bytes"
        );
    }
}

#[test]
fn every_command_byte_for_byte() {
    let session: &[(&[u8], &[u8])] = &[
        (b"set a 0 0 5\r\nhello\r\n", b"STORED\r\n"),
        (b"get a\r\n", b"VALUE a 0 5\r\nhello\r\nEND\r\n"),
        (b"gets a\r\n", b"VALUE a 0 5 1\r\nhello\r\nEND\r\n"),
        (b"add a 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
        (b"add b 7 0 2\r\nbb\r\n", b"STORED\r\n"),
        (b"replace c 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
        (b"replace b 3 0 1\r\nB\r\n", b"STORED\r\n"),
        (b"append b 9 0 2\r\n+1\r\n", b"STORED\r\n"),
        (b"prepend b 9 0 2\r\n0-\r\n", b"STORED\r\n"),
        (b"append c 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
        (
            b"gets b a nothing\r\n",
            b"VALUE b 3 5 5\r\n0-B+1\r\nVALUE a 0 5 1\r\nhello\r\nEND\r\n",
        ),
        (b"cas a 1 0 3 999\r\nnew\r\n", b"EXISTS\r\n"),
        (b"cas a 1 0 3 1\r\nnew\r\n", b"STORED\r\n"),
        (b"cas c 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n"),
        (b"get a\r\n", b"VALUE a 1 3\r\nnew\r\nEND\r\n"),
        (b"delete a\r\n", b"DELETED\r\n"),
        (b"delete a 0\r\n", b"NOT_FOUND\r\n"),
        (b"set n 4294967295 0 2\r\n10\r\n", b"STORED\r\n"),
        (b"incr n 5\r\n", b"15\r\n"),
        (b"decr n 100\r\n", b"0\r\n"),
        // A shorter number is padded with spaces to the old length, as memcached does.
        (b"get n\r\n", b"VALUE n 4294967295 2\r\n0 \r\nEND\r\n"),
        (
            b"incr n 18446744073709551615\r\n",
            b"18446744073709551615\r\n",
        ),
        (b"incr n 2\r\n", b"1\r\n"),
        (
            b"incr b 1\r\n",
            b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
        ),
        (b"decr c 1\r\n", b"NOT_FOUND\r\n"),
        (b"touch b 100\r\n", b"TOUCHED\r\n"),
        (b"touch c 100\r\n", b"NOT_FOUND\r\n"),
        (b"verbosity 1\r\n", b"OK\r\n"),
        (b"version\r\n", b"VERSION 1.6.18\r\n"),
        (b"flush_all\r\n", b"OK\r\n"),
        (b"get b n\r\n", b"END\r\n"),
        (b"set e 0 0 0\r\n\r\n", b"STORED\r\n"),
        (b"get e\r\n", b"VALUE e 0 0\r\n\r\nEND\r\n"),
        // A line may end with a bare LF, as memcached allows.
        (b"get e\n", b"VALUE e 0 0\r\n\r\nEND\r\n"),
        (b"stats reset\r\n", b"RESET\r\n"),
        (b"bogus\r\n", b"ERROR\r\n"),
        (b"\r\n", b"ERROR\r\n"),
        (b"get\r\n", b"ERROR\r\n"),
        (b"set a 0 0\r\n", b"ERROR\r\n"),
        (
            b"set a 0 0 x\r\n",
            b"CLIENT_ERROR bad command line format\r\n",
        ),
        (
            b"delete a b\r\n",
            b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n",
        ),
        (
            b"incr n x\r\n",
            b"CLIENT_ERROR invalid numeric delta argument\r\n",
        ),
        (
            b"touch n x\r\n",
            b"CLIENT_ERROR invalid exptime argument\r\n",
        ),
        (b"quit\r\n", b""),
        (b"get e\r\n", b""),
    ];
    let input: Vec<u8> = session.iter().flat_map(|(line, _)| line.to_vec()).collect();
    let expected: Vec<u8> = session
        .iter()
        .flat_map(|(_, reply)| reply.to_vec())
        .collect();
    answers_in_every_chunk_size(MemcachedOptions::default(), &input, &expected);
}

#[test]
fn values_are_bytes_line_ends_included() {
    let input = b"set bin 0 0 9\r\n\r\nget x\r\n\r\nget bin\r\n";
    let expected = b"STORED\r\nVALUE bin 0 9\r\n\r\nget x\r\n\r\nEND\r\n";
    answers_in_every_chunk_size(MemcachedOptions::default(), input, expected);
    let every_byte: Vec<u8> = (0..=255).collect();
    let input = [b"set all 0 0 256\r\n", &every_byte[..], b"\r\nget all\r\n"].concat();
    let expected = [
        b"STORED\r\nVALUE all 0 256\r\n",
        &every_byte[..],
        b"\r\nEND\r\n",
    ]
    .concat();
    answers_in_every_chunk_size(MemcachedOptions::default(), &input, &expected);
}

#[test]
fn data_not_followed_by_a_line_end_is_a_bad_chunk() {
    // As memcached: the declared length and two more bytes are read; if those two are not CR LF,
    // nothing is stored, and what follows is read as commands.
    let input = b"set a 0 0 1\r\nx\r\nset a 0 0 2\r\nxyz\r\nget a\r\n";
    let expected = b"STORED\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE a 0 1\r\nx\r\nEND\r\n";
    answers_in_every_chunk_size(MemcachedOptions::default(), input, expected);
}

#[test]
fn a_value_too_large_is_refused_and_its_data_dropped() {
    let options = MemcachedOptions {
        max_item_size: 10,
        ..MemcachedOptions::default()
    };
    let big = [b'x'; 11];
    let input = [
        b"set k 0 0 2\r\nok\r\nset k 0 0 11\r\n",
        &big[..],
        b"\r\nget k\r\nadd k 0 0 11 noreply\r\n",
        &big[..],
        b"\r\nset k 0 0 10\r\n0123456789\r\nget k\r\n",
    ]
    .concat();
    // The failed set also drops the old value, as memcached's does.
    let expected = b"STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n\
                     STORED\r\nVALUE k 0 10\r\n0123456789\r\nEND\r\n";
    answers_in_every_chunk_size(options, &input, expected);
}

#[test]
fn noreply_silences_every_storage_command() {
    let input = b"set a 0 0 1 noreply\r\nx\r\nappend a 0 0 1 noreply\r\ny\r\n\
                  prepend a 0 0 1 noreply\r\nw\r\nadd a 0 0 1 noreply\r\nq\r\n\
                  replace a 5 0 3 noreply\r\nabc\r\ncas a 0 0 1 99 noreply\r\nz\r\n\
                  incr a 1 noreply\r\ntouch a 10 noreply\r\nverbosity 1 noreply\r\n\
                  set b 0 0 1 noreply\r\n12\r\nget a\r\ndelete a noreply\r\n\
                  flush_all noreply\r\nget a\r\n";
    // Only the bad chunk's leftover LF speaks, as an empty line: noreply covers the error too.
    let expected = b"ERROR\r\nVALUE a 5 3\r\nabc\r\nEND\r\nEND\r\n";
    answers_in_every_chunk_size(MemcachedOptions::default(), input, expected);
}

#[test]
fn a_line_too_long_closes_the_connection() {
    let (_reactor, _store, mut protocol) = connection(MemcachedOptions::default());
    let transport = feed_in_chunks(&mut *protocol, &[b'x'; 3000], 100);
    assert_eq!(transport.value(), b"CLIENT_ERROR line too long\r\n");
    assert!(transport.is_disconnecting());
    // A get may be longer: many keys at once.
    let (_reactor, _store, mut protocol) = connection(MemcachedOptions::default());
    let keys: Vec<u8> = (0..1000)
        .flat_map(|n| format!(" k{n}").into_bytes())
        .collect();
    let input = [b"get", &keys[..], b"\r\n"].concat();
    let transport = feed_in_chunks(&mut *protocol, &input, 7);
    assert_eq!(transport.value(), b"END\r\n");
}

/// What a connection answered at each step of a session run on a paused clock: (seconds from the
/// start, what the client sends then).
fn timeline(store_steps: impl FnOnce(&Store) -> Vec<(f64, Vec<u8>)>) -> Vec<String> {
    let reactor = Reactor::with_paused_clock().unwrap();
    let store = Store::new(&reactor, StoreOptions::default());
    let factory = MemcachedFactory::new(store.clone(), MemcachedOptions::default());
    let protocol = Rc::new(RefCell::new(factory.build_protocol(&peer()).unwrap()));
    let transport = StringTransport::new();
    protocol.borrow_mut().connection_made(transport.clone());
    let seen = Rc::new(RefCell::new(Vec::new()));
    let steps = store_steps(&store);
    let last = steps.iter().map(|(at, _)| *at).fold(0.0, f64::max);
    for (at, input) in steps {
        let (protocol, transport, seen) =
            (Rc::clone(&protocol), transport.clone(), Rc::clone(&seen));
        reactor.call_later(Duration::from_secs_f64(at), move || {
            protocol.borrow_mut().data_received(&input);
            seen.borrow_mut()
                .push(String::from_utf8_lossy(&transport.value()).into_owned());
            transport.clear();
        });
    }
    let stopper = reactor.clone();
    reactor.call_later(Duration::from_secs_f64(last + 1.0), move || {
        let _ = stopper.stop();
    });
    reactor.run().unwrap();
    protocol
        .borrow_mut()
        .connection_lost(&DisconnectReason::Done);
    seen.take()
}

const HIT: &str = "VALUE k 0 1\r\nx\r\nEND\r\n";
const MISS: &str = "END\r\n";

#[test]
fn a_relative_expiry_time_counts_seconds_from_the_set() {
    let seen = timeline(|_| {
        vec![
            (
                0.0,
                b"set k 0 10 1\r\nx\r\nset never 0 0 1\r\nx\r\n".to_vec(),
            ),
            (9.9, b"get k\r\n".to_vec()),
            (10.1, b"get k\r\n".to_vec()),
            // Thirty days is still relative; an entry with exptime 0 never goes.
            (10.2, b"set k 0 2592000 1\r\nx\r\n".to_vec()),
            (2_592_010.1, b"get k\r\n".to_vec()),
            (2_592_010.3, b"get k never\r\n".to_vec()),
        ]
    });
    assert_eq!(
        seen,
        [
            "STORED\r\nSTORED\r\n",
            HIT,
            MISS,
            "STORED\r\n",
            HIT,
            "VALUE never 0 1\r\nx\r\nEND\r\n"
        ]
    );
}

#[test]
fn an_expiry_time_beyond_thirty_days_is_a_unix_time() {
    let seen = timeline(|store| {
        let now = store.unix_time().ceil() as i64;
        vec![
            // Due 60 seconds from the next whole second: between 60 and 61 from now.
            (0.0, format!("set k 0 {} 1\r\nx\r\n", now + 60).into_bytes()),
            (59.9, b"get k\r\n".to_vec()),
            (61.1, b"get k\r\n".to_vec()),
            // A Unix time already past, or a negative time: stored and gone at once.
            (
                62.0,
                format!("set k 0 {} 1\r\nx\r\nget k\r\n", now).into_bytes(),
            ),
            (63.0, b"set k 0 -1 1\r\nx\r\nget k\r\n".to_vec()),
        ]
    });
    assert_eq!(
        seen,
        [
            "STORED\r\n",
            HIT,
            MISS,
            "STORED\r\nEND\r\n",
            "STORED\r\nEND\r\n"
        ]
    );
}

#[test]
fn touch_gives_a_new_time_to_live() {
    let seen = timeline(|_| {
        vec![
            (0.0, b"set k 0 10 1\r\nx\r\n".to_vec()),
            (5.0, b"touch k 20\r\n".to_vec()),
            (15.0, b"get k\r\n".to_vec()),
            (25.1, b"get k\r\n".to_vec()),
            (26.0, b"set k 0 10 1\r\nx\r\ntouch k 0\r\n".to_vec()),
            (100.0, b"get k\r\ntouch k -1\r\nget k\r\n".to_vec()),
        ]
    });
    assert_eq!(
        seen,
        [
            "STORED\r\n",
            "TOUCHED\r\n",
            HIT,
            MISS,
            "STORED\r\nTOUCHED\r\n",
            "VALUE k 0 1\r\nx\r\nEND\r\nTOUCHED\r\nEND\r\n"
        ]
    );
}

#[test]
fn append_and_incr_keep_the_time_to_live_set_restarts_it() {
    let seen = timeline(|_| {
        vec![
            (0.0, b"set k 0 10 1\r\n1\r\n".to_vec()),
            (5.0, b"append k 0 100 1\r\n2\r\nincr k 1\r\n".to_vec()),
            (10.1, b"get k\r\n".to_vec()),
            (11.0, b"set k 0 10 1\r\nx\r\n".to_vec()),
            (16.0, b"set k 0 10 1\r\nx\r\n".to_vec()),
            (21.5, b"get k\r\n".to_vec()),
        ]
    });
    assert_eq!(
        seen,
        [
            "STORED\r\n",
            "STORED\r\n13\r\n",
            MISS,
            "STORED\r\n",
            "STORED\r\n",
            HIT
        ]
    );
}

#[test]
fn flush_all_with_a_delay_forgets_what_is_there_then() {
    let seen = timeline(|_| {
        vec![
            (0.0, b"set k 0 0 1\r\nx\r\nflush_all 10\r\n".to_vec()),
            (5.0, b"get k\r\nset other 0 0 1\r\ny\r\n".to_vec()),
            (10.1, b"get k other\r\n".to_vec()),
            // A later flush replaces a pending one.
            (
                11.0,
                b"set k 0 0 1\r\nx\r\nflush_all 5\r\nflush_all 100\r\n".to_vec(),
            ),
            (20.0, b"get k\r\n".to_vec()),
        ]
    });
    assert_eq!(
        seen,
        [
            "STORED\r\nOK\r\n",
            "VALUE k 0 1\r\nx\r\nEND\r\nSTORED\r\n",
            MISS,
            "STORED\r\nOK\r\nOK\r\n",
            HIT
        ]
    );
}

#[test]
fn replies_that_are_not_read_stop_the_connection_until_they_are() {
    let (_reactor, store, mut protocol) = connection(MemcachedOptions::default());
    store.set(b"big", &[b'v'; 40_000]).unwrap();
    let transport = StringTransport::new();
    transport.set_buffered(HIGH_WATER + 1);
    protocol.connection_made(transport.clone());
    let reply = [b"VALUE big 0 40000\r\n", &[b'v'; 40_000][..], b"\r\n"].concat();
    // Three keys of one get, then another command: the connection stops after the first key,
    // the transport holding more than the high-water mark, and reads no more.
    protocol.data_received(b"get big big big\r\nversion\r\n");
    assert!(transport.value() == reply);
    assert!(transport.producing_paused());
    protocol.pause_producing();
    // The transport has sent it all: the rest of the get, and what followed.
    transport.set_buffered(0);
    transport.clear();
    protocol.resume_producing();
    assert!(transport.value() == [&reply.repeat(2)[..], b"END\r\nVERSION 1.6.18\r\n"].concat());
    assert!(!transport.producing_paused());
}
