//! Request paths in one canonical form, so that what is matched, signed and served is the same string.
//!
//! Percent-encoded unreserved characters are decoded, `.` segments and empty segments (duplicate slashes)
//! are dropped, and the remaining escapes are upper-cased. An encoded `/` or `\`, an encoded NUL and any
//! `..` segment (plain or encoded) are refused: no API of a node needs them, and each is a classic way to
//! make a proxy and a backend disagree about which resource was asked for.

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path must start with a slash")]
    NotAbsolute,
    #[error("the path contains an encoded slash or backslash (%2F, %5C)")]
    EncodedSlash,
    #[error("the path contains a `..` segment")]
    Traversal,
    #[error("the path contains a malformed or forbidden percent-escape")]
    BadEscape,
}

impl PathError {
    pub fn code(&self) -> &'static str {
        match self {
            PathError::NotAbsolute | PathError::BadEscape => "path_invalid",
            PathError::EncodedSlash => "path_encoded_slash",
            PathError::Traversal => "path_traversal",
        }
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn decode_segment(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(PathError::BadEscape);
            };
            let v = h * 16 + l;
            match v {
                b'/' | b'\\' => return Err(PathError::EncodedSlash),
                0 => return Err(PathError::BadEscape),
                v if unreserved(v) => out.push(v as char),
                v => out.push_str(&format!("%{v:02X}")),
            }
            i += 3;
        } else if b == b'\\' {
            return Err(PathError::EncodedSlash);
        } else {
            out.push(b as char);
            i += 1;
        }
    }
    Ok(out)
}

/// The canonical form of a path (without query).
pub fn normalise(path: &str) -> Result<String, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let mut segments = Vec::new();
    for raw in path.split('/') {
        let segment = decode_segment(raw)?;
        match segment.as_str() {
            "" | "." => {}
            ".." => return Err(PathError::Traversal),
            _ => segments.push(segment),
        }
    }
    Ok(format!("/{}", segments.join("/")))
}

/// The canonical form of a path with an optional query; the query is kept as sent.
pub fn normalise_path_and_query(path_and_query: &str) -> Result<String, PathError> {
    match path_and_query.split_once('?') {
        Some((path, query)) => Ok(format!("{}?{query}", normalise(path)?)),
        None => normalise(path_and_query),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_become_one_path() {
        for raw in [
            "/v1/corporations/1010001072706",
            "/v1//corporations/1010001072706",
            "/v1/./corporations/1010001072706",
            "/v1/%63orporations/1010001072706",
            "/v1/corporations/%31010001072706",
            "/%2e/v1/corporations/1010001072706/",
        ] {
            assert_eq!(
                normalise(raw),
                Ok("/v1/corporations/1010001072706".to_owned()),
                "{raw}"
            );
        }
        assert_eq!(normalise("/a/%3a%3A"), Ok("/a/%3A%3A".to_owned()));
        assert_eq!(
            normalise_path_and_query("/a//b?x=%2F"),
            Ok("/a/b?x=%2F".to_owned())
        );
    }

    #[test]
    fn tricks_are_refused_with_their_code() {
        for (raw, code) in [
            ("/v1/corporations/..", "path_traversal"),
            ("/v1/%2e%2e/admin", "path_traversal"),
            ("/v1/.%2E/admin", "path_traversal"),
            ("/v1/corporations%2F1010001072706", "path_encoded_slash"),
            ("/v1/corporations%2f1010001072706", "path_encoded_slash"),
            ("/v1/corporations%5C1", "path_encoded_slash"),
            ("/v1/corporations\\1", "path_encoded_slash"),
            ("/v1/%zz", "path_invalid"),
            ("/v1/%4", "path_invalid"),
            ("/v1/a%00", "path_invalid"),
            ("v1/a", "path_invalid"),
        ] {
            assert_eq!(normalise(raw).map_err(|e| e.code()), Err(code), "{raw}");
        }
    }
}
