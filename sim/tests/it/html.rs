//! `--html FILE`: the report as one page, from `sim run`, `sim shrink` and `sim check`;
//! stable bytes, a bounded size, escaped text, the output-file conventions, and a
//! reviewed outline of what a page says and draws.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sim::check::generate::{serial_history, GenConfig};
use sim::check::{check, Model};
use sim::explain::html::{history_html_with, run_html, run_html_with, Budget};
use sim::explain::report::Repro;
use sim::hunt::flags::repro_command;
use sim::hunt::outcome::evaluate;
use sim::world::RunConfig;
use workloads::workload::Workload;

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for one test's files, under cargo's scratch space.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `sim ARGS --html DIR/NAME`: the run's output and the page.
fn with_html(args: &[&str], dir: &Path, name: &str) -> (Output, String) {
    let path = dir.join(name);
    // A page left by an earlier call would be refused (no --force), never read as this one's.
    let _ = std::fs::remove_file(&path);
    let mut all = args.to_vec();
    all.extend(["--html", path.to_str().unwrap()]);
    let output = sim(&all);
    let page = std::fs::read_to_string(&path).unwrap_or_default();
    (output, page)
}

/// The small failing run the browser test and the README's screenshot use too.
pub const FAILING: &[&str] = &["--seed", "3", "--txns", "40", "--bug", "skip-validation"];

/// The text of every element `<tag ...>...</tag>` of `html` for the tags given, in page
/// order, tags stripped and entities decoded: what a person reads.
pub fn texts(html: &str, tags: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut at = 0;
    loop {
        let next = tags
            .iter()
            .filter_map(|tag| {
                let mut from = at;
                loop {
                    let i = from + html[from..].find(&format!("<{tag}"))?;
                    let after = html.as_bytes().get(i + 1 + tag.len()).copied();
                    if matches!(after, Some(b' ') | Some(b'>')) {
                        return Some((i, *tag));
                    }
                    from = i + 1;
                }
            })
            .min();
        let Some((start, tag)) = next else { break };
        let open_end = start + html[start..].find('>').expect("a tag ends");
        let close = format!("</{tag}>");
        let end = open_end + html[open_end..].find(&close).expect("an element closes");
        found.push((tag.to_string(), plain(&html[open_end + 1..end])));
        at = end + close.len();
    }
    found
}

/// Markup stripped (`<br>` read as ` / `), entities decoded, spaces collapsed.
fn plain(fragment: &str) -> String {
    let mut out = String::new();
    let mut rest = fragment;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let gt = lt + rest[lt..].find('>').expect("a tag ends");
        if rest[lt..gt].starts_with("<br") {
            out.push_str(" / ");
        }
        rest = &rest[gt + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The class attribute of every element opened with `open` (`<g `, `<rect `, `<div `).
pub fn classes<'h>(html: &'h str, open: &str) -> Vec<&'h str> {
    html.match_indices(open)
        .filter_map(|(i, _)| {
            let rest = html[i + open.len()..].strip_prefix("class=\"")?;
            rest.split('"').next()
        })
        .collect()
}

/// What a page says and draws, for review: its text (header, sections, the anomaly, the
/// notes, the legend) and how many of each kind of thing it drew, and how many in focus.
fn outline(html: &str) -> String {
    let mut out = String::new();
    for (tag, text) in texts(html, &["h1", "dt", "dd", "h2", "h3", "p", "li", "summary"]) {
        out.push_str(&format!("{tag}: {text}\n"));
    }
    let count = |open: &str, pick: &dyn Fn(&[&str]) -> bool| {
        let all: Vec<Vec<&str>> =
            classes(html, open).into_iter().map(|c| c.split(' ').collect()).collect();
        let drawn = all.iter().filter(|c| pick(c)).count();
        // `f`: a transaction in focus, or a version on the cycle; `fk`: the anomaly's key.
        let focus =
            all.iter().filter(|c| pick(c) && (c.contains(&"f") || c.contains(&"fk"))).count();
        format!("{drawn} ({focus} in focus)")
    };
    let is = |name: &'static str| move |c: &[&str]| c.first() == Some(&name);
    let has = |first: &'static str, second: &'static str| {
        move |c: &[&str]| c.first() == Some(&first) && c.contains(&second)
    };
    out.push_str(&format!(
        "drawn: messages {}, lost {}, duplicated {}, transactions {}, marks {}, bands {}, keys {}, \
         versions {}\n",
        count("<g ", &is("m")),
        count("<g ", &has("m", "lost")),
        count("<g ", &has("m", "dup")),
        count("<rect ", &is("tx")),
        count("<text ", &is("ml")),
        count("<rect ", &is("band")),
        count("<div ", &is("key")),
        count("<div ", &is("v")),
    ));
    out
}

#[test]
fn the_outline_of_a_failing_runs_page_is_reviewed() {
    // What the page of a small failing run says and draws, as a snapshot: header, the
    // anomaly in the text report's words, the notes, and counts of what is drawn.
    let config = RunConfig {
        bug: Some(node::Bug::SkipValidation),
        ..crate::snapshots::small_run(0, Workload::Mixed, "swarm")
    };
    let outcome = evaluate(&RunConfig { record_trace: true, ..config.clone() });
    let repro = Repro { command: repro_command(&config), record: None };
    let page = run_html(&outcome, &repro, &[]);
    insta::with_settings!({
        snapshot_path => "../../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("html_outline_skip_validation_seed_0", outline(&page));
    });
}

#[test]
fn the_same_seed_gives_a_byte_identical_page() {
    // Two processes, the same run: the same bytes (no clock, no hash order, no floats).
    let dir = scratch("html-identical");
    let (first, a) = with_html(FAILING, &dir, "a.html");
    let (_, b) = with_html(FAILING, &dir, "b.html");
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    assert!(a.len() > 10_000, "a page was written");
    assert!(a == b, "two runs of one seed wrote different pages");
}

#[test]
fn recording_the_trace_for_the_page_does_not_change_the_run() {
    // --html records every message; the run, its summary and its fingerprint stay the
    // same, passing or failing.
    let dir = scratch("html-same-run");
    for args in [&["--seed", "5", "--txns", "60", "--faults", "all"][..], FAILING] {
        let plain = sim(args);
        let (drawn, page) = with_html(args, &dir, "run.html");
        assert_eq!(text(&plain.stdout), text(&drawn.stdout), "{args:?}");
        assert_eq!(plain.status.code(), drawn.status.code(), "{args:?}");
        let fingerprint = text(&plain.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fingerprint: ").map(str::to_string))
            .expect("a fingerprint");
        assert!(page.contains(&format!("<code>{fingerprint}</code>")), "{args:?}");
    }
}

#[test]
fn a_default_runs_page_stays_under_five_megabytes_and_draws_every_message() {
    // The budget: a default run (5 clients, 300 transactions, swarm faults), passing or
    // failing, fits in about 2 MB with all its messages drawn.
    let dir = scratch("html-default-size");
    for args in [&["--seed", "1"][..], &["--seed", "2", "--bug", "skip-validation"]] {
        let (output, page) = with_html(args, &dir, "default.html");
        assert!(output.status.code().is_some_and(|c| c < 2), "{}", text(&output.stderr));
        assert!(page.len() < 5_000_000, "{args:?}: {} bytes", page.len());
        assert!(page.contains("id=\"lamport-window\">All "), "{args:?}: a window was cut");
        let messages = classes(&page, "<g ").iter().filter(|c| c.starts_with('m')).count();
        assert!(messages > 2_000, "{args:?}: {messages} messages drawn");
    }
}

#[test]
fn a_large_run_shows_a_window_around_the_anomaly_and_says_what_it_left_out() {
    // 20,000 transactions send about 190,000 messages; the page draws 5,000 of them, the
    // anomaly's among them, and says how many it left out before and after.
    let dir = scratch("html-large");
    let args = ["--seed", "1", "--txns", "20000", "--bug", "skip-validation"];
    let (output, page) = with_html(&args, &dir, "large.html");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(page.len() < 5_000_000, "{} bytes", page.len());
    let messages: Vec<&str> =
        classes(&page, "<g ").into_iter().filter(|c| c.starts_with('m')).collect();
    assert_eq!(messages.len(), Budget::DEFAULT.messages_max);
    assert!(messages.iter().any(|c| c.ends_with(" f")), "the anomaly's messages are drawn");
    let note = texts(&page, &["p"])
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| t.starts_with("Messages "))
        .expect("a note on the window");
    assert!(note.contains("the window around the anomaly's transactions"), "{note}");
    assert!(note.contains("Left out: ") && note.contains(" messages before and "), "{note}");
}

#[test]
fn a_passing_runs_page_draws_the_start_of_a_run_too_big_to_draw_whole() {
    // Without an anomaly the window is the first messages, and the page says so.
    let outcome = evaluate(&RunConfig { seed: 4, record_trace: true, ..RunConfig::default() });
    assert!(outcome.failure().is_none());
    let repro = Repro { command: "repro".into(), record: None };
    let budget = Budget { messages_max: 300, ..Budget::DEFAULT };
    let page = run_html_with(&outcome, &repro, &[], &budget);
    let messages = classes(&page, "<g ").iter().filter(|c| c.starts_with('m')).count();
    assert_eq!(messages, 300);
    assert!(page.contains("Messages 1 to 300 of "), "the first 300");
    assert!(page.contains("the start of the run. Left out: 0 messages before and "));
    assert!(page.contains("The checker found no anomaly"), "valid, said so");
    assert!(!page.contains("class=\"anomaly"), "no anomaly drawn");
}

#[test]
fn a_crashed_store_is_drawn_down_from_its_crash_to_its_restart() {
    // Under `crash` the store's column gets a marker at each crash and restart, a band in
    // between, and the messages that reached it while it was down are crossed out.
    let config = RunConfig {
        seed: 3,
        txns: 60,
        faults: sim::world::faults::FaultSpec::parse("crash").unwrap(),
        record_trace: true,
        ..RunConfig::default()
    };
    let outcome = evaluate(&config);
    assert!(outcome.sim.disk.crashes > 0 && outcome.sim.network.undelivered > 0);
    let repro = Repro { command: "repro".into(), record: None };
    let page = run_html(&outcome, &repro, &[]);
    let crashes = outcome.sim.disk.crashes as usize;
    assert_eq!(page.matches("<rect class=\"pm crash\"").count(), crashes);
    assert_eq!(page.matches("<rect class=\"band crash\"").count(), crashes, "one band each");
    assert_eq!(page.matches("~ n1: crashed: ").count(), crashes);
    assert!(page.contains("~ n1: restarted: "));
    let undelivered = outcome.sim.network.undelivered as usize;
    assert_eq!(page.matches("<line class=\"a u\"").count(), undelivered);
    assert!(page.contains("[undelivered: n1 was down]"));
    assert!(page.contains("<dt>store&#39;s disk</dt>"), "the disk's counts in the header");
}

#[test]
fn a_stuck_runs_page_draws_where_it_stopped() {
    // A liveness failure has no anomaly to centre on: the window is the run's last
    // messages, where it got stuck, and the page says so.
    let config = RunConfig {
        seed: 0,
        bug: Some(node::Bug::HangAfter100Commits),
        record_trace: true,
        ..RunConfig::default()
    };
    let outcome = evaluate(&config);
    assert!(outcome.sim.liveness_failure.is_some(), "the planted hang is a liveness failure");
    let repro = Repro { command: "repro".into(), record: None };
    let budget = Budget { messages_max: 300, ..Budget::DEFAULT };
    let page = run_html_with(&outcome, &repro, &[], &budget);
    let note = texts(&page, &["p"])
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| t.starts_with("Messages "))
        .expect("a note on the window");
    assert!(note.contains("the end of the run, where it stopped. Left out: "), "{note}");
    assert!(note.contains(" messages before and 0 after"), "{note}");
    assert!(page.contains("liveness failure: "), "the failure is said");
}

#[test]
fn text_from_a_history_is_escaped_everywhere_it_appears() {
    // A key, a value, a txn id and a file name carrying markup appear as text: in the
    // header, the anomaly, the versions and the script's data, never as markup.
    let dir = scratch("html-escaping");
    let history = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/g_single_read_skew.jsonl"),
    )
    .unwrap()
    .replace("\"key\":\"x\"", "\"key\":\"</script><script>alert(1)</script>\"")
    .replace("\"value\":\"1\"", "\"value\":\"<img src=q onerror=alert(2)>\"")
    .replace(
        "\"type\":\"ok\",\"txn_id\":null,\"ops\":[{\"f\":\"r\"",
        "\"type\":\"ok\",\"txn_id\":\"t'\\\"><b>\",\"ops\":[{\"f\":\"r\"",
    );
    let file = dir.join("a<b>.jsonl");
    std::fs::write(&file, history).unwrap();
    let html = dir.join("page.html");
    let output = sim(&["check", file.to_str().unwrap(), "--html", html.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<script").count(), 3, "only the page's own three scripts");
    assert!(!page.contains("<img") && !page.contains("t'\"><b>") && !page.contains("a<b>"));
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;@1"), "the key");
    assert!(page.contains("&lt;img src=q onerror=alert(2)&gt;"), "the value");
    assert!(page.contains("a&lt;b&gt;.jsonl"), "the file name");
    assert!(page.contains("\\u003c/script\\u003e"), "the key in the script's JSON");
    assert!(page.contains("txn t&#39;&quot;&gt;&lt;b&gt;"), "the txn id");
}

#[test]
fn a_big_history_without_messages_shows_a_window_of_its_versions() {
    // `sim check` of a history with more transactions than the budget: the versions of
    // the first ones only, the keys within their budget, and both said.
    let history =
        serial_history(&GenConfig { seed: 3, txns: 3_000, keys: 80, ..GenConfig::default() });
    let verdict = check(&history, Model::StrictSerializable).expect("a well-formed history");
    assert!(verdict.valid);
    let budget = Budget { txns_max: 200, keys_max: 10, ..Budget::DEFAULT };
    let page = history_html_with("h.jsonl", Model::StrictSerializable, &history, &verdict, &budget);
    let note = texts(&page, &["p"])
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| t.starts_with("80 keys, "))
        .expect("a note on the versions");
    assert!(
        note.contains("Shown: the versions installed or read by transactions that ran between"),
        "{note}"
    );
    assert!(note.contains("Shown: 10 keys (the anomaly's first); 70 keys left out."), "{note}");
    assert_eq!(classes(&page, "<div ").iter().filter(|c| c.starts_with("key")).count(), 10);
    let versions = classes(&page, "<div ").iter().filter(|c| **c == "v").count();
    let every_txn = Budget { txns_max: usize::MAX, ..budget };
    let whole =
        history_html_with("h.jsonl", Model::StrictSerializable, &history, &verdict, &every_txn);
    let all = classes(&whole, "<div ").iter().filter(|c| **c == "v").count();
    assert!(versions > 0 && versions * 4 < all, "{versions} of {all} versions drawn");
}

#[test]
fn sim_check_draws_the_anomaly_and_the_versions_and_says_it_has_no_messages() {
    let dir = scratch("html-check");
    let (output, page) = with_html(
        &[
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories/g2_item_write_skew.jsonl"),
        ],
        &dir,
        "check.html",
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(page.contains("No messages to draw: a history records transactions"), "{page}");
    assert!(!page.contains("<svg id=\"lamport\""));
    assert!(page.contains("<h3>G2-item #1 of 1</h3>"));
    assert_eq!(page.matches("<li class=\"edge\">").count(), 2, "the cycle, edge by edge");
    assert!(classes(&page, "<div ").contains(&"v f"), "its versions in focus");
    assert!(page.contains("cargo run -p sim -- check "), "the command that checks it again");
}

#[test]
fn sim_shrink_writes_the_shrunk_runs_page() {
    let dir = scratch("html-shrink");
    let out = dir.join("shrunk.json");
    let args = ["shrink", "--seed", "0", "--txns", "60", "--bug", "bump-per-write", "--out"];
    let mut all = args.to_vec();
    all.push(out.to_str().unwrap());
    let (output, page) = with_html(&all, &dir, "shrunk.html");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(page.contains("<dt>shrunk from</dt>"), "the page says what was shrunk");
    assert!(page.contains("run --replay ") || page.contains("cargo run -p sim -- --seed 0"));
    assert!(page.contains("<svg id=\"lamport\""), "with the shrunk run's messages");
}

#[test]
fn a_page_fetches_nothing() {
    // Self-contained: no address anywhere, no src or href attribute, no import.
    let dir = scratch("html-offline");
    let (_, page) = with_html(FAILING, &dir, "offline.html");
    for needle in ["://", " src=", " href=", "@import", "url(http"] {
        assert!(!page.contains(needle), "the page contains `{needle}`");
    }
}

#[test]
fn an_unwritable_html_path_fails_at_once_naming_the_path_and_the_reason() {
    // For all three commands: exit 2 before any work, nothing on stdout, the path and the
    // OS's reason on stderr.
    let history = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories/g0_write_cycle.jsonl");
    let bad = "/nonexistent/dir/page.html";
    for args in [
        &["run", "--seed", "3", "--txns", "5", "--html", bad][..],
        &["shrink", "--seed", "0", "--txns", "60", "--bug", "bump-per-write", "--html", bad],
        &["check", history, "--html", bad],
    ] {
        let output = sim(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: work went ahead: {}", text(&output.stdout));
        assert!(
            stderr.contains("cannot write the HTML report to /nonexistent/dir/page.html: No such file or directory"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_page_that_cannot_be_written_never_hides_the_verdict() {
    // /dev/full opens and then refuses every byte: the verdict comes first, the error
    // after it; a failure still exits 1, a valid run or history exits 2.
    let valid = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories/valid_blind_writes.jsonl");
    let cycle = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories/g0_write_cycle.jsonl");
    for (args, code) in [
        (FAILING, 1),
        (&["--seed", "1", "--txns", "20"][..], 2),
        (&["check", cycle], 1),
        (&["check", valid], 2),
        (&["shrink", "--seed", "0", "--txns", "60", "--bug", "bump-per-write"], 1),
    ] {
        let mut all = args.to_vec();
        all.extend(["--html", "/dev/full"]);
        let dir = scratch("html-dev-full");
        let output = Command::new(env!("CARGO_BIN_EXE_sim"))
            .current_dir(&dir)
            .args(&all)
            .output()
            .expect("sim runs");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!output.stdout.is_empty(), "{args:?}: the verdict is printed");
        assert!(
            stderr.contains("cannot write the HTML report to /dev/full: No space left on device"),
            "{args:?}: {stderr}"
        );
    }
}
