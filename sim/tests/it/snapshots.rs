//! Reviewed histories: a change in the store's or simulator's behaviour shows up as a
//! diff of these snapshots (`cargo insta review`), never as a silent change.

use sim::explain::render::history_compact;
use sim::hunt::outcome::evaluate;
use sim::world::faults::FaultSpec;
use sim::world::RunConfig;
use workloads::workload::Workload;

/// Small runs, so a diff stays readable: 3 clients, 24 transactions, 3 keys per family.
pub fn small_run(seed: u64, workload: Workload, faults: &str) -> RunConfig {
    RunConfig {
        seed,
        workload,
        clients: 3,
        txns: 24,
        keys: 3,
        faults: FaultSpec::parse(faults).expect("a valid fault spec"),
        ..RunConfig::default()
    }
}

fn rendered(seed: u64, workload: Workload, faults: &str, nodes: u32) -> String {
    let config = RunConfig { nodes, ..small_run(seed, workload, faults) };
    let outcome = evaluate(&config);
    let verdict = match (&outcome.verdict, outcome.failure()) {
        (Err(e), _) => format!("history could not be checked: {e}"),
        (Ok(_), None) => "valid".to_string(),
        (Ok(_), Some(failure)) => failure.headline(),
    };
    let cluster = if nodes > 1 { format!(" nodes {nodes}") } else { String::new() };
    format!(
        "seed {seed} workload {}{cluster} faults {faults}: {}\nfingerprint {:016x}\nverdict: {verdict}\n\n{}",
        workload.name(),
        outcome.sim.mix,
        outcome.sim.fingerprint,
        history_compact(&outcome.sim.history)
    )
}

macro_rules! snapshot {
    ($name:ident, $seed:expr, $workload:expr, $faults:expr) => {
        snapshot!($name, $seed, $workload, $faults, 1);
    };
    ($name:ident, $seed:expr, $workload:expr, $faults:expr, $nodes:expr) => {
        #[test]
        fn $name() {
            insta::with_settings!({
                snapshot_path => "../../../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(stringify!($name), rendered($seed, $workload, $faults, $nodes));
            });
        }
    };
}

snapshot!(register_clean_seed_1, 1, Workload::Register, "none");
snapshot!(register_all_faults_seed_2, 2, Workload::Register, "all");
snapshot!(bank_clean_seed_3, 3, Workload::Bank, "none");
snapshot!(bank_partitions_seed_4, 4, Workload::Bank, "partition,clock");
snapshot!(counter_clean_seed_5, 5, Workload::Counter, "none");
snapshot!(counter_drops_and_duplicates_seed_6, 6, Workload::Counter, "drop,duplicate");
snapshot!(hotspot_clean_seed_7, 7, Workload::Hotspot, "none");
snapshot!(hotspot_all_faults_seed_8, 8, Workload::Hotspot, "all");
snapshot!(mixed_clean_seed_9, 9, Workload::Mixed, "none");
snapshot!(mixed_swarm_seed_10, 10, Workload::Mixed, "swarm");
// A 3-node cluster: ids name their coordinator (t<n>.n<k>), versions stay exact per key.
snapshot!(cluster_bank_clean_seed_11, 11, Workload::Bank, "none", 3);
snapshot!(cluster_mixed_all_faults_seed_12, 12, Workload::Mixed, "all", 3);
