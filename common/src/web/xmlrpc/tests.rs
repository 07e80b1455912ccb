//! The codec (every type both ways, the documents Python writes, what a hostile peer sends) and the
//! server's dispatch (procedures, sub-handlers, introspection, faults), without HTTP.

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::defer::{Deferred, Failure, succeed};

/// One value of every type, nested.
fn every_type() -> Value {
    let members: Struct = [
        ("name", Value::from("x & <y>")),
        ("empty", Value::Array(Vec::new())),
    ]
    .into_iter()
    .collect();
    Value::Array(vec![
        Value::Int(42),
        Value::Int(-(1 << 31)),
        Value::Bool(true),
        Value::Bool(false),
        Value::from("naïve café ☕, <tags> & 'quotes'"),
        Value::from(""),
        Value::Double(3.5),
        Value::Double(-1e-7),
        Value::Double(1e16),
        DateTime::from_parts(2026, 11, 28, 18, 58, 17).into(),
        Value::Base64((0..=255).collect()),
        Value::Base64(Vec::new()),
        members.into(),
        Value::Array(vec![Value::Array(vec![1.into()])]),
        Value::Nil,
    ])
}

#[test]
fn every_type_goes_through_a_call_and_comes_back_the_same() {
    let value = every_type();
    let call = write_call("echo", std::slice::from_ref(&value), true).unwrap();
    let parsed = parse_call(call.as_bytes()).unwrap();
    assert_eq!(parsed.method, "echo");
    assert_eq!(parsed.params, vec![value.clone()]);
    let response = write_response(&value, true).unwrap();
    assert_eq!(parse_response(response.as_bytes()).unwrap(), Ok(value));
}

#[test]
fn a_response_is_written_as_python_writes_it() {
    // What `xmlrpc.client.dumps(([1, 'two', [3.5, True], {'k': 'v'}],), methodresponse=True)`
    // gives, byte for byte.
    let members: Struct = [("k", "v")].into_iter().collect();
    let value = Value::Array(vec![
        1.into(),
        "two".into(),
        Value::Array(vec![3.5.into(), true.into()]),
        members.into(),
    ]);
    assert_eq!(
        write_response(&value, false).unwrap(),
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n\
         <value><int>1</int></value>\n<value><string>two</string></value>\n\
         <value><array><data>\n<value><double>3.5</double></value>\n\
         <value><boolean>1</boolean></value>\n</data></array></value>\n<value><struct>\n\
         <member>\n<name>k</name>\n<value><string>v</string></value>\n</member>\n\
         </struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n"
    );
    assert_eq!(
        write_response(&Value::Nil, true).unwrap(),
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><nil/></value>\
         </param>\n</params>\n</methodResponse>\n"
    );
    assert_eq!(
        write_call("noargs", &[], false).unwrap(),
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>noargs</methodName>\n<params>\n\
         </params>\n</methodCall>\n"
    );
}

#[test]
fn calls_are_read_in_every_form_python_and_others_write() {
    let read = |text: &str| parse_call(text.as_bytes()).unwrap();
    // No params at all, no declaration, a bare value, blanks everywhere.
    let call = read("<methodCall><methodName>hello</methodName></methodCall>");
    assert_eq!((call.method.as_str(), call.params.len()), ("hello", 0));
    let call = read(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodCall>\n  <methodName>m</methodName>\n  \
         <params>\n    <param><value>  bare text </value></param>\n    <param><value/></param>\n  \
         <param><value>\n <i4> 7 </i4>\n </value></param>\n  <param><value><i8>4294967296</i8>\
         </value></param>\n  <param><value><ex:nil xmlns:ex=\"x\"/></value></param>\n  \
         <param><value><boolean>0</boolean></value></param>\n  <param><value><string>a &amp; b \
         &#233;&#x263A; <![CDATA[<raw>]]></string></value></param>\n  <param><value><base64>\n\
         AAEC\n/w==\n</base64></value></param>\n  <!-- a comment -->\n  <param><value><string>  \
         padded\t</string></value></param>\n  <param><value><struct>\n <member> <name> key </name>\n \
         <value> \n</value></member></struct></value></param>\n  </params>\n</methodCall>\n",
    );
    let mut padded = Struct::new();
    padded.insert(" key ", Value::from(" \n"));
    assert_eq!(
        call.params,
        vec![
            Value::from("  bare text "),
            Value::from(""),
            Value::Int(7),
            Value::Int(1 << 32),
            Value::Nil,
            Value::Bool(false),
            Value::from("a & b é☺ <raw>"),
            Value::Base64(vec![0, 1, 2, 255]),
            Value::from("  padded\t"),
            Value::Struct(padded),
        ]
    );
    // Blanks inside a value's text are part of it, wherever they are.
    let call = read("<methodCall><methodName> m </methodName></methodCall>");
    assert_eq!(call.method, " m ");
}

#[test]
fn a_fault_is_read_as_the_fault() {
    let text = write_fault(&Fault::new(7, "Out of cheese."));
    assert_eq!(
        parse_response(text.as_bytes()).unwrap(),
        Err(Fault::new(7, "Out of cheese."))
    );
    let not_a_fault = "<methodResponse><fault><value><int>7</int></value></fault></methodResponse>";
    assert!(parse_response(not_a_fault.as_bytes()).is_err());
}

#[test]
fn a_document_that_ends_too_soon_is_described_as_expat_does() {
    let error = |text: &str| parse_call(text.as_bytes()).unwrap_err().to_string();
    assert_eq!(error(""), "no element found: line 1, column 0");
    assert_eq!(
        error("<?xml version='1.0'?>\n<methodCall>\n<methodName>echo</methodName>\n<params>"),
        "no element found: line 4, column 8"
    );
    assert_eq!(
        error("<a>"),
        "unexpected <a> where <methodCall> should be: line 1, column 3"
    );
}

#[test]
fn malformed_documents_are_refused() {
    let refused = [
        "<methodCall><methodName>x</methodName></methodCal>",
        "<methodCall><methodName>x</methodName><params><param><value><int>x</int></value>\
         </param></params></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><boolean>2</boolean>\
         </value></param></params></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><double>1.5.2</double>\
         </value></param></params></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><base64>!!</base64>\
         </value></param></params></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><foo/></value></param>\
         </params></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><array><value/></array>\
         </value></param></params></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><struct><member><value/>\
         </member></struct></value></param></params></methodCall>",
        "<methodCall><methodName>x</methodName></methodCall><methodCall/>",
        "<methodCall><methodName>a &bogus; b</methodName></methodCall>",
        "<methodCall><methodName>a & b</methodName></methodCall>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><methodCall><methodName>x</methodName>\
         </methodCall>",
        "<methodCall><methodName>x</methodName><params>text</params></methodCall>",
    ];
    for text in refused {
        assert!(parse_call(text.as_bytes()).is_err(), "{text}");
    }
    assert_eq!(
        parse_call(
            b"<methodCall><methodName>x</methodName><params><param><value><foo/>\
                     </value></param></params></methodCall>"
        )
        .unwrap_err()
        .to_string(),
        "unknown tag 'foo'"
    );
    for not_utf8 in [
        &b"\xff\xfe<methodCall/>"[..],
        b"<methodCall><methodName>a\xffb</methodName></methodCall>",
        b"<methodCall><methodName\xff>a</methodName\xff></methodCall>",
        b"<methodCall><!-- \xff --><methodName>a</methodName></methodCall>",
    ] {
        let error = parse_call(not_utf8).unwrap_err().to_string();
        assert!(error.starts_with("not UTF-8 text: line 1"), "{error}");
    }
}

#[test]
fn a_doctype_is_refused_before_any_entity_is_defined() {
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n \
                  <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n \
                  <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n\
                  <methodCall><methodName>&lol3;</methodName></methodCall>";
    let error = parse_call(laughs.as_bytes()).unwrap_err().to_string();
    assert_eq!(
        error,
        "a document type declaration (<!DOCTYPE ...>) is not allowed"
    );
    // An entity used with no DTD at all is merely undefined.
    let error = parse_call(b"<methodCall><methodName>&lol3;</methodName></methodCall>")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("undefined entity &lol3;"), "{error}");
}

/// A call whose one argument is `depth` arrays, one inside the other.
fn nested_arrays(depth: usize) -> String {
    format!(
        "<methodCall><methodName>echo</methodName><params><param><value>{}<int>1</int>{}</value>\
         </param></params></methodCall>",
        "<array><data><value>".repeat(depth - 1),
        "</value></data></array>".repeat(depth - 1)
    )
}

#[test]
fn values_nest_as_deep_as_the_limit_and_no_deeper() {
    assert!(parse_call(nested_arrays(MAX_DEPTH).as_bytes()).is_ok());
    let error = parse_call(nested_arrays(MAX_DEPTH + 1).as_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(error, "values are nested more than 64 deep");
    // Far deeper is refused just as fast, and without running out of stack.
    assert!(parse_call(nested_arrays(100_000).as_bytes()).is_err());
}

#[test]
fn what_python_reads_but_xml_rpc_cannot_write_back_is_refused_on_the_way_out() {
    let call = parse_call(
        b"<methodCall><methodName>echo</methodName><params><param><value><i8>2147483648</i8>\
          </value></param></params></methodCall>",
    )
    .unwrap();
    let error = write_response(&Value::Array(call.params), false).unwrap_err();
    assert_eq!(error, MarshalError::IntTooLarge);
}

// ---- the server's dispatch ----

/// The outcome of a Deferred that has fired.
fn outcome(deferred: Deferred<Value>) -> Result<Value, Failure> {
    let slot = Rc::new(RefCell::new(None));
    let to_fill = Rc::clone(&slot);
    deferred.add_both(move |outcome| {
        *to_fill.borrow_mut() = Some(outcome);
        Ok::<(), Failure>(())
    });
    let taken = slot.borrow_mut().take();
    taken.expect("the Deferred has not fired")
}

fn fault_of(deferred: Deferred<Value>) -> Fault {
    let failure = outcome(deferred).unwrap_err();
    failure.downcast_ref::<Fault>().cloned().expect("a fault")
}

fn sample_server() -> XmlRpc {
    let server = XmlRpc::new();
    server.add_method("echo", "Return all passed args.", |call| {
        Ok(Value::Array(call.into_args()).into())
    });
    server.add_method("later", "A Deferred.", |call| {
        call.expect_args(0)?;
        Ok(succeed(Value::from("hello")).into())
    });
    server.add_method("fail", "A fault.", |_| {
        Ok(Fault::new(7, "Out of cheese.").into())
    });
    let math = XmlRpc::new();
    math.add_method("add", "Adds two integers.", |call| {
        call.expect_args(2)?;
        let sum: i64 = call.args().iter().filter_map(Value::as_int).sum();
        Ok(sum.into())
    });
    server.put_sub_handler("math", math);
    server
}

fn call(server: &XmlRpc, method: &str, args: Vec<Value>) -> Deferred<Value> {
    server.call(Call::new(method, args, None))
}

#[test]
fn procedures_and_sub_handlers_answer_by_name() {
    let server = sample_server();
    assert_eq!(
        outcome(call(&server, "echo", vec![1.into(), "two".into()])).unwrap(),
        Value::Array(vec![1.into(), "two".into()])
    );
    assert_eq!(
        outcome(call(&server, "later", vec![])).unwrap(),
        "hello".into()
    );
    assert_eq!(
        outcome(call(&server, "math.add", vec![2.into(), 3.into()])).unwrap(),
        5.into()
    );
    assert_eq!(
        fault_of(call(&server, "fail", vec![])),
        Fault::new(7, "Out of cheese.")
    );
    assert_eq!(
        fault_of(call(&server, "nosuch", vec![])),
        Fault::new(8001, "procedure nosuch not found")
    );
    assert_eq!(
        fault_of(call(&server, "system.listMethods", vec![])),
        Fault::new(8001, "no such subHandler system")
    );
    assert_eq!(
        fault_of(call(&server, "math.nosuch", vec![])),
        Fault::new(8001, "procedure nosuch not found")
    );
    let wrong = outcome(call(&server, "later", vec![1.into()])).unwrap_err();
    assert_eq!(
        wrong.to_string(),
        "[Failure instance: WrongArgumentCount: later() takes 0 \
                                   arguments (1 given)]"
    );
}

#[test]
fn introspection_lists_every_method_and_tells_help_and_signatures() {
    let server = sample_server();
    server.add_introspection();
    let names = outcome(call(&server, "system.listMethods", vec![])).unwrap();
    let expected: Vec<Value> = [
        "echo",
        "later",
        "fail",
        "math.add",
        "system.listMethods",
        "system.methodHelp",
        "system.methodSignature",
    ]
    .into_iter()
    .map(Value::from)
    .collect();
    assert_eq!(names, Value::Array(expected));
    assert_eq!(
        outcome(call(&server, "system.methodHelp", vec!["echo".into()])).unwrap(),
        "Return all passed args.".into()
    );
    assert_eq!(
        outcome(call(
            &server,
            "system.methodSignature",
            vec!["math.add".into()]
        ))
        .unwrap(),
        "".into()
    );
    let signature = outcome(call(
        &server,
        "system.methodSignature",
        vec!["system.methodHelp".into()],
    ))
    .unwrap();
    assert_eq!(
        signature,
        Value::Array(vec![Value::Array(vec!["string".into(), "string".into()])])
    );
    assert_eq!(
        fault_of(call(&server, "system.methodHelp", vec!["nosuch".into()])),
        Fault::new(8001, "procedure nosuch not found")
    );
    assert_eq!(
        fault_of(call(&server, "system.nosuch", vec![])),
        Fault::new(8001, "procedure nosuch not found")
    );
}

#[test]
fn a_panicking_procedure_is_a_failure_not_a_crash() {
    let server = XmlRpc::new();
    server.add_method("boom", "Panics.", |_| panic!("kaboom"));
    let failure = outcome(call(&server, "boom", vec![])).unwrap_err();
    assert!(failure.to_string().contains("kaboom"), "{failure}");
}
