//! Readers: raw file descriptors that the reactor watches for us (tutorial Part 4).
//!
//! Client 1.0 of Part 4 keeps its own sockets and gives them to the reactor with `add_reader`: the
//! reactor waits until a socket is readable and calls the reader's `do_read`, which reads without
//! blocking. When `do_read` says the descriptor is finished, the reactor stops watching it and calls
//! `connection_lost`. This is the select loop of Part 2 with the loop moved into the reactor.
//!
//! tokio reports readiness once per change (edge-triggered); Twisted's `select` and `poll` reactors
//! report it for as long as it lasts (level-triggered). To keep Twisted's behaviour, after each
//! `do_read` the reactor asks poll(2), without waiting, whether the descriptor is still readable,
//! and if so calls `do_read` again; a reader that reads only part of what is waiting is still
//! called back for the rest.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

use super::{Reactor, guard};
use crate::protocol::DisconnectReason;

/// Something the reactor reads for us: Twisted's `IReadDescriptor`.
pub trait ReadDescriptor: AsFd {
    /// The descriptor is readable: read what can be read without blocking. Return `None` to be
    /// called again when there is more, or the reason the descriptor is finished.
    fn do_read(&mut self) -> Option<DisconnectReason>;

    /// The reactor has stopped watching the descriptor, for the reason given: close it now.
    fn connection_lost(&mut self, reason: &DisconnectReason);

    /// A name for the descriptor in error reports.
    fn log_prefix(&self) -> String {
        "-".to_owned()
    }
}

/// A reader as the reactor holds it.
pub type Reader = Rc<RefCell<dyn ReadDescriptor>>;

/// The readers a reactor watches, by descriptor, with the task watching each.
#[derive(Default)]
pub(crate) struct Readers(RefCell<HashMap<RawFd, (Reader, JoinHandle<()>)>>);

/// What an error report says the reactor was doing.
struct ReaderCall {
    method: &'static str,
    prefix: String,
}

impl fmt::Display for ReaderCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "calling {} of the reader {}", self.method, self.prefix)
    }
}

impl Reactor {
    /// Watches `reader`'s descriptor and calls its `do_read` whenever it is readable, until
    /// `do_read` says it is finished or [`remove_reader`](Reactor::remove_reader) is called. Adding
    /// a descriptor that is already watched does nothing.
    pub fn add_reader(&self, reader: Reader) -> io::Result<()> {
        let fd = reader.borrow().as_fd().as_raw_fd();
        if self.inner.readers.0.borrow().contains_key(&fd) {
            return Ok(());
        }
        // The reader owns its descriptor and closes it when it likes; tokio wants to own what it
        // watches. So tokio gets a duplicate (the same open socket under a second number), which it
        // owns and closes itself.
        let duplicate = reader.borrow().as_fd().try_clone_to_owned()?;
        let watched = {
            let _context = self.inner.runtime.enter();
            // SAFETY: `duplicate` is an open descriptor owned by the `AsyncFd` from here on; nothing
            // else closes it or changes what it refers to while the `AsyncFd` lives.
            unsafe { AsyncFd::register_with_interest(duplicate, Interest::READABLE) }
                .map_err(io::Error::from)?
        };
        let task =
            self.inner
                .local
                .spawn_local(watch(self.clone(), Rc::clone(&reader), watched, fd));
        self.inner.readers.0.borrow_mut().insert(fd, (reader, task));
        Ok(())
    }

    /// Stops watching the descriptor `fd`; returns whether it was watched. The reader is not called
    /// again, not even `connection_lost`.
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        match self.inner.readers.0.borrow_mut().remove(&fd) {
            Some((_, task)) => {
                task.abort();
                true
            }
            None => false,
        }
    }

    /// The readers being watched.
    pub fn get_readers(&self) -> Vec<Reader> {
        self.inner
            .readers
            .0
            .borrow()
            .values()
            .map(|(reader, _)| Rc::clone(reader))
            .collect()
    }
}

/// Calls the reader back for as long as it is readable and not finished.
async fn watch(reactor: Reactor, reader: Reader, watched: AsyncFd<OwnedFd>, fd: RawFd) {
    let prefix = reader.borrow().log_prefix();
    let reason = loop {
        let mut ready = match watched.readable().await {
            Ok(ready) => ready,
            Err(error) => break DisconnectReason::lost(&error),
        };
        let mut finished = None;
        let context = ReaderCall {
            method: "do_read",
            prefix: prefix.clone(),
        };
        if !guard::call(&context, || finished = reader.borrow_mut().do_read()) {
            finished = Some(DisconnectReason::Lost("the reader's do_read failed".into()));
        }
        if let Some(reason) = finished {
            break reason;
        }
        if !still_readable(watched.get_ref()) {
            ready.clear_ready();
        }
    };
    reactor.inner.readers.0.borrow_mut().remove(&fd);
    // Stop watching (and close the duplicate) before the reader closes its descriptor.
    drop(watched);
    let context = ReaderCall {
        method: "connection_lost",
        prefix,
    };
    guard::call(&context, || reader.borrow_mut().connection_lost(&reason));
}

/// Whether the descriptor has data waiting right now (poll(2) with no wait).
fn still_readable(fd: &OwnedFd) -> bool {
    let mut entry = [PollFd::new(fd, PollFlags::IN)];
    let no_wait = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut entry, Some(&no_wait)), Ok(n) if n > 0)
}
