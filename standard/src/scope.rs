//! Scopes (consent / token scopes) and the top-level standard-data block each one grants.

/// Scope name → top-level block of standard data (gBizConnect `scope_mappings`).
pub const SCOPES: &[(&str, &str)] = &[
    ("basic", "Basic"),
    ("application", "Application"),
    ("finance", "Finance"),
    ("officer_list", "Officer list"),
    ("shareholder_list", "Shareholder list"),
    ("office_list", "Office list"),
    ("list_of_professions", "List of professions"),
    ("certificate", "Certificate"),
];

/// The top-level block a scope grants, if the scope is known.
pub fn block_of_scope(scope: &str) -> Option<&'static str> {
    SCOPES
        .iter()
        .find(|(name, _)| *name == scope)
        .map(|(_, block)| *block)
}

/// Whether `name` is an extension block (`x-…`, e.g. `x-nta`), which carries facts
/// the standard has no slot for.
pub fn is_extension_block(name: &str) -> bool {
    name.starts_with("x-")
}

/// Keeps only the blocks that `scopes` grant.
///
/// - No scopes at all: the whole document (every standard and `x-` block).
/// - Otherwise each known scope keeps its block ([`SCOPES`]), and an extension
///   block is kept only when a scope names it exactly (`x-nta` keeps `x-nta`).
///   Other scope names are ignored; if none is known the result is `{}`.
///   This fails closed, unlike gBizConnect, which returned everything when none of
///   a token's scopes was mapped.
/// - A block absent from the document stays absent; a non-object document
///   yields `{}`.
#[cfg(feature = "json")]
pub fn filter_by_scopes(doc: &serde_json::Value, scopes: &[String]) -> serde_json::Value {
    use serde_json::{Map, Value};

    let Some(blocks) = doc.as_object() else {
        return Value::Object(Map::new());
    };
    if scopes.is_empty() {
        return Value::Object(blocks.clone());
    }
    let granted = |block: &str| {
        scopes.iter().any(|scope| {
            block_of_scope(scope) == Some(block)
                || (is_extension_block(scope) && scope.as_str() == block)
        })
    };
    let kept = blocks
        .iter()
        .filter(|(block, _)| granted(block))
        .map(|(block, value)| (block.clone(), value.clone()))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_names_a_distinct_block() {
        assert_eq!(SCOPES.len(), 8);
        assert_eq!(block_of_scope("basic"), Some("Basic"));
        assert_eq!(block_of_scope("officer_list"), Some("Officer list"));
        assert_eq!(
            block_of_scope("list_of_professions"),
            Some("List of professions")
        );
        assert_eq!(block_of_scope("Basic"), None);
        let mut blocks: Vec<_> = SCOPES.iter().map(|(_, b)| *b).collect();
        blocks.sort_unstable();
        blocks.dedup();
        assert_eq!(blocks.len(), 8);
    }

    #[cfg(feature = "json")]
    mod filtering {
        use super::super::*;
        use serde_json::json;

        fn doc() -> serde_json::Value {
            json!({
                "Basic": {"Destination": {"Corporate number": "1180301018771"}},
                "Finance": [{"Other": {"Corporate number": "1180301018771"}}],
                "Certificate": {"Issuance information": {"ID": "A1"}},
                "x-nta": {"process": {"code": "01"}}
            })
        }

        fn scopes(names: &[&str]) -> Vec<String> {
            names.iter().map(|s| s.to_string()).collect()
        }

        #[test]
        fn no_scopes_returns_every_block() {
            assert_eq!(filter_by_scopes(&doc(), &[]), doc());
        }

        #[test]
        fn keeps_only_the_granted_blocks() {
            assert_eq!(
                filter_by_scopes(&doc(), &scopes(&["basic", "certificate"])),
                json!({
                    "Basic": {"Destination": {"Corporate number": "1180301018771"}},
                    "Certificate": {"Issuance information": {"ID": "A1"}}
                })
            );
        }

        #[test]
        fn a_granted_block_missing_from_the_document_stays_missing() {
            assert_eq!(
                filter_by_scopes(&doc(), &scopes(&["finance", "officer_list"])),
                json!({"Finance": [{"Other": {"Corporate number": "1180301018771"}}]})
            );
        }

        #[test]
        fn unknown_scopes_are_ignored_and_fail_closed() {
            assert_eq!(
                filter_by_scopes(&doc(), &scopes(&["basic", "everything"])),
                json!({"Basic": {"Destination": {"Corporate number": "1180301018771"}}})
            );
            assert_eq!(
                filter_by_scopes(&doc(), &scopes(&["everything"])),
                json!({})
            );
        }

        #[test]
        fn extension_blocks_only_when_named_or_when_unfiltered() {
            assert_eq!(
                filter_by_scopes(&doc(), &scopes(&["basic"])).get("x-nta"),
                None
            );
            assert_eq!(
                filter_by_scopes(&doc(), &scopes(&["x-nta"])),
                json!({"x-nta": {"process": {"code": "01"}}})
            );
            assert_eq!(filter_by_scopes(&doc(), &scopes(&["x-other"])), json!({}));
        }

        #[test]
        fn a_non_object_document_yields_an_empty_object() {
            assert_eq!(filter_by_scopes(&json!([1, 2]), &[]), json!({}));
        }
    }
}
