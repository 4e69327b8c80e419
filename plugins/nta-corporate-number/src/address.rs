//! Splits NTA's street part (丁目番地等) into the standard's TOWN / CHOME / building parts.
//!
//! NTA publishes `湯島２丁目６番２号` in one field; the standard wants the town name
//! with the city (`文京区湯島`), 丁目 and below as half-width digits and hyphens
//! (`2-6-2`), and a building name apart. The split is made only when the street
//! reads unambiguously; otherwise [`split_street`] returns `None` and the caller
//! keeps the whole street in the TOWN item, so nothing is ever lost.

/// A street that split cleanly.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Street<'a> {
    /// The town name before the first number (may be empty: the city alone).
    pub(crate) town: &'a str,
    /// 丁目 and below, half-width digits joined by hyphens, e.g. `2-6-2`.
    pub(crate) chome: String,
    /// What follows the numbers (building, floor, room), spaces trimmed; may be empty.
    pub(crate) building: &'a str,
}

/// Number separators, longest first where one is a prefix of another. The rank
/// orders 丁目 < 番(地) < 号: a street never goes back to a higher unit.
const SEPARATORS: &[(&str, Option<u8>)] = &[
    ("番地の", Some(1)),
    ("番の", Some(1)),
    ("丁目", Some(0)),
    ("番地", Some(1)),
    ("丁", Some(0)),
    ("番", Some(1)),
    ("号", Some(2)),
    ("の", None),
    ("－", None),
    ("-", None),
    ("‐", None),
    ("−", None),
    // A long-vowel mark typed for a hyphen between digits (`３ー２０４`).
    ("ー", None),
];

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn half_width_digit(c: char) -> char {
    match c {
        '０'..='９' => {
            char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
        }
        _ => c,
    }
}

fn starts_with_digit(s: &str) -> bool {
    s.chars().next().is_some_and(is_digit)
}

/// `一`..`九十九` as written before 丁目 (`麴町一丁目`).
fn kanji_number(s: &str) -> Option<u32> {
    fn unit(c: char) -> Option<u32> {
        "一二三四五六七八九"
            .chars()
            .position(|k| k == c)
            .and_then(|i| u32::try_from(i + 1).ok())
    }
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        ['十'] => Some(10),
        [u] => unit(*u),
        ['十', u] => unit(*u).map(|u| 10 + u),
        [t, '十'] if *t != '一' => unit(*t).map(|t| t * 10),
        [t, '十', u] if *t != '一' => Some(unit(*t)? * 10 + unit(*u)?),
        _ => None,
    }
}

/// A remainder that continues the address rather than naming a building
/// (`７番町…`, `２地割…`, Sapporo's `丁目南３番…`, `（…街区…）`).
fn continues_address(rest: &str) -> bool {
    let mut chars = rest.chars();
    let first = chars.next();
    if ["町", "街", "耕地", "地割", "条", "線", "区"]
        .iter()
        .any(|p| rest.starts_with(p))
        || (matches!(first, Some('北' | '南' | '東' | '西')) && chars.next().is_some_and(is_digit))
    {
        return true;
    }
    // A number with an address unit anywhere later on.
    let mut after_digit = false;
    for (at, c) in rest.char_indices() {
        if is_digit(c) {
            after_digit = true;
            continue;
        }
        if after_digit
            && ["丁", "番", "条", "線", "地割", "街区"]
                .iter()
                .any(|unit| rest[at..].starts_with(unit))
        {
            return true;
        }
        after_digit = false;
    }
    false
}

/// Splits a street, or `None` when it does not read unambiguously.
pub(crate) fn split_street(street: &str) -> Option<Street<'_>> {
    let first_digit = street.find(is_digit)?;
    let mut town = &street[..first_digit];
    let mut numbers: Vec<String> = Vec::new();
    let mut rank: Option<u8> = None;

    if let Some(before) = town.strip_suffix("丁目") {
        let numeral_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| "一二三四五六七八九十".contains(*c))
            .last()
            .map(|(at, _)| at);
        if let Some(at) = numeral_start
            && let Some(n) = kanji_number(&before[at..])
        {
            town = &before[..at];
            numbers.push(n.to_string());
            rank = Some(0);
        }
    }
    if town.contains(['（', '(', '）', ')'])
        || town.ends_with('第')
        || town.contains("丁目")
        || town.contains("番地")
    {
        return None;
    }

    let mut at = first_digit;
    let mut last_start;
    let mut ended_bare = false;
    loop {
        last_start = at;
        let digits_len = street[at..]
            .find(|c: char| !is_digit(c))
            .unwrap_or(street.len() - at);
        numbers.push(
            street[at..at + digits_len]
                .chars()
                .map(half_width_digit)
                .collect(),
        );
        at += digits_len;
        let rest = &street[at..];
        let Some(&(separator, sep_rank)) = SEPARATORS.iter().find(|(s, _)| rest.starts_with(s))
        else {
            // A lone number directly followed by text (`北３条…`, `１１２５匝瑳ビル`)
            // is ambiguous; after a chain of numbers the text is a building.
            if at < street.len() && numbers.len() == 1 {
                return None;
            }
            ended_bare = true;
            break;
        };
        if let Some(r) = sep_rank {
            if rank.is_some_and(|seen| r <= seen) {
                return None;
            }
            rank = Some(r);
        }
        let after = at + separator.len();
        if separator == "号" {
            // Only a hyphen (or の) chain may follow 号: `６号－１０３` is a room number.
            let next = &street[after..];
            if let Some(joiner) = ["－", "-", "‐", "−", "ー", "の"]
                .iter()
                .find(|j| next.starts_with(**j))
                && starts_with_digit(&next[joiner.len()..])
            {
                at = after + joiner.len();
                continue;
            }
            at = after;
            break;
        }
        if starts_with_digit(&street[after..]) {
            at = after;
            continue;
        }
        if sep_rank.is_none() || separator.ends_with('の') {
            // A dangling hyphen or の.
            return None;
        }
        at = after;
        break;
    }

    // The last number belongs to the building when a floor or room follows it
    // (`４２２９－１－２階`, `２－５０７号室`, `１－３Ｆ`).
    let rest = &street[at..];
    let next = rest.chars().next();
    let floor_or_room = |c: char| {
        "階ＦFｆf室".contains(c)
            || c.is_ascii_alphabetic()
            || ('Ａ'..='Ｚ').contains(&c)
            || ('ａ'..='ｚ').contains(&c)
    };
    let room_after_go = street[..at].ends_with('号') && next == Some('室');
    if (ended_bare && next.is_some_and(floor_or_room)) || room_after_go {
        if numbers.len() < 2 {
            return None;
        }
        numbers.pop();
        at = last_start;
    }

    let building = street[at..].trim_matches([' ', '\u{3000}']);
    if !building.is_empty() && continues_address(building) {
        return None;
    }
    Some(Street {
        town,
        chome: numbers.join("-"),
        building,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(street: &str) -> Option<(&str, String, &str)> {
        split_street(street).map(|s| (s.town, s.chome, s.building))
    }

    #[test]
    fn splits_the_common_shapes() {
        assert_eq!(
            split("湯島２丁目６番２号"),
            Some(("湯島", "2-6-2".into(), ""))
        );
        assert_eq!(split("トヨタ町１番地"), Some(("トヨタ町", "1".into(), "")));
        assert_eq!(
            split("霞が関３丁目１－１"),
            Some(("霞が関", "3-1-1".into(), ""))
        );
        assert_eq!(
            split("元浜町１丁目２番地の３"),
            Some(("元浜町", "1-2-3".into(), ""))
        );
        assert_eq!(
            split("丑山口２７番地５"),
            Some(("丑山口", "27-5".into(), ""))
        );
        assert_eq!(
            split("南三国ヶ丘町２丁１番２３号"),
            Some(("南三国ヶ丘町", "2-1-23".into(), ""))
        );
        assert_eq!(split("十余三２４５"), Some(("十余三", "245".into(), "")));
        assert_eq!(split("１２３番地"), Some(("", "123".into(), "")));
    }

    #[test]
    fn separates_the_building() {
        assert_eq!(
            split("銀座３丁目９番５号伊勢半ビル６階"),
            Some(("銀座", "3-9-5".into(), "伊勢半ビル６階"))
        );
        assert_eq!(
            split("神田神保町１丁目１１番地さくら綜合事務所内"),
            Some(("神田神保町", "1-11".into(), "さくら綜合事務所内"))
        );
        assert_eq!(
            split("鉢山町９－２１細野ビル３０５"),
            Some(("鉢山町", "9-21".into(), "細野ビル３０５"))
        );
        assert_eq!(
            split("首里儀保一丁目２２番地　眞栄城ビル１Ｆ"),
            Some(("首里儀保", "1-22".into(), "眞栄城ビル１Ｆ"))
        );
        assert_eq!(
            split("丸の内３丁目１番１号東京共同会計事務所内"),
            Some(("丸の内", "3-1-1".into(), "東京共同会計事務所内"))
        );
    }

    #[test]
    fn keeps_floors_and_rooms_out_of_chome() {
        assert_eq!(
            split("遠藤４２２９－１－２階"),
            Some(("遠藤", "4229-1".into(), "２階"))
        );
        assert_eq!(
            split("上馬２丁目２２番２－５０７号室"),
            Some(("上馬", "2-22-2".into(), "５０７号室"))
        );
        assert_eq!(
            split("本町４丁目４番３６号１１号室"),
            Some(("本町", "4-4-36".into(), "１１号室"))
        );
        assert_eq!(
            split("吉祥寺本町１丁目８番２号３階"),
            Some(("吉祥寺本町", "1-8-2".into(), "３階"))
        );
        assert_eq!(
            split("千駄ヶ谷１丁目２３番６号－１０３"),
            Some(("千駄ヶ谷", "1-23-6-103".into(), ""))
        );
        assert_eq!(
            split("猿楽町１１番３ー２０４号プラウド代官山フロント"),
            Some(("猿楽町", "11-3-204".into(), "プラウド代官山フロント"))
        );
    }

    #[test]
    fn reads_kanji_chome() {
        assert_eq!(
            split("麴町一丁目８番１４号麴町ＹＫビル３階"),
            Some(("麴町", "1-8-14".into(), "麴町ＹＫビル３階"))
        );
        assert_eq!(
            split("甲子園高潮町七丁目２０－１０２"),
            Some(("甲子園高潮町", "7-20-102".into(), ""))
        );
        assert_eq!(kanji_number("二十二"), Some(22));
        assert_eq!(kanji_number("十"), Some(10));
        assert_eq!(kanji_number("一十"), None);
        assert_eq!(kanji_number("壱"), None);
    }

    #[test]
    fn leaves_ambiguous_streets_alone() {
        for street in [
            "本郷通７丁目南３番１５号",               // Sapporo 丁目南
            "坂井町下兵庫第８８号１４番地",           // 第…号 land blocks
            "沢内字太田２地割８１番地１",             // 地割
            "瓜幕西２５線２７番地５２",               // 線
            "西堀通５番町８３３番地",                 // 番町
            "（札幌市北十一条西二十二丁目１番地）",   // bracketed old address
            "飯塚１１２５匝瑳ビジネスオフィス１－Ｅ", // lone number then text
            "浜益区大字群別村番外地",                 // no number
            "大字壱丁目４１１番地９",                 // 壱丁目 is a town name
            "小島町１丁目２２番１－Ｂ２０５号",       // letter inside the chain
        ] {
            assert_eq!(split(street), None, "{street}");
        }
    }
}
