//! What the portal pages show, and (server only) the data source they read it from.

use serde::{Deserialize, Serialize};

/// One published API as the catalogue lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSummary {
    /// URL-safe identifier, e.g. `nta-corporations`.
    pub slug: String,
    pub name: String,
    pub summary: String,
    /// Providing organisation's display name.
    pub provider: String,
    /// The provider node's client id (what a requester puts in `client_id`).
    pub provider_client_id: String,
    pub categories: Vec<String>,
    /// Scopes the API offers, e.g. `basic`.
    pub scopes: Vec<String>,
    pub consent_required: bool,
    /// Path template at the provider node, e.g. `/v1/corporations/{number}`.
    pub path_template: String,
}

/// The API detail page: the summary plus its description and OpenAPI document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDetail {
    pub api: ApiSummary,
    pub description: String,
    /// The OpenAPI 3 document, pretty-printed JSON.
    pub openapi_json: String,
    /// Terms of use the provider set (may be empty).
    #[serde(default)]
    pub terms: String,
    /// The name of the organisation that publishes the API, when it has one in the registry.
    #[serde(default)]
    pub provider_organisation: Option<String>,
}

/// How many tiles one catalogue page shows.
pub const CATALOGUE_PER_PAGE: u64 = 12;

/// A catalogue search as the page's URL carries it: `?q=…&category=…&category=…&page=…`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueQuery {
    /// Free text; every word must occur (case-insensitive).
    pub q: String,
    /// An API matches when it carries any of these (OR).
    pub categories: Vec<String>,
    /// From 1.
    pub page: u64,
}

impl CatalogueQuery {
    /// The words of `q`, lower-cased.
    pub fn words(&self) -> Vec<String> {
        self.q
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// The catalogue URL of this query (`page` 1 is left out), so a link or a reload shows it again.
    pub fn href(&self) -> String {
        let mut pairs = Vec::new();
        if !self.q.trim().is_empty() {
            pairs.push(format!("q={}", encode_component(self.q.trim())));
        }
        for c in &self.categories {
            pairs.push(format!("category={}", encode_component(c)));
        }
        if self.page > 1 {
            pairs.push(format!("page={}", self.page));
        }
        if pairs.is_empty() {
            "/catalogue".to_owned()
        } else {
            format!("/catalogue?{}", pairs.join("&"))
        }
    }
}

/// Percent-encodes a query component (UTF-8; unreserved characters stay as they are).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One category of the filter list, with how many published APIs carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub name: String,
    pub apis: u64,
}

/// One page of catalogue results.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CataloguePage {
    pub items: Vec<ApiSummary>,
    /// Matches over all pages.
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

/// The search over a list held in memory, with the same rules as the portal's database search:
/// every word occurs in one of the fields, any chosen category, by name then slug, one page.
pub fn search_in_memory(
    all: &[ApiSummary],
    query: &CatalogueQuery,
    per_page: u64,
) -> CataloguePage {
    let words = query.words();
    let mut hits: Vec<&ApiSummary> = all
        .iter()
        .filter(|api| {
            let text = [
                api.name.as_str(),
                api.slug.as_str(),
                api.summary.as_str(),
                api.provider.as_str(),
            ]
            .into_iter()
            .chain(api.categories.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
                && (query.categories.is_empty()
                    || api.categories.iter().any(|c| query.categories.contains(c)))
        })
        .collect();
    hits.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.slug.cmp(&b.slug)));
    let per_page = per_page.max(1);
    let page = query.page.max(1);
    let total = hits.len() as u64;
    let items = hits
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .cloned()
        .collect();
    CataloguePage {
        items,
        total,
        page,
        pages: total.div_ceil(per_page),
    }
}

/// Every category of `all` with its number of APIs, by name.
pub fn count_categories(all: &[ApiSummary]) -> Vec<CategoryCount> {
    let mut counts: Vec<CategoryCount> = Vec::new();
    for c in all.iter().flat_map(|a| a.categories.iter()) {
        match counts.iter_mut().find(|k| &k.name == c) {
            Some(k) => k.apis += 1,
            None => counts.push(CategoryCount {
                name: c.clone(),
                apis: 1,
            }),
        }
    }
    counts.sort_by(|a, b| a.name.cmp(&b.name));
    counts
}

/// One exchange-log record as the portal collected it from a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeView {
    /// The node that wrote the record (its client id).
    pub node: String,
    /// The record's position in that node's log.
    pub seq: i64,
    /// Shared by the requester's and the provider's record of one exchange.
    pub request_id: String,
    /// JST, RFC 3339 with `+09:00`.
    pub time: String,
    /// `requester` or `provider`.
    pub role: String,
    pub requester: String,
    pub provider: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    /// `ok` or `error`.
    pub outcome: String,
    pub error_code: Option<String>,
}

#[cfg(feature = "ssr")]
pub use source::{BoxFuture, PortalData};

#[cfg(feature = "ssr")]
mod source {
    use super::{
        ApiDetail, ApiSummary, CataloguePage, CatalogueQuery, CategoryCount, ExchangeView,
    };
    use std::{future::Future, pin::Pin};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Where server functions read portal data. The server implements it over its
    /// database and hands it to Leptos as context (`Arc<dyn PortalData>`).
    pub trait PortalData: Send + Sync + 'static {
        fn list_apis(&self) -> BoxFuture<'_, Result<Vec<ApiSummary>, String>>;
        /// One page of the catalogue search. The default searches [`PortalData::list_apis`] in
        /// memory; the portal's database answers it with its indexed search.
        fn search_apis(
            &self,
            query: CatalogueQuery,
        ) -> BoxFuture<'_, Result<CataloguePage, String>> {
            Box::pin(async move {
                let all = self.list_apis().await?;
                Ok(super::search_in_memory(
                    &all,
                    &query,
                    super::CATALOGUE_PER_PAGE,
                ))
            })
        }
        /// Every category of a published API with its number of APIs (the filter list).
        fn categories(&self) -> BoxFuture<'_, Result<Vec<CategoryCount>, String>> {
            Box::pin(async move { Ok(super::count_categories(&self.list_apis().await?)) })
        }
        /// A published API by slug; `None` for an unknown or unpublished one.
        fn api_detail(&self, slug: String) -> BoxFuture<'_, Result<Option<ApiDetail>, String>>;
        /// Newest first.
        fn recent_exchanges(&self, limit: u64) -> BoxFuture<'_, Result<Vec<ExchangeView>, String>>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(slug: &str, name: &str, categories: &[&str]) -> ApiSummary {
        ApiSummary {
            slug: slug.into(),
            name: name.into(),
            summary: format!("{name} summary"),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn memory_search_ands_words_ors_categories_and_pages_by_name() {
        let all = vec![
            api("c", "Gamma", &["tax"]),
            api("a", "Alpha", &["registry", "tax"]),
            api("b", "Beta", &["finance"]),
            api("d", "Delta", &["other"]),
        ];
        let q = |q: &str, cats: &[&str], page: u64| CatalogueQuery {
            q: q.into(),
            categories: cats.iter().map(|c| c.to_string()).collect(),
            page,
        };
        let slugs = |p: CataloguePage| p.items.iter().map(|a| a.slug.clone()).collect::<Vec<_>>();
        assert_eq!(
            slugs(search_in_memory(&all, &q("", &["tax", "finance"], 1), 10)),
            ["a", "b", "c"]
        );
        assert_eq!(
            slugs(search_in_memory(&all, &q("ALPHA summary", &[], 1), 10)),
            ["a"]
        );
        assert_eq!(
            slugs(search_in_memory(&all, &q("alpha zzz", &[], 1), 10)),
            Vec::<String>::new()
        );
        let page2 = search_in_memory(&all, &q("", &[], 2), 3);
        assert_eq!((page2.total, page2.pages), (4, 2));
        // By name: Alpha, Beta, Delta | Gamma.
        assert_eq!(slugs(page2), ["c"]);
        let counts = count_categories(&all);
        assert_eq!(
            counts[0],
            CategoryCount {
                name: "finance".into(),
                apis: 1
            }
        );
        assert_eq!(
            counts.iter().find(|c| c.name == "tax").map(|c| c.apis),
            Some(2)
        );
    }

    #[test]
    fn query_href_keeps_every_part_and_encodes_it() {
        let query = CatalogueQuery {
            q: " 法人 a&b ".into(),
            categories: vec!["国税庁".into(), "Corporate registry".into()],
            page: 2,
        };
        assert_eq!(
            query.href(),
            "/catalogue?q=%E6%B3%95%E4%BA%BA%20a%26b&category=%E5%9B%BD%E7%A8%8E%E5%BA%81&category=Corporate%20registry&page=2"
        );
        assert_eq!(CatalogueQuery::default().href(), "/catalogue");
    }
}
