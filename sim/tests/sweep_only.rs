//! The mutation run's judge (`.ci/mutants`): does a sweep alone, with nothing but the
//! simulator and its checks, notice that the store changed? Ignored by `cargo test`;
//! cargo-mutants runs it with `--ignored` against each mutant of the store.
//!
//! It sweeps `MUTANTS_SEEDS` seeds (default 1,000) with the default flags, then as many
//! with every fault family on, then both again on a 3-node cluster (the two-phase commit
//! is only ever run there), and stops at the first failing seed: a mutant that is caught
//! costs one run, one that survives costs the whole budget. A sweep with every fault
//! family must also hit each of the store's coverage marks, as `sim sweep
//! --require-marks` asks (from 100 seeds up; the correct store hits each in the first
//! 100 of both): a store that never takes a snapshot or never cuts its log is as wrong as
//! one that answers wrongly, and no single run can show it.

use std::ops::ControlFlow;

use node::marks::Marks;
use sim::hunt::sweep::sweep;
use sim::world::faults::FaultSpec;
use sim::world::RunConfig;

#[test]
#[ignore = "the mutation run's judge: slow, and only meaningful against a mutant"]
fn a_sweep_finds_nothing_wrong_with_the_store() {
    let seeds: u64 =
        std::env::var("MUTANTS_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (nodes, faults) in [(1, "swarm"), (1, "all"), (3, "swarm"), (3, "all")] {
        let faults_spec = FaultSpec::parse(faults).unwrap();
        let config = RunConfig { nodes, faults: faults_spec, ..RunConfig::default() };
        let (mut found, mut marks) = (None, Marks::default());
        sweep(0..seeds, &config, jobs, &mut |_, result| {
            marks.add(&result.marks);
            match result.failure {
                Some(failure) => {
                    found = Some((result.seed, failure));
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        });
        if let Some((seed, failure)) = found {
            panic!("--nodes {nodes} --faults {faults} seed {seed}: {}", failure.headline());
        }
        if faults == "all" && seeds >= 100 {
            let unhit: Vec<&str> =
                marks.iter().filter(|&(_, n)| n == 0).map(|(mark, _)| mark.name()).collect();
            assert!(unhit.is_empty(), "--nodes {nodes} --faults all: never hit: {unhit:?}");
        }
    }
}
