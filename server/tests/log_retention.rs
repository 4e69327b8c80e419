//! Exchange-log retention as an operator sees it from the command line: `renkei log prune` drops the
//! delivered records of old months, and `renkei log verify` (database or export) checks the kept log
//! from the anchor and still finds tampering after it.

use renkei::{
    node::exchange_log::{ExchangeLog, GENESIS, NewExchange, record_hash},
    storage::{self, entity::exchange_record},
};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use std::{path::Path, process::Command};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn renkei(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_renkei"))
        .args(args)
        .env_remove("RENKEI_DATABASE_URL")
        .output()
        .expect("renkei runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A node database whose log began long ago: three delivered records of 2024 and 2025, then two of
/// today, the first of them delivered.
async fn node_database(path: &Path) -> String {
    let url = storage::sqlite_url(path);
    let db = storage::open(&url).await.unwrap();
    let mut prev = GENESIS.to_owned();
    for (i, time) in [
        "2024-03-01T09:00:00.000+09:00",
        "2025-05-20T12:30:00.000+09:00",
        "2025-12-31T23:59:59.999+09:00",
    ]
    .into_iter()
    .enumerate()
    {
        let seq = i as i64 + 1;
        let mut r = exchange_record::Model {
            seq,
            request_id: format!("r{seq}"),
            time: time.into(),
            role: "provider".into(),
            requester: "grant-requester".into(),
            provider: "nta-provider".into(),
            api: "nta-corporations".into(),
            method: "GET".into(),
            path: format!("/v1/corporations/{seq}"),
            status: 200,
            latency_ms: 1.5,
            bytes_in: 0,
            bytes_out: 100,
            scopes: "basic".into(),
            corporate_number: None,
            outcome: "ok".into(),
            error_code: None,
            prev_hash: prev.clone(),
            hash: String::new(),
            shipped: true,
            receipt: None,
            client_addr: None,
            consent_ref: None,
        };
        r.hash = record_hash(&r);
        prev = r.hash.clone();
        r.into_active_model().reset_all().insert(&db).await.unwrap();
    }
    let log = ExchangeLog::open(db.clone()).await.unwrap();
    for i in 0..2 {
        log.append(NewExchange {
            request_id: format!("today-{i}"),
            role: "provider",
            status: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    log.mark_shipped(4).await.unwrap();
    db.close().await.unwrap();
    url
}

#[tokio::test]
async fn prune_drops_old_delivered_months_and_verify_starts_from_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let url = node_database(&dir.path().join("node.db")).await;

    let run = renkei(&["log", "prune", "--database-url", &url, "--months", "12"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("dropped 3 records of 2024-03..2025-12 (before "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the log now starts after seq 3"),
        "{}",
        run.stdout
    );

    let run = renkei(&["log", "verify", "--database-url", &url]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(
            "ok: 2 records verified from seq 4 (records before were dropped by retention at "
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("head seq 5 hash "), "{}", run.stdout);

    // Again: nothing more to drop.
    let run = renkei(&["log", "prune", "--database-url", &url, "--months", "12"]);
    assert!(
        run.stdout.starts_with("nothing to drop before "),
        "{}",
        run.stdout
    );

    // The export starts with the anchor, and verifies as the database does.
    let export = dir.path().join("node-log.jsonl");
    let export_arg = export.to_str().unwrap();
    let run = renkei(&[
        "log",
        "export",
        "--database-url",
        &url,
        "--output",
        export_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let anchor: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(anchor["anchor"]["seq"], 3);
    assert_eq!(
        anchor["anchor"]["record_time"],
        "2025-12-31T23:59:59.999+09:00"
    );
    let run = renkei(&["log", "verify", "--file", export_arg, "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["head"]["seq"], 5);
    assert_eq!(verdict["anchor"]["seq"], 3);

    // A record after the anchor changed in the export: found, at its seq.
    let tampered = text.replacen("\"status\":200", "\"status\":500", 1);
    assert_ne!(tampered, text);
    std::fs::write(&export, &tampered).unwrap();
    let run = renkei(&["log", "verify", "--file", export_arg]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("broken at seq 4 (changed)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("; checked from seq 4"),
        "{}",
        run.stdout
    );

    // Without its anchor line the kept log is a cut one, as it is to anyone checking from the genesis.
    std::fs::write(&export, lines[1..].join("\n")).unwrap();
    let run = renkei(&["log", "verify", "--file", export_arg]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("broken at seq 1 (removed)"),
        "{}",
        run.stdout
    );
}
