//! Uploaded k6 archives (`"archive": "<base64 tar>"`, what `stampede
//! submit` sends): decoded, size-checked and read strictly before anything
//! is stored, so that a bad upload is a precise error and creates nothing.
//!
//! The tar is read with [`Archive::from_tar`], which refuses absolute
//! entry names, `..`, symbolic links and any hard link but k6's own (the
//! entry script's `file/…` entry linked to `data`), and needs
//! `metadata.json` and the entry script. Runs never unpack it: workers load
//! its modules and files from memory.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use base64::Engine;
use stampede_js::Archive;

use crate::error::AppError;

/// The largest archive accepted, decoded (the store's limit per version).
pub const MAX_ARCHIVE_BYTES: usize = stampede_store::MAX_ARCHIVE_BYTES;

/// A checked upload: the tar as sent and what it holds.
pub struct Upload {
    /// The tar, byte for byte.
    pub bytes: Vec<u8>,
    /// Its content.
    pub archive: Archive,
}

impl Upload {
    /// Decodes and checks `"archive"`'s value.
    pub fn decode(b64: &str) -> Result<Self, AppError> {
        // Base64 is 4 characters per 3 bytes: refuse before decoding.
        if b64.len() / 4 * 3 > MAX_ARCHIVE_BYTES + 3 {
            return Err(too_large());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                AppError::unprocessable("invalid_archive", format!("`archive` is not base64: {e}"))
            })?;
        if bytes.len() > MAX_ARCHIVE_BYTES {
            return Err(too_large());
        }
        Self::check(bytes)
    }

    /// Checks a tar already in bytes (e.g. a stored version's).
    pub fn check(bytes: Vec<u8>) -> Result<Self, AppError> {
        let archive = Archive::from_tar(&bytes).map_err(|e| {
            AppError::unprocessable("invalid_archive", format!("not a valid k6 archive: {e}"))
        })?;
        if archive.metadata.kind != "js" {
            return Err(AppError::unprocessable(
                "invalid_archive",
                format!(
                    "not a k6 JavaScript archive (metadata.json says type {:?})",
                    archive.metadata.kind
                ),
            ));
        }
        Ok(Self { bytes, archive })
    }

    /// The entry script's file name, as the editor shows it.
    pub fn entry_name(&self) -> String {
        let main = self.archive.main();
        main.rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or("script.js")
            .to_string()
    }

    /// The editor's files: the entry script by its file name.
    pub fn editor_files(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(self.entry_name(), self.archive.main_source().to_string())])
    }

    /// What the API shows of an archive: its entry script's module name,
    /// the other files' names and its size.
    pub fn describe(&self) -> serde_json::Value {
        let files: Vec<&str> = self.archive.file_names().collect();
        serde_json::json!({
            "entry": self.archive.main(),
            "files": files,
            "bytes": self.bytes.len(),
        })
    }
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "archive_too_large",
        format!("the archive is larger than {} MiB", MAX_ARCHIVE_BYTES >> 20),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar() -> Vec<u8> {
        let files = BTreeMap::from([(
            "/p/bin.dat".to_string(),
            stampede_js::FileData::from(&[0u8, 255, 7][..]),
        )]);
        Archive::from_files(
            "/p/load.js",
            "export default function () {}".into(),
            files,
            serde_json::json!({}),
            BTreeMap::new(),
        )
        .to_tar()
    }

    #[test]
    fn decodes_a_k6_archive() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(tar());
        let u = Upload::decode(&b64).unwrap();
        assert_eq!(u.entry_name(), "load.js");
        assert_eq!(u.editor_files()["load.js"], "export default function () {}");
        assert_eq!(u.describe()["files"], serde_json::json!(["/p/bin.dat"]));
        assert_eq!(u.describe()["entry"], "/p/load.js");
    }

    #[test]
    fn refuses_what_is_not_one() {
        let e = |b64: &str| Upload::decode(b64).err().unwrap();
        let not_b64 = e("%%%");
        assert_eq!(not_b64.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            not_b64.message.contains("not base64"),
            "{}",
            not_b64.message
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"just text");
        let not_tar = e(&b64);
        assert!(
            not_tar.message.contains("not a valid k6 archive"),
            "{}",
            not_tar.message
        );
        let huge = "A".repeat(MAX_ARCHIVE_BYTES / 3 * 4 + 64);
        assert_eq!(e(&huge).status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
