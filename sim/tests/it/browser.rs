//! The HTML report in a real browser: headless Chromium opens a failing run's page, its
//! script runs without an error, the parts a person looks at are in the rendered DOM, and
//! a screenshot comes out.
//!
//! Needs `chromium` (Debian's package; `.ci/run` installs it). Without it when sim was
//! built (see `sim/build.rs`) the test is reported as ignored, saying why, never as a pass;
//! with `OCC_SIM_REQUIRE_BROWSER=1` (which `.ci/run` sets) a missing browser fails it, so
//! CI can never pass without having looked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::html::{classes, texts, FAILING};

/// Where Debian's package puts it, or the first `chromium` on PATH.
fn chromium() -> Option<PathBuf> {
    let installed = Path::new("/usr/bin/chromium");
    if installed.is_file() {
        return Some(installed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|p| p.is_file())
}

/// Headless Chromium on `page` with a fresh profile in `profile`, at most a minute, doing
/// `what` (`--dump-dom`, `--screenshot=FILE`). Nothing it could fetch is switched on.
fn headless(browser: &Path, profile: &Path, what: &[&str], page: &Path) -> Output {
    std::fs::create_dir_all(profile).unwrap();
    let output = Command::new("timeout")
        .arg("60")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=5000", "--window-size=1400,1000"])
        .args(what)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("timeout and chromium run");
    assert!(
        output.status.success(),
        "chromium {what:?} exited {:?}:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The inner HTML of the first `<div id="ID" ...>`.
fn div_content<'d>(dom: &'d str, id: &str) -> Option<&'d str> {
    let start = dom.find(&format!("<div id=\"{id}\""))?;
    let open_end = start + dom[start..].find('>')? + 1;
    let close = open_end + dom[open_end..].find("</div>")?;
    Some(&dom[open_end..close])
}

#[test]
#[cfg_attr(
    not(sim_has_chromium),
    ignore = "no chromium when sim was built: apt-get install -y chromium, then touch sim/build.rs"
)]
fn a_failing_runs_page_renders_in_headless_chromium_without_script_errors() {
    // The script ran to its end (data-ready), caught no error, and the header, the
    // Lamport diagram with its arrows, the key timeline and the anomaly's cycle are in
    // the DOM with the anomaly's transactions highlighted; the screenshot is a real image.
    let Some(browser) = chromium() else {
        let why = "browser test: chromium is not installed (`apt-get install -y chromium`; \
                   .ci/run installs it)";
        // Only reached when chromium went away after the build, or is required.
        panic!("{why}");
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let mut args = FAILING.to_vec();
    args.extend(["--html", page.to_str().unwrap()]);
    let run = Command::new(env!("CARGO_BIN_EXE_sim")).args(&args).output().expect("sim runs");
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));

    let dom = headless(&browser, &dir.join("profile-dom"), &["--dump-dom"], &page);
    let dom = String::from_utf8(dom.stdout).expect("a utf-8 DOM");
    assert!(dom.contains("<body data-ready=\"yes\">"), "the script did not finish:\n{dom}");
    let errors = div_content(&dom, "script-errors").expect("the error box");
    assert_eq!(errors, "", "script errors: {errors}");

    let headings: Vec<String> = texts(&dom, &["h1", "h2"]).into_iter().map(|(_, t)| t).collect();
    assert!(headings[0].starts_with("seed 3: FAILED: anomalies: G-single"), "{headings:?}");
    for section in ["The anomaly", "Messages", "Versions"] {
        assert!(headings.iter().any(|h| h == section), "no {section} in {headings:?}");
    }
    assert!(dom.contains("<dt>reproduce</dt>") && dom.contains("<dt>fingerprint</dt>"));
    assert!(dom.contains("<svg id=\"lamport\""), "the Lamport diagram");
    let groups = classes(&dom, "<g ");
    let messages = groups.iter().filter(|c| c.starts_with('m')).count();
    let focus = groups.iter().filter(|c| c.starts_with('m') && c.ends_with(" f")).count();
    assert!(messages > 400 && dom.matches("<line class=\"a").count() >= messages, "{messages}");
    assert!(focus >= 10, "the anomaly's messages highlighted: {focus}");
    assert!(dom.contains("<div class=\"key fk\" data-key="), "the anomaly's keys first");
    assert!(classes(&dom, "<div ").contains(&"v f"), "versions on the cycle");
    assert!(dom.matches("<li class=\"edge\">").count() >= 2, "the cycle, edge by edge");
    // The anomaly in focus names its transactions, highlighted, and the diagram draws
    // their bars highlighted too.
    let current = dom.find("<article class=\"anomaly current\"").expect("an anomaly in focus");
    let article = &dom[current..current + dom[current..].find("</article>").unwrap()];
    let named = article.find("<span class=\"txn f\" data-txn=\"T").expect("a T<n> in focus");
    let name = article[named..].split('"').nth(3).expect("its name");
    assert!(dom.contains(&format!("class=\"tx ok f\" data-txn=\"{name}\"")), "{name}'s bar");

    let shot = dir.join("report.png");
    headless(
        &browser,
        &dir.join("profile-shot"),
        &[&format!("--screenshot={}", shot.display())],
        &page,
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 50_000, "a near-empty screenshot: {} bytes", png.len());
}
