//! `renkei bench catalogue`: seeds a fresh database with many published APIs and times the
//! catalogue search the portal serves (the same [`catalogue::search`] call), printing p50 / p95.

use super::catalogue::{self, PUBLISHED, SearchQuery};
use crate::storage::entity::{portal_api, portal_api_category, portal_api_search};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, TransactionTrait};
use std::time::{Duration, Instant};

const CATEGORIES: [&str; 24] = [
    "法人基本情報",
    "財務",
    "補助金",
    "許認可",
    "調達",
    "届出",
    "表彰",
    "職場情報",
    "特許",
    "商業登記",
    "税",
    "社会保険",
    "労働",
    "環境",
    "建設",
    "運輸",
    "医療",
    "教育",
    "農林水産",
    "金融",
    "観光",
    "エネルギー",
    "防災",
    "統計",
];
const WORDS: [&str; 16] = [
    "法人",
    "申請",
    "履歴",
    "証明",
    "一覧",
    "照会",
    "実績",
    "情報",
    "登録",
    "status",
    "corporate",
    "grant",
    "license",
    "finance",
    "office",
    "history",
];

/// Timings of one kind of query.
#[derive(Debug, Clone)]
pub struct Timing {
    pub kind: &'static str,
    pub runs: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub max: Duration,
    /// Matches of the last run, to show the queries are not empty.
    pub last_total: u64,
}

#[derive(Debug, Clone)]
pub struct CatalogueBench {
    pub apis: u64,
    pub seed: Duration,
    pub timings: Vec<Timing>,
}

impl std::fmt::Display for CatalogueBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "catalogue search over {} published APIs (seeded in {:.1} s), server-side, per query:",
            self.apis,
            self.seed.as_secs_f64()
        )?;
        writeln!(
            f,
            "  {:<38} {:>5} {:>9} {:>9} {:>9} {:>8}",
            "query", "runs", "p50 ms", "p95 ms", "max ms", "matches"
        )?;
        for t in &self.timings {
            writeln!(
                f,
                "  {:<38} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>8}",
                t.kind,
                t.runs,
                t.p50.as_secs_f64() * 1e3,
                t.p95.as_secs_f64() * 1e3,
                t.max.as_secs_f64() * 1e3,
                t.last_total
            )?;
        }
        Ok(())
    }
}

/// A small deterministic generator (no seed file, same catalogue every run).
struct Lcg(u64);

/// A named kind of search and how to draw one at random.
type QueryKind = (&'static str, fn(&mut Lcg) -> SearchQuery);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Inserts `apis` published APIs with 1 to 3 categories each, in batches, in one transaction.
pub async fn seed(db: &DatabaseConnection, apis: u64) -> Result<(), sea_orm::DbErr> {
    let mut rng = Lcg(42);
    let txn = db.begin().await?;
    let doc = include_str!("../demo/nta-corporations.openapi.json").to_owned();
    let mut next_id = 1_000_000i64;
    let batch = 500u64;
    let mut done = 0u64;
    while done < apis {
        let n = batch.min(apis - done);
        let mut rows = Vec::new();
        let mut cats = Vec::new();
        let mut searches = Vec::new();
        for i in done..done + n {
            next_id += 1;
            let mut categories: Vec<&str> = (0..1 + rng.next(3))
                .map(|_| CATEGORIES[rng.next(CATEGORIES.len())])
                .collect();
            categories.sort();
            categories.dedup();
            let name = format!(
                "{} {} API {i:05}",
                WORDS[rng.next(WORDS.len())],
                WORDS[rng.next(WORDS.len())]
            );
            let api = portal_api::Model {
                id: next_id,
                slug: format!("bench-api-{i:05}"),
                name,
                summary: format!(
                    "{} の{}を返します",
                    categories.join("・"),
                    WORDS[rng.next(WORDS.len())]
                ),
                description: format!(
                    "Benchmark API {i}: {}",
                    WORDS[rng.next(WORDS.len())].repeat(3)
                ),
                provider: format!("提供者 {}", i % 97),
                provider_client_id: format!("bench-node-{}", i % 97),
                categories: serde_json::json!(categories).to_string(),
                scopes: serde_json::json!(["basic"]).to_string(),
                consent_required: false,
                path_template: "/v1/corporations/{corporate_number}".to_owned(),
                openapi: doc.clone(),
                organisation_id: None,
                terms: String::new(),
                status: PUBLISHED.to_owned(),
                version: "1.0.0".to_owned(),
                updated_at: crate::jst::now_rfc3339(),
            };
            searches.push(portal_api_search::ActiveModel {
                api_id: Set(next_id),
                status: Set(PUBLISHED.to_owned()),
                name: Set(api.name.clone()),
                search_text: Set(catalogue::search_text(&api)),
            });
            for c in &categories {
                cats.push(portal_api_category::ActiveModel {
                    id: Default::default(),
                    api_id: Set(next_id),
                    category: Set((*c).to_owned()),
                });
            }
            rows.push(portal_api::ActiveModel {
                id: Set(api.id),
                slug: Set(api.slug),
                name: Set(api.name),
                summary: Set(api.summary),
                description: Set(api.description),
                provider: Set(api.provider),
                provider_client_id: Set(api.provider_client_id),
                categories: Set(api.categories),
                scopes: Set(api.scopes),
                consent_required: Set(api.consent_required),
                path_template: Set(api.path_template),
                openapi: Set(api.openapi),
                organisation_id: Set(None),
                terms: Set(api.terms),
                status: Set(api.status),
                version: Set(api.version),
                updated_at: Set(api.updated_at),
            });
        }
        portal_api::Entity::insert_many(rows).exec(&txn).await?;
        portal_api_category::Entity::insert_many(cats)
            .exec(&txn)
            .await?;
        portal_api_search::Entity::insert_many(searches)
            .exec(&txn)
            .await?;
        done += n;
    }
    txn.commit().await
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// Seeds `apis` APIs into the database at `database_url` (which must be empty) and runs `runs`
/// queries of each kind.
pub async fn run(database_url: &str, apis: u64, runs: usize) -> anyhow::Result<CatalogueBench> {
    let db = crate::storage::open(database_url).await?;
    let started = Instant::now();
    seed(&db, apis).await?;
    let seed_time = started.elapsed();
    let everything = catalogue::search(
        &db,
        &SearchQuery {
            page: 1,
            per_page: 1,
            ..Default::default()
        },
    )
    .await?;
    anyhow::ensure!(
        everything.total == apis,
        "seeded {apis} APIs but the catalogue lists {}",
        everything.total
    );
    let mut rng = Lcg(7);
    let kinds: [QueryKind; 5] = [
        ("all, page 1", |_| SearchQuery {
            page: 1,
            per_page: 20,
            ..Default::default()
        }),
        ("2 categories (OR), page 1..5", |r| SearchQuery {
            categories: vec![
                CATEGORIES[r.next(CATEGORIES.len())].into(),
                CATEGORIES[r.next(CATEGORIES.len())].into(),
            ],
            page: 1 + r.next(5) as u64,
            per_page: 20,
            ..Default::default()
        }),
        ("text (1 word)", |r| SearchQuery {
            words: vec![WORDS[r.next(WORDS.len())].to_lowercase()],
            page: 1,
            per_page: 20,
            ..Default::default()
        }),
        ("text (2 words) + 3 categories", |r| SearchQuery {
            words: vec![
                WORDS[r.next(WORDS.len())].to_lowercase(),
                WORDS[r.next(WORDS.len())].to_lowercase(),
            ],
            categories: (0..3)
                .map(|_| CATEGORIES[r.next(CATEGORIES.len())].to_owned())
                .collect(),
            page: 1,
            per_page: 20,
        }),
        ("deep page (all, page 400)", |_| SearchQuery {
            page: 400,
            per_page: 20,
            ..Default::default()
        }),
    ];
    let mut timings = Vec::new();
    for (kind, make) in kinds {
        // Warm-up: the first query of a kind pays for the page cache.
        catalogue::search(&db, &make(&mut rng)).await?;
        let mut times = Vec::with_capacity(runs);
        let mut last_total = 0;
        for _ in 0..runs {
            let query = make(&mut rng);
            let t = Instant::now();
            let page = catalogue::search(&db, &query).await?;
            times.push(t.elapsed());
            last_total = page.total;
        }
        times.sort();
        timings.push(Timing {
            kind,
            runs,
            p50: percentile(&times, 0.50),
            p95: percentile(&times, 0.95),
            max: *times.last().unwrap_or(&Duration::ZERO),
            last_total,
        });
    }
    Ok(CatalogueBench {
        apis,
        seed: seed_time,
        timings,
    })
}
