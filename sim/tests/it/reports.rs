//! What a person reads: run summaries, `--report` files and `sim shrink` output name each
//! transaction one way, use one unit of time, explain their notation, and count things so
//! the numbers add up.

use std::path::PathBuf;
use std::process::{Command, Output};

use sim::explain::report::DIAGRAM_LEGEND;
use sim::explain::scene::RunCounts;
use sim::hunt::outcome::evaluate;
use sim::world::faults::FaultSpec;
use sim::world::RunConfig;
use workloads::workload::Workload;

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// A scratch file path unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sim-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// stdout of `sim run ARGS --report FILE`, and the file.
fn run_with_report(args: &[&str], name: &str) -> (String, String) {
    let path = scratch(name);
    // A report left by an earlier call would be refused (no --force), never read as this one's.
    let _ = std::fs::remove_file(&path);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--report", path.to_str().unwrap()]);
    let output = sim(&all);
    assert!(output.status.code().is_some_and(|c| c < 2), "{}", text(&output.stderr));
    let report = std::fs::read_to_string(&path).expect("the report file is written");
    (text(&output.stdout), report)
}

const FAILING: &[&str] = &["--seed", "3", "--bug", "skip-validation"];

/// Words of `text`: runs of letters, digits, `_`.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn is_name(word: &str, prefix: char) -> bool {
    word.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[test]
fn a_transaction_has_one_name_and_its_other_ids_appear_only_attached_to_it() {
    // Store txn ids (t321) and process numbers appear only in `T583 = txn t321, process 4
    // on client c5` legends (or the one reply that hands the id out); everything else,
    // diagram rows included, says T583.
    let (stdout, report) = run_with_report(FAILING, "names.txt");
    let shrink = sim(&["shrink", "--seed", "3", "--bug", "skip-validation", "--out"]
        .into_iter()
        .chain([scratch("names.json").to_str().unwrap()])
        .collect::<Vec<_>>());
    let shrink = text(&shrink.stdout);
    for (what, output) in [("stdout", &stdout), ("report", &report), ("shrink", &shrink)] {
        let mut legends = std::collections::BTreeSet::new();
        for line in output.lines() {
            if let Some((name, _)) = line.trim_start().split_once(" = txn ") {
                legends.insert(name.trim_start_matches("where ").to_string());
            }
        }
        assert!(!legends.is_empty(), "{what} has no legend:\n{output}");
        for line in output.lines() {
            let w = words(line);
            // A row of the history listing: the name first, then its process and txn id.
            if w.first().is_some_and(|n| is_name(n, 'T'))
                && w.get(1).is_some_and(|p| is_name(p, 'p'))
            {
                continue;
            }
            for (i, word) in w.iter().enumerate() {
                if is_name(word, 't') {
                    let before = if i > 0 { w[i - 1] } else { "" };
                    assert!(
                        before == "txn" || before == "occ_begin_ok" || before == "txn_id",
                        "{what}: a bare store txn id `{word}` in: {line}"
                    );
                }
                let numbered = w.get(i + 1).is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
                if *word == "process" && numbered {
                    assert!(line.contains(" = txn "), "{what}: a bare process number in: {line}");
                }
            }
            // A diagram row: time, arrow, then the transaction's name with a legend.
            if line.contains("|") && line.contains(" occ_") {
                let label = line.rsplit("| ").next().unwrap().trim_start();
                let name = label.split(' ').next().unwrap();
                assert!(is_name(name, 'T'), "{what}: a diagram row without a T-name: {line}");
                assert!(legends.contains(name), "{what}: {name} is drawn but never introduced");
            }
        }
    }
}

#[test]
fn the_report_file_holds_everything_stdout_printed() {
    // Every line of stdout (but the notes saying what only the file has) is in the
    // report file, in order: configuration, counts, every "where" block, diagrams, repro.
    for (args, name) in [(FAILING, "failing.txt"), (&["--seed", "7", "--txns", "40"][..], "ok.txt")]
    {
        let (stdout, report) = run_with_report(args, name);
        let mut rest = report.lines();
        for line in stdout.lines().filter(|l| !l.contains("rerun with --report FILE")) {
            assert!(
                rest.any(|r| r == line),
                "{args:?}: the report lacks (or misorders) `{line}`:\n{report}"
            );
        }
    }
    let (stdout, report) = run_with_report(FAILING, "full.txt");
    let count = |text: &str, needle: &str| text.lines().filter(|l| l.trim() == needle).count();
    assert!(count(&report, "where") > count(&stdout, "where"), "the file explains every anomaly");
    assert_eq!(
        count(&report, "messages of these transactions:"),
        count(&report, "where"),
        "and draws each one's messages"
    );
}

#[test]
fn times_are_in_milliseconds_everywhere_in_a_report() {
    // One unit: no `t=<us>` from the checker, no seconds in the summary, ms in headers.
    let (stdout, report) = run_with_report(FAILING, "units.txt");
    for output in [&stdout, &report] {
        assert!(!output.contains("t="), "{output}");
        let virtual_time = output.lines().find(|l| l.starts_with("virtual time: ")).unwrap();
        assert!(virtual_time.contains("ms (faults healed at "), "{virtual_time}");
        assert!(virtual_time.ends_with("ms)"), "{virtual_time}");
        assert!(output.contains("times: ms of virtual time"), "the legend names the unit");
        for line in output.lines().filter(|l| l.contains(": invoked ")) {
            assert!(line.contains("ms (line "), "{line}");
        }
    }
    // Sentences from the simulator (liveness, panics) are in ms too.
    for args in [
        &["--seed", "0", "--bug", "hang-after-100-commits"][..],
        &["--seed", "0", "--bug", "panic-on-conflict"],
    ] {
        let (stdout, report) = run_with_report(args, "units-2.txt");
        for output in [&stdout, &report] {
            let micro = words(output).into_iter().find(|w| {
                w.strip_suffix("us")
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            });
            assert_eq!(micro, None, "{args:?}:\n{output}");
        }
    }
}

#[test]
fn a_report_explains_every_notation_its_diagrams_use() {
    // rv[...], w[...], (re N), (msg N), arrows, losses and banners each have a legend line.
    let (_, report) = run_with_report(&["--seed", "2", "--bug", "skip-validation"], "legend.txt");
    let legend = DIAGRAM_LEGEND.join("\n");
    for notation in ["rv[", "w[", "(re N)", "(msg N)", "[duplicated]", "[dropped]", "~~~", "X"] {
        assert!(legend.contains(notation), "the legend lacks {notation}");
    }
    for line in DIAGRAM_LEGEND {
        assert_eq!(report.matches(line).count(), 1, "printed once: {line}");
    }
    assert!(report.contains("r k@v = \"x\": read x at version v"), "the checker's legend too");
}

#[test]
fn run_counts_add_up_to_what_the_checker_counts() {
    // Logical transactions and attempts are counted apart, and with the final read the
    // attempts are exactly the checker's ok / fail / info.
    let all = FaultSpec::parse("drop,duplicate,delay,partition,clock").unwrap();
    let runs = [
        RunConfig { seed: 69917, faults: all.clone(), ..RunConfig::default() },
        RunConfig { seed: 1, faults: all, workload: Workload::Bank, ..RunConfig::default() },
        RunConfig { seed: 0, bug: Some(node::Bug::HangAfter100Commits), ..RunConfig::default() },
        RunConfig { seed: 4, ..RunConfig::default() },
    ];
    let mut seen_given_up = false;
    for config in runs {
        let outcome = evaluate(&config);
        let counts = RunCounts::of(&outcome.sim);
        let stats = &outcome.verdict.as_ref().expect("checkable").stats;
        let seed = config.seed;
        assert_eq!(
            counts.committed + counts.indeterminate + counts.given_up + counts.unfinished,
            counts.planned,
            "seed {seed}: logical transactions"
        );
        assert_eq!(
            counts.committed + counts.aborted + counts.failed + counts.indeterminate + counts.open,
            counts.attempts,
            "seed {seed}: attempts"
        );
        assert_eq!(counts.attempts + counts.final_reads, stats.txns as u64, "seed {seed}");
        assert_eq!(counts.history_ok, stats.committed as u64, "seed {seed}: ok");
        assert_eq!(counts.history_fail, stats.failed as u64, "seed {seed}: fail");
        assert_eq!(counts.history_info, stats.info as u64, "seed {seed}: info");
        seen_given_up |= counts.given_up > 0;
        let summary = sim::cli::run::summary(&outcome, "repro");
        let ours = format!(
            "ok {}, fail {}, info {}",
            counts.history_ok, counts.history_fail, counts.history_info
        );
        assert!(summary.contains(&format!("= {} attempts + ", counts.attempts)), "{summary}");
        assert!(summary.contains(&format!("{ours}\n")), "{summary}");
        let checker = format!(
            "txns: {} in the history (ok {}, fail {}, info {} ",
            stats.txns, stats.committed, stats.failed, stats.info
        );
        assert!(summary.contains(&checker), "{summary}");
    }
    assert!(seen_given_up, "some run gave a transaction up");
}

#[test]
fn check_determinism_says_what_it_compared() {
    // Two runs, how many events each, identical, and the fingerprint they share.
    let output = sim(&["--seed", "5", "--faults", "all", "--txns", "60", "--check-determinism"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let first = stdout.lines().next().unwrap();
    let fingerprint = stdout.lines().find_map(|l| l.strip_prefix("fingerprint: ")).unwrap();
    assert!(first.starts_with("determinism: 2 runs compared, "), "{first}");
    assert!(first.contains(" trace events and ") && first.contains(" history events each"));
    assert!(
        first.ends_with(&format!("identical; fingerprint {fingerprint} both times")),
        "{first}"
    );
}

#[test]
fn a_crash_and_a_restart_are_drawn_where_they_happened_and_in_the_trace() {
    // The report of a lost acknowledged write (seed 4) shows the story: the commit acknowledged,
    // the crash losing the unsynced write, the restart, and the read that came back older.
    let args = ["--seed", "4", "--faults", "crash", "--bug", "ack-before-durable"];
    let (_, report) = run_with_report(&args, "crash.txt");
    let crash = report.find("n1 crashed: 1 unsynced write (71 bytes): 1 lost").expect(&report);
    let restart = report.find("n1 restarted: recovered 146 records").expect(&report);
    assert!(crash < restart, "{report}");
    assert!(report.contains("version-regressed: the store answered a read of c4 with version 10 after announcing version 11"), "{report}");
    assert!(report.contains("store's disk: "), "the run's disk is summarised:\n{report}");
    let trace = scratch("crash.trace");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--trace", trace.to_str().unwrap()]);
    assert_eq!(sim(&all).status.code(), Some(1));
    let trace = std::fs::read_to_string(&trace).expect("the trace is written");
    assert!(trace.lines().any(|l| l.contains(" crash n1: ")), "no crash line in the trace");
    assert!(trace.lines().any(|l| l.contains(" restart n1: recovered ")), "no restart line");
}
