//! A reference for the chat benchmark (scripts/bench/chat.sh): the chat server as plainly as
//! tokio allows, in the style of tokio's own chat example: a task per user reading into its
//! buffer, and each chunk handed to every other user's task through its channel, which writes it.
//! `catchat` is measured against it. It greets each user with the talk's banner and logs nothing.
//!
//! ```text
//! cargo run --release --example reference-chat -- [PORT]
//! ```
//!
//! It prints `Chatting on port <port>.` so the scripts read its port like the other servers'.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use bytes::Bytes;
use clap::Parser;
use common::cli::address::listen_port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;

/// Each user's channel, by the number the server gave them.
type Users = Rc<RefCell<Vec<(u64, mpsc::UnboundedSender<Bytes>)>>>;

/// A reference for the chat benchmark (scripts/bench/chat.sh): the chat server as plainly as
/// tokio allows, on 127.0.0.1. Prints `Chatting on port <port>.`
#[derive(Debug, Parser)]
#[command(name = "reference-chat")]
struct Options {
    /// The port to listen on; 0 (the default) asks the system for any free port.
    #[arg(default_value_t = 0, value_parser = listen_port)]
    port: u16,
}

fn main() -> ExitCode {
    let port = Options::parse().port;
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("reference-chat: cannot start tokio");
        return ExitCode::FAILURE;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = match TcpSocket::new_v4().and_then(|socket| {
            socket.set_reuseaddr(true)?;
            socket.bind(([127, 0, 0, 1], port).into())?;
            socket.listen(4096)
        }) {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("reference-chat: {error}");
                return ExitCode::FAILURE;
            }
        };
        let port = listener.local_addr().map_or(port, |address| address.port());
        println!("Chatting on port {port}.");
        let users: Users = Rc::default();
        let mut next_id = 0u64;
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            next_id += 1;
            tokio::task::spawn_local(serve(socket, next_id, Rc::clone(&users)));
        }
    })
}

/// One user: the banner, then their words to everyone else, and everyone else's to them.
async fn serve(socket: tokio::net::TcpStream, id: u64, users: Users) {
    let (mut reader, mut writer) = socket.into_split();
    let (sender, mut inbox) = mpsc::unbounded_channel::<Bytes>();
    users.borrow_mut().push((id, sender));
    let writing = tokio::task::spawn_local(async move {
        if writer
            .write_all(b"Welcome to NetCatChat!\r\n")
            .await
            .is_err()
        {
            return;
        }
        while let Some(message) = inbox.recv().await {
            if writer.write_all(&message).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0; 64 * 1024];
    while let Ok(count @ 1..) = reader.read(&mut buffer).await {
        let message = Bytes::copy_from_slice(&buffer[..count]);
        for (other, inbox) in users.borrow().iter() {
            if *other != id {
                let _ = inbox.send(message.clone());
            }
        }
    }
    users.borrow_mut().retain(|(other, _)| *other != id);
    writing.abort();
}
