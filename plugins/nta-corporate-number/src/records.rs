//! Splits a byte stream, chunked anywhere, into lines and a line into CSV fields.
//!
//! Works on bytes, before decoding: the CSV structure bytes (`"` `,` CR LF) are ASCII
//! and never occur inside a multi-byte character in UTF-8 or in CP932 (whose trail
//! bytes are 0x40 and above), so one splitter serves both encodings.
//!
//! A record is one physical line: NTA fields never contain line breaks, so a quoted
//! field may not span lines. That keeps a stray quote from swallowing the lines
//! after it; it only rejects its own line.

/// Longest record kept in memory (an NTA row is well under 2 KiB). A longer one is
/// reported and skipped up to the next line feed, so memory stays bounded.
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 20;

/// What the splitter found next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// A complete line (terminator removed), physical `line`.
    Record { line: u64, bytes: &'a [u8] },
    /// A line longer than [`MAX_RECORD_BYTES`]; skipped.
    TooLong { line: u64 },
}

/// Keeps only the incomplete tail of the input between calls.
#[derive(Debug)]
pub(crate) struct Splitter {
    pending: Vec<u8>,
    /// Start of the current (incomplete) record in `pending`.
    start: usize,
    /// How far `pending` has been scanned for the end of the current record.
    scanned: usize,
    /// Physical line (1-based) on which the current record starts.
    line: u64,
    /// Dropping the rest of a too-long record up to the next line feed.
    skipping: bool,
}

impl Splitter {
    pub(crate) fn new() -> Self {
        Self {
            pending: Vec::new(),
            start: 0,
            scanned: 0,
            line: 1,
            skipping: false,
        }
    }

    /// Appends input; call [`Splitter::next_piece`] until it returns `None`.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.pending.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.pending.extend_from_slice(chunk);
    }

    /// The next complete line (or too-long report), if the input fed so far holds one.
    pub(crate) fn next_piece(&mut self) -> Option<Piece<'_>> {
        if self.skipping {
            let Some(at) = self.pending[self.scanned..]
                .iter()
                .position(|&b| b == b'\n')
            else {
                self.start = self.pending.len();
                self.scanned = self.start;
                return None;
            };
            self.skipping = false;
            self.line += 1;
            self.start = self.scanned + at + 1;
            self.scanned = self.start;
        }
        let found = self.pending[self.scanned..]
            .iter()
            .position(|&b| b == b'\n');
        let Some(end) = found.map(|offset| self.scanned + offset) else {
            self.scanned = self.pending.len();
            if self.pending.len() - self.start > MAX_RECORD_BYTES {
                let line = self.line;
                self.skipping = true;
                self.start = self.pending.len();
                return Some(Piece::TooLong { line });
            }
            return None;
        };
        let line = self.line;
        let begin = self.start;
        self.line += 1;
        self.start = end + 1;
        self.scanned = self.start;
        // The same limit whether or not the line feed arrived in the same chunk.
        if end - begin > MAX_RECORD_BYTES {
            return Some(Piece::TooLong { line });
        }
        Some(Piece::Record {
            line,
            bytes: strip_cr(&self.pending[begin..end]),
        })
    }

    /// The last line when the input does not end with a line feed.
    pub(crate) fn finish(&mut self) -> Option<Piece<'_>> {
        if self.skipping || self.start >= self.pending.len() {
            return None;
        }
        let begin = self.start;
        self.start = self.pending.len();
        Some(Piece::Record {
            line: self.line,
            bytes: strip_cr(&self.pending[begin..]),
        })
    }
}

fn strip_cr(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Why a record's fields cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// 1-based column where the problem is.
    pub(crate) column: usize,
    pub(crate) problem: &'static str,
}

/// The unquoted bytes of every field of one record, reused from row to row.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) bytes: Vec<u8>,
    pub(crate) bounds: Vec<(usize, usize)>,
}

impl Fields {
    /// Splits one record (RFC 4180: `""` inside quotes is a quote) into fields.
    pub(crate) fn split(&mut self, record: &[u8]) -> Result<(), FieldError> {
        self.bytes.clear();
        self.bounds.clear();
        let mut at = 0;
        loop {
            let column = self.bounds.len() + 1;
            let begin = self.bytes.len();
            if record.get(at) == Some(&b'"') {
                at += 1;
                loop {
                    let Some(quote) = record[at..].iter().position(|&b| b == b'"') else {
                        return Err(FieldError {
                            column,
                            problem: "a quoted field is not closed",
                        });
                    };
                    self.bytes.extend_from_slice(&record[at..at + quote]);
                    at += quote + 1;
                    if record.get(at) == Some(&b'"') {
                        // `""` is one quote inside the field.
                        self.bytes.push(b'"');
                        at += 1;
                    } else {
                        break;
                    }
                }
                if !matches!(record.get(at), None | Some(b',')) {
                    return Err(FieldError {
                        column,
                        problem: "text follows the closing quote",
                    });
                }
            } else {
                let len = record[at..]
                    .iter()
                    .position(|&b| b == b',')
                    .unwrap_or(record.len() - at);
                let field = &record[at..at + len];
                if field.contains(&b'"') {
                    return Err(FieldError {
                        column,
                        problem: "a quote inside an unquoted field",
                    });
                }
                self.bytes.extend_from_slice(field);
                at += len;
            }
            self.bounds.push((begin, self.bytes.len()));
            if at >= record.len() {
                return Ok(());
            }
            // `record[at]` is the comma after this field.
            at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8], chunk: usize) -> Vec<(u64, String)> {
        let mut splitter = Splitter::new();
        let mut out = Vec::new();
        let mut take = |piece: Piece<'_>| match piece {
            Piece::Record { line, bytes } if bytes.len() > 100 => {
                out.push((line, format!("<{} bytes>", bytes.len())))
            }
            Piece::Record { line, bytes } => {
                out.push((line, String::from_utf8_lossy(bytes).into_owned()))
            }
            Piece::TooLong { line } => out.push((line, "<too long>".into())),
        };
        for part in input.chunks(chunk) {
            splitter.feed(part);
            while let Some(piece) = splitter.next_piece() {
                take(piece);
            }
        }
        if let Some(piece) = splitter.finish() {
            take(piece);
        }
        out
    }

    #[test]
    fn splits_lines_in_any_chunking() {
        let input = b"a,b\r\n\"x\ny\",2\nlast";
        let expected = vec![
            (1, "a,b".to_string()),
            (2, "\"x".to_string()),
            (3, "y\",2".to_string()),
            (4, "last".to_string()),
        ];
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(records(input, chunk), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn a_final_line_feed_adds_no_record() {
        assert_eq!(
            records(b"a\n\nb\n", 1),
            vec![(1, "a".into()), (2, "".into()), (3, "b".into())]
        );
    }

    #[test]
    fn skips_a_too_long_record_and_keeps_counting_lines() {
        let mut input = b"first\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        input.extend_from_slice(b"\nthird\n");
        for chunk in [7, 64 * 1024, input.len()] {
            assert_eq!(
                records(&input, chunk),
                vec![
                    (1, "first".into()),
                    (2, "<too long>".into()),
                    (3, "third".into())
                ],
                "chunk {chunk}"
            );
        }
    }

    fn fields(record: &str) -> Result<Vec<String>, FieldError> {
        let mut fields = Fields::default();
        fields.split(record.as_bytes())?;
        Ok(fields
            .bounds
            .iter()
            .map(|&(a, b)| String::from_utf8(fields.bytes[a..b].to_vec()).unwrap())
            .collect())
    }

    #[test]
    fn splits_quoted_and_unquoted_fields() {
        assert_eq!(
            fields("1,\"a,b\",,\"say \"\"hi\"\"\",").unwrap(),
            ["1", "a,b", "", "say \"hi\"", ""]
        );
        assert_eq!(fields("").unwrap(), [""]);
        assert_eq!(fields("\"\"").unwrap(), [""]);
    }

    #[test]
    fn names_the_column_of_a_broken_field() {
        assert_eq!(
            fields("1,\"open").unwrap_err(),
            FieldError {
                column: 2,
                problem: "a quoted field is not closed"
            }
        );
        assert_eq!(
            fields("1,2,\"a\"b").unwrap_err(),
            FieldError {
                column: 3,
                problem: "text follows the closing quote"
            }
        );
        assert_eq!(
            fields("a\"b").unwrap_err(),
            FieldError {
                column: 1,
                problem: "a quote inside an unquoted field"
            }
        );
    }
}
