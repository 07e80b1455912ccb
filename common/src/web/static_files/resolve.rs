//! From a URL's path to a file on disk, without ever leaving the served folder.
//!
//! The site has already cut the path into segments and percent-decoded them, so `%2e%2e` arrives
//! here as `..` and `%2f` as a `/` inside a segment. Every segment must name one entry of the
//! folder above it: `..`, `.`, an empty segment in the middle of the path, and segments holding a
//! `/` or a NUL byte are refused outright. What is left is joined to the folder, and the result is
//! made canonical (every symbolic link followed, the way the system would open it): it must still
//! lie inside the served folder, or the path names nothing. So a link that points outside the
//! folder serves nothing, while links within it work.
//!
//! Only folders and regular files are served: a named pipe or a device would block or never end.

use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};

/// What a path names below the served folder.
#[derive(Debug)]
pub(super) enum Target {
    /// Nothing that may be served: the 404 `File not found.`.
    Missing,
    /// A folder asked without its trailing slash: the client is sent to the slash form, so that
    /// the relative links of its listing or index page work.
    AddSlash,
    /// A folder with no index file: its listing. `base` is the served folder, made canonical.
    Listing { base: PathBuf, folder: PathBuf },
    /// A regular file, by its canonical path, with what the system says of it, and the name the
    /// URL gave it (which gives its type).
    File {
        path: PathBuf,
        meta: Metadata,
        name: String,
    },
}

/// Whether `segment` may name an entry of a folder: not empty, not `.` or `..`, and no `/` or NUL.
pub(super) fn is_entry_name(segment: &str) -> bool {
    !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(['/', '\0'])
}

/// What `segments` (a request's path below the resource) name under `root`, a folder or a
/// single file. `index_names` are the files that stand for a folder asked with a trailing slash.
pub(super) fn resolve(root: &Path, segments: &[String], index_names: &[String]) -> Target {
    let Ok(base) = root.canonicalize() else {
        return Target::Missing;
    };
    let Some((last, inner)) = segments.split_last() else {
        // The resource itself, reached without a trailing slash.
        return match fs::metadata(&base) {
            Ok(meta) if meta.is_dir() => Target::AddSlash,
            Ok(meta) if meta.is_file() => Target::File {
                name: file_name(root),
                path: base,
                meta,
            },
            _ => Target::Missing,
        };
    };
    let mut path = base.clone();
    for segment in inner {
        if !is_entry_name(segment) {
            return Target::Missing;
        }
        path.push(segment);
    }
    if last.is_empty() {
        // A folder asked with its trailing slash: its index file, or its listing.
        let Some((folder, meta)) = inside(&base, &path) else {
            return Target::Missing;
        };
        if !meta.is_dir() {
            return Target::Missing;
        }
        for name in index_names.iter().filter(|name| is_entry_name(name)) {
            if let Some((index, meta)) = inside(&base, &folder.join(name))
                && meta.is_file()
            {
                return Target::File {
                    path: index,
                    meta,
                    name: name.clone(),
                };
            }
        }
        return Target::Listing { base, folder };
    }
    if !is_entry_name(last) {
        return Target::Missing;
    }
    path.push(last);
    match inside(&base, &path) {
        Some((_, meta)) if meta.is_dir() => Target::AddSlash,
        Some((path, meta)) if meta.is_file() => Target::File {
            path,
            meta,
            name: last.clone(),
        },
        _ => Target::Missing,
    }
}

/// The last part of a path, as text (for a file served on its own, whose name gives its type).
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `path` made canonical, with its metadata, if it exists and lies within `base` (itself
/// canonical). A path through a file (`hello.txt/x`) does not exist.
pub(super) fn inside(base: &Path, path: &Path) -> Option<(PathBuf, Metadata)> {
    let canonical = path.canonicalize().ok()?;
    if !canonical.starts_with(base) {
        return None;
    }
    let meta = fs::metadata(&canonical).ok()?;
    Some((canonical, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_name_entries() {
        for bad in ["", ".", "..", "a/b", "/etc", "a\0b"] {
            assert!(!is_entry_name(bad), "{bad:?}");
        }
        for good in ["a", ".hidden", "...", "a..b", "naïve café.txt", "a\\b"] {
            assert!(is_entry_name(good), "{good:?}");
        }
    }

    fn segments(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn paths_resolve_inside_the_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("in")).unwrap();
        let index = ["index.html".to_owned()];
        let target = |path: &str| resolve(&root, &segments(path), &index);

        assert!(matches!(target("a.txt"), Target::File { .. }));
        assert!(matches!(target("in"), Target::File { .. }));
        assert!(matches!(target("sub"), Target::AddSlash));
        assert!(matches!(target(""), Target::Listing { .. }));
        assert!(matches!(target("sub/"), Target::Listing { .. }));
        for escape in [
            "out",
            "../secret",
            "sub/../../secret",
            "a.txt/",
            "a.txt/x",
            "/a.txt",
        ] {
            assert!(matches!(target(escape), Target::Missing), "{escape}");
        }
        assert!(matches!(resolve(&root, &[], &index), Target::AddSlash));
    }
}
