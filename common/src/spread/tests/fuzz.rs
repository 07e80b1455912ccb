//! Arbitrary input never panics: the measured vectors, mutated, truncated and cut into random
//! chunks with a fixed seed, and the server probes that close a Twisted connection.

use super::unhex;
use crate::spread::banana::{Decoder, Dialect, Item};
use crate::spread::jelly::{SecurityOptions, jelly_to_vec, unjelly};

const BANANA_VALUES: &str = include_str!("../../../tests/pb-vectors/banana-values.tsv");
const EXPRESSIONS: &str = include_str!("../../../tests/pb-vectors/expressions.tsv");

/// A small deterministic generator (xorshift64*): the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn vectors() -> Vec<Vec<u8>> {
    let values = BANANA_VALUES
        .lines()
        .skip(1)
        .flat_map(|line| line.split('\t').skip(3).map(unhex).collect::<Vec<_>>());
    let expressions = EXPRESSIONS
        .lines()
        .skip(1)
        .map(|line| unhex(line.split('\t').nth(6).expect("a hex column")));
    values.chain(expressions).collect()
}

/// Feeds `input` in random chunks and drains the decoder after each; every item is unjellied and,
/// if that works, jellied and printed again. Returns whether the decoder reported an error.
fn digest(input: &[u8], dialect: Dialect, rng: &mut Rng) -> bool {
    let mut decoder = Decoder::new();
    decoder.set_dialect(dialect);
    let security = SecurityOptions::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(1 + rng.below(rest.len()));
        rest = tail;
        decoder.feed(chunk);
        while let Some(item) = decoder.next_item() {
            let Ok(item) = item else { return true };
            if let Ok(value) = unjelly(item, &security) {
                let _ = jelly_to_vec(&value, dialect);
                let _ = value.to_string();
            }
        }
    }
    false
}

#[test]
fn mutated_vectors_never_panic() {
    let vectors = vectors();
    let mut rng = Rng(0x5eed_f0ba_7a4a);
    for _ in 0..20_000 {
        let mut input = vectors[rng.below(vectors.len())].clone();
        match rng.below(6) {
            0 => {
                let at = rng.below(input.len());
                input[at] ^= 1 << rng.below(8);
            }
            1 => input.truncate(rng.below(input.len())),
            2 => input.insert(rng.below(input.len() + 1), rng.next() as u8),
            3 => {
                let at = rng.below(input.len());
                input[at] = 0x80 | rng.next() as u8;
            }
            4 => {
                let other = &vectors[rng.below(vectors.len())];
                input.extend_from_slice(&other[rng.below(other.len())..]);
            }
            _ => input = (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect(),
        }
        let dialect = if rng.below(2) == 0 {
            Dialect::Pb
        } else {
            Dialect::None
        };
        digest(&input, dialect, &mut rng);
    }
}

#[test]
fn a_valid_stream_cut_short_is_never_an_error() {
    let mut rng = Rng(42);
    for bytes in vectors() {
        for cut in 0..bytes.len() {
            assert!(!digest(&bytes[..cut], Dialect::Pb, &mut rng));
        }
    }
}

/// What a Twisted server's decoder does with a client's whole stream: the first expression picks
/// the dialect. Returns the decoding error, if any, and how many expressions were read.
fn serve(stream: &str) -> (Option<String>, usize) {
    let mut decoder = Decoder::new();
    decoder.feed(&unhex(stream));
    let mut count = 0;
    while let Some(item) = decoder.next_item() {
        match item {
            Err(error) => return (Some(error.to_string()), count),
            Ok(item) => {
                if count == 0 && item == Item::Bytes(b"pb".to_vec()) {
                    decoder.set_dialect(Dialect::Pb);
                }
                count += 1;
            }
        }
    }
    (None, count)
}

#[test]
fn the_closing_probes_of_the_banana_layer_are_errors() {
    // probes-server.md: the probes a Twisted server closes on while decoding, with its log line.
    let probes = [
        (
            "1387",
            "NotImplementedError: Invalid item for pb protocol b'version'",
        ),
        (
            "028270620280138706810188",
            "NotImplementedError: Invalid Type Byte b'\\x88'",
        ),
        ("028270620280138706817a87", "KeyError: 122"),
        ("028270620280138706810087", "KeyError: 0"),
        (
            "0282706202801387068101002882",
            "BananaError: Security precaution: String too long.",
        ),
        (
            "0282706202801387068101002880",
            "BananaError: Security precaution: List too long.",
        ),
    ];
    for (stream, error) in probes {
        assert_eq!(serve(stream).0.as_deref(), Some(error), "{stream}");
    }
    let prefix_too_long = format!("0282706202801387068101{}", "01".repeat(64));
    assert_eq!(
        serve(&prefix_too_long).0.as_deref(),
        Some("BananaError: Security precaution: more than 64 bytes of prefix")
    );
    let longint_too_long = format!("02827062028013870681{}85", "7f".repeat(65));
    assert_eq!(
        serve(&longint_too_long).0.as_deref(),
        Some("BananaError: Security precaution: longer than 64 bytes worth of prefix")
    );
}

#[test]
fn the_waiting_probes_and_the_broker_level_ones_decode() {
    // 12 (a string at the limit, payload pending) and 15 (64 prefix bytes pending) wait.
    assert_eq!(serve("0282706202801387068100002882616263"), (None, 2));
    assert_eq!(
        serve(&format!("02827062028013870681{}", "01".repeat(64))),
        (None, 2)
    );
    // 4, 5, 7 and 17 to 22 are refused by the broker, above this layer: they decode.
    for stream in [
        "0382786d6c",
        "018002827062",
        "02827062028013870581",
        "028270620280138706810581",
        "028270620280138706810080",
        "0282706202801387068102800a8266726f626e69636174650181",
        "0282706202801387068103801a8701810482726f6f74",
        "0282706202801387068103801b8763810181",
        "0282706202801387068102801d872a81",
    ] {
        assert_eq!(serve(stream).0, None, "{stream}");
    }
}
