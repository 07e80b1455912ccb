//! XML-RPC over real sockets, in one process: a site serving an `XmlRpc` resource and the `Proxy`
//! client calling it, both on the same reactor. What the end-to-end tests of the programs cannot
//! reach: procedures that answer later, sub-handlers under a path, every way a call can fail as
//! the client sees it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::defer::{Deferred, Failure};
use common::protocol::ConnectError;
use common::reactor::Reactor;
use common::web::client::HttpError;
use common::web::xmlrpc::{Fault, MarshalError, Proxy, Value, XmlRpc};
use common::web::{Branch, Site};

/// How long a test lets anything take before it fails rather than hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// A server whose procedures answer now and later, with a sub-handler, put at `/RPC2` of a site.
fn server(reactor: &Reactor) -> Rc<Branch> {
    let rpc = XmlRpc::new();
    rpc.add_method("echo", "Gives back its arguments.", |call| {
        Ok(Value::Array(call.into_args()).into())
    });
    let timer = reactor.clone();
    rpc.add_method("later", "Answers after 50 ms.", move |call| {
        call.expect_args(1)?;
        let answer = Deferred::new();
        let (to_fire, value) = (answer.clone(), call.args()[0].clone());
        timer.call_later(Duration::from_millis(50), move || {
            let _ = to_fire.callback(value);
        });
        Ok(answer.into())
    });
    let timer = reactor.clone();
    rpc.add_method(
        "fail_later",
        "Fails with a fault after 50 ms.",
        move |_call| {
            let answer: Deferred<Value> = Deferred::new();
            let to_fail = answer.clone();
            timer.call_later(Duration::from_millis(50), move || {
                let _ = to_fail.errback(Fault::new(42, "too late"));
            });
            Ok(answer.into())
        },
    );
    rpc.add_method("nothing", "Gives nil.", |_call| Ok(Value::Nil.into()));
    let math = XmlRpc::new();
    math.add_method("neg", "Negates an int.", |call| {
        call.expect_args(1)?;
        Ok((-call.args()[0].as_int().unwrap_or_default()).into())
    });
    rpc.put_sub_handler("math", math);
    rpc.set_allow_nil(true);
    let root = Rc::new(Branch::new());
    root.put_child("RPC2", Rc::new(rpc));
    root
}

/// Starts the site on a free port of this thread's reactor; gives the reactor and the port.
fn start() -> (Reactor, u16) {
    let reactor = Reactor::new().unwrap();
    let site = Site::new(server(&reactor));
    let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
    let number = port.get_host().port().unwrap();
    (reactor, number)
}

/// How a call ended.
type Outcome = Result<Value, Failure>;

/// Runs the reactor (once: a reactor does not restart) until every call has ended; gives their
/// outcomes, in order.
fn outcomes(reactor: &Reactor, calls: Vec<Deferred<Value>>) -> Vec<Outcome> {
    let slots: Rc<RefCell<Vec<Option<Outcome>>>> = Rc::new(RefCell::new(vec![None; calls.len()]));
    for (index, call) in calls.into_iter().enumerate() {
        let (to_fill, to_stop) = (Rc::clone(&slots), reactor.clone());
        call.add_both(move |result| {
            let mut slots = to_fill.borrow_mut();
            slots[index] = Some(result);
            if slots.iter().all(Option::is_some) {
                let _ = to_stop.stop();
            }
            Ok::<(), Failure>(())
        });
    }
    let watchdog = reactor.clone();
    reactor.call_later(PATIENCE, move || watchdog.stop());
    reactor.run().unwrap();
    let taken = std::mem::take(&mut *slots.borrow_mut());
    taken
        .into_iter()
        .map(|slot| slot.expect("a call never ended"))
        .collect()
}

/// The fault a call failed with.
fn fault(outcome: &Result<Value, Failure>) -> Option<&Fault> {
    outcome.as_ref().err()?.downcast_ref::<Fault>()
}

#[test]
fn answers_now_and_later_and_from_sub_handlers_reach_the_client() {
    let (reactor, port) = start();
    let proxy = Proxy::new(&format!("http://127.0.0.1:{port}/RPC2")).allow_nil(true);
    // Several calls at once, on the same reactor: the late ones are answered when they fire.
    let calls = vec![
        proxy.call_remote("echo", vec![1.into(), "two".into(), Value::Nil]),
        proxy.call_remote("later", vec!["slow".into()]),
        proxy.call_remote("math.neg", vec![5.into()]),
        proxy.call_remote("nothing", vec![]),
    ];
    let values: Vec<Value> = outcomes(&reactor, calls)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        values,
        vec![
            Value::Array(vec![1.into(), "two".into(), Value::Nil]),
            "slow".into(),
            (-5).into(),
            Value::Nil,
        ]
    );
}

#[test]
fn faults_and_whatever_goes_wrong_on_the_way_are_the_failure_of_the_call() {
    let (reactor, port) = start();
    let url = format!("http://127.0.0.1:{port}/RPC2");
    let proxy = Proxy::new(&url);
    // A path with no XML-RPC server: the 404 is an HTTP error.
    let elsewhere = Proxy::new(&format!("http://127.0.0.1:{port}/nothing/here"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let nobody = Proxy::new(&format!("http://127.0.0.1:{closed_port}/"));
    let results = outcomes(
        &reactor,
        vec![
            proxy.call_remote("fail_later", vec![]),
            proxy.call_remote("math.nosuch", vec![]),
            elsewhere.call_remote("echo", vec![]),
            // nil where the client does not allow it: refused before anything is sent.
            proxy.call_remote("echo", vec![Value::Nil]),
            nobody.call_remote("echo", vec![]),
        ],
    );
    assert_eq!(fault(&results[0]), Some(&Fault::new(42, "too late")));
    assert_eq!(
        fault(&results[1]),
        Some(&Fault::new(8001, "procedure nosuch not found"))
    );
    let status = |outcome: &Result<Value, Failure>| {
        outcome
            .as_ref()
            .err()?
            .downcast_ref::<HttpError>()
            .map(|e| e.status)
    };
    assert_eq!(status(&results[2]), Some(404));
    let marshal = results[3]
        .as_ref()
        .unwrap_err()
        .downcast_ref::<MarshalError>();
    assert_eq!(marshal, Some(&MarshalError::NilNotAllowed));
    let connect = results[4]
        .as_ref()
        .unwrap_err()
        .downcast_ref::<ConnectError>();
    assert_eq!(connect, Some(&ConnectError::Refused));
}
