//! Jelly as Twisted's `test_jelly.py` exercises it (the data-type and security parts), as
//! behaviour, and the forms PB adds.

use num_bigint::BigInt;

use super::{decode_all, sexp, unhex};
use crate::spread::banana::{DEFAULT_MAX_DEPTH, Dialect, Int, Item, Writer};
use crate::spread::jelly::{
    COPYABLE_FAILURE_TAG, Date, DateTime, Decimal, JellyError, ObjectId, SecurityOptions, Time,
    TimeDelta, Value, jelly, jelly_to_vec, unjelly,
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
        // Cacheables, which Twisted accepts and this implementation does not build.
        form(b"cached", vec![Item::Int(1.into())]),
        form(b"lcache", vec![Item::Int(1.into())]),
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

fn decimal(coefficient: i64, exponent: i64) -> Value {
    Value::Decimal(Decimal::new(BigInt::from(coefficient), exponent).expect("in range"))
}

fn date(year: i64, month: i64, day: i64) -> Date {
    Date::new(year, month, day).expect("a real day")
}

fn time(hour: i64, minute: i64, second: i64, microsecond: i64) -> Time {
    Time::new(hour, minute, second, microsecond).expect("a time of day")
}

/// `test_decimal` and `test_decimalUnjelly`: Twisted's own four s-expressions, both ways, and
/// Python's reprs of them; the sign is the coefficient's, and a zero has none.
#[test]
fn decimals_travel_as_a_signed_coefficient_and_an_exponent() {
    let cases = [
        (decimal(995, -2), r#"("decimal" 995 -2)"#, "Decimal('9.95')"),
        (decimal(0, 0), r#"("decimal" 0 0)"#, "Decimal('0')"),
        (
            decimal(123456, 0),
            r#"("decimal" 123456 0)"#,
            "Decimal('123456')",
        ),
        (
            decimal(-78901, -3),
            r#"("decimal" -78901 -3)"#,
            "Decimal('-78.901')",
        ),
        (decimal(314, -2), r#"("decimal" 314 -2)"#, "Decimal('3.14')"),
        (
            decimal(3140, -3),
            r#"("decimal" 3140 -3)"#,
            "Decimal('3.140')",
        ),
        (decimal(1, 3), r#"("decimal" 1 3)"#, "Decimal('1E+3')"),
        (decimal(-1, -7), r#"("decimal" -1 -7)"#, "Decimal('-1E-7')"),
        (decimal(1, -6), r#"("decimal" 1 -6)"#, "Decimal('0.000001')"),
        (
            decimal(123, -9),
            r#"("decimal" 123 -9)"#,
            "Decimal('1.23E-7')",
        ),
        (decimal(0, 5), r#"("decimal" 0 5)"#, "Decimal('0E+5')"),
        (decimal(0, -2), r#"("decimal" 0 -2)"#, "Decimal('0.00')"),
    ];
    for (value, jelly, repr) in cases {
        assert_eq!(jellied(&value), jelly);
        round_trip(&value);
        assert_eq!(value.to_string(), repr);
    }
    // A coefficient beyond 64 bits is a LONGINT on the wire, and comes back the same.
    let big = Value::Decimal(Decimal::new(BigInt::from(10).pow(30) + 7, -30).unwrap());
    round_trip(&big);
    assert_eq!(
        big.to_string(),
        "Decimal('1.000000000000000000000000000007')"
    );
    // Python's decimal bounds the exponent: MIN_ETINY below, MAX_EMAX for the first digit above.
    assert!(Decimal::new(BigInt::from(1), -1_999_999_999_999_999_997).is_some());
    assert!(Decimal::new(BigInt::from(1), -1_999_999_999_999_999_998).is_none());
    assert!(Decimal::new(BigInt::from(123), 999_999_999_999_999_997).is_some());
    assert!(Decimal::new(BigInt::from(123), 999_999_999_999_999_998).is_none());
    assert!(Decimal::new(BigInt::from(1), i64::MAX).is_none());
    assert_eq!(
        decimal(123, 999_999_999_999_999_997).to_string(),
        "Decimal('1.23E+999999999999999999')"
    );
}

/// What a peer may send as a decimal that Python would not build: refused, not guessed at.
#[test]
fn malformed_decimals_are_refused() {
    let refused = [
        form(b"decimal", vec![Item::Int(Int::Small(1))]),
        form(b"decimal", vec![Item::Float(1.5), Item::Int(Int::Small(0))]),
        form(b"decimal", vec![Item::Int(Int::Small(1)), bytes(b"F")]),
        form(
            b"decimal",
            vec![
                Item::Int(Int::Small(1)),
                Item::Int(Int::Big(BigInt::from(1) << 70)),
            ],
        ),
        form(
            b"decimal",
            vec![
                Item::Int(Int::Small(1)),
                Item::Int(Int::Small(1_000_000_000_000_000_000)),
            ],
        ),
    ];
    for item in refused {
        let shown = sexp(&item);
        assert!(
            matches!(
                unjelly(item, &SecurityOptions::new()),
                Err(JellyError::Malformed(_))
            ),
            "{shown}"
        );
    }
}

/// `test_dateTime` and `test_bananaTimeTypes`: each time type is its word and one string of the
/// fields Python's constructor takes, written as Twisted writes them and printed as Python's repr.
#[test]
fn time_types_travel_as_their_fields() {
    let cases = [
        (
            Value::DateTime(DateTime::new(date(2024, 1, 2), time(3, 4, 5, 6))),
            r#"("datetime" "2024 1 2 3 4 5 6")"#,
            "datetime.datetime(2024, 1, 2, 3, 4, 5, 6)",
        ),
        (
            Value::DateTime(DateTime::new(date(2024, 1, 2), time(0, 0, 0, 0))),
            r#"("datetime" "2024 1 2 0 0 0 0")"#,
            "datetime.datetime(2024, 1, 2, 0, 0)",
        ),
        (
            Value::DateTime(DateTime::new(date(9999, 12, 31), time(23, 59, 59, 999_999))),
            r#"("datetime" "9999 12 31 23 59 59 999999")"#,
            "datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)",
        ),
        (
            Value::DateTime(DateTime::new(date(2024, 1, 2), time(3, 4, 0, 6))),
            r#"("datetime" "2024 1 2 3 4 0 6")"#,
            "datetime.datetime(2024, 1, 2, 3, 4, 0, 6)",
        ),
        (
            Value::Date(date(2024, 2, 29)),
            r#"("date" "2024 2 29")"#,
            "datetime.date(2024, 2, 29)",
        ),
        (
            Value::Time(time(3, 4, 0, 0)),
            r#"("time" "3 4 0 0")"#,
            "datetime.time(3, 4)",
        ),
        (
            Value::Time(time(1, 2, 3, 0)),
            r#"("time" "1 2 3 0")"#,
            "datetime.time(1, 2, 3)",
        ),
        (
            Value::TimeDelta(TimeDelta::new(-1, 5, 7).unwrap()),
            r#"("timedelta" "-1 5 7")"#,
            "datetime.timedelta(days=-1, seconds=5, microseconds=7)",
        ),
        (
            Value::TimeDelta(TimeDelta::new(0, 0, 0).unwrap()),
            r#"("timedelta" "0 0 0")"#,
            "datetime.timedelta(0)",
        ),
        (
            Value::TimeDelta(TimeDelta::new(0, 0, -1).unwrap()),
            r#"("timedelta" "-1 86399 999999")"#,
            "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)",
        ),
    ];
    for (value, jelly, repr) in cases {
        assert_eq!(jellied(&value), jelly);
        round_trip(&value);
        assert_eq!(value.to_string(), repr);
    }
}

/// The field strings are read as Python reads them (`int()` of each space-separated field), so
/// a shorter datetime or time takes zeros and a timedelta is normalised; what Python would refuse
/// (a day that does not exist, an hour of 24, more than 999999999 days, too few or too many
/// fields, a field that is not an integer, an absurdly long string) is refused.
#[test]
fn time_fields_are_read_as_python_reads_them() {
    let read = |word: &[u8], fields: &[u8]| {
        unjelly(form(word, vec![bytes(fields)]), &SecurityOptions::new())
            .map(|value| (jellied(&value), value.to_string()))
    };
    assert_eq!(
        read(b"datetime", b"2024 1 2"),
        Ok((
            r#"("datetime" "2024 1 2 0 0 0 0")"#.to_owned(),
            "datetime.datetime(2024, 1, 2, 0, 0)".to_owned()
        ))
    );
    assert_eq!(
        read(b"time", b""),
        Ok((
            r#"("time" "0 0 0 0")"#.to_owned(),
            "datetime.time(0, 0)".to_owned()
        ))
    );
    assert_eq!(
        read(b"timedelta", b"0 90000 -1"),
        Ok((
            r#"("timedelta" "1 3599 999999")"#.to_owned(),
            "datetime.timedelta(days=1, seconds=3599, microseconds=999999)".to_owned()
        ))
    );
    assert_eq!(
        read(b"date", b" +2024\t02\n29 "),
        Ok((
            r#"("date" "2024 2 29")"#.to_owned(),
            "datetime.date(2024, 2, 29)".to_owned()
        ))
    );
    let refused: [(&[u8], &[u8]); 15] = [
        (b"date", b"2023 2 29"),
        (b"date", b"2024 13 1"),
        (b"date", b"0 1 1"),
        (b"date", b"2024 1"),
        (b"date", b"2024 1 2 3"),
        (b"datetime", b"2024 1 2 24 0 0 0"),
        (b"datetime", b"2024 1 2 0 0 0 1000000"),
        (b"datetime", b"2024 1 2 0 0 0 0 0"),
        (b"time", b"0 60"),
        (b"time", b"1 2 3 4 5"),
        (b"timedelta", b"1000000000 0 0"),
        (b"timedelta", b"1 2"),
        (b"timedelta", b"1_0 0 0"),
        (b"timedelta", b"99999999999999999999 0 0"),
        (
            b"date",
            b"2024 1 2                                                          ",
        ),
    ];
    for (word, fields) in refused {
        assert!(
            matches!(read(word, fields), Err(JellyError::Malformed(_))),
            "{} {}",
            String::from_utf8_lossy(word),
            String::from_utf8_lossy(fields)
        );
    }
    assert!(matches!(
        unjelly(
            form(b"date", vec![Item::Int(Int::Small(2024))]),
            &SecurityOptions::new()
        ),
        Err(JellyError::Malformed(_))
    ));
    assert_eq!(
        TimeDelta::new(999_999_999, 86_399, 999_999).map(|delta| delta.days()),
        Some(999_999_999)
    );
    assert_eq!(TimeDelta::new(999_999_999, 86_400, 0), None);
    assert_eq!(TimeDelta::new(i64::MAX, i64::MAX, i64::MAX), None);
}
