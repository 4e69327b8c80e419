//! The converter on the real NTA sample files and on crafted bad input: exact documents, counts, rejects.

use std::sync::LazyLock;

use nta_corporate_number::{ConvertError, Converter, Record, Reject};
use renkei_standard::StandardSchema;

const SJIS_FILE: &str = "nta_webapi_v2_diff_20170101-20170110_p1.sjis.csv";
const UTF8_FILE: &str = "nta_sabun_20210714.utf8.csv";

fn read(file: &str) -> Vec<u8> {
    let path = format!("{}/../../demo/data/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Everything one conversion produced.
#[derive(Debug, PartialEq)]
struct Output {
    records: Vec<Record>,
    rejects: Vec<Reject>,
    as_of: Option<String>,
}

fn convert_with(
    input: &[u8],
    options: &[(&str, &str)],
    chunk: usize,
) -> Result<Output, ConvertError> {
    let options: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut converter = Converter::new(&options)?;
    let mut records = Vec::new();
    let mut rejects = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        let batch = converter.push(part)?;
        records.extend(batch.records);
        rejects.extend(batch.rejects);
    }
    let summary = converter.finish()?;
    records.extend(summary.tail.records);
    rejects.extend(summary.tail.rejects);
    Ok(Output {
        records,
        rejects,
        as_of: summary.as_of,
    })
}

fn convert(input: &[u8]) -> Output {
    convert_with(input, &[], 64 * 1024).expect("converts")
}

static SJIS: LazyLock<Output> = LazyLock::new(|| convert(&read(SJIS_FILE)));
static UTF8: LazyLock<Output> = LazyLock::new(|| convert(&read(UTF8_FILE)));

fn at(output: &Output, line: u64) -> &Record {
    output
        .records
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no record on line {line}"))
}

#[test]
fn whole_files_convert_without_rejects() {
    assert_eq!((SJIS.records.len(), SJIS.rejects.len()), (2000, 0));
    assert_eq!(
        SJIS.as_of.as_deref(),
        Some("2017-06-06"),
        "the Web-API header's lastUpdateDate"
    );
    assert_eq!(
        SJIS.records.first().map(|r| r.line),
        Some(2),
        "line 1 is the header"
    );
    assert_eq!(SJIS.records.last().map(|r| r.line), Some(2001));

    assert_eq!((UTF8.records.len(), UTF8.rejects.len()), (2772, 0));
    assert_eq!(
        UTF8.as_of.as_deref(),
        Some("2021-07-14"),
        "the newest updateDate"
    );
    assert_eq!(UTF8.records.first().map(|r| r.line), Some(1));

    let count = |output: &Output, needle: &str| {
        output
            .records
            .iter()
            .filter(|r| r.document.contains(needle))
            .count()
    };
    assert_eq!(count(&SJIS, r#""withdrawn":true"#), 4);
    assert_eq!(
        count(&SJIS, r#""Branch office address1""#),
        6,
        "foreign companies"
    );
    assert_eq!(
        count(&UTF8, r#""Branch office address1""#),
        2,
        "foreign companies"
    );
    assert_eq!(count(&UTF8, r#""latest":"0""#), 376);
}

#[test]
fn every_record_is_valid_standard_data_keyed_on_its_number() {
    let schema = StandardSchema::new();
    for record in SJIS.records.iter().chain(&UTF8.records) {
        let doc: serde_json::Value = serde_json::from_str(&record.document).expect("JSON");
        assert_eq!(schema.validate(&doc), Ok(()), "line {}", record.line);
        assert_eq!(
            doc["Basic"]["Destination"]["Corporate number"],
            record.key.as_str()
        );
    }
}

#[test]
fn a_normal_row_splits_its_street_into_town_and_chome() {
    // 1,1010001072706,01,1,2021-07-14,2015-10-05,"東京増田医療器株式会社",,301,"東京都","文京区","湯島２丁目６番２号",,13,105,1130034,,,,,,,2015-10-05,1,,,,,"トウキョウマスダイリョウキ",0
    let record = at(&UTF8, 1);
    assert_eq!(record.key, "1010001072706");
    assert_eq!(
        record.document,
        r#"{"Basic":{"Destination":{"Corporate number":"1010001072706","Corporate name":"東京増田医療器株式会社","Corporate name Kana":"トウキョウマスダイリョウキ","Head office address1":"東京都","Head office address2":"文京区湯島","Head office address3":"2-6-2"}},"x-nta":{"sequenceNumber":"1","process":{"code":"01","label":"新規"},"correct":"1","updateDate":"2021-07-14","changeDate":"2015-10-05","kind":{"code":"301","label":"株式会社"},"prefectureName":"東京都","cityName":"文京区","streetNumber":"湯島２丁目６番２号","prefectureCode":"13","cityCode":"105","postCode":"1130034","assignmentDate":"2015-10-05","latest":"1","hihyoji":"0"}}"#
    );
}

#[test]
fn a_withdrawn_number_keeps_only_the_number() {
    // 433,3100001008599,99,,2017-01-04,,,,,,,,,,,,,,,,,,,,,,,
    let record = at(&SJIS, 434);
    assert_eq!(
        record.document,
        r#"{"Basic":{"Destination":{"Corporate number":"3100001008599"}},"x-nta":{"sequenceNumber":"433","process":{"code":"99","label":"削除"},"updateDate":"2017-01-04","withdrawn":true}}"#
    );
}

#[test]
fn a_non_bmp_character_survives() {
    // 𣗄 (U+235C4) is outside the BMP and outside CP932; NTA also gives an image id.
    let record = at(&UTF8, 2445);
    assert_eq!(
        record.document,
        r#"{"Basic":{"Destination":{"Corporate number":"8390005003976","Corporate name":"社会福祉法人櫛引福寿会","Head office address1":"山形県","Head office address2":"鶴岡市𣗄代字桃平","Head office address3":"123"}},"x-nta":{"sequenceNumber":"2445","process":{"code":"01","label":"新規"},"correct":"1","updateDate":"2021-07-14","changeDate":"2015-10-05","nameImageId":"00091695","kind":{"code":"399","label":"その他の設立登記法人"},"prefectureName":"山形県","cityName":"鶴岡市","streetNumber":"𣗄代字桃平１２３番地","addressImageId":"00091696","prefectureCode":"06","cityCode":"203","postCode":"9970000","assignmentDate":"2015-10-05","latest":"1","hihyoji":"0"}}"#
    );
    assert!(record.document.contains('\u{235C4}'));
}

#[test]
fn characters_outside_cp932_survive_in_utf8_input() {
    for (line, character) in [(1706, '醬'), (1205, '鑫'), (2412, '雞'), (1249, '麴')] {
        let record = at(&UTF8, line);
        assert!(
            record.document.contains(character),
            "line {line}: {}",
            record.document
        );
    }
}

#[test]
fn a_foreign_company_puts_its_japanese_office_in_the_branch_fields() {
    // Full-width alphanumerics and a U+3000 space in the name, kind 401, addressOutside set.
    let record = at(&SJIS, 1796);
    assert_eq!(
        record.document,
        r#"{"Basic":{"Destination":{"Corporate number":"1700150079432","Corporate name":"Ｓｙｎａｐｔｅｎｔ　ＬＬＣ","Branch office address1":"茨城県","Branch office address2":"土浦市東崎町","Branch office address3":"4-18","Branch office postal code":"3000031"}},"x-nta":{"sequenceNumber":"1795","process":{"code":"01","label":"新規"},"correct":"0","updateDate":"2017-01-05","changeDate":"2016-12-27","kind":{"code":"401","label":"外国会社等"},"prefectureName":"茨城県","cityName":"土浦市","streetNumber":"東崎町４丁目１８番","prefectureCode":"08","cityCode":"203","postCode":"3000031","addressOutside":"アメリカ合衆国イリノイ州・シカゴ・ウェストグランドアベニュー６６０","assignmentDate":"2016-12-27","latest":"1"}}"#
    );
    // The building after the street number has its own item.
    assert!(at(&SJIS, 1795).document.contains(
        r#""Branch office address2":"千代田区丸の内","Branch office address3":"2-4-1","Branch office building name":"丸の内ビルディング","Branch office postal code":"1000005""#
    ));
}

#[test]
fn a_history_pair_is_two_records_in_file_order() {
    // The same number twice: a past state (latest=0) then the current one (latest=1).
    let past = at(&UTF8, 1795);
    let current = at(&UTF8, 1796);
    assert_eq!(past.key, "6210001017768");
    assert_eq!(current.key, "6210001017768");
    assert_eq!(
        past.document,
        r#"{"Basic":{"Destination":{"Corporate number":"6210001017768","Corporate name":"株式会社ＷＧＪ福井","Corporate name Kana":"ダブリュジージェーフクイ","Head office address1":"福井県","Head office address2":"福井市和田","Head office address3":"2-1805"}},"x-nta":{"sequenceNumber":"1795","process":{"code":"12","label":"国内所在地の変更"},"correct":"0","updateDate":"2021-07-14","changeDate":"2021-07-06","kind":{"code":"301","label":"株式会社"},"prefectureName":"福井県","cityName":"福井市","streetNumber":"和田２丁目１８０５番地","prefectureCode":"18","cityCode":"201","postCode":"9188238","assignmentDate":"2019-10-30","latest":"0","hihyoji":"0"}}"#
    );
    assert_eq!(
        current.document,
        r#"{"Basic":{"Destination":{"Corporate number":"6210001017768","Corporate name":"株式会社ＤＤＥＣ","Corporate name Kana":"ディーディーイーシー","Head office address1":"福井県","Head office address2":"福井市和田","Head office address3":"2-1805"}},"x-nta":{"sequenceNumber":"1796","process":{"code":"11","label":"商号又は名称の変更"},"correct":"0","updateDate":"2021-07-14","changeDate":"2021-07-06","kind":{"code":"301","label":"株式会社"},"prefectureName":"福井県","cityName":"福井市","streetNumber":"和田２丁目１８０５番地","prefectureCode":"18","cityCode":"201","postCode":"9188238","assignmentDate":"2019-10-30","latest":"1","hihyoji":"0"}}"#
    );
}

#[test]
fn the_sjis_file_is_decoded_as_cp932() {
    // 0x817C is U+FF0D (－) in CP932 but U+2212 (−) in JIS Shift_JIS; the CHOME
    // item narrows it to a hyphen, x-nta keeps it verbatim.
    let record = at(&SJIS, 5);
    assert_eq!(
        record.document,
        r#"{"Basic":{"Destination":{"Corporate number":"1010001180203","Corporate name":"ＣＡＮＯＰＵＳ　ＪＡＰＡＮ株式会社","Head office address1":"東京都","Head office address2":"中央区銀座","Head office address3":"3-11-19-908"}},"x-nta":{"sequenceNumber":"4","process":{"code":"01","label":"新規"},"correct":"0","updateDate":"2017-01-04","changeDate":"2016-12-26","kind":{"code":"301","label":"株式会社"},"prefectureName":"東京都","cityName":"中央区","streetNumber":"銀座３丁目１１番１９\u{FF0D}９０８号","prefectureCode":"13","cityCode":"102","postCode":"1040061","assignmentDate":"2016-12-26","latest":"1"}}"#
            .replace("\\u{FF0D}", "\u{FF0D}")
    );
    let forced = convert_with(&read(SJIS_FILE), &[("encoding", "cp932")], 64 * 1024).unwrap();
    assert_eq!(forced, *SJIS, "auto detects CP932");
}

#[test]
fn cp932_only_characters_round_trip_through_a_cp932_file() {
    // Real UTF-8 rows with Ⅰ Ⅱ Ⅲ Ⅳ 﨑 ～ (all in CP932, not in JIS X 0208), re-encoded as CP932.
    let file = read(UTF8_FILE);
    let lines: Vec<&str> = std::str::from_utf8(&file).unwrap().lines().collect();
    let picked = [196, 461, 1368, 2512, 1320, 2114];
    let utf8: String = picked
        .iter()
        .map(|&n| format!("{}\n", lines[n - 1]))
        .collect();
    let (cp932, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&utf8);
    assert!(!unmappable, "these rows are representable in CP932");
    for text in ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "﨑", "～"] {
        assert!(utf8.contains(text), "{text}");
    }
    let from_utf8 = convert(utf8.as_bytes());
    let from_cp932 = convert(&cp932);
    assert_eq!(from_cp932, from_utf8);
    assert_eq!(from_cp932.records.len(), 6);
    assert_eq!(
        convert_with(&cp932, &[("encoding", "cp932")], 7).unwrap(),
        from_utf8
    );
}

#[test]
fn any_chunking_gives_identical_output() {
    for (file, whole) in [(SJIS_FILE, &*SJIS), (UTF8_FILE, &*UTF8)] {
        let input = read(file);
        for chunk in [1, 7, 64 * 1024, input.len()] {
            let output = convert_with(&input, &[], chunk).unwrap();
            assert!(output == *whole, "{file} in chunks of {chunk} differs");
        }
    }
}

/// The first data row of the SJIS file, decoded (28 columns).
const ROW: &str = r#"1,1010001091219,21,0,2017-01-04,2016-12-22,"株式会社アオバ・インターナショナル",,301,"東京都","中央区","京橋２丁目９番９号",,13,102,1040031,,,2016-12-22,01,,,2015-10-05,1,,,,"#;

#[test]
fn short_rows_of_older_spec_versions_are_accepted() {
    let columns: Vec<&str> = ROW.split(',').collect();
    assert_eq!(columns.len(), 28);
    let ver1 = columns[..23].join(",");
    let output = convert(
        format!("{ver1}\n{ROW},\"アオバインターナショナル\"\n{ROW},\"アオバ\",1\n").as_bytes(),
    );
    assert_eq!(output.rejects, []);
    let documents: Vec<&str> = output.records.iter().map(|r| r.document.as_str()).collect();
    let expected_tail = r#""closeDate":"2016-12-22","closeCause":{"code":"01","label":"清算の結了等"},"assignmentDate":"2015-10-05""#;
    assert!(
        documents[0].ends_with(&format!("{expected_tail}}}}}")),
        "23 columns: no latest\n{}",
        documents[0]
    );
    assert!(documents[1].contains(r#""Corporate name Kana":"アオバインターナショナル""#));
    assert!(documents[1].ends_with(&format!("{expected_tail},\"latest\":\"1\"}}}}")));
    assert!(documents[2].ends_with(&format!(
        "{expected_tail},\"latest\":\"1\",\"hihyoji\":\"1\"}}}}"
    )));
}

#[test]
fn bad_rows_are_rejected_naming_line_column_and_value() {
    let with = |column: usize, value: &str| {
        let mut columns: Vec<String> = ROW.split(',').map(str::to_owned).collect();
        columns[column - 1] = value.to_owned();
        columns.join(",")
    };
    let input = [
        "2017-06-06,5492,1,3".to_owned(),
        with(2, "1010001091218"),
        ROW.rsplit_once(',').unwrap().0.to_owned(),
        "2017-06-06,5492,1,3".to_owned(),
        with(3, "98"),
        with(5, "2017-02-30"),
        with(5, ""),
        with(10, "\"東京\""),
        with(4, "2"),
        with(21, "9140001022641"),
        String::new(),
        with(7, "\"株式会社アオバ"),
        with(2, "１０１０００１０９１２１９"),
        "end of file".to_owned(),
        ROW.to_owned(),
    ]
    .join("\r\n");
    let output = convert_with(input.as_bytes(), &[], 5).unwrap();
    let reject = |line: u64, reason: &str| Reject {
        line,
        reason: reason.to_owned(),
    };
    assert_eq!(
        output.rejects,
        vec![
            reject(
                2,
                r#"column 2 (corporateNumber) = "1010001091218": check digit mismatch: expected 2, given 1"#
            ),
            reject(3, "27 columns; an NTA row has 23, 28, 29 or 30"),
            reject(
                4,
                "a Web-API header line (lastUpdateDate,count,divideNumber,divideSize) is only allowed as the first line"
            ),
            reject(
                5,
                r#"column 3 (process) = "98": unknown process code (known: 01, 11, 12, 13, 21, 22, 71, 72, 81, 99)"#
            ),
            reject(
                6,
                r#"column 5 (updateDate) = "2017-02-30": not a calendar date (YYYY-MM-DD)"#
            ),
            reject(7, "column 5 (updateDate) is empty; every row has one"),
            reject(
                8,
                r#"column 10 (prefectureName) = "東京": not one of the 47 prefecture names"#
            ),
            reject(9, r#"column 4 (correct) = "2": expected 0, 1 or empty"#),
            reject(
                10,
                r#"column 21 (successorCorporateNumber) = "9140001022641": check digit mismatch: expected 8, given 9"#
            ),
            reject(12, "column 7 (name): text follows the closing quote"),
            reject(
                13,
                r#"column 2 (corporateNumber) = "１０１０００１０９１２１９": character 1 ('１') is not a half-width digit"#
            ),
            reject(14, "1 column; an NTA row has 23, 28, 29 or 30"),
        ]
    );
    // The blank line 11 is skipped; the last line has no line feed and still counts.
    assert_eq!(
        output.records.iter().map(|r| r.line).collect::<Vec<_>>(),
        [15]
    );
    assert_eq!(output.as_of.as_deref(), Some("2017-06-06"));
}

#[test]
fn bytes_that_are_not_text_in_the_chosen_encoding_are_rejected() {
    let sjis = read(SJIS_FILE);
    let output = convert_with(&sjis, &[("encoding", "utf-8")], 64 * 1024).unwrap();
    assert_eq!(
        output.records.len(),
        4,
        "only the ASCII-only 99 rows are valid UTF-8"
    );
    assert_eq!(output.rejects.len(), 1996);
    assert_eq!(
        output.rejects[0],
        Reject {
            line: 2,
            reason: "column 7 (name): not valid UTF-8 text".into()
        }
    );
    let utf8 = read(UTF8_FILE);
    let output = convert_with(&utf8, &[("encoding", "cp932")], 64 * 1024).unwrap();
    assert_eq!(
        (output.records.len(), output.rejects.len()),
        (0, 2772),
        "no mojibake slips through"
    );
    assert_eq!(
        output.rejects.first().map(|r| r.reason.as_str()),
        Some("column 11 (cityName): not valid CP932 text")
    );
}

#[test]
fn a_byte_order_mark_is_skipped_and_lines_still_count_from_one() {
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(&read(UTF8_FILE)[..2000]);
    for chunk in [1, 2, 64 * 1024] {
        let output = convert_with(&input, &[], chunk).unwrap();
        assert_eq!(output.records[0], UTF8.records[0], "chunk {chunk}");
    }
    assert_eq!(
        convert_with(&input, &[("encoding", "cp932")], 64).unwrap_err(),
        ConvertError::InvalidInput(
            "the input starts with a UTF-8 byte-order mark but encoding cp932 was requested".into()
        )
    );
}

#[test]
fn options_and_non_csv_input_fail_with_a_clear_error() {
    assert_eq!(
        Converter::new(&[("encoding".into(), "latin1".into())]).unwrap_err(),
        ConvertError::InvalidOptions(
            r#"option encoding has unknown value "latin1" (expected auto, utf-8 or cp932)"#.into()
        )
    );
    assert_eq!(
        Converter::new(&[("delimiter".into(), ";".into())])
            .unwrap_err()
            .to_string(),
        r#"invalid options: unknown option "delimiter" (known: encoding)"#
    );
    assert_eq!(
        convert_with(b"PK\x03\x04\x14\x00\x00\x00", &[], 1).unwrap_err(),
        ConvertError::InvalidInput(
            "the input is a ZIP archive (NTA downloads are zipped): unzip it and upload the CSV file".into()
        )
    );
    let empty = convert_with(b"", &[], 1).unwrap();
    assert_eq!(
        empty,
        Output {
            records: vec![],
            rejects: vec![],
            as_of: None
        }
    );
}

#[test]
fn streets_split_cleanly_or_fall_back_whole() {
    let (mut split, mut whole) = (0, 0);
    for record in SJIS.records.iter().chain(&UTF8.records) {
        let doc: serde_json::Value = serde_json::from_str(&record.document).unwrap();
        let destination = &doc["Basic"]["Destination"];
        let prefix = if destination.get("Branch office address1").is_some() {
            "Branch"
        } else {
            "Head"
        };
        let town = destination.get(format!("{prefix} office address2"));
        let chome = destination.get(format!("{prefix} office address3"));
        match (town, chome) {
            (Some(_), Some(chome)) => {
                let chome = chome.as_str().unwrap();
                assert!(
                    chome
                        .split('-')
                        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
                    "line {}: CHOME {chome:?}",
                    record.line
                );
                split += 1;
            }
            (Some(town), None) => {
                // The fallback keeps city + street verbatim.
                let nta = &doc["x-nta"];
                let raw = format!(
                    "{}{}",
                    nta["cityName"].as_str().unwrap(),
                    nta["streetNumber"].as_str().unwrap()
                );
                assert_eq!(town.as_str(), Some(raw.as_str()), "line {}", record.line);
                whole += 1;
            }
            _ => {}
        }
    }
    assert_eq!((split, whole), (4699, 69));
}
