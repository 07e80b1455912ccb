//! A callback that returns a Deferred: tutorial Part 13, "Deferred All The Way Down"
//! (`defer-10.py`).
//!
//! Two outer Deferreds, each with three callbacks. In the first, every callback returns a plain
//! value and the chain runs to the end as soon as it is fired. In the second, the middle callback
//! returns a new, unfired Deferred (the "inner" one). The outer Deferred then pauses: no thread
//! waits for anything, it just stops calling callbacks, after leaving a callback of its own on the
//! inner Deferred. When the inner one is fired, that callback hands its result to the outer one,
//! which goes on with its third callback.
//!
//! No reactor runs here, so the demo fires the inner Deferred itself, "from the outside". To do
//! that it keeps the inner Deferred in a shared slot that the middle callback fills; the tutorial
//! uses a global variable for the same purpose. A real program does neither: the inner Deferred is
//! fired by the work the middle callback started.
//!
//! ```text
//! cargo run -p common --example defer-10
//! ```

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use common::cli::output::report_error;
use common::defer::{Deferred, Failure};

fn callback_1(result: i32) -> Result<i32, Failure> {
    println!("callback_1 got {result}");
    Ok(1)
}

fn callback_2(result: i32) -> Result<i32, Failure> {
    println!("callback_2 got {result}");
    Ok(2)
}

fn callback_3(result: i32) -> Result<i32, Failure> {
    println!("callback_3 got {result}");
    Ok(3)
}

/// Where the middle callback leaves the inner Deferred, so that the demo can fire it later.
type InnerSlot = Rc<RefCell<Option<Deferred<i32>>>>;

/// The middle callback of the second chain: instead of a value, it returns a Deferred.
fn callback_2_async(result: i32, slot: &InnerSlot) -> Deferred<i32> {
    println!("callback_2 got {result}");
    let deferred_2 = Deferred::new();
    *slot.borrow_mut() = Some(deferred_2.clone());
    deferred_2
}

fn run() -> anyhow::Result<()> {
    println!();
    println!("This example illustrates how callbacks in a deferred");
    println!("chain can return deferreds themselves.");
    println!();

    let d = Deferred::new();
    d.add_callback(callback_1)
        .add_callback(callback_2)
        .add_callback(callback_3);

    println!();
    println!("Here we are firing a deferred with three callbacks that just print");
    println!("their argument and return simple values:");
    println!();

    d.callback(0)?;

    let slot = InnerSlot::default();
    let d = Deferred::new();
    let for_callback = Rc::clone(&slot);
    d.add_callback(callback_1)
        .add_callback(move |result| callback_2_async(result, &for_callback))
        .add_callback(callback_3);

    println!();
    println!("Here we are firing a deferred as above but the middle callback is");
    println!("returning a deferred:");
    println!();

    d.callback(0)?;

    println!();
    println!("Notice the output from the third callback is missing. That's because");
    println!("the second callback returned a deferred and now the 'outer' deferred");
    println!("is paused. It's not waiting in a thread or anything like that, it just");
    println!("stopped invoking the callbacks in the chain. Instead, it registered");
    println!("some callbacks on the 'inner' deferred which will start the outer");
    println!("deferred back up when the inner deferred is fired.");
    println!();
    println!("We can see this in action by firing the inner deferred:");
    println!();

    let deferred_2 = slot
        .borrow_mut()
        .take()
        .ok_or_else(|| anyhow::anyhow!("the middle callback did not run"))?;
    // Firing the inner Deferred resumes the outer one: callback_3 runs inside this call.
    deferred_2.callback(2)?;

    println!();
    println!("Note the argument to the inner deferred's callback() method became");
    println!("the result passed to the next callback in the outer deferred.");
    println!();
    Ok(())
}

fn main() -> ExitCode {
    common::cli::no_options(
        "A callback that returns a Deferred: tutorial Part 13, \"Deferred All The Way Down\" (defer-10.py).",
    );
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(error);
            ExitCode::FAILURE
        }
    }
}
