//! `sim export --format elle`: a real run's history in Jepsen/Elle's shape.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use sim::world::{simulate, RunConfig};
use workloads::workload::Workload;

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs")
}

#[test]
fn a_real_run_exports_one_elle_op_per_event_with_unique_register_values() {
    // The register workload writes unique values, so every committed write of a key has a
    // number of its own, as rw-register needs.
    let config = RunConfig { seed: 4, workload: Workload::Register, ..RunConfig::default() };
    let history = simulate(&config).history;
    let dir = std::env::temp_dir().join(format!("sim-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("history.jsonl");
    let text: String = history.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(&file, text).unwrap();
    let output = sim(&["export", "--format", "elle", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len(), history.len());
    let mut writers: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for (line, event) in lines.iter().zip(&history) {
        assert_eq!(line["f"], "txn");
        assert_eq!(line["index"], event.index);
        assert_eq!(line["process"], event.process);
        assert_eq!(line["time"], event.time * 1_000, "nanoseconds");
        let ops = line["value"].as_array().expect("value is a list of ops");
        assert_eq!(ops.len(), event.ops.len());
        for (op, mine) in ops.iter().zip(&event.ops) {
            let f = op[0].as_str().unwrap();
            assert!(f == "r" || f == "w", "{op}");
            assert_eq!(op[1], mine.key.as_str());
            assert_eq!(op[2].is_null(), mine.value.is_none(), "{op}");
            if line["type"] == "ok" && f == "w" {
                let n = op[2].as_u64().expect("an integer value");
                let earlier = writers.insert((mine.key.clone(), n), event.index);
                assert!(earlier.is_none(), "{op} written twice");
            }
        }
    }
    assert!(writers.len() > 50, "the run committed writes: {}", writers.len());
    let broken = dir.join("broken.jsonl");
    std::fs::write(&broken, "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"ok\",\"ops\":[]}\n")
        .unwrap();
    let output = sim(&["export", "--format", "elle", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.jsonl:1:"));
    std::fs::remove_dir_all(&dir).unwrap();
}
