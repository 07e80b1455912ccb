//! Jelly as Twisted's `test_jelly.py` exercises it (the data-type and security parts), as
//! behaviour, and the forms PB adds.

use num_bigint::BigInt;

use super::{decode_all, sexp, unhex};
use crate::spread::banana::{DEFAULT_MAX_DEPTH, Dialect, Item, Writer};
use crate::spread::jelly::{
    COPYABLE_FAILURE_TAG, JellyError, ObjectId, SecurityOptions, Value, jelly, jelly_to_vec,
    unjelly,
};

/// The s-expression a value jellies to (none dialect).
fn jellied(value: &Value) -> String {
    let bytes = jelly_to_vec(value, Dialect::None).expect("jellyable");
    sexp(&decode_all(&bytes, Dialect::None)[0])
}

/// Jellies in both dialects, decodes, unjellies, and expects the same value back.
fn round_trip(value: &Value) {
    for dialect in [Dialect::None, Dialect::Pb] {
        let bytes = jelly_to_vec(value, dialect).expect("jellyable");
        let item = decode_all(&bytes, dialect).remove(0);
        assert_eq!(&unjelly(item, &SecurityOptions::new()).unwrap(), value);
    }
}

/// Unjellies the expression written in `hex` (pb dialect) with default security.
fn unjelly_hex(hex: &str) -> Result<Value, JellyError> {
    unjelly(
        decode_all(&unhex(hex), Dialect::Pb).remove(0),
        &SecurityOptions::new(),
    )
}

fn bytes(b: &[u8]) -> Item {
    Item::Bytes(b.to_vec())
}

fn form(word: &[u8], args: Vec<Item>) -> Item {
    let mut items = vec![bytes(word)];
    items.extend(args);
    Item::List(items)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

#[test]
fn data_types_round_trip() {
    let values = [
        Value::None,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(-7),
        Value::BigInt(BigInt::from(1) << 300),
        Value::Float(2.5),
        Value::Bytes(b"tuple".to_vec()),
        text("unicode é"),
        Value::List(vec![Value::Int(1), text("x"), Value::List(vec![])]),
        Value::Tuple(vec![]),
        Value::Tuple(vec![
            Value::Int(1),
            Value::Bytes(b"a".to_vec()),
            Value::None,
        ]),
        Value::Set(vec![Value::Int(1), Value::Int(2)]),
        Value::FrozenSet(vec![Value::Int(2)]),
        Value::Remote(3),
        Value::Local(ObjectId::Luid(4)),
        Value::Local(ObjectId::Name(b"root".to_vec())),
        Value::Unpersistable("instance of class __main__.Foo deemed insecure".to_string()),
        Value::Copy(
            COPYABLE_FAILURE_TAG.to_string(),
            Box::new(Value::Dict(vec![(
                text("type"),
                Value::Bytes(b"x".to_vec()),
            )])),
        ),
    ];
    for value in &values {
        round_trip(value);
    }
}

#[test]
fn bytes_and_text_stay_apart_and_dictionaries_keep_their_order() {
    let dict = Value::Dict(vec![
        (Value::Bytes(b"k".to_vec()), Value::Int(1)),
        (text("k"), Value::Int(2)),
        (Value::Bytes(b"a".to_vec()), Value::Int(3)),
    ]);
    assert_eq!(
        jellied(&dict),
        r#"("dictionary" ("k" 1) (("unicode" "k") 2) ("a" 3))"#
    );
    round_trip(&dict);
    assert_ne!(Value::Bytes(b"k".to_vec()), text("k"));
}

#[test]
fn shared_and_cyclic_forms() {
    // [x, y, y, x]: ids in the order of the second sightings.
    let value = Value::List(vec![
        Value::Reference(2, Box::new(Value::List(vec![Value::Bytes(b"x".to_vec())]))),
        Value::Reference(1, Box::new(Value::List(vec![Value::Bytes(b"y".to_vec())]))),
        Value::Dereference(1),
        Value::Dereference(2),
    ]);
    assert_eq!(
        jellied(&value),
        r#"("list" ("reference" 2 ("list" "x")) ("reference" 1 ("list" "y")) ("dereference" 1) ("dereference" 2))"#
    );
    round_trip(&value);
    assert_eq!(value.to_string(), "[[b'x'], [b'y'], [b'y'], [b'x']]");
    // x = []; x.append(x)
    let cycle = Value::Reference(1, Box::new(Value::List(vec![Value::Dereference(1)])));
    assert_eq!(
        jellied(&cycle),
        r#"("reference" 1 ("list" ("dereference" 1)))"#
    );
    round_trip(&cycle);
    assert_eq!(cycle.to_string(), "[[...]]");
    let dict_cycle = Value::Reference(
        1,
        Box::new(Value::Dict(vec![(text("me"), Value::Dereference(1))])),
    );
    assert_eq!(dict_cycle.to_string(), "{'me': {...}}");
    round_trip(&dict_cycle);
}

#[test]
fn a_dereference_must_name_a_reference_opened_before_it() {
    let dangling = form(
        b"list",
        vec![form(b"dereference", vec![Item::Int(1.into())])],
    );
    assert!(matches!(
        unjelly(dangling, &SecurityOptions::new()),
        Err(JellyError::Malformed(_))
    ));
    let forward = form(
        b"list",
        vec![
            form(b"dereference", vec![Item::Int(1.into())]),
            form(
                b"reference",
                vec![Item::Int(1.into()), form(b"list", vec![])],
            ),
        ],
    );
    assert!(matches!(
        unjelly(forward, &SecurityOptions::new()),
        Err(JellyError::Malformed(_))
    ));
    let twice = form(
        b"list",
        vec![
            form(
                b"reference",
                vec![Item::Int(1.into()), form(b"list", vec![])],
            ),
            form(
                b"reference",
                vec![Item::Int(1.into()), form(b"list", vec![])],
            ),
        ],
    );
    assert!(matches!(
        unjelly(twice, &SecurityOptions::new()),
        Err(JellyError::Malformed(_))
    ));
}

#[test]
fn code_words_and_unknown_tags_are_insecure() {
    for word in [
        "class",
        "module",
        "function",
        "method",
        "instance",
        "frobnicate",
    ] {
        let item = form(word.as_bytes(), vec![bytes(b"os")]);
        let error = unjelly(item, &SecurityOptions::new()).unwrap_err();
        assert_eq!(error.to_string(), format!("InsecureJelly: b'{word}'"));
    }
    // Probe 28's and 29's arguments, as a Twisted server received them.
    assert_eq!(
        unjelly_hex("02800b870280098702826f73").unwrap_err(),
        JellyError::Insecure("b'module'".to_string())
    );
    assert_eq!(
        unjelly_hex("02800b8702800e826f732e5f777261705f636c6f736501800587").unwrap_err(),
        JellyError::Insecure("Module os not allowed (in type os._wrap_close).".to_string())
    );
}

#[test]
fn copies_need_their_tag_allowed() {
    let copy = form(b"refdemo.Point", vec![form(b"dictionary", vec![])]);
    let mut security = SecurityOptions::new();
    assert_eq!(
        unjelly(copy.clone(), &security).unwrap_err().to_string(),
        "InsecureJelly: Module refdemo not allowed (in type refdemo.Point)."
    );
    security.allow_copy_tag("refdemo.Point");
    assert_eq!(
        unjelly(copy, &security).unwrap(),
        Value::Copy("refdemo.Point".to_string(), Box::new(Value::Dict(vec![])))
    );
    assert!(SecurityOptions::new().is_copy_tag_allowed(COPYABLE_FAILURE_TAG));
}

#[test]
fn malformed_forms_are_refused() {
    let security = SecurityOptions::new();
    let cases = [
        Item::List(vec![]),
        Item::List(vec![Item::Int(1.into())]),
        form(b"boolean", vec![bytes(b"maybe")]),
        form(b"unicode", vec![bytes(b"\xff")]),
        form(b"dictionary", vec![Item::List(vec![bytes(b"k")])]),
        form(b"dictionary", vec![bytes(b"k")]),
        form(b"remote", vec![Item::Int((-1).into())]),
        form(b"remote", vec![]),
        form(
            b"decimal",
            vec![Item::Int((-125).into()), Item::Int((-2).into())],
        ),
        form(b"datetime", vec![bytes(b"2024 1 2 3 4 5 6")]),
    ];
    for item in cases {
        let shown = sexp(&item);
        assert!(
            matches!(unjelly(item, &security), Err(JellyError::Malformed(_))),
            "{shown}"
        );
    }
}

#[test]
fn values_nested_too_deep_are_refused_both_ways() {
    let mut value = Value::None;
    for _ in 0..DEFAULT_MAX_DEPTH {
        value = Value::List(vec![value]);
    }
    assert_eq!(jelly_to_vec(&value, Dialect::Pb), Err(JellyError::TooDeep));
    let mut security = SecurityOptions::new();
    security.set_max_depth(3);
    let item = form(
        b"list",
        vec![form(
            b"list",
            vec![form(b"list", vec![form(b"None", vec![])])],
        )],
    );
    assert_eq!(unjelly(item, &security), Err(JellyError::TooDeep));
}

#[test]
fn a_refused_value_writes_nothing() {
    let mut out = b"already".to_vec();
    let mut writer = Writer::new(&mut out, Dialect::Pb);
    let value = Value::List(vec![Value::Int(1), Value::Bytes(vec![0; 655_361])]);
    assert!(matches!(
        jelly(&value, &mut writer),
        Err(JellyError::Banana(_))
    ));
    assert_eq!(out, b"already");
}

#[test]
fn values_print_as_python_prints_them() {
    let cases = [
        (Value::Bytes(b"abc".to_vec()), "b'abc'"),
        (text("text"), "'text'"),
        (Value::List(vec![Value::Int(1), Value::Int(2)]), "[1, 2]"),
        (Value::Tuple(vec![Value::Int(1)]), "(1,)"),
        (Value::Tuple(vec![]), "()"),
        (
            Value::Dict(vec![(Value::Bytes(b"a".to_vec()), Value::Int(1))]),
            "{b'a': 1}",
        ),
        (Value::None, "None"),
        (Value::Bool(true), "True"),
        (Value::Float(1.5), "1.5"),
        (Value::Float(10151.0), "10151.0"),
        (Value::Float(1e16), "1e+16"),
        (Value::Float(1.5e-5), "1.5e-05"),
        (Value::Float(0.0001), "0.0001"),
        (Value::Float(-0.0), "-0.0"),
        (Value::Float(f64::NAN), "nan"),
        (Value::Float(f64::NEG_INFINITY), "-inf"),
        (Value::Set(vec![]), "set()"),
        (Value::Set(vec![Value::Int(1)]), "{1}"),
        (Value::FrozenSet(vec![Value::Int(2)]), "frozenset({2})"),
        (Value::BigInt(BigInt::from(1) << 64), "18446744073709551616"),
    ];
    for (value, shown) in cases {
        assert_eq!(value.to_string(), shown);
    }
}

#[test]
fn rust_values_convert_to_the_python_types_they_stand_for() {
    assert_eq!(Value::from("k"), text("k"));
    assert_eq!(Value::from(&b"k"[..]), Value::Bytes(b"k".to_vec()));
    assert_eq!(Value::from(BigInt::from(5)), Value::Int(5));
    assert_eq!(Value::from(true), Value::Bool(true));
    assert_eq!(Value::from(7).as_int(), Some(7));
    assert_eq!(Value::from("k").as_text(), Some("k"));
    assert_eq!(Value::from("k").as_bytes(), None);
}
