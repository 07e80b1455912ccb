//! The `Content-Type` and `Content-Encoding` of a file, from its name.
//!
//! Twisted asks the machine's `mime.types`, so its answers change from one host to the next. Ours
//! come from a table built into the program (the `mime_guess` crate's, with the few entries below
//! put first), so that a file is served the same way everywhere. The rules are Twisted's:
//!
//! * a name ending in `.gz` or `.bz2` is compressed data: that suffix gives the encoding (`gzip`,
//!   `bzip2`) and is taken off before the type is looked up (`archive.tar.gz` is an
//!   `application/x-tar`, gzipped);
//! * the extension is compared in lower case, and dots at the start of a name do not begin one
//!   (`.hidden` has no extension, as in Python's `os.path.splitext`);
//! * no extension, or one the table does not know, gives the default type (Twisted's is
//!   `text/html`); no `charset` is ever added.

/// The type Twisted gives a file whose extension says nothing: `text/html`.
pub const DEFAULT_TYPE: &str = "text/html";

/// Entries looked up before `mime_guess`'s table: the ones Twisted adds to `mime.types`, and those
/// where Debian's `mime.types` (which the reference answers came from) differs from the crate's.
const OWN_TYPES: [(&str, &str); 11] = [
    ("conf", "text/plain"),
    ("diff", "text/plain"),
    ("java", "text/plain"),
    ("patch", "text/plain"),
    ("flac", "audio/x-flac"),
    ("oz", "text/x-oz"),
    ("swf", "application/x-shockwave-flash"),
    ("wml", "text/vnd.wap.wml"),
    ("xul", "application/vnd.mozilla.xul+xml"),
    ("py", "text/x-python"),
    ("md", "text/markdown"),
];

/// The encodings a final extension stands for.
const ENCODINGS: [(&str, &str); 2] = [("gz", "gzip"), ("bz2", "bzip2")];

/// The type and, for compressed files, the encoding of a file called `name`; `default_type` when
/// the extension is unknown. `("text/plain", None)` for `notes.txt`, `("application/x-tar",
/// Some("gzip"))` for `archive.tar.gz`.
pub fn type_and_encoding(name: &str, default_type: &str) -> (String, Option<&'static str>) {
    let (stem, extension) = split_extension(name);
    let extension = extension.to_ascii_lowercase();
    let (encoding, extension) = match ENCODINGS.iter().find(|(ext, _)| *ext == extension) {
        Some((_, encoding)) => (
            Some(*encoding),
            split_extension(stem).1.to_ascii_lowercase(),
        ),
        None => (None, extension),
    };
    (type_of_extension(&extension, default_type), encoding)
}

/// The type an extension (without its dot, in lower case) stands for.
fn type_of_extension(extension: &str, default_type: &str) -> String {
    if extension.is_empty() {
        return default_type.to_owned();
    }
    OWN_TYPES
        .iter()
        .find(|(ext, _)| *ext == extension)
        .map(|(_, mime)| *mime)
        .or_else(|| mime_guess::from_ext(extension).first_raw())
        .unwrap_or(default_type)
        .to_owned()
}

/// A name cut before its last dot, as Python's `splitext` cuts it: `("archive.tar", "gz")`. Dots
/// that begin the name do not count, so `.hidden` and `..` have no extension.
fn split_extension(name: &str) -> (&str, &str) {
    let start = name.len() - name.trim_start_matches('.').len();
    match name[start..].rfind('.') {
        Some(dot) => (&name[..start + dot], &name[start + dot + 1..]),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(name: &str) -> (String, Option<&'static str>) {
        type_and_encoding(name, DEFAULT_TYPE)
    }

    #[test]
    fn the_reference_answers_are_given() {
        assert_eq!(of("hello.txt"), ("text/plain".to_owned(), None));
        assert_eq!(of("page.html"), ("text/html".to_owned(), None));
        assert_eq!(of("data.json"), ("application/json".to_owned(), None));
        assert_eq!(of("script.py"), ("text/x-python".to_owned(), None));
        assert_eq!(of("README.md"), ("text/markdown".to_owned(), None));
        assert_eq!(of("PAGE.HTM"), ("text/html".to_owned(), None));
    }

    #[test]
    fn compressed_files_have_an_encoding_and_the_type_of_what_they_hold() {
        assert_eq!(
            of("archive.tar.gz"),
            ("application/x-tar".to_owned(), Some("gzip"))
        );
        assert_eq!(
            of("notes.txt.bz2"),
            ("text/plain".to_owned(), Some("bzip2"))
        );
        assert_eq!(of("blob.gz"), ("text/html".to_owned(), Some("gzip")));
    }

    #[test]
    fn no_extension_or_an_unknown_one_is_the_default_type() {
        for name in ["notes", ".hidden", "..", "odd.zzqx", "trailing."] {
            assert_eq!(of(name), ("text/html".to_owned(), None), "{name}");
        }
        assert_eq!(
            type_and_encoding("notes", "application/octet-stream").0,
            "application/octet-stream"
        );
    }

    #[test]
    fn scripts_are_only_files() {
        // Twisted's twistd runs these; here they are data like any other.
        for name in ["index.rpy", "page.epy", "run.cgi"] {
            assert_eq!(of(name).1, None);
        }
    }

    #[test]
    fn extensions_split_as_in_python() {
        assert_eq!(split_extension("a.b.c"), ("a.b", "c"));
        assert_eq!(split_extension(".hidden"), (".hidden", ""));
        assert_eq!(split_extension(".config.json"), (".config", "json"));
        assert_eq!(split_extension("plain"), ("plain", ""));
    }
}
