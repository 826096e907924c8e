//! `occ-node` itself as a black box under the simulator (`sim --bin`): the shipped binary,
//! with its virtual-time convention, its two-phase commit between processes and its log
//! in each node's working directory, passes the faults that apply to a process, and runs
//! the same seed the same way twice.

use sim::hunt::outcome::evaluate;
use sim::world::faults::FaultSpec;
use sim::world::store::{BinarySpec, StoreSpec};
use sim::world::RunConfig;

fn binary(args: &str) -> StoreSpec {
    StoreSpec::Binary(BinarySpec { command: format!("{} {args}", env!("CARGO_BIN_EXE_occ-node")) })
}

#[test]
fn a_three_node_cluster_of_occ_node_processes_with_logs_passes_every_fault_and_replays() {
    for seed in 0..3 {
        let config = RunConfig {
            seed,
            nodes: 3,
            txns: 120,
            faults: FaultSpec::parse("all").unwrap(),
            store: binary("--data-dir ."),
            ..RunConfig::default()
        };
        let first = evaluate(&config);
        assert_eq!(first.failure(), None, "seed {seed}");
        assert!(first.sim.clients.committed > 0, "seed {seed} committed nothing");
        let again = evaluate(&config);
        assert_eq!(first.sim.fingerprint, again.sim.fingerprint, "seed {seed} ran differently");
    }
}

#[test]
fn occ_node_in_memory_passes_network_faults_on_one_node() {
    for seed in 0..3 {
        let config = RunConfig {
            seed,
            txns: 150,
            faults: FaultSpec::parse("drop,duplicate,delay,partition,clock,expiry,quirks").unwrap(),
            store: binary(""),
            ..RunConfig::default()
        };
        assert_eq!(evaluate(&config).failure(), None, "seed {seed}");
    }
}
