//! Build facts, none of which any run sees:
//! - the commit the binary was built from, for `sim --version`: a seed names a run only
//!   for a given build, so a bug report needs both (`unknown` outside a git checkout);
//! - whether headless Chromium is here for the browser test, and python3 and node for the
//!   example stores run through `--bin`: a test without its tool is reported as ignored
//!   (with how to get it) rather than as a pass that looked at nothing.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Where the browser test looks for Chromium first (Debian's package).
const CHROMIUM: &str = "/usr/bin/chromium";

fn main() {
    browser();
    interpreters();
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SIM_COMMIT={commit}");
    // Built again when HEAD moves: a new commit, a checkout, a branch's ref updated.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/packed-refs");
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--git-common-dir"]).unwrap_or(dir);
            println!("cargo:rerun-if-changed={common}/{head_ref}");
        }
    }
}

/// `cfg(sim_has_chromium)` when Chromium is installed, or when `OCC_SIM_REQUIRE_BROWSER=1`
/// (then a missing one fails the test instead of ignoring it).
fn browser() {
    println!("cargo::rustc-check-cfg=cfg(sim_has_chromium)");
    println!("cargo:rerun-if-env-changed=OCC_SIM_REQUIRE_BROWSER");
    println!("cargo:rerun-if-env-changed=PATH");
    let required = std::env::var("OCC_SIM_REQUIRE_BROWSER").as_deref() == Ok("1");
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("chromium").is_file()));
    let installed = std::path::Path::new(CHROMIUM).is_file() || on_path;
    if installed {
        // Watched only while it exists: a missing path would rebuild sim every time.
        println!("cargo:rerun-if-changed={CHROMIUM}");
    }
    if installed || required {
        println!("cargo:rustc-cfg=sim_has_chromium");
    }
}

/// `cfg(sim_has_python)` and `cfg(sim_has_node)` when `python3` and `node` are on PATH, or
/// when `OCC_SIM_REQUIRE_INTERPRETERS=1` (then a missing one fails the tests that run the
/// example stores instead of ignoring them).
fn interpreters() {
    println!("cargo::rustc-check-cfg=cfg(sim_has_python)");
    println!("cargo::rustc-check-cfg=cfg(sim_has_node)");
    println!("cargo:rerun-if-env-changed=OCC_SIM_REQUIRE_INTERPRETERS");
    let required = std::env::var("OCC_SIM_REQUIRE_INTERPRETERS").as_deref() == Ok("1");
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
    };
    if required || on_path("python3") {
        println!("cargo:rustc-cfg=sim_has_python");
    }
    if required || on_path("node") {
        println!("cargo:rustc-cfg=sim_has_node");
    }
}
