//! A big static file (16 MiB) streamed to a slow reader: it arrives whole and intact, and the server does
//! not read ahead of the client. This file holds one test, so that its process measures its own
//! memory with no other test running beside it.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::reactor::Reactor;
use common::web::{File, Site};

/// The resident memory of this process, in KiB.
fn resident_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// A connection to `port` on 127.0.0.1 whose receive buffer is small, so that the kernel holds
/// little of what the server sends while the client does not read: what the server does then
/// shows in its own memory.
fn small_window_connect(port: u16) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, connect, socket, sockopt};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    sockopt::set_socket_recv_buffer_size(&fd, 16 * 1024).unwrap();
    connect(&fd, &std::net::SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    TcpStream::from(fd)
}

#[test]
fn a_big_file_reaches_a_slow_reader_intact_and_is_not_held_in_memory() {
    // Big enough that the kernel's socket buffers (a few MiB on loopback) cannot hide a server
    // that reads ahead.
    const SIZE: usize = 16 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i * 31 + i / 4093) as u8).collect();
    fs::write(dir.path().join("big.bin"), &bytes).unwrap();
    let (sender, receiver) = mpsc::channel();
    let root = dir.path().to_path_buf();
    thread::spawn(move || {
        let reactor = Reactor::new().unwrap();
        let site = Site::new(Rc::new(File::new(root)));
        let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
        sender.send(port.get_host().port().unwrap()).unwrap();
        reactor.run().unwrap();
    });
    let port = receiver.recv().unwrap();

    let mut stream = small_window_connect(port);
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = Vec::with_capacity(SIZE + 4096);
    let mut piece = [0; 4096];
    let before = resident_kib();
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    // A first piece, then a pause: a server that read on regardless of its client would now
    // hold most of the file.
    let read = stream.read(&mut piece).unwrap();
    answer.extend_from_slice(&piece[..read]);
    thread::sleep(Duration::from_millis(500));
    let grown = resident_kib().saturating_sub(before);
    assert!(
        grown < 4096,
        "the process grew by {grown} KiB while its client did not read"
    );

    // Then the rest, 4 KiB at a time, with a pause every 32 KiB.
    let started = Instant::now();
    for reads in 1.. {
        let read = stream.read(&mut piece).unwrap();
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&piece[..read]);
        if reads % 8 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    let end = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap();
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: 16777216\r\n"), "{head}");
    assert!(!head.contains("chunked"), "{head}");
    let body = &answer[end + 4..];
    assert_eq!(body.len(), SIZE);
    assert!(body == bytes, "the body differs from the file");
}
