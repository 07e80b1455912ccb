//! The login probes of `pb-vectors/probes-login.md`: the login sequence written by hand against
//! Twisted's pbecho server, each probe one connection. Our pbecho-like server is fed the same
//! client bytes, with the challenge fixed to the one Twisted drew for that probe (the probes
//! computed their responses from it), and must give the same replies and keep the connection
//! open. Answers are compared whole; errors by their failure's type and value (ours go out in
//! the synchronous form, Twisted's login errors in the asynchronous one).

use super::{connect, echo_server, feed, hex};
use crate::cred;
use crate::protocol::Transport;
use crate::spread::banana::{Dialect, Int, Item};
use crate::spread::jelly::{SecurityOptions, unjelly};
use crate::spread::pb::RemoteError;
use crate::spread::tests::{decode_all, sexp};

/// One probe: the client's whole stream, the challenge the server drew (when it logged in), and
/// the replies after the offer and the version.
struct Probe {
    name: &'static str,
    sent: &'static str,
    challenge: Option<&'static str>,
    replies: &'static [&'static str],
}

/// The answer to `login`: the challenge and the challenger, `("remote" 1)`.
const CHALLENGE_ANSWER: &str = "(answer 1 (tuple CHALLENGE (remote 1)))";
const UNAUTHORIZED: &str = "(error 2 twisted.cred.error.UnauthorizedLogin '')";

const PROBES: [Probe; 8] = [
    Probe {
        name: "login-ok-raw",
        sent: "0282706202801387068107801a8701810482726f6f741487018102800b87058267756573740180058707801a87028101810782726573706f6e64018103800b871082b9fb78facb8c049ea0bae88d18bbbae30180018701800587",
        challenge: Some("931bdaf2941bf525d173450875173c5b"),
        replies: &[CHALLENGE_ANSWER, "(answer 2 (remote 2))"],
    },
    Probe {
        name: "login-unicode-username",
        sent: "0282706202801387068107801a8701810482726f6f741487018102800b8702800782756e69636f6465058267756573740180058707801a87028101810782726573706f6e64018103800b871082dbcf32865282bf687cd386fd2b89467e0180018701800587",
        challenge: Some("0c8ab87ccdb74ff77a94e05aa0c9dcd1"),
        replies: &[CHALLENGE_ANSWER, UNAUTHORIZED],
    },
    Probe {
        name: "login-unknown-user",
        sent: "0282706202801387068107801a8701810482726f6f741487018102800b8706826e6f626f64790180058707801a87028101810782726573706f6e64018103800b871082100e14565cb72f98684db6ef8b5b5f720180018701800587",
        challenge: Some("1225a3c376668e0eddc6e0d89d2ac4a3"),
        replies: &[CHALLENGE_ANSWER, UNAUTHORIZED],
    },
    Probe {
        name: "login-short-response",
        sent: "0282706202801387068107801a8701810482726f6f741487018102800b87058267756573740180058707801a87028101810782726573706f6e64018103800b870182780180018701800587",
        challenge: Some("795fd94793f87241bdaec0539ec37197"),
        replies: &[CHALLENGE_ANSWER, UNAUTHORIZED],
    },
    Probe {
        name: "login-respond-twice",
        sent: "0282706202801387068107801a8701810482726f6f741487018102800b87058267756573740180058707801a87028101810782726573706f6e64018103800b871082b453f079a8eb9835498846110796b1b2018001870180058707801a87038101810782726573706f6e64018103800b871082b453f079a8eb9835498846110796b1b20180018701800587",
        challenge: Some("1f6e140829da6dc648766e779373383c"),
        replies: &[
            CHALLENGE_ANSWER,
            "(answer 2 (remote 2))",
            "(answer 3 (remote 3))",
        ],
    },
    Probe {
        name: "login-anonymous",
        sent: "0282706202801387068107801a8701810482726f6f740e826c6f67696e416e6f6e796d6f7573018102800b870180018701800587",
        challenge: None,
        replies: &[
            "(error 1 twisted.cred.error.UnhandledCredentials 'No checker for twisted.cred.credentials.IAnonymous')",
        ],
    },
    Probe {
        name: "perspective-call-without-login",
        sent: "0282706202801387068107801a870181028104826563686f018102800b8701827801800587",
        challenge: None,
        replies: &["(error 1 twisted.spread.pb.Error 'Invalid Object ID')"],
    },
    Probe {
        name: "login-then-echo-bytes",
        sent: "0282706202801387068107801a8701810482726f6f741487018102800b87058267756573740180058707801a87028101810782726573706f6e64018103800b871082778c99cc5d56304f12f63774af9017b6018001870180058707801a870381028104826563686f018102800b8703827261770180058707801a870481028104826563686f018102800b8702800782756e69636f6465038274c3a901800587",
        challenge: Some("ee988a7f012f36e76dfbdf1da9afc708"),
        replies: &[
            CHALLENGE_ANSWER,
            "(answer 2 (remote 2))",
            "(answer 3 raw)",
            "(answer 4 (unicode t\\xc3\\xa9))",
        ],
    },
];

/// A reply in the probes' terms: an error by its failure's type and value, anything else as an
/// s-expression without its quotes (the words of the vocabulary print like any byte string).
fn summary(item: &Item) -> String {
    if let Item::List(fields) = item
        && let [Item::Bytes(word), Item::Int(id), failure] = &fields[..]
        && word == b"error"
    {
        let failure = unjelly(failure.clone(), &SecurityOptions::new()).expect("a failure");
        let error = RemoteError::from_value(&failure);
        return format!("(error {id} {} '{}')", error.type_name, error.value);
    }
    sexp(item).replace('"', "")
}

#[test]
fn the_login_probes_get_twisted_replies_and_the_connection_stays_open() {
    for probe in &PROBES {
        let challenge: Option<[u8; 16]> = probe
            .challenge
            .map(|challenge| hex(&[challenge]).try_into().unwrap());
        cred::fix_challenge(challenge);
        let (factory, _logouts) = echo_server();
        let (mut protocol, transport) = connect(&factory);
        feed(&mut *protocol, &transport, &hex(&[probe.sent]), 7);
        assert!(!transport.is_disconnecting(), "{}", probe.name);

        let replies = decode_all(&transport.value(), Dialect::Pb);
        let shown = sexp(&Item::Bytes(challenge.map(Vec::from).unwrap_or_default()));
        let expected: Vec<String> = probe
            .replies
            .iter()
            .map(|reply| reply.replace("CHALLENGE", &shown.replace('"', "")))
            .collect();
        let got: Vec<String> = replies[2..].iter().map(summary).collect();
        assert_eq!(got, expected, "{}", probe.name);
        assert_eq!(
            sexp(&replies[1]),
            sexp(&Item::List(vec![
                Item::Bytes(b"version".to_vec()),
                Item::Int(Int::Small(6)),
            ])),
            "{}",
            probe.name
        );
    }
    cred::fix_challenge(None);
}
