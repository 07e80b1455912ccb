//! The page of a folder that has no index file: Twisted's `DirectoryLister`, byte for byte.
//!
//! A table of the folder's entries, folders first and then files, each group in the byte order
//! of the names; rows alternate between the classes `odd` and `even` across both groups. A folder
//! shows its name with a `/` and the type `[Directory]`; a file its size (`11B`, `19K`, `3M`), its
//! type in brackets and its encoding, if any, in brackets too. Links are the names percent-encoded
//! as UTF-8, texts the names HTML-escaped; the title is the request's URI (query included)
//! percent-decoded and then HTML-escaped, as Twisted shows it.
//!
//! Entries that cannot be described are left out: names that are not UTF-8 (no URL could reach
//! them), links that lead nowhere or outside the served folder, entries the system will not
//! describe.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::resolve::inside;
use super::types::type_and_encoding;
use crate::web::escape_html;

/// What stays as it is in a listing's links: letters, digits, `_.-~` (Python's `quote`) and `/`.
const HREF_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// The listing's page up to its title, which the head and the first heading both show.
const HEAD: &str = "<html>\n<head>\n<title>";

/// From the title to the heading: the page's fixed style sheet.
const STYLE: &str = concat!(
    "</title>\n",
    "<style>\n",
    ".even-dir { background-color: #efe0ef }\n",
    ".even { background-color: #eee }\n",
    ".odd-dir {background-color: #f0d0ef }\n",
    ".odd { background-color: #dedede }\n",
    ".icon { text-align: center }\n",
    ".listing {\n",
    "    margin-left: auto;\n",
    "    margin-right: auto;\n",
    "    width: 50%;\n",
    "    padding: 0.1em;\n",
    "    }\n",
    "\n",
    "body { border: 0; padding: 0; margin: 0; background-color: #efefef; }\n",
    "h1 {padding: 0.1em; background-color: #777; color: white; border-bottom: thin white dashed;}\n",
    "\n",
    "</style>\n",
    "</head>\n",
    "\n",
    "<body>\n",
    "<h1>",
);

/// From the heading to the first row: the table's head.
const TABLE_HEAD: &str = concat!(
    "</h1>\n",
    "\n",
    "<table>\n",
    "    <thead>\n",
    "        <tr>\n",
    "            <th>Filename</th>\n",
    "            <th>Size</th>\n",
    "            <th>Content type</th>\n",
    "            <th>Content encoding</th>\n",
    "        </tr>\n",
    "    </thead>\n",
    "    <tbody>\n",
);

/// After the last row.
const TAIL: &str = concat!(
    "\n",
    "    </tbody>\n",
    "</table>\n",
    "\n",
    "</body>\n",
    "</html>\n",
);

/// One row of the table, as it will be written.
struct Row {
    href: String,
    text: String,
    size: String,
    kind: String,
    encoding: String,
}

/// The listing of `folder` (inside `base`, the served folder, both canonical) for a request
/// whose URI, as sent, is `uri`. Files of unknown type are shown with `default_type`.
pub(super) fn listing_page(
    base: &Path,
    folder: &Path,
    uri: &str,
    default_type: &str,
) -> io::Result<String> {
    let mut names: Vec<String> = fs::read_dir(folder)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let (mut folders, mut files) = (Vec::new(), Vec::new());
    for name in names {
        let Some((_, meta)) = inside(base, &folder.join(&name)) else {
            continue;
        };
        let href = utf8_percent_encode(&name, HREF_SAFE).to_string();
        let text = escape_html(&name);
        if meta.is_dir() {
            folders.push(Row {
                href: href + "/",
                text: text + "/",
                size: String::new(),
                kind: "[Directory]".to_owned(),
                encoding: String::new(),
            });
        } else {
            let (kind, encoding) = type_and_encoding(&name, default_type);
            files.push(Row {
                href,
                text,
                size: format_size(meta.len()),
                kind: format!("[{kind}]"),
                encoding: encoding.map_or_else(String::new, |encoding| format!("[{encoding}]")),
            });
        }
    }
    let title = format!("Directory listing for {}", escape_html(&decoded(uri)));
    let mut page = String::with_capacity(1024 + 160 * (folders.len() + files.len()));
    page.push_str(HEAD);
    page.push_str(&title);
    page.push_str(STYLE);
    page.push_str(&title);
    page.push_str(TABLE_HEAD);
    for (row, class) in folders
        .iter()
        .chain(&files)
        .zip(["odd", "even"].into_iter().cycle())
    {
        // Writing into a String cannot fail.
        let _ = write!(
            page,
            concat!(
                "<tr class=\"{}\">\n",
                "    <td><a href=\"{}\">{}</a></td>\n",
                "    <td>{}</td>\n",
                "    <td>{}</td>\n",
                "    <td>{}</td>\n",
                "</tr>\n",
            ),
            class, row.href, row.text, row.size, row.kind, row.encoding
        );
    }
    page.push_str(TAIL);
    Ok(page)
}

/// `uri` percent-decoded, bytes that are not UTF-8 shown as U+FFFD (Python's `unquote`).
fn decoded(uri: &str) -> String {
    percent_encoding::percent_decode_str(uri)
        .decode_utf8_lossy()
        .into_owned()
}

/// A size as the listing shows it: bytes below 1 KiB, then whole KiB, MiB, GiB, rounded down.
pub(super) fn format_size(size: u64) -> String {
    const K: u64 = 1024;
    match size {
        size if size < K => format!("{size}B"),
        size if size < K * K => format!("{}K", size / K),
        size if size < K * K * K => format!("{}M", size / (K * K)),
        size => format!("{}G", size / (K * K * K)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_twisteds() {
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(1023), "1023B");
        assert_eq!(format_size(1024), "1K");
        assert_eq!(format_size(20_000), "19K");
        assert_eq!(format_size(5 * 1024 * 1024 + 1), "5M");
        assert_eq!(format_size(3 * 1024 * 1024 * 1024), "3G");
        assert_eq!(format_size(5000 * 1024 * 1024 * 1024), "5000G");
    }

    #[test]
    fn links_are_percent_encoded_as_python_quotes() {
        let href = |name| utf8_percent_encode(name, HREF_SAFE).to_string();
        assert_eq!(href("naïve café.txt"), "na%C3%AFve%20caf%C3%A9.txt");
        assert_eq!(href("a&b.txt"), "a%26b.txt");
        assert_eq!(href("x_y-z~.txt"), "x_y-z~.txt");
        assert_eq!(href("50%\"<>"), "50%25%22%3C%3E");
    }

    #[test]
    fn the_listing_of_one_file_is_935_bytes() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("inner.txt"), "11 bytes!!\n").unwrap();
        let base = dir.path().canonicalize().unwrap();
        let page = listing_page(&base, &base, "/sub/", "text/html").unwrap();
        assert_eq!(page.len(), 935);
        assert!(page.contains(
            "<tr class=\"odd\">\n    <td><a href=\"inner.txt\">inner.txt</a></td>\n    \
             <td>11B</td>\n    <td>[text/plain]</td>\n    <td></td>\n</tr>\n\n    </tbody>"
        ));
    }

    #[test]
    fn the_title_is_the_decoded_uri_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let page = listing_page(&base, &base, "/?q=1&x=%3Cb%3E", "text/html").unwrap();
        assert!(page.contains("<title>Directory listing for /?q=1&amp;x=&lt;b&gt;</title>"));
        assert!(page.contains("<h1>Directory listing for /?q=1&amp;x=&lt;b&gt;</h1>"));
    }
}
