//! Japan Standard Time: every timestamp renkei writes or shows is JST (+09:00).

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

pub fn now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&offset())
}

/// RFC 3339 with milliseconds and `+09:00`, e.g. `2026-12-03T18:00:00.123+09:00`.
pub fn now_rfc3339() -> String {
    now().to_rfc3339_opts(SecondsFormat::Millis, false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_in_jst() {
        assert!(super::now_rfc3339().ends_with("+09:00"));
    }
}
