//! Server functions the pages call, and the one error type they return.

use crate::model::{ApiDetail, ApiSummary, CataloguePage, CatalogueQuery, CategoryCount};
use leptos::prelude::*;
use leptos::server_fn::codec::{Json, JsonEncoding};
use serde::{Deserialize, Serialize};

/// What can go wrong between a page and the portal's data. The page branches on the variant
/// (a missing API is a 404 page, the rest an error notice), so it travels typed, as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    /// The thing asked for does not exist; the text names it.
    #[error("{0}")]
    NotFound(String),
    /// The portal's data source answered with an error.
    #[error("データを読み込めませんでした / Could not load the data: {0}")]
    Data(String),
    /// The call itself failed (network, encoding, server wiring).
    #[error("サーバーとの通信に失敗しました / The request to the server failed: {0}")]
    Transport(String),
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// The catalogue: every published API.
#[server(prefix = "/ui/fn", endpoint = "list_apis")]
pub async fn list_apis() -> Result<Vec<ApiSummary>, UiError> {
    data::source()?.list_apis().await.map_err(UiError::Data)
}

/// One page of the catalogue search (words AND, categories OR, by name then id) with the category
/// counts for the filter list.
#[server(prefix = "/ui/fn", endpoint = "search_catalogue", input = Json)]
pub async fn search_catalogue(query: CatalogueQuery) -> Result<CataloguePage, UiError> {
    let mut query = query;
    query.page = query.page.clamp(1, 1_000_000);
    // Bounded like the REST search: a URL cannot make the database do unbounded work.
    query.categories.truncate(MAX_FILTERS);
    if query.words().len() > MAX_FILTERS {
        query.q = query.words()[..MAX_FILTERS].join(" ");
    }
    data::source()?
        .search_apis(query)
        .await
        .map_err(UiError::Data)
}

/// The catalogue's categories with their counts (the filter list).
#[server(prefix = "/ui/fn", endpoint = "catalogue_categories")]
pub async fn catalogue_categories() -> Result<Vec<CategoryCount>, UiError> {
    data::source()?.categories().await.map_err(UiError::Data)
}

/// At most this many words and categories count in a catalogue search.
pub const MAX_FILTERS: usize = 20;

/// One API's detail page data; `NotFound` when no API has this slug.
#[server(prefix = "/ui/fn", endpoint = "api_detail")]
pub async fn get_api_detail(slug: String) -> Result<ApiDetail, UiError> {
    data::source()?
        .api_detail(slug.clone())
        .await
        .map_err(UiError::Data)?
        .ok_or_else(|| UiError::NotFound(not_found_message(&slug)))
}

/// The text of the 404 page for an unknown API slug.
pub fn not_found_message(slug: &str) -> String {
    format!("API「{slug}」は見つかりません / No API with the slug \"{slug}\" exists.")
}

#[cfg(feature = "ssr")]
mod data {
    use super::UiError;
    use crate::model::PortalData;
    use leptos::prelude::use_context;
    use std::sync::Arc;

    /// The data source the server provided as context. Missing context is a wiring bug on the
    /// server, reported as an error page rather than a panic.
    pub(super) fn source() -> Result<Arc<dyn PortalData>, UiError> {
        use_context::<Arc<dyn PortalData>>().ok_or_else(|| {
            UiError::Transport(
                "portal data source missing: the server must provide Arc<dyn PortalData> as context"
                    .to_string(),
            )
        })
    }
}

/// A documentation page (guide, FAQ) rendered from the Markdown files shipped in `docs/portal/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    pub title: String,
    /// HTML made from the Markdown; any raw HTML in the file was escaped, never passed through.
    pub html: String,
}

/// The doc page `slug` in `lang` (`ja` / `en`; anything else is Japanese).
#[server(prefix = "/ui/fn", endpoint = "doc_page")]
pub async fn doc_page(slug: String, lang: String) -> Result<Doc, UiError> {
    docs::page(&slug, &lang).ok_or_else(|| {
        UiError::NotFound(format!(
            "ドキュメント「{slug}」は見つかりません / No document \"{slug}\" exists."
        ))
    })
}

/// The Markdown sources, compiled into the server; `(slug, ja, en)`.
#[cfg(feature = "ssr")]
pub mod docs {
    use super::Doc;
    use pulldown_cmark::{Event, Options, Parser, Tag, html};

    const DOCS: &[(&str, &str, &str)] = &[
        (
            "guide",
            include_str!("../../docs/portal/guide.ja.md"),
            include_str!("../../docs/portal/guide.en.md"),
        ),
        (
            "faq",
            include_str!("../../docs/portal/faq.ja.md"),
            include_str!("../../docs/portal/faq.en.md"),
        ),
    ];

    pub fn page(slug: &str, lang: &str) -> Option<Doc> {
        let (_, ja, en) = DOCS.iter().find(|(s, _, _)| *s == slug)?;
        let source = if lang == "en" { en } else { ja };
        Some(render(source))
    }

    /// Markdown to HTML. Raw HTML blocks and inline HTML become text (escaped), so a doc file can
    /// never put markup or script into the page; the title is the first `# ` heading.
    pub fn render(source: &str) -> Doc {
        let title = source
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or("")
            .trim()
            .to_owned();
        let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
        let events = Parser::new_ext(source, options).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
                link_type,
                dest_url: "#".into(),
                title,
                id,
            }),
            other => other,
        });
        let mut out = String::new();
        html::push_html(&mut out, events);
        Doc { title, html: out }
    }

    /// Links may go to pages and the web, never run script (`javascript:`, `data:`, `vbscript:`).
    fn safe_url(url: &str) -> bool {
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.trim().to_ascii_lowercase())
            .filter(|s| !s.contains('/'));
        match scheme {
            None => true,
            Some(s) => matches!(s.as_str(), "http" | "https" | "mailto"),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn script_links_are_neutralised() {
            let page = super::render(
                "[a](javascript:alert(1)) [b](/docs/faq) [c](https://example.jp/x) [d](JavaScript:x)",
            );
            assert!(
                !page.html.to_ascii_lowercase().contains("javascript:"),
                "{}",
                page.html
            );
            assert!(page.html.contains("href=\"/docs/faq\""), "{}", page.html);
            assert!(
                page.html.contains("href=\"https://example.jp/x\""),
                "{}",
                page.html
            );
            assert_eq!(page.html.matches("href=\"#\"").count(), 2, "{}", page.html);
        }

        #[test]
        fn raw_html_is_escaped_and_markdown_rendered() {
            let page = super::render(
                "# Title\n\nHello **world** <script>alert(1)</script>\n\n<div>x</div>\n",
            );
            assert_eq!(page.title, "Title");
            assert!(page.html.contains("<h1>Title</h1>"), "{}", page.html);
            assert!(
                page.html.contains("<strong>world</strong>"),
                "{}",
                page.html
            );
            assert!(!page.html.contains("<script"), "{}", page.html);
            assert!(page.html.contains("&lt;script&gt;"), "{}", page.html);
            assert!(!page.html.contains("<div>"), "{}", page.html);
        }

        #[test]
        fn every_doc_exists_in_both_languages() {
            for slug in ["guide", "faq"] {
                for lang in ["ja", "en"] {
                    let page = super::page(slug, lang).unwrap();
                    assert!(!page.title.is_empty(), "{slug} {lang}");
                }
            }
            assert!(super::page("nope", "ja").is_none());
        }
    }
}
