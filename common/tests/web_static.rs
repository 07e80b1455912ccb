//! Twisted's `static.File` over real sockets: a folder like the one the reference runs served,
//! every answer checked byte for byte (headers in order, listings, redirects, ranges, 304s, error
//! pages), every way out of the folder tried, and a big file streamed to a slow reader.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, UNIX_EPOCH};

use common::reactor::Reactor;
use common::web::{Branch, File, Resource, Site};

/// 24 bytes: bytes 0-4 are `Hello`, 6-9 `from`, 19-23 `ile.\n`.
const HELLO: &str = "Hello from a test file.\n";

/// The `Last-Modified` of every file of the fixture: 2014-02-06 12:00:00 UTC.
const MODIFIED: &str = "Last-Modified: Thu, 06 Feb 2014 12:00:00 GMT";

const SERVER: &str = concat!("Server: TwistedIntroWeb/", env!("CARGO_PKG_VERSION"));

/// The 145-byte page of a path that names nothing.
const NOT_FOUND_PAGE: &str = "\n<html>\n  <head><title>404 - No Such Resource</title></head>\n  \
                              <body>\n    <h1>No Such Resource</h1>\n    <p>File not found.</p>\n  \
                              </body>\n</html>\n";

/// The fixture folder: the files of the reference runs (same names, sizes and dates), plus a
/// link to a file outside it and a link to nothing, which must both stay invisible.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(root.join("site")).unwrap();
    let mut gzip = vec![0x1f, 0x8b, 0x08, 0x00];
    gzip.extend((0..33).map(|i| i as u8));
    let big: Vec<u8> = (0..20_000).map(|i| b'a' + (i % 26) as u8).collect();
    let files: [(&str, &[u8]); 11] = [
        ("hello.txt", HELLO.as_bytes()),
        ("page.html", b"<html><body>A static page!!</body></html>\n"),
        (
            "naïve café.txt",
            "A file with a name: naïve café, accents, spaces!!!\n".as_bytes(),
        ),
        ("a&b.txt", b"Fish&chip\n"),
        ("data.json", b"{\"a\": 1}\n"),
        ("notes", b"Some notes, no extension.\n"),
        (".hidden", b"secret\n"),
        ("archive.tar.gz", &gzip),
        ("big.txt", &big),
        ("sub/inner.txt", b"Inner file\n"),
        (
            "site/index.html",
            b"<html><body>Site index!!!</body></html>\n",
        ),
    ];
    let when = UNIX_EPOCH + Duration::from_secs(1_391_688_000);
    for (name, bytes) in files {
        let path = root.join(name);
        fs::write(&path, bytes).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(when).unwrap();
    }
    fs::write(dir.path().join("secret.txt"), "top secret\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("outside")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
    std::os::unix::fs::symlink(root.join("nothing-here"), root.join("broken")).unwrap();
    dir
}

/// What a site's reactor thread has logged.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Starts a site whose root `make` builds from `path`, on a reactor in a thread of its own that
/// logs into the returned [`Log`]; returns the port. The thread lives as long as the test process.
fn start(path: PathBuf, make: fn(PathBuf) -> Rc<dyn Resource>) -> (u16, Log) {
    let (sender, receiver) = mpsc::channel();
    let log = Log::default();
    let thread_log = log.clone();
    thread::spawn(move || {
        common::log::start_logging(thread_log);
        let reactor = Reactor::new().unwrap();
        let site = Site::new(make(path));
        let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
        sender.send(port.get_host().port().unwrap()).unwrap();
        reactor.run().unwrap();
    });
    (receiver.recv().unwrap(), log)
}

/// A site serving the fixture folder at its root, as `Site(File('.'))` does.
fn site(dir: &tempfile::TempDir) -> (u16, Log) {
    start(dir.path().join("www"), |path| Rc::new(File::new(path)))
}

/// Sends `request` raw and reads the whole answer, until the server closes (the requests ask it
/// to, or are HTTP/1.0).
fn exchange(port: u16, request: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// `GET path` over HTTP/1.1, closing after the answer, with extra header lines.
fn get(port: u16, path: &str, headers: &str) -> Vec<u8> {
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"),
    )
}

/// An answer's head (without its `Date` line, which changes every second) and its body.
fn split(answer: &[u8]) -> (String, Vec<u8>) {
    let end = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(answer)));
    let head = String::from_utf8(answer[..end].to_vec()).unwrap();
    let head = head
        .split("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\r\n");
    (head, answer[end + 4..].to_vec())
}

/// The expected head: status line, `Server`, the given lines, and `Connection: close`.
fn head(status: &str, lines: &[&str]) -> String {
    let mut head = vec![status, SERVER];
    head.extend_from_slice(lines);
    head.push("Connection: close");
    head.join("\r\n")
}

/// The header lines of a whole file as static.File sends them.
fn file_headers(length: usize, kind: &str) -> Vec<String> {
    vec![
        "Accept-Ranges: bytes".to_owned(),
        format!("Content-Length: {length}"),
        format!("Content-Type: {kind}"),
        MODIFIED.to_owned(),
    ]
}

fn strs(lines: &[String]) -> Vec<&str> {
    lines.iter().map(String::as_str).collect()
}

fn assert_not_found(port: u16, path: &str) {
    let (got_head, body) = split(&exchange(port, &format!("GET {path} HTTP/1.0\r\n\r\n")));
    assert!(
        got_head.starts_with("HTTP/1.0 404 Not Found\r\n"),
        "{path}: {got_head}"
    );
    assert!(
        got_head.ends_with("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 145"),
        "{path}: {got_head}"
    );
    assert_eq!(String::from_utf8(body).unwrap(), NOT_FOUND_PAGE, "{path}");
}

#[test]
fn a_file_is_sent_with_twisteds_headers_in_twisteds_order() {
    let dir = fixture();
    let (port, _) = site(&dir);
    let (got_head, body) = split(&get(port, "/hello.txt", ""));
    assert_eq!(
        got_head,
        head("HTTP/1.1 200 OK", &strs(&file_headers(24, "text/plain")))
    );
    assert_eq!(body, HELLO.as_bytes());

    let (got_head, body) = split(&exchange(port, "GET /hello.txt HTTP/1.0\r\n\r\n"));
    assert!(got_head.starts_with("HTTP/1.0 200 OK\r\n"), "{got_head}");
    assert!(
        got_head.contains("\r\nContent-Length: 24\r\n"),
        "{got_head}"
    );
    assert_eq!(body, HELLO.as_bytes());

    // HEAD: the same head, no body.
    let answer = exchange(
        port,
        "HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let (got_head, body) = split(&answer);
    assert_eq!(
        got_head,
        head("HTTP/1.1 200 OK", &strs(&file_headers(24, "text/plain")))
    );
    assert!(body.is_empty());
}

#[test]
fn types_come_from_the_built_in_table_and_unknown_ones_are_text_html() {
    let dir = fixture();
    let (port, _) = site(&dir);
    for (path, length, kind) in [
        ("/page.html", 42, "text/html"),
        ("/data.json", 9, "application/json"),
        ("/notes", 26, "text/html"),
        ("/.hidden", 7, "text/html"),
        ("/a%26b.txt", 10, "text/plain"),
        ("/na%C3%AFve%20caf%C3%A9.txt", 53, "text/plain"),
        ("/big.txt", 20_000, "text/plain"),
        ("/sub/inner.txt", 11, "text/plain"),
    ] {
        let (got_head, body) = split(&get(port, path, ""));
        assert_eq!(
            got_head,
            head("HTTP/1.1 200 OK", &strs(&file_headers(length, kind))),
            "{path}"
        );
        assert_eq!(body.len(), length, "{path}");
    }
    let (got_head, body) = split(&get(port, "/archive.tar.gz", ""));
    assert_eq!(
        got_head,
        head(
            "HTTP/1.1 200 OK",
            &[
                "Accept-Ranges: bytes",
                "Content-Length: 37",
                "Content-Type: application/x-tar",
                "Content-Encoding: gzip",
                MODIFIED,
            ]
        )
    );
    assert_eq!(&body[..2], b"\x1f\x8b");
}

#[test]
fn another_default_type_can_be_chosen() {
    let dir = fixture();
    let (port, _) = start(dir.path().join("www"), |path| {
        Rc::new(File::new(path).with_default_type("application/octet-stream"))
    });
    let (got_head, _) = split(&get(port, "/notes", ""));
    assert!(
        got_head.contains("\r\nContent-Type: application/octet-stream\r\n"),
        "{got_head}"
    );
    let (got_head, _) = split(&get(port, "/hello.txt", ""));
    assert!(
        got_head.contains("\r\nContent-Type: text/plain\r\n"),
        "{got_head}"
    );
}

#[test]
fn if_modified_since_at_or_after_the_mtime_is_a_304() {
    let dir = fixture();
    let (port, log) = site(&dir);
    for since in [
        "Thu, 06 Feb 2014 12:00:00 GMT",
        "Fri, 07 Feb 2014 12:00:00 GMT",
        "Thu, 06 Feb 2014 12:00:00 GMT; length=24",
    ] {
        let answer = get(
            port,
            "/hello.txt",
            &format!("If-Modified-Since: {since}\r\n"),
        );
        assert_eq!(
            String::from_utf8(answer.clone())
                .unwrap()
                .split("\r\n")
                .filter(|line| !line.starts_with("Date: "))
                .collect::<Vec<_>>()
                .join("\r\n"),
            head(
                "HTTP/1.1 304 Not Modified",
                &["Accept-Ranges: bytes", "Content-Length: 0", MODIFIED]
            ) + "\r\n\r\n",
            "{since}"
        );
    }
    for since in ["Thu, 06 Feb 2014 11:59:59 GMT", "yesterday"] {
        let (got_head, body) = split(&get(
            port,
            "/hello.txt",
            &format!("If-Modified-Since: {since}\r\n"),
        ));
        assert!(got_head.starts_with("HTTP/1.1 200 OK\r\n"), "{since}");
        assert_eq!(body, HELLO.as_bytes());
    }
    // Nothing was sent for the 304s: their access lines count `-`.
    let lines = log.lines();
    let not_modified: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("\"GET /hello.txt HTTP/1.1\" 304 - "))
        .collect();
    assert_eq!(not_modified.len(), 3, "{lines:?}");
}

#[test]
fn single_ranges_are_206_with_their_content_range() {
    let dir = fixture();
    let (port, _) = site(&dir);
    for (range, content_range, body) in [
        ("bytes=0-4", "bytes 0-4/24", "Hello"),
        ("bytes=-5", "bytes 19-23/24", "ile.\n"),
        ("bytes=6-", "bytes 6-23/24", "from a test file.\n"),
        ("bytes=20-1000", "bytes 20-23/24", "le.\n"),
    ] {
        let (got_head, got_body) = split(&get(port, "/hello.txt", &format!("Range: {range}\r\n")));
        assert_eq!(
            got_head,
            head(
                "HTTP/1.1 206 Partial Content",
                &[
                    "Accept-Ranges: bytes",
                    &format!("Content-Range: {content_range}"),
                    &format!("Content-Length: {}", body.len()),
                    "Content-Type: text/plain",
                    MODIFIED,
                ]
            ),
            "{range}"
        );
        assert_eq!(String::from_utf8(got_body).unwrap(), body, "{range}");
    }
    // A range of a big file, across the pieces it is read in.
    let big = fs::read(dir.path().join("www/big.txt")).unwrap();
    let (got_head, got_body) = split(&get(port, "/big.txt", "Range: bytes=100-19899\r\n"));
    assert!(got_head.contains("\r\nContent-Range: bytes 100-19899/20000\r\n"));
    assert_eq!(got_body, &big[100..19_900]);
}

#[test]
fn several_ranges_are_a_multipart_answer() {
    let dir = fixture();
    let (port, _) = site(&dir);
    let (got_head, body) = split(&get(port, "/hello.txt", "Range: bytes=0-1,6-9\r\n"));
    let boundary = got_head
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no boundary in {got_head}"))
        .to_owned();
    assert!(!boundary.is_empty() && boundary.bytes().all(|b| b.is_ascii_hexdigit()));
    let expected = format!(
        "\r\n--{boundary}\r\nContent-type: text/plain\r\nContent-range: bytes 0-1/24\r\n\r\nHe\
         \r\n--{boundary}\r\nContent-type: text/plain\r\nContent-range: bytes 6-9/24\r\n\r\nfrom\
         \r\n--{boundary}--\r\n"
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
    assert_eq!(
        got_head,
        head(
            "HTTP/1.1 206 Partial Content",
            &[
                "Accept-Ranges: bytes",
                &format!("Content-Type: multipart/byteranges; boundary=\"{boundary}\""),
                &format!("Content-Length: {}", expected.len()),
                MODIFIED,
            ]
        )
    );
    // A new boundary for every answer.
    let (other_head, _) = split(&get(port, "/hello.txt", "Range: bytes=0-1,6-9\r\n"));
    assert!(!other_head.contains(&boundary));
    // Ranges past the end are left out of a multipart answer.
    let (_, body) = split(&get(port, "/hello.txt", "Range: bytes=0-1,500-600,-1\r\n"));
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("bytes 0-1/24\r\n\r\nHe\r\n"), "{body}");
    assert!(body.contains("bytes 23-23/24\r\n\r\n\n\r\n"), "{body}");
    assert!(!body.contains("500"), "{body}");
}

#[test]
fn a_range_past_the_end_is_a_416() {
    let dir = fixture();
    let (port, log) = site(&dir);
    let (got_head, body) = split(&get(port, "/hello.txt", "Range: bytes=1000-2000\r\n"));
    assert_eq!(
        got_head,
        head(
            "HTTP/1.1 416 Range Not Satisfiable",
            &[
                "Accept-Ranges: bytes",
                "Content-Range: bytes */24",
                "Content-Length: 0",
                "Content-Type: text/plain",
                MODIFIED,
            ]
        )
    );
    assert!(body.is_empty());
    let (got_head, body) = split(&get(port, "/hello.txt", "Range: bytes=100-,200-300\r\n"));
    assert!(got_head.starts_with("HTTP/1.1 416 "), "{got_head}");
    assert!(
        got_head.contains("\r\nContent-Range: bytes */24\r\n"),
        "{got_head}"
    );
    assert!(body.is_empty());
    let lines = log.lines();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("\"GET /hello.txt HTTP/1.1\" 416 - ")),
        "{lines:?}"
    );
}

#[test]
fn a_malformed_range_is_ignored_and_logged() {
    let dir = fixture();
    let (port, log) = site(&dir);
    for range in ["bytes=abc", "lines=0-1", "bytes=5-1", "bytes"] {
        let (got_head, body) = split(&get(port, "/hello.txt", &format!("Range: {range}\r\n")));
        assert_eq!(
            got_head,
            head("HTTP/1.1 200 OK", &strs(&file_headers(24, "text/plain"))),
            "{range}"
        );
        assert_eq!(body, HELLO.as_bytes());
    }
    let lines = log.lines();
    for range in ["bytes=abc", "lines=0-1"] {
        let line = format!("[-] Ignoring malformed Range header '{range}'");
        assert!(
            lines.iter().any(|l| l.ends_with(&line)),
            "{line}: {lines:?}"
        );
    }
}

#[test]
fn a_folder_without_its_slash_is_redirected_to_it() {
    let dir = fixture();
    let (port, _) = site(&dir);
    for (path, location) in [
        ("/sub", "/sub/"),
        ("/sub?x=1", "/sub/?x=1"),
        ("/site", "/site/"),
    ] {
        let (got_head, body) = split(&get(port, path, ""));
        let page = format!(
            "\n<html>\n    <head>\n        <meta http-equiv=\"refresh\" content=\"0;URL={location}\">\n    \
             </head>\n    <body bgcolor=\"#FFFFFF\" text=\"#000000\">\n    <a href=\"{location}\">\
             click here</a>\n    </body>\n</html>\n"
        );
        assert_eq!(
            got_head,
            head(
                "HTTP/1.1 302 Found",
                &[
                    "Content-Type: text/html; charset=utf-8",
                    &format!("Location: {location}"),
                    &format!("Content-Length: {}", page.len()),
                ]
            ),
            "{path}"
        );
        assert_eq!(String::from_utf8(body).unwrap(), page);
    }
    // A query with markup in it is escaped in the page (the header keeps it as sent).
    let (got_head, body) = split(&get(port, "/sub?a=%22%3E&b", ""));
    assert!(
        got_head.contains("\r\nLocation: /sub/?a=%22%3E&b\r\n"),
        "{got_head}"
    );
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("URL=/sub/?a=%22%3E&amp;b\"")
    );
}

#[test]
fn a_folder_with_an_index_file_serves_it() {
    let dir = fixture();
    let (port, _) = site(&dir);
    let (got_head, body) = split(&get(port, "/site/", ""));
    assert_eq!(
        got_head,
        head("HTTP/1.1 200 OK", &strs(&file_headers(40, "text/html")))
    );
    assert_eq!(body, b"<html><body>Site index!!!</body></html>\n");
}

#[test]
fn index_rpy_is_neither_an_index_nor_run() {
    let dir = fixture();
    let www = dir.path().join("www");
    fs::write(www.join("sub/index.rpy"), "print('never run')\n").unwrap();
    let (port, _) = site(&dir);
    let (got_head, body) = split(&get(port, "/sub/", ""));
    assert!(got_head.contains("Content-Type: text/html; charset=utf-8"));
    assert!(String::from_utf8(body).unwrap().contains(">index.rpy</a>"));
    let (_, body) = split(&get(port, "/sub/index.rpy", ""));
    assert_eq!(body, b"print('never run')\n");
}

/// One row of a listing, as Twisted writes it.
fn row(class: &str, href: &str, text: &str, size: &str, kind: &str, encoding: &str) -> String {
    format!(
        "<tr class=\"{class}\">\n    <td><a href=\"{href}\">{text}</a></td>\n    <td>{size}</td>\n    \
         <td>{kind}</td>\n    <td>{encoding}</td>\n</tr>\n"
    )
}

/// A whole listing page: Twisted's `DirectoryLister` template around `rows`.
fn listing(title: &str, rows: &str) -> String {
    format!(
        "<html>\n<head>\n<title>Directory listing for {title}</title>\n<style>\n\
.even-dir {{ background-color: #efe0ef }}\n\
.even {{ background-color: #eee }}\n\
.odd-dir {{background-color: #f0d0ef }}\n\
.odd {{ background-color: #dedede }}\n\
.icon {{ text-align: center }}\n\
.listing {{\n    margin-left: auto;\n    margin-right: auto;\n    width: 50%;\n    padding: 0.1em;\n    }}\n\
\n\
body {{ border: 0; padding: 0; margin: 0; background-color: #efefef; }}\n\
h1 {{padding: 0.1em; background-color: #777; color: white; border-bottom: thin white dashed;}}\n\
\n\
</style>\n</head>\n\n<body>\n<h1>Directory listing for {title}</h1>\n\n<table>\n    <thead>\n        \
<tr>\n            <th>Filename</th>\n            <th>Size</th>\n            <th>Content type</th>\n            \
<th>Content encoding</th>\n        </tr>\n    </thead>\n    <tbody>\n{rows}\n    </tbody>\n</table>\n\n\
</body>\n</html>\n"
    )
}

#[test]
fn the_listing_of_a_folder_is_twisteds_byte_for_byte() {
    let dir = fixture();
    let (port, _) = site(&dir);
    let (got_head, body) = split(&get(port, "/sub/", ""));
    let expected = listing(
        "/sub/",
        &row("odd", "inner.txt", "inner.txt", "11B", "[text/plain]", ""),
    );
    assert_eq!(expected.len(), 935);
    assert_eq!(
        got_head,
        head(
            "HTTP/1.1 200 OK",
            &[
                "Content-Type: text/html; charset=utf-8",
                "Content-Length: 935"
            ]
        )
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
}

#[test]
fn the_root_listing_puts_folders_first_in_byte_order_and_hides_links_out() {
    let dir = fixture();
    let (port, _) = site(&dir);
    let (_, body) = split(&get(port, "/", ""));
    let rows = [
        row("odd", "site/", "site/", "", "[Directory]", ""),
        row("even", "sub/", "sub/", "", "[Directory]", ""),
        row("odd", ".hidden", ".hidden", "7B", "[text/html]", ""),
        row(
            "even",
            "a%26b.txt",
            "a&amp;b.txt",
            "10B",
            "[text/plain]",
            "",
        ),
        row(
            "odd",
            "archive.tar.gz",
            "archive.tar.gz",
            "37B",
            "[application/x-tar]",
            "[gzip]",
        ),
        row("even", "big.txt", "big.txt", "19K", "[text/plain]", ""),
        row(
            "odd",
            "data.json",
            "data.json",
            "9B",
            "[application/json]",
            "",
        ),
        row("even", "hello.txt", "hello.txt", "24B", "[text/plain]", ""),
        row(
            "odd",
            "na%C3%AFve%20caf%C3%A9.txt",
            "naïve café.txt",
            "53B",
            "[text/plain]",
            "",
        ),
        row("even", "notes", "notes", "26B", "[text/html]", ""),
        row("odd", "page.html", "page.html", "42B", "[text/html]", ""),
    ]
    .concat();
    assert_eq!(String::from_utf8(body).unwrap(), listing("/", &rows));

    // The title shows the query, decoded and escaped.
    let (_, body) = split(&get(port, "/?q=1&x=%3Cb%3E", ""));
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("<title>Directory listing for /?q=1&amp;x=&lt;b&gt;</title>"));
    assert!(body.contains("<h1>Directory listing for /?q=1&amp;x=&lt;b&gt;</h1>"));

    // HEAD: the listing's head and length, no body.
    let (head_only, body) = split(&exchange(port, "HEAD / HTTP/1.0\r\n\r\n"));
    assert!(
        head_only.ends_with(&format!(
            "Content-Type: text/html; charset=utf-8\r\nContent-Length: {}",
            listing("/", &rows).len()
        )),
        "{head_only}"
    );
    assert!(body.is_empty());
}

#[test]
fn only_get_and_head_are_answered() {
    let dir = fixture();
    let (port, _) = site(&dir);
    let request = |method: &str, path: &str| {
        split(&exchange(
            port,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        ))
    };
    let (got_head, body) = request("POST", "/hello.txt");
    let detail = "Your browser approached me (at /hello.txt) with the method \"POST\".  I only \
                  allow the methods HEAD, GET here.";
    assert!(got_head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(got_head.contains("\r\nAllow: HEAD, GET\r\n"), "{got_head}");
    assert!(String::from_utf8(body).unwrap().contains(detail));
    let (got_head, _) = request("PUT", "/hello.txt");
    assert!(
        got_head.starts_with("HTTP/1.1 501 Not Implemented\r\n"),
        "{got_head}"
    );
    // A listing refuses every other method with a 405 (Twisted would send the listing).
    for method in ["POST", "PUT", "DELETE"] {
        let (got_head, body) = request(method, "/sub/");
        assert!(
            got_head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{method}: {got_head}"
        );
        assert!(got_head.contains("\r\nAllow: HEAD, GET\r\n"), "{got_head}");
        assert!(
            !String::from_utf8(body)
                .unwrap()
                .contains("Directory listing")
        );
    }
}

#[test]
fn missing_files_and_files_asked_as_folders_are_404s() {
    let dir = fixture();
    let (port, _) = site(&dir);
    for path in [
        "/missing.txt",
        "/hello.txt/",
        "/hello.txt/x",
        "/sub/nothing",
        "/broken",
    ] {
        assert_not_found(port, path);
    }
}

#[test]
fn no_path_leads_out_of_the_folder() {
    let dir = fixture();
    let (port, _) = site(&dir);
    for path in [
        "/../secret.txt",
        "/../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/sub/../../secret.txt",
        "/sub/%2e%2e/hello.txt",
        "/..%2fsecret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/%2fetc%2fpasswd",
        "//etc/passwd",
        "/.",
        "/./hello.txt",
        "/hello.txt%00",
        "/%00",
        "/outside",
        "/up/secret.txt",
        "/up/",
        "/up",
    ] {
        assert_not_found(port, path);
    }
}

#[test]
fn a_single_file_can_be_put_in_a_tree() {
    let dir = fixture();
    let (port, _) = start(dir.path().join("www/hello.txt"), |path| {
        let root = Branch::new();
        root.put_child("one", Rc::new(File::new(path)));
        Rc::new(root)
    });
    let (got_head, body) = split(&get(port, "/one", ""));
    assert_eq!(
        got_head,
        head("HTTP/1.1 200 OK", &strs(&file_headers(24, "text/plain")))
    );
    assert_eq!(body, HELLO.as_bytes());
    assert_not_found(port, "/one/");
}

fn write_big_file(path: &Path, size: usize) -> Vec<u8> {
    let bytes: Vec<u8> = (0..size).map(|i| (i * 31 + i / 4093) as u8).collect();
    fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn a_client_that_leaves_mid_file_stops_the_sending() {
    let dir = tempfile::tempdir().unwrap();
    write_big_file(&dir.path().join("big.bin"), 5 * 1024 * 1024);
    fs::write(dir.path().join("small.txt"), "small\n").unwrap();
    let (port, log) = start(dir.path().to_path_buf(), |path| Rc::new(File::new(path)));
    {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut piece = [0; 1024];
        stream.read_exact(&mut piece).unwrap();
    }
    // The server goes on serving others, and logged no error for the one that left.
    let (_, body) = split(&get(port, "/small.txt", ""));
    assert_eq!(body, b"small\n");
    thread::sleep(Duration::from_millis(200));
    let lines = log.lines();
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("Unhandled") || line.contains("Error")),
        "{lines:?}"
    );
}
