//! NTA corporate-number converter: streams NTA CSV files (CP932 or UTF-8) into standard-data records.
//!
//! The same code runs natively (benchmarks, tests) and as a WebAssembly component
//! (`guest`, built for `wasm32-wasip2`) behind the `renkei:converter` WIT world.
//! Mapping, history semantics and rejects are described in `docs/nta-plugin.md`.

mod address;
#[cfg(target_arch = "wasm32")]
mod guest;
mod json;
mod nta;
mod records;

use encoding_rs::{DecoderResult, SHIFT_JIS};

use crate::nta::{COLUMN_COUNTS, Row};
use crate::records::{Fields, MAX_RECORD_BYTES, Piece, Splitter};

/// Plugin name, as reported to the host.
pub const NAME: &str = "nta-corporate-number";
/// Plugin version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Input formats understood.
pub const ACCEPTS: &[&str] = &["text/csv; nta"];
/// Top-level standard-data blocks produced (besides the `x-nta` extension block).
pub const PRODUCES: &[&str] = &["Basic"];

/// One standard-data record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The corporate number (13 digits) the record describes.
    pub key: String,
    /// Physical 1-based line of the input the row starts on.
    pub line: u64,
    /// The record as a JSON object text: `{"Basic":{"Destination":{…}},"x-nta":{…}}`.
    pub document: String,
}

/// A row that was not converted, and why (names the column and the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub line: u64,
    pub reason: String,
}

/// What one call produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
}

/// The end of a conversion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records and rejects of a last line without a final line feed.
    pub tail: Batch,
    /// The Web-API header's `lastUpdateDate`, else the newest `updateDate` of the
    /// converted rows (`YYYY-MM-DD`); `None` when nothing was converted.
    pub as_of: Option<String>,
}

/// Why a conversion cannot proceed at all (single bad rows are [`Reject`]s).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Text encoding of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    /// Windows code page 932, which is what NTA's "Shift-JIS" files are
    /// (encoding_rs's WHATWG Shift_JIS decoder is CP932).
    Cp932,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Cp932 => "CP932",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Room for a typical document (about 700 bytes), so most need no reallocation.
const DOCUMENT_CAPACITY: usize = 1024;

/// Signatures of files that are not CSV at all, checked on the first bytes.
const NOT_CSV: &[(&[u8], &str)] = &[
    (
        b"PK\x03\x04",
        "a ZIP archive (NTA downloads are zipped): unzip it and upload the CSV file",
    ),
    (
        b"\x1F\x8B",
        "gzip-compressed: decompress it and upload the CSV file",
    ),
    (
        b"\xFF\xFE",
        "UTF-16 text: NTA files are CP932 (Shift-JIS) or UTF-8",
    ),
    (
        b"\xFE\xFF",
        "UTF-16 text: NTA files are CP932 (Shift-JIS) or UTF-8",
    ),
    (b"<?xml", "XML: this converter reads the CSV variants"),
];

/// A streaming converter of one NTA file. Memory use is bounded by the longest
/// line, whatever the chunk sizes.
#[derive(Debug)]
pub struct Converter {
    /// `None` while undecided (`auto` and only ASCII lines so far).
    encoding: Option<Encoding>,
    /// Whether the caller fixed the encoding (then a BOM must agree with it).
    fixed_encoding: bool,
    /// First bytes held back until the BOM / file-signature check can be made.
    head: Option<Vec<u8>>,
    splitter: Splitter,
    fields: Fields,
    text: String,
    bounds: Vec<(usize, usize)>,
    /// Whether a non-blank line has been seen (a header is only allowed first).
    seen_line: bool,
    header_as_of: Option<String>,
    newest_update: Option<String>,
}

impl Converter {
    /// Options: `("encoding", "auto" | "utf-8" | "cp932")`, default `auto`. `auto`
    /// decides on the first line with a non-ASCII byte: valid UTF-8 means UTF-8,
    /// anything else CP932. Unknown names or values are an error naming them.
    pub fn new(options: &[(String, String)]) -> Result<Converter, ConvertError> {
        let mut encoding = None;
        let mut fixed_encoding = false;
        for (name, value) in options {
            match name.as_str() {
                "encoding" => {
                    (encoding, fixed_encoding) = match value.as_str() {
                        "auto" => (None, false),
                        "utf-8" => (Some(Encoding::Utf8), true),
                        "cp932" => (Some(Encoding::Cp932), true),
                        other => {
                            return Err(ConvertError::InvalidOptions(format!(
                                "option encoding has unknown value {other:?} (expected auto, utf-8 or cp932)"
                            )));
                        }
                    }
                }
                other => {
                    return Err(ConvertError::InvalidOptions(format!(
                        "unknown option {other:?} (known: encoding)"
                    )));
                }
            }
        }
        Ok(Converter {
            encoding,
            fixed_encoding,
            head: Some(Vec::new()),
            splitter: Splitter::new(),
            fields: Fields::default(),
            text: String::new(),
            bounds: Vec::new(),
            seen_line: false,
            header_as_of: None,
            newest_update: None,
        })
    }

    /// Converts the complete lines in `chunk` (plus what earlier chunks left over).
    /// A chunk may end anywhere, inside a character or a line.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Batch, ConvertError> {
        let mut batch = Batch::default();
        let Some(head) = self.head.as_mut() else {
            self.splitter.feed(chunk);
            self.drain(&mut batch);
            return Ok(batch);
        };
        head.extend_from_slice(chunk);
        const SIGNATURE_BYTES: usize = 5;
        let could_be_signature = head.len() < SIGNATURE_BYTES
            && (UTF8_BOM.starts_with(head) || NOT_CSV.iter().any(|(sig, _)| sig.starts_with(head)));
        if could_be_signature {
            return Ok(batch);
        }
        self.start_body()?;
        self.drain(&mut batch);
        Ok(batch)
    }

    /// Converts the last line (if the input does not end with a line feed) and
    /// reports the as-of date.
    pub fn finish(mut self) -> Result<Summary, ConvertError> {
        let mut tail = Batch::default();
        if self.head.is_some() {
            self.start_body()?;
            self.drain(&mut tail);
        }
        if let Some(Piece::Record { line, bytes }) = self.splitter.finish() {
            let bytes = bytes.to_vec();
            self.convert_record(line, &bytes, &mut tail);
        }
        Ok(Summary {
            tail,
            as_of: self.header_as_of.or(self.newest_update),
        })
    }

    /// Checks the first bytes, skips a BOM and hands the rest to the splitter.
    fn start_body(&mut self) -> Result<(), ConvertError> {
        let head = self.head.take().unwrap_or_default();
        if let Some((_, what)) = NOT_CSV.iter().find(|(sig, _)| head.starts_with(sig)) {
            return Err(ConvertError::InvalidInput(format!("the input is {what}")));
        }
        let body = match head.strip_prefix(UTF8_BOM) {
            Some(rest) => {
                if self.fixed_encoding && self.encoding == Some(Encoding::Cp932) {
                    return Err(ConvertError::InvalidInput(
                        "the input starts with a UTF-8 byte-order mark but encoding cp932 was requested".into(),
                    ));
                }
                self.encoding = Some(Encoding::Utf8);
                rest
            }
            None => &head[..],
        };
        self.splitter.feed(body);
        Ok(())
    }

    fn drain(&mut self, batch: &mut Batch) {
        // The record borrows the splitter, the conversion borrows the rest of self.
        let mut splitter = std::mem::replace(&mut self.splitter, Splitter::new());
        while let Some(piece) = splitter.next_piece() {
            match piece {
                Piece::Record { line, bytes } => self.convert_record(line, bytes, batch),
                Piece::TooLong { line } => batch.rejects.push(Reject {
                    line,
                    reason: format!("line longer than {MAX_RECORD_BYTES} bytes; skipped"),
                }),
            }
        }
        self.splitter = splitter;
    }

    fn convert_record(&mut self, line: u64, bytes: &[u8], batch: &mut Batch) {
        let mut document = String::with_capacity(DOCUMENT_CAPACITY);
        match self.convert_line(bytes, &mut document) {
            Ok(None) => {}
            Ok(Some(key)) => batch.records.push(Record {
                key,
                line,
                document,
            }),
            Err(reason) => batch.rejects.push(Reject { line, reason }),
        }
    }

    /// One line: `Ok(None)` for a blank line or the header, `Ok(Some(key))` with the
    /// document written into `document`, or the reject reason.
    fn convert_line(
        &mut self,
        bytes: &[u8],
        document: &mut String,
    ) -> Result<Option<String>, String> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let first_line = !self.seen_line;
        self.seen_line = true;
        if self.encoding.is_none() && !bytes.is_ascii() {
            // `auto`: the first non-ASCII line decides for the whole file.
            self.encoding = Some(if std::str::from_utf8(bytes).is_ok() {
                Encoding::Utf8
            } else {
                Encoding::Cp932
            });
        }
        self.fields.split(bytes).map_err(|e| {
            format!(
                "column {}{}: {}",
                e.column,
                column_name(e.column),
                e.problem
            )
        })?;
        self.decode()?;
        let fields: Vec<&str> = self.bounds.iter().map(|&(a, b)| &self.text[a..b]).collect();

        if fields.len() == 4 && looks_like_date(fields[0]) {
            if !first_line {
                return Err("a Web-API header line (lastUpdateDate,count,divideNumber,divideSize) is only allowed as the first line".into());
            }
            if !nta::is_date(fields[0]) {
                return Err(format!(
                    "column 1 (lastUpdateDate) = {:?}: not a calendar date (YYYY-MM-DD)",
                    fields[0]
                ));
            }
            self.header_as_of = Some(fields[0].to_owned());
            return Ok(None);
        }
        if !COLUMN_COUNTS.contains(&fields.len()) {
            let count = match fields.len() {
                1 => "1 column".to_owned(),
                n => format!("{n} columns"),
            };
            return Err(format!("{count}; an NTA row has 23, 28, 29 or 30"));
        }
        let converted = Row::new(&fields).convert(document)?;
        if self
            .newest_update
            .as_deref()
            .is_none_or(|newest| converted.update_date > newest)
        {
            self.newest_update = Some(converted.update_date.to_owned());
        }
        Ok(Some(converted.key))
    }

    /// Decodes every field of `self.fields` into `self.text` / `self.bounds`.
    fn decode(&mut self) -> Result<(), String> {
        self.text.clear();
        self.bounds.clear();
        let encoding = self.encoding.unwrap_or(Encoding::Utf8);
        let not_text = |index: usize| {
            format!(
                "column {}{}: not valid {} text",
                index + 1,
                column_name(index + 1),
                encoding.name()
            )
        };
        match encoding {
            Encoding::Utf8 => {
                // Field bounds fall on ASCII commas and quotes, so validating the
                // whole row validates every field.
                match std::str::from_utf8(&self.fields.bytes) {
                    Ok(text) => self.text.push_str(text),
                    Err(error) => {
                        let bad = error.valid_up_to();
                        let index = self
                            .fields
                            .bounds
                            .iter()
                            .position(|&(_, end)| bad < end)
                            .unwrap_or(0);
                        return Err(not_text(index));
                    }
                }
                self.bounds.extend_from_slice(&self.fields.bounds);
            }
            Encoding::Cp932 => {
                for (index, &(a, b)) in self.fields.bounds.iter().enumerate() {
                    let raw = &self.fields.bytes[a..b];
                    let begin = self.text.len();
                    if raw.is_ascii() {
                        // ASCII is the same in CP932 (a backslash is 0x5C either way here).
                        self.text
                            .push_str(std::str::from_utf8(raw).unwrap_or_default());
                    } else {
                        let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
                        let needed = decoder
                            .max_utf8_buffer_length_without_replacement(raw.len())
                            .ok_or_else(|| not_text(index))?;
                        self.text.reserve(needed);
                        let (result, _) =
                            decoder.decode_to_string_without_replacement(raw, &mut self.text, true);
                        if result != DecoderResult::InputEmpty {
                            return Err(not_text(index));
                        }
                    }
                    self.bounds.push((begin, self.text.len()));
                }
            }
        }
        Ok(())
    }
}

/// ` (name)` of a 1-based column, empty past the last known column.
fn column_name(column: usize) -> String {
    column
        .checked_sub(1)
        .and_then(|index| nta::COLUMNS.get(index))
        .map(|name| format!(" ({name})"))
        .unwrap_or_default()
}

/// The shape `YYYY-MM-DD` (calendar validity is checked separately).
fn looks_like_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}
