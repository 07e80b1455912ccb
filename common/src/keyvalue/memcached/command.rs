//! The command lines of memcached's text protocol: what a client asks, read from one line.
//!
//! Words are separated by spaces (only spaces: a tab is part of a word, as in memcached). The
//! first word is the command, case-sensitive. A storage command's line is followed by its data,
//! which this module does not read: the line says how many bytes to expect.
//!
//! How a malformed line is answered follows memcached 1.6, so that clients see the same replies
//! from both servers: a command with the wrong number of words is `ERROR`, as an unknown one is; a
//! bad key or number is a `CLIENT_ERROR` naming the problem, and a last word `noreply` silences
//! even that. Where we are stricter, on purpose: a key may not hold control characters (the
//! protocol forbids them; memcached does not check), and flags must fit in 32 bits.

use crate::keyvalue::store::{Delta, StoreMode};

/// The longest key memcached accepts, in bytes.
pub const MAX_KEY_LENGTH: usize = 250;

/// The largest data length a storage command may declare (memcached's: a signed 32-bit length
/// with room for the CR LF after the data). Values over the item size limit are refused anyway;
/// this bounds only how much a refused value's data the server reads and drops.
const MAX_DATA_LENGTH: usize = i32::MAX as usize - 2;

/// A command line, read. Keys borrow from the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `get KEY...` or `gets KEY...` (with each entry's unique number). `keys` is the rest of the
    /// line, every key in it checked; [`keys`] splits it.
    Get {
        /// The keys, separated by spaces.
        keys: &'a [u8],
        /// Whether the replies carry the unique numbers (`gets`).
        with_cas: bool,
    },
    /// `set`, `add`, `replace`, `append`, `prepend` (`KEY FLAGS EXPTIME BYTES [noreply]`) or `cas`
    /// (`... BYTES UNIQUE [noreply]`): `length` bytes of data and a CR LF follow the line.
    Store {
        /// What kind of storage command, with `cas`'s unique number.
        mode: StoreMode,
        /// The entry's key.
        key: &'a [u8],
        /// The client's flags.
        flags: u32,
        /// When the entry expires, as the client said it (see [`super::expiry`]).
        exptime: i64,
        /// How many bytes of data follow.
        length: usize,
        /// Whether the client wants no reply.
        noreply: bool,
    },
    /// `delete KEY [0] [noreply]` (the `0` is what remains of an old "hold time").
    Delete {
        /// The entry's key.
        key: &'a [u8],
        /// Whether the client wants no reply.
        noreply: bool,
    },
    /// `incr KEY DELTA [noreply]` or `decr KEY DELTA [noreply]`.
    Delta {
        /// The entry's key.
        key: &'a [u8],
        /// Up or down, by how much.
        delta: Delta,
        /// Whether the client wants no reply.
        noreply: bool,
    },
    /// `touch KEY EXPTIME [noreply]`: a new time to live.
    Touch {
        /// The entry's key.
        key: &'a [u8],
        /// When the entry expires now.
        exptime: i64,
        /// Whether the client wants no reply.
        noreply: bool,
    },
    /// `flush_all [DELAY] [noreply]`: forget every entry, now or after the delay.
    FlushAll {
        /// 0 for now, else an expiry time as `exptime` is.
        delay: i64,
        /// Whether the client wants no reply.
        noreply: bool,
    },
    /// `version`.
    Version,
    /// `verbosity LEVEL [noreply]`: accepted and answered, changes nothing here.
    Verbosity {
        /// Whether the client wants no reply.
        noreply: bool,
    },
    /// `stats`: the server's figures.
    Stats,
    /// `stats reset`: the counters start over.
    StatsReset,
    /// `quit`: the server closes the connection.
    Quit,
}

/// What is wrong with a command line; each has its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// An unknown command, an empty line, or the wrong number of words: `ERROR`.
    Unknown,
    /// A bad key or number: `CLIENT_ERROR bad command line format`.
    BadFormat,
    /// `delete` with words it does not take.
    DeleteUsage,
    /// `incr` or `decr` by something that is not a 64-bit number.
    BadDelta,
    /// `touch` or `flush_all` with a time that is not a number.
    BadExptime,
}

impl Malformed {
    /// The reply line, with its CR LF.
    pub fn reply(self) -> &'static [u8] {
        match self {
            Malformed::Unknown => b"ERROR\r\n",
            Malformed::BadFormat => b"CLIENT_ERROR bad command line format\r\n",
            Malformed::DeleteUsage => {
                b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
            }
            Malformed::BadDelta => b"CLIENT_ERROR invalid numeric delta argument\r\n",
            Malformed::BadExptime => b"CLIENT_ERROR invalid exptime argument\r\n",
        }
    }
}

/// A line that is no command: what is wrong, and whether its last word asked for no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadCommand {
    /// What is wrong.
    pub error: Malformed,
    /// Whether the reply is to be left out.
    pub noreply: bool,
}

/// The most words a command other than `get` takes after its name (`cas` with `noreply`).
const MAX_ARGUMENTS: usize = 6;

/// Splits off the first word of `text`: the word and what follows it (which starts with the
/// space after the word, if any).
pub fn split_word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = text.iter().position(|&byte| byte != b' ')?;
    let text = &text[start..];
    let end = text
        .iter()
        .position(|&byte| byte == b' ')
        .unwrap_or(text.len());
    Some(text.split_at(end))
}

/// The keys of a `get` line's rest, in order.
pub fn keys(mut text: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (key, rest) = split_word(text)?;
        text = rest;
        Some(key)
    })
}

/// Whether `key` may name an entry: 1 to 250 bytes, no control characters (spaces cannot be in
/// a word).
pub fn valid_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LENGTH
        && !key.iter().any(|&byte| byte < 0x20 || byte == 0x7f)
}

/// A decimal number with an optional `+`, as C's `strtoull` reads one whole word.
fn unsigned(word: &[u8]) -> Option<u64> {
    let digits = word.strip_prefix(b"+").unwrap_or(word);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |number, &digit| {
        if !digit.is_ascii_digit() {
            return None;
        }
        number.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// A decimal number with an optional sign.
fn signed(word: &[u8]) -> Option<i64> {
    match word.strip_prefix(b"-") {
        Some(digits) if !digits.starts_with(b"+") => {
            let magnitude = unsigned(digits)?;
            0i64.checked_sub_unsigned(magnitude)
        }
        Some(_) => None,
        None => i64::try_from(unsigned(word)?).ok(),
    }
}

/// Reads a command line (without its line end).
pub fn parse(line: &[u8]) -> Result<Command<'_>, BadCommand> {
    let unknown = BadCommand {
        error: Malformed::Unknown,
        noreply: false,
    };
    let (name, rest) = split_word(line).ok_or(unknown)?;
    if name == b"get" || name == b"gets" {
        return get(rest, name == b"gets");
    }
    let mut words: [&[u8]; MAX_ARGUMENTS] = [&[]; MAX_ARGUMENTS];
    let mut count = 0;
    for word in keys(rest) {
        if count == MAX_ARGUMENTS {
            return Err(unknown);
        }
        words[count] = word;
        count += 1;
    }
    let args = &words[..count];
    let noreply = args.last() == Some(&&b"noreply"[..]);
    let bad = |error| BadCommand { error, noreply };
    let key = |word: &[u8]| -> Result<(), BadCommand> {
        if valid_key(word) {
            Ok(())
        } else {
            Err(bad(Malformed::BadFormat))
        }
    };
    let mode = match name {
        b"set" => Some(StoreMode::Set),
        b"add" => Some(StoreMode::Add),
        b"replace" => Some(StoreMode::Replace),
        b"append" => Some(StoreMode::Append),
        b"prepend" => Some(StoreMode::Prepend),
        b"cas" => Some(StoreMode::Cas(0)),
        _ => None,
    };
    if let Some(mode) = mode {
        return storage(mode, args, noreply);
    }
    match (name, args) {
        (b"delete", [k])
        | (b"delete", [k, b"0" | b"noreply"])
        | (b"delete", [k, b"0", b"noreply"]) => {
            key(k)?;
            Ok(Command::Delete { key: k, noreply })
        }
        (b"delete", [_, _] | [_, _, _]) => Err(bad(Malformed::DeleteUsage)),
        (b"incr" | b"decr", [k, by] | [k, by, _]) => {
            key(k)?;
            let by = unsigned(by).ok_or(bad(Malformed::BadDelta))?;
            let delta = if name == b"incr" {
                Delta::Incr(by)
            } else {
                Delta::Decr(by)
            };
            Ok(Command::Delta {
                key: k,
                delta,
                noreply,
            })
        }
        (b"touch", [k, time] | [k, time, _]) => {
            key(k)?;
            let exptime = signed(time).ok_or(bad(Malformed::BadExptime))?;
            Ok(Command::Touch {
                key: k,
                exptime,
                noreply,
            })
        }
        (b"flush_all", [] | [_] | [_, _]) => {
            // `flush_all noreply` has no delay; otherwise the first word is one.
            let delay = match args.first() {
                Some(word) if args.len() > usize::from(noreply) => {
                    signed(word).ok_or(bad(Malformed::BadExptime))?
                }
                _ => 0,
            };
            Ok(Command::FlushAll { delay, noreply })
        }
        (b"verbosity", [level] | [level, _]) => match unsigned(level) {
            Some(_) => Ok(Command::Verbosity { noreply }),
            None => Err(bad(Malformed::BadFormat)),
        },
        (b"version", _) => Ok(Command::Version),
        (b"quit", _) => Ok(Command::Quit),
        (b"stats", []) => Ok(Command::Stats),
        (b"stats", [b"reset"]) => Ok(Command::StatsReset),
        _ => Err(unknown),
    }
}

/// `get` and `gets`: at least one key, all of them valid.
fn get(keys_text: &[u8], with_cas: bool) -> Result<Command<'_>, BadCommand> {
    let mut any = false;
    for key in keys(keys_text) {
        if !valid_key(key) {
            return Err(BadCommand {
                error: Malformed::BadFormat,
                noreply: false,
            });
        }
        any = true;
    }
    if !any {
        return Err(BadCommand {
            error: Malformed::Unknown,
            noreply: false,
        });
    }
    Ok(Command::Get {
        keys: keys_text,
        with_cas,
    })
}

/// The storage commands: `KEY FLAGS EXPTIME BYTES`, `cas`'s `UNIQUE`, then maybe `noreply` (any
/// other last word is ignored, as memcached ignores it).
fn storage<'a>(
    mode: StoreMode,
    args: &[&'a [u8]],
    noreply: bool,
) -> Result<Command<'a>, BadCommand> {
    let fixed = if matches!(mode, StoreMode::Cas(_)) {
        5
    } else {
        4
    };
    if args.len() != fixed && args.len() != fixed + 1 {
        return Err(BadCommand {
            error: Malformed::Unknown,
            noreply: false,
        });
    }
    let bad = BadCommand {
        error: Malformed::BadFormat,
        noreply,
    };
    let key = args[0];
    if !valid_key(key) {
        return Err(bad);
    }
    let flags = unsigned(args[1])
        .and_then(|flags| u32::try_from(flags).ok())
        .ok_or(bad)?;
    let exptime = signed(args[2]).ok_or(bad)?;
    let length = unsigned(args[3])
        .and_then(|length| usize::try_from(length).ok())
        .filter(|&length| length <= MAX_DATA_LENGTH)
        .ok_or(bad)?;
    let mode = match mode {
        StoreMode::Cas(_) => StoreMode::Cas(unsigned(args[4]).ok_or(bad)?),
        other => other,
    };
    Ok(Command::Store {
        mode,
        key,
        flags,
        exptime,
        length,
        noreply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: &[u8]) -> (Malformed, bool) {
        let bad = parse(line).unwrap_err();
        (bad.error, bad.noreply)
    }

    #[test]
    fn storage_commands() {
        assert_eq!(
            parse(b"set k 5 -1 10"),
            Ok(Command::Store {
                mode: StoreMode::Set,
                key: b"k",
                flags: 5,
                exptime: -1,
                length: 10,
                noreply: false,
            })
        );
        assert_eq!(
            parse(b"  cas  k 0 0 +1 77 noreply"),
            Ok(Command::Store {
                mode: StoreMode::Cas(77),
                key: b"k",
                flags: 0,
                exptime: 0,
                length: 1,
                noreply: true,
            })
        );
        // Another last word is ignored, as memcached ignores it.
        assert!(matches!(
            parse(b"append k 0 0 1 please"),
            Ok(Command::Store {
                mode: StoreMode::Append,
                noreply: false,
                ..
            })
        ));
        for wrong_count in [
            &b"set k 0 0"[..],
            b"set k 0 0 1 noreply more",
            b"cas k 0 0 1",
            b"set",
        ] {
            assert_eq!(error(wrong_count), (Malformed::Unknown, false));
        }
        let long_key = [b"add ", &[b'k'; 251][..], b" 0 0 1"].concat();
        for bad in [
            &long_key[..],
            b"set k\x01 0 0 1",
            b"set k -1 0 1",
            b"set k 4294967296 0 1",
            b"set k 0 soon 1",
            b"set k 0 0 -1",
            b"set k 0 0 1x",
            b"set k 0 0 2147483646",
            b"cas k 0 0 1 -5",
        ] {
            assert_eq!(error(bad), (Malformed::BadFormat, false), "{bad:?}");
        }
        // noreply silences even the error.
        assert_eq!(error(b"set k 0 0 x noreply"), (Malformed::BadFormat, true));
        let longest = [b"set ", &[b'k'; 250][..], b" 4294967295 0 2147483645"].concat();
        assert!(parse(&longest).is_ok());
    }

    #[test]
    fn gets_of_several_keys() {
        let Ok(Command::Get {
            keys: text,
            with_cas,
        }) = parse(b"gets a  bb c ")
        else {
            panic!("not a get");
        };
        assert!(with_cas);
        assert_eq!(keys(text).collect::<Vec<_>>(), [&b"a"[..], b"bb", b"c"]);
        assert_eq!(error(b"get"), (Malformed::Unknown, false));
        assert_eq!(error(b"get   "), (Malformed::Unknown, false));
        assert_eq!(error(b"get a b\tc"), (Malformed::BadFormat, false));
        assert_eq!(error(b"GET a"), (Malformed::Unknown, false));
    }

    #[test]
    fn the_other_commands() {
        assert_eq!(
            parse(b"delete k 0 noreply"),
            Ok(Command::Delete {
                key: b"k",
                noreply: true
            })
        );
        assert_eq!(error(b"delete k 1"), (Malformed::DeleteUsage, false));
        assert_eq!(
            error(b"delete k noreply x"),
            (Malformed::DeleteUsage, false)
        );
        assert_eq!(error(b"delete a b c d e"), (Malformed::Unknown, false));
        assert_eq!(
            parse(b"decr k 18446744073709551615"),
            Ok(Command::Delta {
                key: b"k",
                delta: Delta::Decr(u64::MAX),
                noreply: false
            })
        );
        assert_eq!(
            error(b"incr k 18446744073709551616"),
            (Malformed::BadDelta, false)
        );
        assert_eq!(error(b"incr k -1 noreply"), (Malformed::BadDelta, true));
        assert_eq!(error(b"incr k"), (Malformed::Unknown, false));
        assert_eq!(
            parse(b"touch k -1"),
            Ok(Command::Touch {
                key: b"k",
                exptime: -1,
                noreply: false
            })
        );
        assert_eq!(error(b"touch k later"), (Malformed::BadExptime, false));
        assert_eq!(
            parse(b"flush_all noreply"),
            Ok(Command::FlushAll {
                delay: 0,
                noreply: true
            })
        );
        assert_eq!(
            parse(b"flush_all 10 20"),
            Ok(Command::FlushAll {
                delay: 10,
                noreply: false
            })
        );
        assert_eq!(error(b"flush_all soon"), (Malformed::BadExptime, false));
        assert_eq!(error(b"flush_all 1 2 3"), (Malformed::Unknown, false));
        assert_eq!(
            parse(b"verbosity 1 noreply"),
            Ok(Command::Verbosity { noreply: true })
        );
        assert_eq!(error(b"verbosity"), (Malformed::Unknown, false));
        assert_eq!(error(b"verbosity noreply"), (Malformed::BadFormat, true));
        assert_eq!(parse(b"version whatever"), Ok(Command::Version));
        assert_eq!(parse(b"quit now"), Ok(Command::Quit));
        assert_eq!(parse(b"stats"), Ok(Command::Stats));
        assert_eq!(parse(b"stats reset"), Ok(Command::StatsReset));
        assert_eq!(error(b"stats slabs"), (Malformed::Unknown, false));
        assert_eq!(error(b""), (Malformed::Unknown, false));
    }
}
