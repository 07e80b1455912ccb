//! Banana as Twisted's `test_banana.py` exercises it, as behaviour, plus our own limits.

use num_bigint::BigInt;

use super::{decode_all, decode_bytewise, decode_error, unhex};
use crate::spread::banana::{
    Decoder, Dialect, Int, Item, SIZE_LIMIT, Writer, vocabulary_index, vocabulary_word,
};

fn encode(item: &Item, dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::new();
    Writer::new(&mut out, dialect)
        .item(item)
        .expect("encodable");
    out
}

fn int(n: i64) -> Item {
    Item::Int(Int::Small(n))
}

fn big(n: BigInt) -> Item {
    Item::Int(Int::from(n))
}

fn bytes(b: &[u8]) -> Item {
    Item::Bytes(b.to_vec())
}

/// Encodes `item`, decodes it whole and byte by byte, and expects it back.
fn round_trip(item: Item) {
    let encoded = encode(&item, Dialect::Pb);
    assert_eq!(
        decode_all(&encoded, Dialect::Pb),
        std::slice::from_ref(&item)
    );
    assert_eq!(decode_bytewise(&encoded, Dialect::Pb), [item]);
}

fn pow2(exp: u32) -> BigInt {
    BigInt::from(1) << exp
}

#[test]
fn int2b128_round_trips() {
    for range in [0..100, 1000..1100, 1_000_000..1_000_100] {
        for n in range {
            round_trip(int(n));
        }
    }
    round_trip(big(BigInt::from(1024).pow(10)));
}

#[test]
fn strings_numbers_floats_and_lists_round_trip() {
    round_trip(bytes(b"hello"));
    round_trip(int(1015));
    round_trip(int(-1015));
    round_trip(int(10151));
    round_trip(Item::Float(1015.0));
    round_trip(nested_list());
}

fn nested_list() -> Item {
    Item::List(vec![
        int(1),
        int(2),
        int(3),
        int(4),
        int(5),
        Item::List(vec![int(6), Item::Float(7.0), Item::List(vec![])]),
        bytes(b"nine"),
        Item::List(vec![]),
        Item::Float(10.5),
    ])
}

#[test]
fn partial_feeding_of_big_integers() {
    let max = BigInt::from(i64::MAX);
    let Item::List(mut items) = nested_list() else {
        unreachable!()
    };
    items.push(big(&max * 3));
    items.push(big(&max * 2));
    items.push(big(&max * -2));
    let list = Item::List(items);
    let encoded = encode(&list, Dialect::None);
    assert_eq!(decode_bytewise(&encoded, Dialect::None), [list]);
}

#[test]
fn big_integers_normalise_to_small_when_they_fit() {
    assert_eq!(Int::from(BigInt::from(5)), Int::Small(5));
    assert_eq!(Int::from(-pow2(63)), Int::Small(i64::MIN));
    assert!(matches!(Int::from(pow2(63)), Int::Big(_)));
    // -2^63 travels as LONGNEG with a ten-digit prefix and comes back small.
    let encoded = encode(&int(i64::MIN), Dialect::None);
    assert_eq!(decode_all(&encoded, Dialect::None), [int(i64::MIN)]);
    round_trip(big(pow2(63)));
    round_trip(big(-pow2(64) - 1));
}

#[test]
fn the_encoder_refuses_what_twisted_refuses() {
    let mut out = Vec::new();
    let mut writer = Writer::new(&mut out, Dialect::Pb);
    let too_large = pow2(448);
    assert_eq!(
        writer.big_int(&too_large).unwrap_err().to_string(),
        format!("BananaError: int is too large to send ({too_large})")
    );
    assert_eq!(
        writer.big_int(&-&too_large).unwrap_err().to_string(),
        format!("BananaError: int is too large to send (-{too_large})")
    );
    assert_eq!(
        writer
            .bytes(&vec![b'x'; SIZE_LIMIT + 1])
            .unwrap_err()
            .to_string(),
        "BananaError: byte string is too long to send (655361)"
    );
    assert_eq!(
        writer.list_header(SIZE_LIMIT + 1).unwrap_err().to_string(),
        "BananaError: list/tuple is too long to send (655361)"
    );
    // A list that fails half way leaves nothing behind.
    let bad = Item::List(vec![int(1), big(too_large)]);
    assert!(writer.item(&bad).is_err());
    assert!(writer.is_empty());
    // The largest sendable magnitude and a string at the limit are fine.
    writer.big_int(&(pow2(448) - 1)).unwrap();
    writer.bytes(&vec![b'x'; SIZE_LIMIT]).unwrap();
}

#[test]
fn a_65_byte_prefix_is_refused() {
    for type_byte in ["85", "86"] {
        // 2^448: 64 zero digits and a 1.
        let hex = format!("{}01{type_byte}", "00".repeat(64));
        let bytes = unhex(&hex);
        assert_eq!(
            decode_error(&bytes, Dialect::None, false),
            "BananaError: Security precaution: longer than 64 bytes worth of prefix"
        );
        assert_eq!(
            decode_error(&bytes, Dialect::None, true),
            "BananaError: Security precaution: more than 64 bytes of prefix"
        );
    }
    // Exactly 64 prefix bytes: the peer waits for the type byte.
    let mut decoder = Decoder::new();
    decoder.feed(&[1; 64]);
    assert!(decoder.next_item().is_none());
    decoder.feed(&[0x81]);
    assert!(matches!(
        decoder.next_item(),
        Some(Ok(Item::Int(Int::Big(_))))
    ));
}

#[test]
fn oversized_headers_are_refused_even_byte_by_byte() {
    for bytewise in [false, true] {
        assert_eq!(
            decode_error(&unhex("020101010180"), Dialect::Pb, bytewise),
            "BananaError: Security precaution: List too long."
        );
        assert_eq!(
            decode_error(&unhex("020101010182"), Dialect::Pb, bytewise),
            "BananaError: Security precaution: String too long."
        );
        assert_eq!(
            decode_error(&unhex("000000000480"), Dialect::Pb, bytewise),
            "BananaError: Security precaution: List too long."
        );
        // One past the limit (probes 11 and 13).
        assert_eq!(
            decode_error(&unhex("01002882"), Dialect::Pb, bytewise),
            "BananaError: Security precaution: String too long."
        );
        assert_eq!(
            decode_error(&unhex("01002880"), Dialect::Pb, bytewise),
            "BananaError: Security precaution: List too long."
        );
    }
}

#[test]
fn a_string_at_the_limit_waits_for_its_payload() {
    let mut decoder = Decoder::new();
    decoder.feed(&unhex("00002882616263"));
    assert!(decoder.next_item().is_none());
    assert_eq!(decoder.buffered(), 7);
    let payload = vec![b'z'; SIZE_LIMIT - 3];
    for chunk in payload.chunks(65536) {
        decoder.feed(chunk);
    }
    let Some(Ok(Item::Bytes(got))) = decoder.next_item() else {
        panic!("a string")
    };
    assert_eq!(got.len(), SIZE_LIMIT);
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn minus_two_to_the_31_round_trips() {
    round_trip(int(-(1 << 31)));
}

#[test]
fn sized_integer_types_are_byte_exact() {
    let cases = [
        ((1 << 31) - 3, "7d7f7f7f0781"),
        ((1 << 31) - 2, "7e7f7f7f0781"),
        ((1 << 31) - 1, "7f7f7f7f0781"),
        (1 << 31, "000000000885"),
        ((1 << 31) + 1, "010000000885"),
        ((1 << 31) + 2, "020000000885"),
        (-(1 << 31) + 2, "7e7f7f7f0783"),
        (-(1 << 31) + 1, "7f7f7f7f0783"),
        (-(1 << 31), "000000000883"),
        (-(1 << 31) - 1, "010000000886"),
        (-(1 << 31) - 2, "020000000886"),
        (-(1 << 31) - 3, "030000000886"),
    ];
    for (n, hex) in cases {
        assert_eq!(encode(&int(n), Dialect::None), unhex(hex), "{n}");
        assert_eq!(decode_all(&unhex(hex), Dialect::None), [int(n)]);
        // The big-integer path writes the same bytes.
        let mut out = Vec::new();
        Writer::new(&mut out, Dialect::None)
            .big_int(&BigInt::from(n))
            .unwrap();
        assert_eq!(out, unhex(hex));
    }
}

#[test]
fn prefixes_twisted_accepts_but_never_writes() {
    // Empty prefixes: an empty list, zero.
    assert_eq!(
        decode_all(&unhex("80"), Dialect::None),
        [Item::List(vec![])]
    );
    assert_eq!(decode_all(&unhex("81"), Dialect::None), [int(0)]);
    // Trailing zero digits.
    assert_eq!(decode_all(&unhex("01000081"), Dialect::None), [int(1)]);
    assert_eq!(
        decode_all(
            &unhex(&format!("03{}82616263", "00".repeat(63))),
            Dialect::None
        ),
        [bytes(b"abc")]
    );
    // A prefix before a float is ignored; INT may carry a large value, LONGINT a small one.
    assert_eq!(
        decode_all(&unhex("05843ff8000000000000"), Dialect::None),
        [Item::Float(1.5)]
    );
    assert_eq!(
        decode_all(&unhex("000000000881"), Dialect::None),
        [int(1 << 31)]
    );
    assert_eq!(decode_all(&unhex("0185"), Dialect::None), [int(1)]);
    assert_eq!(decode_all(&unhex("0186"), Dialect::None), [int(-1)]);
}

#[test]
fn vocabulary_needs_the_pb_dialect() {
    assert_eq!(
        decode_error(&unhex("1087"), Dialect::None, false),
        "NotImplementedError: Invalid item for pb protocol b'remote'"
    );
    assert_eq!(decode_all(&unhex("1087"), Dialect::Pb), [bytes(b"remote")]);
    for dialect in [Dialect::None, Dialect::Pb] {
        assert_eq!(
            decode_error(&unhex("7a87"), dialect, false),
            "KeyError: 122"
        );
        assert_eq!(decode_error(&unhex("0087"), dialect, false), "KeyError: 0");
        assert_eq!(decode_error(&unhex("2087"), dialect, false), "KeyError: 32");
    }
    assert_eq!(encode(&bytes(b"remote"), Dialect::Pb), unhex("1087"));
    assert_eq!(
        encode(&bytes(b"remote"), Dialect::None),
        unhex("068272656d6f7465")
    );
    for index in 1..=31u8 {
        let word = vocabulary_word(u64::from(index)).unwrap();
        assert_eq!(vocabulary_index(word), Some(index));
    }
    assert_eq!(vocabulary_word(0), None);
    assert_eq!(vocabulary_word(32), None);
    assert_eq!(vocabulary_index(b"root"), None);
}

#[test]
fn invalid_type_bytes_are_refused() {
    for type_byte in 0x88..=0xffu8 {
        assert_eq!(
            decode_error(&[type_byte], Dialect::Pb, false),
            format!("NotImplementedError: Invalid Type Byte b'\\x{type_byte:02x}'")
        );
    }
}

#[test]
fn the_dialect_switches_between_two_expressions_of_one_feed() {
    // A Twisted client's first write: its choice, then its version with a VOCAB token.
    let mut decoder = Decoder::new();
    decoder.feed(&unhex("02827062028013870681"));
    assert_eq!(decoder.next_item(), Some(Ok(bytes(b"pb"))));
    decoder.set_dialect(Dialect::Pb);
    assert_eq!(decoder.dialect(), Dialect::Pb);
    assert_eq!(
        decoder.next_item(),
        Some(Ok(Item::List(vec![bytes(b"version"), int(6)])))
    );
    assert_eq!(decoder.next_item(), None);
}

#[test]
fn a_failed_decoder_stays_failed_and_a_new_one_starts_clean() {
    let mut decoder = Decoder::new();
    decoder.feed(&unhex("0280018188"));
    let error = decoder.next_item().unwrap().unwrap_err();
    assert_eq!(decoder.next_item(), Some(Err(error.clone())));
    decoder.feed(&unhex("0181"));
    assert_eq!(decoder.next_item(), Some(Err(error)));
    assert_eq!(decoder.buffered(), 0);
    // The next connection's decoder knows nothing of the half list before the bad byte.
    assert_eq!(decode_all(&unhex("0181"), Dialect::None), [int(1)]);
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let nested = |depth: usize| {
        let mut bytes = "0180".repeat(depth - 1);
        bytes.push_str("0080");
        unhex(&bytes)
    };
    assert_eq!(decode_all(&nested(64), Dialect::None).len(), 1);
    for bytewise in [false, true] {
        assert_eq!(
            decode_error(&nested(65), Dialect::None, bytewise),
            "BananaError: Security precaution: lists nested more than 64 deep"
        );
    }
    let mut decoder = Decoder::with_max_depth(2);
    decoder.feed(&nested(3));
    assert_eq!(
        decoder.next_item().unwrap().unwrap_err().to_string(),
        "BananaError: Security precaution: lists nested more than 2 deep"
    );
}

#[test]
fn one_expression_may_hold_only_so_much() {
    let mut decoder = Decoder::new();
    decoder.set_max_expression_size(1000);
    // A long list of one-byte integers: each costs an item's size, not one byte.
    decoder.feed(&unhex("0008800181"));
    decoder.feed(&[0x81; 200]);
    assert_eq!(
        decoder.next_item().unwrap().unwrap_err().to_string(),
        "BananaError: Security precaution: expression larger than 1000 bytes"
    );
    // The budget is per expression: many small ones pass.
    let mut decoder = Decoder::new();
    decoder.set_max_expression_size(1000);
    decoder.feed(&[0x81; 5000]);
    let mut count = 0;
    while let Some(item) = decoder.next_item() {
        item.unwrap();
        count += 1;
    }
    assert_eq!(count, 5000);
}

#[test]
fn several_expressions_in_one_feed_and_one_across_feeds() {
    let mut decoder = Decoder::new();
    decoder.feed(&unhex("0181028002810382"));
    assert_eq!(decoder.next_item(), Some(Ok(int(1))));
    assert_eq!(decoder.next_item(), None);
    // The list's header and first item are decoded already; only the string's header waits.
    assert_eq!(decoder.buffered(), 2);
    decoder.feed(&unhex("616263"));
    assert_eq!(
        decoder.next_item(),
        Some(Ok(Item::List(vec![int(2), bytes(b"abc")])))
    );
    assert_eq!(decoder.buffered(), 0);
}
