//! WebAssembly component glue: exports the `renkei:converter` world by delegating to [`Converter`].

use std::cell::RefCell;

use crate::{ACCEPTS, Batch, ConvertError, Converter, NAME, PRODUCES, Summary, VERSION};

wit_bindgen::generate!({
    path: "../../wit",
    world: "converter",
});

use exports::renkei::converter::convert::{Guest, GuestSession, Session};
use renkei::converter::types as wit;

struct Component;

impl Guest for Component {
    type Session = NtaSession;

    fn info() -> wit::PluginInfo {
        wit::PluginInfo {
            name: NAME.to_owned(),
            version: VERSION.to_owned(),
            accepts: ACCEPTS.iter().map(|s| (*s).to_owned()).collect(),
            produces: PRODUCES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn open(options: Vec<(String, String)>) -> Result<Session, wit::ConversionError> {
        let converter = Converter::new(&options).map_err(to_wit_error)?;
        Ok(Session::new(NtaSession {
            converter: RefCell::new(Some(converter)),
        }))
    }
}

/// One conversion. Resource methods take `&self`, hence the cell; `finish`
/// consumes the converter, so a call after it is an error rather than a panic.
struct NtaSession {
    converter: RefCell<Option<Converter>>,
}

impl GuestSession for NtaSession {
    fn push(&self, chunk: Vec<u8>) -> Result<wit::Batch, wit::ConversionError> {
        let mut slot = self.converter.borrow_mut();
        let converter = slot.as_mut().ok_or_else(finished)?;
        converter
            .push(&chunk)
            .map(to_wit_batch)
            .map_err(to_wit_error)
    }

    fn finish(&self) -> Result<wit::Summary, wit::ConversionError> {
        let converter = self.converter.borrow_mut().take().ok_or_else(finished)?;
        converter
            .finish()
            .map(|Summary { tail, as_of }| wit::Summary {
                tail: to_wit_batch(tail),
                as_of,
            })
            .map_err(to_wit_error)
    }
}

fn finished() -> wit::ConversionError {
    wit::ConversionError::InvalidInput("the session is already finished".to_owned())
}

fn to_wit_batch(batch: Batch) -> wit::Batch {
    wit::Batch {
        records: batch
            .records
            .into_iter()
            .map(|r| wit::OutputRecord {
                key: r.key,
                line: r.line,
                document: r.document,
            })
            .collect(),
        rejects: batch
            .rejects
            .into_iter()
            .map(|r| wit::RejectedRow {
                line: r.line,
                reason: r.reason,
            })
            .collect(),
    }
}

fn to_wit_error(error: ConvertError) -> wit::ConversionError {
    match error {
        ConvertError::InvalidOptions(why) => wit::ConversionError::InvalidOptions(why),
        ConvertError::InvalidInput(why) => wit::ConversionError::InvalidInput(why),
    }
}

export!(Component);
