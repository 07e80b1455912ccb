//! The measured vectors (`common/tests/pb-vectors/`, copied from the PB specification): every row
//! decodes to its s-expression whole and byte by byte, and encodes back to its exact bytes.

use super::{decode_all, decode_bytewise, sexp, unhex};
use crate::spread::banana::{Dialect, Writer};
use crate::spread::jelly::{SecurityOptions, jelly_to_vec, unjelly};

const BANANA_VALUES: &str = include_str!("../../../tests/pb-vectors/banana-values.tsv");
const EXPRESSIONS: &str = include_str!("../../../tests/pb-vectors/expressions.tsv");

fn encode(item: &crate::spread::banana::Item, dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::new();
    Writer::new(&mut out, dialect)
        .item(item)
        .expect("encodable");
    out
}

/// Decodes `hex` in `dialect` to exactly `expected`, whole and byte by byte, and encodes it back.
fn check_row(name: &str, hex: &str, dialect: Dialect, expected: &str) {
    let bytes = unhex(hex);
    let items = decode_all(&bytes, dialect);
    assert_eq!(items.len(), 1, "{name}: one expression");
    assert_eq!(sexp(&items[0]), expected, "{name}: decoded");
    let bytewise = decode_bytewise(&bytes, dialect);
    assert_eq!(bytewise.len(), 1, "{name}: one expression byte by byte");
    assert_eq!(sexp(&bytewise[0]), expected, "{name}: decoded byte by byte");
    assert_eq!(
        encode(&items[0], dialect),
        bytes,
        "{name}: encoded in {dialect:?}"
    );
}

#[test]
fn banana_values_decode_and_encode_in_both_dialects() {
    let mut rows = 0;
    for line in BANANA_VALUES.lines().skip(1) {
        let [name, _python, expected, none_hex, pb_hex]: [&str; 5] = line
            .split('\t')
            .collect::<Vec<_>>()
            .try_into()
            .expect("five columns");
        check_row(name, none_hex, Dialect::None, expected);
        check_row(name, pb_hex, Dialect::Pb, expected);
        rows += 1;
    }
    assert_eq!(rows, 38);
}

/// Every value Twisted jellied, `decimal` and `datetime` included, is read and written back to
/// Twisted's exact bytes; and it prints as Python's `repr` of the value in the table's second
/// column, where our `Display` has that value (a Copyable or an unpersistable has no repr to
/// match).
#[test]
fn banana_values_unjelly_and_jelly_back_to_the_same_bytes() {
    let security = SecurityOptions::new();
    let mut shown = Vec::new();
    for line in BANANA_VALUES.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (name, python, none_hex, pb_hex) = (fields[0], fields[1], fields[3], fields[4]);
        for (hex, dialect) in [(none_hex, Dialect::None), (pb_hex, Dialect::Pb)] {
            let bytes = unhex(hex);
            let item = decode_all(&bytes, dialect).remove(0);
            let value = unjelly(item, &security).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(
                jelly_to_vec(&value, dialect).unwrap(),
                bytes,
                "{name} {dialect:?}"
            );
            if dialect == Dialect::Pb && ["decimal", "datetime"].contains(&name) {
                shown.push((python.to_owned(), value.to_string()));
            }
        }
    }
    assert_eq!(
        shown,
        [
            (
                "datetime(2024, 1, 2, 3, 4, 5, 6)".to_owned(),
                "datetime.datetime(2024, 1, 2, 3, 4, 5, 6)".to_owned()
            ),
            (
                r#"Decimal("-1.25")"#.to_owned(),
                "Decimal('-1.25')".to_owned()
            ),
        ]
    );
}

#[test]
fn every_expression_of_the_traces_and_probes() {
    let mut rows = 0;
    for line in EXPRESSIONS.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 8, "{line}");
        let name = format!("{} {} {}", fields[0], fields[1], fields[2]);
        let (encoding, hex, expected) = (fields[5], fields[6], fields[7]);
        match encoding {
            "pb" => check_row(&name, hex, Dialect::Pb, expected),
            "none" => check_row(&name, hex, Dialect::None, expected),
            "both" => {
                check_row(&name, hex, Dialect::None, expected);
                check_row(&name, hex, Dialect::Pb, expected);
            }
            other => panic!("{name}: encoding {other}"),
        }
        rows += 1;
    }
    assert_eq!(rows, 250);
}
