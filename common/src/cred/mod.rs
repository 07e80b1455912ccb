//! cred: who may log in, and what they get when they do (Twisted's `twisted.cred`, as Perspective
//! Broker uses it in the seeds' pbecho).
//!
//! Three parts, kept apart so that each can change alone:
//!
//! * a **checker** knows the users: [`InMemoryUsernamePasswordDatabase`], user names and
//!   passwords in memory (both byte strings, as Twisted's are);
//! * a **realm** makes the **avatar** of a user who logged in: the object that user's calls reach
//!   ([`Realm::request_avatar`]);
//! * the [`Portal`] joins them: it asks the checker, and on success the realm.
//!
//! Over PB the password never travels: the server sends a random challenge and the client
//! answers with `MD5(MD5(password) + challenge)` ([`respond`]). That is what Twisted does and what
//! a Twisted peer expects, and it is weak by today's standards: anyone who sees one exchange can
//! test password guesses offline, and nothing is encrypted. Serve it on 127.0.0.1, or behind TLS.

#[cfg(test)]
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use md5::{Digest, Md5};

use crate::spread::pb::{Referenceable, RemoteError, RemoteReference};

/// A login was refused: unknown user, wrong password, or a malformed answer to the challenge
/// (Twisted's `twisted.cred.error.UnauthorizedLogin`). The client is not told which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnauthorizedLogin;

impl UnauthorizedLogin {
    /// The failure's qualified class name, which a Python client traps.
    pub const TYPE_NAME: &'static str = "twisted.cred.error.UnauthorizedLogin";

    /// The failure a refused login answers with: empty text, and the class's bases as Python
    /// lists them, so that a Python client's `trap(UnauthorizedLogin)` or `trap(LoginFailed)`
    /// works.
    pub fn remote_error() -> RemoteError {
        RemoteError::derived(
            Self::TYPE_NAME,
            "",
            &[
                "twisted.cred.error.LoginFailed",
                "twisted.cred.error.Unauthorized",
            ],
        )
    }
}

impl fmt::Display for UnauthorizedLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Self::TYPE_NAME)
    }
}

impl std::error::Error for UnauthorizedLogin {}

/// The failure of an anonymous login on a portal that has no checker for it (Twisted's
/// `UnhandledCredentials`).
pub fn anonymous_refused() -> RemoteError {
    RemoteError::derived(
        "twisted.cred.error.UnhandledCredentials",
        "No checker for twisted.cred.credentials.IAnonymous",
        &["twisted.cred.error.LoginFailed"],
    )
}

/// Makes the avatar of a user who logged in.
pub trait Realm {
    /// The avatar for `avatar_id` (the user name), who logged in with `mind` (the client's own
    /// object passed to `login`, if any, to call back). The avatar hears
    /// [`Referenceable::logout`] when the client lets go of it or disconnects.
    fn request_avatar(
        &self,
        avatar_id: &[u8],
        mind: Option<RemoteReference>,
    ) -> Rc<dyn Referenceable>;
}

/// The users and their passwords, in memory: the checker of the seeds' pbecho.
#[derive(Debug, Default, Clone)]
pub struct InMemoryUsernamePasswordDatabase {
    users: HashMap<Vec<u8>, Vec<u8>>,
}

impl InMemoryUsernamePasswordDatabase {
    /// A checker that knows nobody yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a user. Names are byte strings: `b"guest"` and the text `"guest"` are
    /// different names to a Python 3 peer, and only the bytes match.
    pub fn add_user(&mut self, name: &[u8], password: &[u8]) {
        self.users.insert(name.to_vec(), password.to_vec());
    }

    /// Whether `response` is the right answer to `challenge` for user `name`. An unknown user and
    /// a response of the wrong length simply do not match.
    pub fn check_response(&self, name: &[u8], challenge: &[u8], response: &[u8]) -> bool {
        match self.users.get(name) {
            Some(password) => same_bytes(&respond(challenge, password), response),
            None => false,
        }
    }
}

/// The portal: the checker says who may log in, the realm makes their avatar.
pub struct Portal {
    realm: Rc<dyn Realm>,
    checker: InMemoryUsernamePasswordDatabase,
}

impl Portal {
    /// A portal to `realm`, letting in the users `checker` knows.
    pub fn new(realm: Rc<dyn Realm>, checker: InMemoryUsernamePasswordDatabase) -> Self {
        Portal { realm, checker }
    }

    /// Logs `name` in, if `response` answers `challenge` with their password: the avatar, or
    /// the [`UnauthorizedLogin`] failure. `name` is `None` when the client sent something other
    /// than a byte string, which matches no user.
    pub fn login(
        &self,
        name: Option<&[u8]>,
        challenge: &[u8],
        response: &[u8],
        mind: Option<RemoteReference>,
    ) -> Result<Rc<dyn Referenceable>, RemoteError> {
        match name {
            Some(name) if self.checker.check_response(name, challenge, response) => {
                Ok(self.realm.request_avatar(name, mind))
            }
            _ => Err(UnauthorizedLogin::remote_error()),
        }
    }
}

/// A fresh challenge: 16 bytes from the operating system's cryptographic random source.
///
/// (Twisted hashes a few random capital letters from Python's ordinary generator; any 16
/// unpredictable bytes serve, and the client does not look inside.)
///
/// Fails, as an `OSError` for the client, when that source cannot be read: no guessable challenge
/// is ever sent in its place, and the server goes on serving (a later login may succeed).
pub fn challenge() -> Result<[u8; 16], RemoteError> {
    #[cfg(test)]
    if let Some(fixed) = FIXED_CHALLENGE.with(Cell::get) {
        return Ok(fixed);
    }
    let mut bytes = [0; 16];
    getrandom::fill(&mut bytes).map_err(|error| {
        RemoteError::exception(
            "builtins.OSError",
            format!("no random source for a login challenge: {error}"),
        )
    })?;
    Ok(bytes)
}

#[cfg(test)]
thread_local! {
    /// The challenge tests replaying a captured login give, so that the captured response fits.
    static FIXED_CHALLENGE: Cell<Option<[u8; 16]>> = const { Cell::new(None) };
}

/// Makes [`challenge`] give `fixed` on this thread (tests only).
#[cfg(test)]
pub(crate) fn fix_challenge(fixed: Option<[u8; 16]>) {
    FIXED_CHALLENGE.with(|cell| cell.set(fixed));
}

/// The client's answer to `challenge`: `MD5(MD5(password) + challenge)`, 16 bytes.
pub fn respond(challenge: &[u8], password: &[u8]) -> [u8; 16] {
    let hashed_password = Md5::digest(password);
    let mut hasher = Md5::new();
    hasher.update(hashed_password);
    hasher.update(challenge);
    hasher.finalize().into()
}

/// Compares two byte strings in a time that does not depend on where they differ, so that the
/// time a check takes tells nothing about the right response.
fn same_bytes(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len()
        && expected
            .iter()
            .zip(given)
            .fold(0, |differences, (a, b)| differences | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 5.2: the challenge and response of trace 01.
    #[test]
    fn the_response_is_md5_of_md5_password_and_challenge() {
        let challenge = hex("eeef14485c421aa6020463c45f6d1fcf");
        assert_eq!(
            Md5::digest(b"guest").as_slice(),
            hex("084e0343a0486ff05530df6c705c8bb4")
        );
        assert_eq!(
            respond(&challenge, b"guest").to_vec(),
            hex("d9a848b4b7e3999a56cc3dd224e64c5f")
        );
    }

    #[test]
    fn the_checker_knows_bytes_names_and_whole_responses() {
        let mut checker = InMemoryUsernamePasswordDatabase::new();
        checker.add_user(b"guest", b"guest");
        let challenge = challenge().unwrap();
        let right = respond(&challenge, b"guest");
        assert!(checker.check_response(b"guest", &challenge, &right));
        assert!(!checker.check_response(b"guest", &challenge, &right[..15]));
        assert!(!checker.check_response(b"guest", &challenge, &respond(&challenge, b"x")));
        assert!(!checker.check_response(b"nobody", &challenge, &right));
    }

    #[test]
    fn challenges_differ() {
        assert_ne!(challenge().unwrap(), challenge().unwrap());
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }
}
