//! One NTA corporate-number row: its columns and codes, the checks it must pass, and its standard-data document.

use renkei_standard::{CorporateNumber, is_prefecture};

use crate::address::split_street;
use crate::json::ObjectWriter;

/// Column names (NTA's XML element names), in file order. Ver.1 rows have the
/// first 23, Ver.2 28, Ver.3 29 and Ver.4 all 30.
pub(crate) const COLUMNS: [&str; 30] = [
    "sequenceNumber",
    "corporateNumber",
    "process",
    "correct",
    "updateDate",
    "changeDate",
    "name",
    "nameImageId",
    "kind",
    "prefectureName",
    "cityName",
    "streetNumber",
    "addressImageId",
    "prefectureCode",
    "cityCode",
    "postCode",
    "addressOutside",
    "addressOutsideImageId",
    "closeDate",
    "closeCause",
    "successorCorporateNumber",
    "changeCause",
    "assignmentDate",
    "latest",
    "enName",
    "enPrefectureName",
    "enCityName",
    "enAddressOutside",
    "furigana",
    "hihyoji",
];

/// Column counts of the four published spec versions.
pub(crate) const COLUMN_COUNTS: [usize; 4] = [23, 28, 29, 30];

// 0-based indexes of the columns the conversion reads by name.
const SEQUENCE: usize = 0;
const NUMBER: usize = 1;
const PROCESS: usize = 2;
const CORRECT: usize = 3;
const UPDATE_DATE: usize = 4;
const CHANGE_DATE: usize = 5;
const NAME: usize = 6;
const NAME_IMAGE: usize = 7;
const KIND: usize = 8;
const PREFECTURE: usize = 9;
const CITY: usize = 10;
const STREET: usize = 11;
const ADDRESS_IMAGE: usize = 12;
const PREFECTURE_CODE: usize = 13;
const CITY_CODE: usize = 14;
const POST_CODE: usize = 15;
const ADDRESS_OUTSIDE: usize = 16;
const ADDRESS_OUTSIDE_IMAGE: usize = 17;
const CLOSE_DATE: usize = 18;
const CLOSE_CAUSE: usize = 19;
const SUCCESSOR: usize = 20;
const CHANGE_CAUSE: usize = 21;
const ASSIGNMENT_DATE: usize = 22;
const LATEST: usize = 23;
const EN_NAME: usize = 24;
const EN_PREFECTURE: usize = 25;
const EN_CITY: usize = 26;
const EN_ADDRESS_OUTSIDE: usize = 27;
const FURIGANA: usize = 28;
const HIHYOJI: usize = 29;

/// 処理区分 codes and labels.
pub(crate) const PROCESSES: &[(&str, &str)] = &[
    ("01", "新規"),
    ("11", "商号又は名称の変更"),
    ("12", "国内所在地の変更"),
    ("13", "国外所在地の変更"),
    ("21", "登記記録の閉鎖等"),
    ("22", "登記記録の復活等"),
    ("71", "吸収合併"),
    ("72", "吸収合併無効"),
    ("81", "商号の登記の抹消"),
    ("99", "削除"),
];

/// 法人種別 codes and labels.
const KINDS: &[(&str, &str)] = &[
    ("101", "国の機関"),
    ("201", "地方公共団体"),
    ("301", "株式会社"),
    ("302", "有限会社"),
    ("303", "合名会社"),
    ("304", "合資会社"),
    ("305", "合同会社"),
    ("399", "その他の設立登記法人"),
    ("401", "外国会社等"),
    ("499", "その他"),
];

/// 登記記録の閉鎖等の事由 codes and labels.
const CLOSE_CAUSES: &[(&str, &str)] = &[
    ("01", "清算の結了等"),
    ("11", "合併による解散等"),
    ("21", "登記官による閉鎖"),
    ("31", "その他の清算の結了等"),
];

/// The process code of a withdrawn number (削除).
const WITHDRAWN: &str = "99";

fn label(table: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// A data row with all 30 columns (columns a shorter spec version lacks are empty).
pub(crate) struct Row<'a> {
    columns: [&'a str; 30],
}

/// A converted row (its document is in the buffer passed to [`Row::convert`]).
pub(crate) struct Converted<'a> {
    pub(crate) key: String,
    pub(crate) update_date: &'a str,
}

impl<'a> Row<'a> {
    /// `fields` must have one of [`COLUMN_COUNTS`] entries (checked by the caller).
    pub(crate) fn new(fields: &[&'a str]) -> Self {
        let mut columns = [""; 30];
        for (slot, field) in columns.iter_mut().zip(fields) {
            *slot = field;
        }
        Self { columns }
    }

    fn get(&self, column: usize) -> &'a str {
        self.columns[column]
    }

    /// Checks the row and writes its document into `out` (cleared first), or says
    /// why the row is rejected, naming the column and the value.
    pub(crate) fn convert(&self, out: &mut String) -> Result<Converted<'a>, String> {
        let number = CorporateNumber::parse(self.get(NUMBER))
            .map_err(|e| self.bad(NUMBER, &e.to_string()))?;
        let process = self.get(PROCESS);
        let process_label = label(PROCESSES, process).ok_or_else(|| {
            let known: Vec<&str> = PROCESSES.iter().map(|(code, _)| *code).collect();
            self.bad(
                PROCESS,
                &format!("unknown process code (known: {})", known.join(", ")),
            )
        })?;
        if self.get(UPDATE_DATE).is_empty() {
            return Err(format!(
                "column {} ({}) is empty; every row has one",
                UPDATE_DATE + 1,
                COLUMNS[UPDATE_DATE]
            ));
        }
        for column in [UPDATE_DATE, CHANGE_DATE, CLOSE_DATE, ASSIGNMENT_DATE] {
            let value = self.get(column);
            if !value.is_empty() && !is_date(value) {
                return Err(self.bad(column, "not a calendar date (YYYY-MM-DD)"));
            }
        }
        for column in [CORRECT, LATEST, HIHYOJI] {
            if !matches!(self.get(column), "" | "0" | "1") {
                return Err(self.bad(column, "expected 0, 1 or empty"));
            }
        }
        let prefecture = self.get(PREFECTURE);
        if !prefecture.is_empty() && !is_prefecture(prefecture) {
            return Err(self.bad(PREFECTURE, "not one of the 47 prefecture names"));
        }
        let successor = self.get(SUCCESSOR);
        if !successor.is_empty() {
            CorporateNumber::parse(successor).map_err(|e| self.bad(SUCCESSOR, &e.to_string()))?;
        }

        out.clear();
        let mut doc = ObjectWriter::open(out);
        doc.object("Basic", |basic| {
            basic.object("Destination", |destination| {
                self.write_destination(destination, number.as_str());
            });
        });
        doc.object("x-nta", |nta| self.write_nta(nta, process, process_label));
        doc.close();
        Ok(Converted {
            key: number.into_string(),
            update_date: self.get(UPDATE_DATE),
        })
    }

    fn bad(&self, column: usize, why: &str) -> String {
        format!(
            "column {} ({}) = {:?}: {why}",
            column + 1,
            COLUMNS[column],
            self.get(column)
        )
    }

    /// `Basic.Destination`. The domestic address is the head office, except for a
    /// company with a foreign address (国外所在地, kind 401): its head office is
    /// abroad, so the domestic address is its office in Japan, a branch office.
    fn write_destination(&self, d: &mut ObjectWriter<'_>, number: &str) {
        d.string("Corporate number", number);
        d.non_empty("Corporate name", self.get(NAME));
        d.non_empty("Corporate name Kana", self.get(FURIGANA));
        let foreign = !self.get(ADDRESS_OUTSIDE).is_empty();
        let [pref_key, town_key, chome_key, building_key] = if foreign {
            [
                "Branch office address1",
                "Branch office address2",
                "Branch office address3",
                "Branch office building name",
            ]
        } else {
            [
                "Head office address1",
                "Head office address2",
                "Head office address3",
                "Head office building name",
            ]
        };
        let prefecture = self.get(PREFECTURE);
        // Without a prefecture there is no standard address to build (the town
        // item needs the prefecture item); the raw parts stay in x-nta.
        if !prefecture.is_empty() {
            d.string(pref_key, prefecture);
            let city = self.get(CITY);
            let street = self.get(STREET);
            match split_street(street) {
                Some(split) if !(city.is_empty() && split.town.is_empty()) => {
                    d.string(town_key, &format!("{city}{}", split.town));
                    d.string(chome_key, &split.chome);
                    d.non_empty(building_key, split.building);
                }
                _ => d.non_empty(town_key, &format!("{city}{street}")),
            }
        }
        if foreign && let Some(zip) = zip_code(self.get(POST_CODE)) {
            d.string("Branch office postal code", &zip);
        }
    }

    /// `x-nta`: every NTA fact without a standard slot, verbatim, in column order.
    fn write_nta(&self, x: &mut ObjectWriter<'_>, process: &str, process_label: &str) {
        x.non_empty("sequenceNumber", self.get(SEQUENCE));
        x.object("process", |p| {
            p.string("code", process);
            p.string("label", process_label);
        });
        x.non_empty("correct", self.get(CORRECT));
        x.non_empty("updateDate", self.get(UPDATE_DATE));
        x.non_empty("changeDate", self.get(CHANGE_DATE));
        x.non_empty("nameImageId", self.get(NAME_IMAGE));
        coded(x, "kind", self.get(KIND), KINDS);
        for column in [
            PREFECTURE,
            CITY,
            STREET,
            ADDRESS_IMAGE,
            PREFECTURE_CODE,
            CITY_CODE,
            POST_CODE,
            ADDRESS_OUTSIDE,
            ADDRESS_OUTSIDE_IMAGE,
            CLOSE_DATE,
        ] {
            x.non_empty(COLUMNS[column], self.get(column));
        }
        coded(x, "closeCause", self.get(CLOSE_CAUSE), CLOSE_CAUSES);
        for column in [
            SUCCESSOR,
            CHANGE_CAUSE,
            ASSIGNMENT_DATE,
            LATEST,
            EN_NAME,
            EN_PREFECTURE,
            EN_CITY,
            EN_ADDRESS_OUTSIDE,
            HIHYOJI,
        ] {
            x.non_empty(COLUMNS[column], self.get(column));
        }
        if process == WITHDRAWN {
            x.boolean("withdrawn", true);
        }
    }
}

/// `{"code": …, "label": …}`; the label is left out for a code NTA may add later.
fn coded(x: &mut ObjectWriter<'_>, key: &str, code: &str, table: &[(&str, &'static str)]) {
    if code.is_empty() {
        return;
    }
    x.object(key, |c| {
        c.string("code", code);
        if let Some(label) = label(table, code) {
            c.string("label", label);
        }
    });
}

/// The standard's ZIP form (7 half-width digits): full-width digits are narrowed,
/// anything else is not a postal code.
fn zip_code(value: &str) -> Option<String> {
    let zip: String = value
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            _ => c,
        })
        .collect();
    (zip.len() == 7 && zip.bytes().all(|b| b.is_ascii_digit())).then_some(zip)
}

/// `YYYY-MM-DD` naming a real day of the Gregorian calendar.
pub(crate) fn is_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &value[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert!(is_date("2017-01-04"));
        assert!(is_date("2020-02-29"));
        assert!(!is_date("2021-02-29"));
        assert!(!is_date("1900-02-29"));
        assert!(is_date("2000-02-29"));
        assert!(!is_date("2017-13-01"));
        assert!(!is_date("2017-1-04"));
        assert!(!is_date("2017/01/04"));
        assert!(!is_date("２０１７-01-04"));
        assert!(!is_date("0000-01-01"));
    }

    #[test]
    fn zip_codes_are_narrowed_to_seven_digits() {
        assert_eq!(zip_code("1000005").as_deref(), Some("1000005"));
        assert_eq!(zip_code("１０００００５").as_deref(), Some("1000005"));
        assert_eq!(zip_code("100-0005"), None);
        assert_eq!(zip_code(""), None);
    }

    #[test]
    fn every_spec_version_fits_the_column_table() {
        assert_eq!(COLUMN_COUNTS.last(), Some(&COLUMNS.len()));
        assert_eq!(COLUMNS[LATEST], "latest");
        assert_eq!(COLUMNS[FURIGANA], "furigana");
        assert_eq!(COLUMNS[HIHYOJI], "hihyoji");
        assert_eq!(COLUMNS[ASSIGNMENT_DATE], "assignmentDate");
    }
}
