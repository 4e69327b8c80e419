//! Template converter: a provider's own UTF-8 CSV, one corporation a row, to standard-data `Basic` records.
//!
//! Copy this crate to start a converter of your own (see `docs/writing-a-converter.md`). The conversion
//! logic lives here and is plain Rust, tested natively; `guest.rs` only exports it as a component.
//!
//! Input: UTF-8 (a byte-order mark is allowed), a header row naming the columns (any order), then one
//! row a corporation. Known columns:
//!
//! | column            | standard-data item                           | required |
//! |-------------------|----------------------------------------------|----------|
//! | `corporate_number`| `Basic.Destination.Corporate number`         | yes      |
//! | `name`            | `Basic.Destination.Corporate name`           | yes      |
//! | `name_kana`       | `Basic.Destination.Corporate name Kana`      | no       |
//! | `prefecture`      | `Basic.Destination.Head office address1`     | no       |
//! | `city`            | `Basic.Destination.Head office address2`     | no       |
//! | `street`          | `Basic.Destination.Head office address3`     | no       |
//!
//! Other columns are refused at the header unless the option `unknown_columns=ignore` is given, so a
//! renamed column never goes silently missing. A bad row becomes a reject naming its line and the column.

#[cfg(target_arch = "wasm32")]
mod guest;

use renkei_standard::CorporateNumber;
use serde_json::{Map, Value, json};

pub const NAME: &str = "converter-template";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const ACCEPTS: &[&str] = &["text/csv; header=present; charset=utf-8"];
pub const PRODUCES: &[&str] = &["Basic"];

/// The longest line accepted (a guard against a file with no line feeds at all).
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Known columns and the `Basic.Destination` item each fills.
const COLUMNS: &[(&str, &str)] = &[
    ("corporate_number", "Corporate number"),
    ("name", "Corporate name"),
    ("name_kana", "Corporate name Kana"),
    ("prefecture", "Head office address1"),
    ("city", "Head office address2"),
    ("street", "Head office address3"),
];
const REQUIRED: &[&str] = &["corporate_number", "name"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub line: u64,
    pub document: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConvertError {
    InvalidOptions(String),
    InvalidInput(String),
}

/// One conversion: bytes arrive in chunks split anywhere; complete lines are converted as they come.
pub struct Converter {
    ignore_unknown: bool,
    pending: Vec<u8>,
    line: u64,
    /// For each column of the input, the standard-data item it fills (`None`: ignored column).
    header: Option<Vec<Option<(&'static str, &'static str)>>>,
    /// Data rows seen (converted or rejected).
    rows: u64,
}

impl Converter {
    pub fn new(options: &[(String, String)]) -> Result<Converter, ConvertError> {
        let mut ignore_unknown = false;
        for (name, value) in options {
            match (name.as_str(), value.as_str()) {
                ("unknown_columns", "refuse") => ignore_unknown = false,
                ("unknown_columns", "ignore") => ignore_unknown = true,
                ("unknown_columns", other) => {
                    return Err(ConvertError::InvalidOptions(format!(
                        "unknown_columns must be refuse or ignore, not {other:?}"
                    )));
                }
                (other, _) => {
                    return Err(ConvertError::InvalidOptions(format!(
                        "unknown option {other:?} (known: unknown_columns)"
                    )));
                }
            }
        }
        Ok(Converter {
            ignore_unknown,
            pending: Vec::new(),
            line: 0,
            header: None,
            rows: 0,
        })
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<Batch, ConvertError> {
        let mut batch = Batch::default();
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = self.pending[start..start + end].to_vec();
            start += end + 1;
            self.take_line(&line, &mut batch)?;
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_LINE_BYTES {
            return Err(ConvertError::InvalidInput(format!(
                "line {} is longer than {MAX_LINE_BYTES} bytes",
                self.line + 1
            )));
        }
        Ok(batch)
    }

    pub fn finish(mut self) -> Result<Batch, ConvertError> {
        let mut batch = Batch::default();
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.take_line(&line, &mut batch)?;
        }
        if self.header.is_none() {
            return Err(ConvertError::InvalidInput(
                "the input is empty: a header row is required".to_owned(),
            ));
        }
        if self.rows == 0 {
            return Err(ConvertError::InvalidInput(
                "the input has a header but no rows".to_owned(),
            ));
        }
        Ok(batch)
    }

    fn take_line(&mut self, raw: &[u8], batch: &mut Batch) -> Result<(), ConvertError> {
        self.line += 1;
        let line = self.line;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = if line == 1 {
            raw.strip_prefix("\u{feff}".as_bytes()).unwrap_or(raw)
        } else {
            raw
        };
        if raw.is_empty() {
            return Ok(());
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            if self.header.is_none() {
                return Err(ConvertError::InvalidInput(
                    "line 1: the header is not UTF-8".to_owned(),
                ));
            }
            batch.rejects.push(Reject {
                line,
                reason: "the row is not valid UTF-8".to_owned(),
            });
            return Ok(());
        };
        let fields = match split_csv(text) {
            Ok(fields) => fields,
            Err(why) if self.header.is_none() => {
                return Err(ConvertError::InvalidInput(format!("line {line}: {why}")));
            }
            Err(why) => {
                batch.rejects.push(Reject { line, reason: why });
                return Ok(());
            }
        };
        match &self.header {
            None => {
                self.header = Some(self.read_header(&fields)?);
                Ok(())
            }
            Some(header) => {
                self.rows += 1;
                match row_to_record(header, &fields, line) {
                    Ok(record) => batch.records.push(record),
                    Err(reason) => batch.rejects.push(Reject { line, reason }),
                }
                Ok(())
            }
        }
    }

    fn read_header(
        &self,
        names: &[String],
    ) -> Result<Vec<Option<(&'static str, &'static str)>>, ConvertError> {
        let mut header = Vec::with_capacity(names.len());
        for name in names {
            let name = name.trim();
            match COLUMNS.iter().find(|(column, _)| *column == name) {
                Some(known) if header.contains(&Some(*known)) => {
                    return Err(ConvertError::InvalidInput(format!(
                        "line 1: column {name:?} appears twice"
                    )));
                }
                Some(known) => header.push(Some(*known)),
                None if self.ignore_unknown => header.push(None),
                None => {
                    return Err(ConvertError::InvalidInput(format!(
                        "line 1: unknown column {name:?} (known: {}; or pass unknown_columns=ignore)",
                        COLUMNS
                            .iter()
                            .map(|(c, _)| *c)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        for required in REQUIRED {
            if !header
                .iter()
                .flatten()
                .any(|(column, _)| column == required)
            {
                return Err(ConvertError::InvalidInput(format!(
                    "line 1: the required column {required:?} is missing"
                )));
            }
        }
        Ok(header)
    }
}

/// Splits one CSV line (RFC 4180 quoting within the line) with the `csv` crate.
fn split_csv(text: &str) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record.iter().map(str::to_owned).collect()),
        Some(Err(e)) => Err(format!("the row is not valid CSV: {e}")),
        None => Ok(Vec::new()),
    }
}

fn row_to_record(
    header: &[Option<(&'static str, &'static str)>],
    fields: &[String],
    line: u64,
) -> Result<Record, String> {
    if fields.len() != header.len() {
        return Err(format!(
            "the row has {} fields, the header {}",
            fields.len(),
            header.len()
        ));
    }
    let mut destination = Map::new();
    let mut key = None;
    for (column, value) in header.iter().zip(fields) {
        let Some((column, item)) = column else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            if REQUIRED.contains(column) {
                return Err(format!("{column}: required, but empty"));
            }
            // Standard data omits an item it has nothing to say about; it never sends "".
            continue;
        }
        if *column == "corporate_number" {
            let number = CorporateNumber::parse(value).map_err(|e| format!("{column}: {e}"))?;
            key = Some(number.as_str().to_owned());
        }
        destination.insert((*item).to_owned(), Value::String(value.to_owned()));
    }
    let key = key.ok_or_else(|| "corporate_number: required, but empty".to_owned())?;
    let document = json!({ "Basic": { "Destination": destination } });
    Ok(Record {
        key,
        line,
        document: document.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(input: &str, chunk: usize) -> (Vec<Record>, Vec<Reject>) {
        let mut converter = Converter::new(&[]).unwrap();
        let mut all = Batch::default();
        for piece in input.as_bytes().chunks(chunk) {
            let batch = converter.push(piece).unwrap();
            all.records.extend(batch.records);
            all.rejects.extend(batch.rejects);
        }
        let tail = converter.finish().unwrap();
        all.records.extend(tail.records);
        all.rejects.extend(tail.rejects);
        (all.records, all.rejects)
    }

    const SAMPLE: &str = "corporate_number,name,prefecture,city,street\r\n\
        1010001072706,東京増田医療器株式会社,東京都,文京区,湯島２丁目６番２号\r\n\
        1010001072707,誤った番号株式会社,東京都,文京区,\r\n\
        1010001097199,\"株式会社ＭＣＡホールディングス\",東京都,中央区,銀座７丁目１０番１６号";

    #[test]
    fn a_row_becomes_a_basic_record_and_empty_items_are_omitted() {
        let (records, rejects) = convert(SAMPLE, 4096);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].key, "1010001072706");
        assert_eq!(records[0].line, 2);
        assert_eq!(
            records[0].document,
            r#"{"Basic":{"Destination":{"Corporate number":"1010001072706","Corporate name":"東京増田医療器株式会社","Head office address1":"東京都","Head office address2":"文京区","Head office address3":"湯島２丁目６番２号"}}}"#
        );
        assert_eq!(records[1].line, 4, "the last line has no line feed");
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 3);
        assert!(
            rejects[0].reason.starts_with("corporate_number: "),
            "{}",
            rejects[0].reason
        );
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_output() {
        let whole = convert(SAMPLE, 1 << 20);
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(convert(SAMPLE, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn an_unknown_column_is_refused_at_the_header_unless_ignored() {
        let input =
            "corporate_number,name,capital\n1010001072706,東京増田医療器株式会社,987654321\n";
        let mut converter = Converter::new(&[]).unwrap();
        let error = converter.push(input.as_bytes()).unwrap_err();
        assert_eq!(
            error,
            ConvertError::InvalidInput(
                "line 1: unknown column \"capital\" (known: corporate_number, name, name_kana, prefecture, city, street; or pass unknown_columns=ignore)".to_owned()
            )
        );
        let mut converter = Converter::new(&[("unknown_columns".into(), "ignore".into())]).unwrap();
        let batch = converter.push(input.as_bytes()).unwrap();
        assert_eq!(batch.records.len(), 1);
        assert!(!batch.records[0].document.contains("987654321"));
    }

    #[test]
    fn a_missing_required_column_and_a_short_row_are_named() {
        let mut converter = Converter::new(&[]).unwrap();
        assert_eq!(
            converter.push(b"corporate_number,city\n").unwrap_err(),
            ConvertError::InvalidInput("line 1: the required column \"name\" is missing".into())
        );
        let (_, rejects) = convert("corporate_number,name\n1010001072706\n", 64);
        assert_eq!(
            rejects,
            vec![Reject {
                line: 2,
                reason: "the row has 1 fields, the header 2".into()
            }]
        );
    }

    #[test]
    fn bad_options_and_empty_inputs_are_errors() {
        assert!(matches!(
            Converter::new(&[("encoding".into(), "cp932".into())]),
            Err(ConvertError::InvalidOptions(m)) if m.contains("\"encoding\"")
        ));
        assert!(Converter::new(&[]).unwrap().finish().is_err());
        let mut converter = Converter::new(&[]).unwrap();
        converter.push(b"corporate_number,name\n").unwrap();
        assert_eq!(
            converter.finish().unwrap_err(),
            ConvertError::InvalidInput("the input has a header but no rows".into())
        );
    }
}
