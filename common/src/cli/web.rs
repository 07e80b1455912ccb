//! The options of the programs that serve a folder over HTTP (`static-site`, `poetryd web`): which
//! folder, which index files, which type for files of unknown type.

use std::fs;
use std::path::{Path, PathBuf};

use crate::web::File;
use crate::web::static_files::{DEFAULT_INDEX_NAMES, DEFAULT_TYPE};

/// How a folder is served: the options both programs share.
#[derive(Debug, Clone, clap::Args)]
pub struct FileOptions {
    /// A file that stands for its folder when the folder is asked with a trailing slash; may be
    /// given several times, the first found is served. [default: index, index.html, index.htm]
    #[arg(long = "index", value_name = "NAME", value_parser = index_name)]
    pub index: Vec<String>,

    /// The Content-Type of files whose extension says nothing (no extension, or an unknown one).
    #[arg(long, value_name = "TYPE", default_value = DEFAULT_TYPE, value_parser = media_type)]
    pub default_type: String,
}

impl FileOptions {
    /// The resource that serves `path` as these options say.
    pub fn resource(&self, path: &Path) -> File {
        let index = if self.index.is_empty() {
            DEFAULT_INDEX_NAMES.map(str::to_owned).to_vec()
        } else {
            self.index.clone()
        };
        File::new(path)
            .with_index_names(index)
            .with_default_type(&self.default_type)
    }
}

/// Checks a folder argument: it must exist and be a folder that can be listed.
pub fn folder(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match fs::metadata(&path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("No such folder: {text}"))
        }
        Err(error) => Err(format!("cannot read {text}: {error}")),
        Ok(meta) if !meta.is_dir() => Err(format!("not a folder: {text}")),
        Ok(_) => match fs::read_dir(&path) {
            Ok(_) => Ok(path),
            Err(error) => Err(format!("cannot read {text}: {error}")),
        },
    }
}

/// Checks an index file's name: a plain name, not a path.
pub fn index_name(text: &str) -> Result<String, String> {
    let plain = !text.is_empty() && text != "." && text != ".." && !text.contains(['/', '\0']);
    if plain {
        Ok(text.to_owned())
    } else {
        Err(format!("'{text}' is not a file name"))
    }
}

/// Checks a media type: `type/subtype`, parameters allowed, nothing a header could not carry.
pub fn media_type(text: &str) -> Result<String, String> {
    let essence = text.split(';').next().unwrap_or_default().trim();
    let well_formed = essence
        .split_once('/')
        .is_some_and(|(kind, sub)| is_token(kind) && is_token(sub));
    let printable = text.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    if well_formed && printable {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{text}' is not a media type such as application/octet-stream"
        ))
    }
}

/// Whether `text` is an HTTP token: the characters a type or subtype may hold.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_checked() {
        for good in [
            "text/html",
            "application/octet-stream",
            "text/plain; charset=utf-8",
        ] {
            assert_eq!(media_type(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "html",
            "text/",
            "/plain",
            "text/plain\r\nX: y",
            "te xt/plain",
        ] {
            assert!(media_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn index_names_are_plain_names() {
        assert!(index_name("default.html").is_ok());
        for bad in ["", "..", "a/b", "/etc/passwd"] {
            assert!(index_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folders_must_be_folders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        assert!(folder(dir.path().to_str().unwrap()).is_ok());
        assert!(
            folder(file.to_str().unwrap())
                .unwrap_err()
                .starts_with("not a folder")
        );
        assert!(
            folder("/no/such/place")
                .unwrap_err()
                .starts_with("No such folder")
        );
    }
}
