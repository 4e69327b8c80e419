//! A minimal JSON object writer: fixed key order, compact output, no allocation per value.

/// Writes one JSON object into a borrowed buffer. Keys are written in call order,
/// which is what keeps every document byte-for-byte stable.
pub(crate) struct ObjectWriter<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    pub(crate) fn open(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    /// Keys are this crate's constants, none of which needs escaping.
    fn key(&mut self, key: &str) {
        debug_assert!(!needs_escape(key.as_bytes()), "{key}");
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    /// A string member.
    pub(crate) fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        write_string(self.out, value);
    }

    /// A string member, left out when the value is empty (the standard omits
    /// items with nothing to say rather than sending `""`).
    pub(crate) fn non_empty(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.string(key, value);
        }
    }

    pub(crate) fn boolean(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
    }

    /// A nested object member; `fill` writes its members.
    pub(crate) fn object(&mut self, key: &str, fill: impl FnOnce(&mut ObjectWriter<'_>)) {
        self.key(key);
        let mut inner = ObjectWriter::open(self.out);
        fill(&mut inner);
        inner.close();
    }

    pub(crate) fn close(self) {
        self.out.push('}');
    }
}

/// A JSON string literal: `"` and `\` escaped, control characters as escapes,
/// everything else (all of Unicode, non-BMP included) written as UTF-8.
fn write_string(out: &mut String, value: &str) {
    out.push('"');
    let bytes = value.as_bytes();
    if !needs_escape(bytes) {
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut copied = 0;
    // The bytes needing an escape are ASCII, and ASCII bytes never occur inside a
    // multi-byte UTF-8 sequence, so every index found here is a char boundary.
    for (at, &byte) in bytes.iter().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1F => "",
            _ => continue,
        };
        out.push_str(&value[copied..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        copied = at + 1;
    }
    out.push_str(&value[copied..]);
    out.push('"');
}

/// Whether any byte is `"`, `\` or a control character. Checked in fixed-size
/// blocks without early exit, which the compiler vectorises: almost no value
/// needs an escape, so this is the common path.
fn needs_escape(bytes: &[u8]) -> bool {
    let special = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let mut blocks = bytes.chunks_exact(16);
    let in_blocks = blocks
        .by_ref()
        .any(|block| block.iter().fold(false, |found, &b| found | special(b)));
    in_blocks || blocks.remainder().iter().any(|&b| special(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_compact_json_in_call_order() {
        let mut out = String::new();
        let mut doc = ObjectWriter::open(&mut out);
        doc.string("b", "1");
        doc.non_empty("skipped", "");
        doc.object("a", |inner| {
            inner.string("escaped", "q\"uote back\\slash\ttab\u{1}");
            inner.boolean("yes", true);
        });
        doc.string("non-BMP", "\u{235C4}");
        doc.close();
        assert_eq!(
            out,
            "{\"b\":\"1\",\"a\":{\"escaped\":\"q\\\"uote back\\\\slash\\ttab\\u0001\",\"yes\":true},\"non-BMP\":\"\u{235C4}\"}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["a"]["escaped"], "q\"uote back\\slash\ttab\u{1}");
    }

    #[test]
    fn finds_escapes_in_and_after_the_vectorised_blocks() {
        assert!(!needs_escape(
            "株式会社アオバ・インターナショナル".as_bytes()
        ));
        for at in [0, 15, 16, 31, 40] {
            let mut value = vec![b'a'; 41];
            value[at] = b'"';
            assert!(needs_escape(&value), "quote at {at}");
            value[at] = b'\n';
            assert!(needs_escape(&value), "line feed at {at}");
        }
    }
}
