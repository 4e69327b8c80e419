//! The 47 prefecture names (都道府県), the only values of a PREF item.

/// The 47 prefectures in JIS X 0401 code order (`01` 北海道 … `47` 沖縄県).
pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// Whether `name` is exactly one of the 47 prefecture names.
pub fn is_prefecture(name: &str) -> bool {
    PREFECTURES.contains(&name)
}

/// The JIS X 0401 code (`"01"`..`"47"`) of a prefecture name.
pub fn prefecture_code(name: &str) -> Option<String> {
    PREFECTURES
        .iter()
        .position(|p| *p == name)
        .map(|i| format!("{:02}", i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_47_prefectures_and_their_codes() {
        assert!(is_prefecture("東京都"));
        assert!(is_prefecture("北海道"));
        assert!(!is_prefecture("東京"));
        assert!(!is_prefecture("東京都千代田区"));
        assert_eq!(prefecture_code("北海道").as_deref(), Some("01"));
        assert_eq!(prefecture_code("東京都").as_deref(), Some("13"));
        assert_eq!(prefecture_code("沖縄県").as_deref(), Some("47"));
        assert_eq!(prefecture_code("Tokyo"), None);
    }
}
