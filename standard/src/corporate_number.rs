//! The 13-digit corporate number (法人番号): parsed once, valid by construction.

use std::fmt;
use std::str::FromStr;

/// A corporate number whose length, digits and check digit have been verified.
///
/// The only way to get one is [`CorporateNumber::parse`] (or `str::parse`), so a
/// value of this type never holds an invalid number ("parse, don't validate").
/// Note that a valid check digit does not prove the number was ever assigned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CorporateNumber(String);

/// Why a string is not a corporate number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorporateNumberError {
    /// Not 13 characters long; `given` is the number of characters received.
    WrongLength { given: usize },
    /// A character that is not a half-width digit (full-width `１` included),
    /// at 1-based `position`.
    NonDigit { position: usize, character: char },
    /// The first digit does not match the check digit computed from the other 12.
    CheckDigit { expected: u8, given: u8 },
}

impl fmt::Display for CorporateNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { given } => {
                write!(f, "a corporate number has 13 digits, {given} given")
            }
            Self::NonDigit {
                position,
                character,
            } => write!(
                f,
                "character {position} ({character:?}) is not a half-width digit"
            ),
            Self::CheckDigit { expected, given } => write!(
                f,
                "check digit mismatch: expected {expected}, given {given}"
            ),
        }
    }
}

impl std::error::Error for CorporateNumberError {}

impl CorporateNumber {
    /// Parses a 13-digit corporate number, verifying its check digit.
    pub fn parse(input: &str) -> Result<Self, CorporateNumberError> {
        let given = input.chars().count();
        if given != 13 {
            return Err(CorporateNumberError::WrongLength { given });
        }
        if let Some((index, character)) =
            input.chars().enumerate().find(|(_, c)| !c.is_ascii_digit())
        {
            return Err(CorporateNumberError::NonDigit {
                position: index + 1,
                character,
            });
        }
        // 13 ASCII digits, so every char is one byte.
        let digits = input.as_bytes();
        let expected = check_digit(&digits[1..]);
        let given = digits[0] - b'0';
        if expected != given {
            return Err(CorporateNumberError::CheckDigit { expected, given });
        }
        Ok(Self(input.to_owned()))
    }

    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 13 digits, without copying.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The check digit of a 12-digit base number (ASCII digits): 9 − (Σ Pn·Qn mod 9),
/// where Pn is the n-th digit counted from the right and Qn is 1 for odd n, 2 for
/// even n. The result is always 1..=9, which is why a leading 0 is never valid.
fn check_digit(base: &[u8]) -> u8 {
    let sum: u32 = base
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let digit = u32::from(d - b'0');
            // i is 0-based, so even i is an odd position n.
            if i % 2 == 0 { digit } else { digit * 2 }
        })
        .sum();
    // `sum % 9` is below 9, so this fits in a u8.
    9 - (sum % 9) as u8
}

impl fmt::Display for CorporateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CorporateNumber {
    type Err = CorporateNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for CorporateNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_worked_examples() {
        // Toyota (input-formats.md §3), NTA's own example, and the invented 9999999999999.
        for valid in ["1180301018771", "7123456789012", "9999999999999"] {
            let number = CorporateNumber::parse(valid).expect(valid);
            assert_eq!(number.as_str(), valid);
            assert_eq!(number.to_string(), valid);
            assert_eq!(valid.parse::<CorporateNumber>(), Ok(number));
        }
    }

    #[test]
    fn rejects_bad_check_digits_with_expected_and_given() {
        assert_eq!(
            CorporateNumber::parse("0123456789123"),
            Err(CorporateNumberError::CheckDigit {
                expected: 3,
                given: 0
            })
        );
        assert_eq!(
            CorporateNumber::parse("1234567890123"),
            Err(CorporateNumberError::CheckDigit {
                expected: 9,
                given: 1
            })
        );
        assert_eq!(
            CorporateNumber::parse("1010001012345"),
            Err(CorporateNumberError::CheckDigit {
                expected: 4,
                given: 1
            })
        );
        assert_eq!(
            CorporateNumber::parse("2180301018771")
                .map_err(|e| e.to_string())
                .unwrap_err(),
            "check digit mismatch: expected 1, given 2"
        );
    }

    #[test]
    fn a_leading_zero_is_never_valid() {
        // Whatever the base, the computed check digit is 1..=9.
        for base in [
            "000000000000",
            "180301018771",
            "999999999999",
            "123456789012",
        ] {
            let expected = check_digit(base.as_bytes());
            assert!((1..=9).contains(&expected), "{base}: {expected}");
            assert!(CorporateNumber::parse(&format!("0{base}")).is_err());
        }
    }

    #[test]
    fn rejects_wrong_lengths_saying_how_many_digits_were_given() {
        assert_eq!(
            CorporateNumber::parse("118030101877"),
            Err(CorporateNumberError::WrongLength { given: 12 })
        );
        assert_eq!(
            CorporateNumber::parse(""),
            Err(CorporateNumberError::WrongLength { given: 0 })
        );
        assert_eq!(
            CorporateNumber::parse("11803010187710")
                .unwrap_err()
                .to_string(),
            "a corporate number has 13 digits, 14 given"
        );
    }

    #[test]
    fn rejects_non_digits_including_full_width_digits() {
        assert_eq!(
            CorporateNumber::parse("1180301O18771"),
            Err(CorporateNumberError::NonDigit {
                position: 8,
                character: 'O'
            })
        );
        // Full-width digits are 13 characters but not half-width digits.
        assert_eq!(
            CorporateNumber::parse("１１８０３０１０１８７７１")
                .unwrap_err()
                .to_string(),
            "character 1 ('１') is not a half-width digit"
        );
        assert_eq!(
            CorporateNumber::parse("1180-30101877"),
            Err(CorporateNumberError::NonDigit {
                position: 5,
                character: '-'
            })
        );
    }
}
