//! One scene, two renderers: the rows a run is drawn from (its messages labelled under
//! their transactions, its marks, its header's sentences) are reviewed as data, and both
//! the text report and the HTML page say what the scene says.

use sim::check::Anomaly;
use sim::explain::html::{esc, run_html};
use sim::explain::report::{run_report, Detail, Repro};
use sim::explain::scene::{Drawn, Scene, Summary, TxnNames};
use sim::hunt::outcome::{evaluate, RunOutcome};
use sim::world::faults::FaultSpec;
use sim::world::RunConfig;
use workloads::workload::Workload;

/// A small failing run (a planted bug) with a little of everything a scene holds: a
/// dropped message, the store's crash and restart (a message reaching it while down), a
/// partition and the heal.
fn small_failing_run() -> RunOutcome {
    let config = RunConfig {
        seed: 7,
        workload: Workload::Counter,
        clients: 2,
        txns: 6,
        keys: 1,
        faults: FaultSpec::parse("drop,partition,crash").expect("a valid fault spec"),
        bug: Some(node::Bug::SkipValidation),
        record_trace: true,
        ..RunConfig::default()
    };
    let outcome = evaluate(&config);
    assert!(outcome.failure().is_some(), "the planted bug is found");
    outcome
}

#[test]
fn a_runs_scene_is_reviewed_as_data() {
    // The header's sentences, then every row in the trace's order, one per line.
    let outcome = small_failing_run();
    let names = TxnNames::of(&outcome.sim);
    let scene = Scene::of(&outcome.sim, &names);
    let summary = Summary::of(&outcome, &names);
    let rows: Vec<String> =
        scene.drawn(&names, &outcome.sim.names).iter().map(|row| format!("{row:?}")).collect();
    let drawn = format!("{summary:#?}\n{}\n", rows.join("\n"));
    insta::with_settings!({
        snapshot_path => "../../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("scene_skip_validation_seed_7", drawn);
    });
}

#[test]
fn the_text_report_and_the_page_draw_the_scenes_labels() {
    // Every message of the anomaly's transactions is drawn in the text diagram and on the
    // page under the label the scene gives it.
    let outcome = small_failing_run();
    let names = TxnNames::of(&outcome.sim);
    let scene = Scene::of(&outcome.sim, &names);
    let verdict = outcome.verdict.as_ref().expect("checked");
    let anomaly: &Anomaly = verdict.anomalies.first().expect("an anomaly");
    let involved: Vec<String> =
        anomaly.txns.iter().filter_map(|t| t.invoke_index).map(|n| format!("T{n} ")).collect();
    let repro = Repro { command: "repro".into(), record: None };
    let report = run_report(&outcome, &repro, &Detail::FULL);
    let page = run_html(&outcome, &repro, &[]);
    let mut checked = 0;
    for row in scene.drawn(&names, &outcome.sim.names) {
        let Drawn::Message { label, .. } = row else { continue };
        if !involved.iter().any(|t| label.starts_with(t.as_str())) {
            continue;
        }
        assert!(report.contains(&format!(" {label}\n")), "the report draws {label:?}");
        let start: String = label.chars().take(100).collect();
        assert!(page.contains(&format!(">{}", esc(&start))), "the page draws {label:?}");
        checked += 1;
    }
    assert!(checked >= 10, "the anomaly's transactions sent messages: {checked}");
}
