//! Same seed, same run: fingerprints and histories compared across runs.

use sim::world::faults::{FaultEvent, FaultSchedule, FaultSpec};
use sim::world::{simulate, RunConfig};
use workloads::workload::Workload;

fn config(seed: u64) -> RunConfig {
    RunConfig { seed, faults: FaultSpec::parse("all").unwrap(), ..RunConfig::default() }
}

#[test]
fn the_same_seed_gives_the_same_fingerprint_and_history() {
    // Two runs of one seed, with every fault family on (crashes, torn writes and corrupted
    // reads of the log among them), agree bit for bit.
    for seed in [0, 1, 0xdead_beef] {
        let (first, second) = (simulate(&config(seed)), simulate(&config(seed)));
        assert_eq!(first.fingerprint, second.fingerprint, "seed {seed}");
        assert_eq!(first.history, second.history, "seed {seed}");
        assert_eq!(first.disk, second.disk, "seed {seed}");
        assert!(!first.history.is_empty());
        assert!(first.disk.crashes > 0, "seed {seed}: the store never crashed");
    }
}

#[test]
fn a_cluster_runs_the_same_twice_and_differs_from_one_node() {
    // Three nodes with every fault family: crashes of coordinators and participants,
    // node-to-node partitions. Same seed, same run; and a cluster is another run than
    // a single node of the same seed (the nodes are real processes, not a relabelling).
    for seed in [2, 3] {
        let cluster = RunConfig { nodes: 3, record_trace: true, ..config(seed) };
        let (first, second) = (simulate(&cluster), simulate(&cluster));
        assert_eq!(first.fingerprint, second.fingerprint, "seed {seed}");
        assert_eq!(first.history, second.history, "seed {seed}");
        assert_eq!(first.trace, second.trace, "seed {seed}");
        assert!(!first.trace.is_empty());
        assert_ne!(first.fingerprint, simulate(&config(seed)).fingerprint, "seed {seed}");
        assert!(first.disk.crashes > 0, "seed {seed}: no node crashed");
    }
}

#[test]
fn the_log_changes_no_run_without_crashes_or_disk_faults() {
    // Seeds keep their meaning: runs whose mix has neither `crash` nor `disk` (the store
    // keeps a log in every run, synced at once) print the fingerprints their snapshots
    // had before the log existed.
    let pinned = [
        (4, Workload::Bank, "partition,clock", 0xce98_2cbc_4b4c_6de6_u64),
        (6, Workload::Counter, "drop,duplicate", 0x92b9_5130_f6eb_4821),
        (10, Workload::Mixed, "swarm", 0x077f_d132_4139_4e30),
    ];
    for (seed, workload, faults, fingerprint) in pinned {
        let sim = simulate(&crate::snapshots::small_run(seed, workload, faults));
        assert!(sim.mix.crash.is_none() && sim.mix.disk.is_none(), "seed {seed}");
        assert!(sim.disk.syncs > 0, "seed {seed}: the store logged nothing");
        assert_eq!(sim.fingerprint, fingerprint, "seed {seed} {faults}");
    }
}

#[test]
fn a_seed_runs_the_same_whatever_ran_before_it_in_the_process() {
    // No state leaks between runs: A, B, then A again gives A's fingerprint.
    let alone = simulate(&config(11)).fingerprint;
    let _other = simulate(&config(12));
    let _another = simulate(&RunConfig { workload: Workload::Bank, ..config(13) });
    assert_eq!(simulate(&config(11)).fingerprint, alone);
}

#[test]
fn different_seeds_give_different_runs() {
    let fingerprints: Vec<u64> = (0..20).map(|s| simulate(&config(s)).fingerprint).collect();
    let mut unique = fingerprints.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fingerprints.len(), "{fingerprints:x?}");
}

#[test]
fn every_workload_and_mix_is_deterministic() {
    // Swarm mixes differ per seed; each workload and seed must still replay exactly.
    for workload in Workload::ALL {
        for seed in 0..4 {
            let config = RunConfig { workload, faults: FaultSpec::Swarm, ..config(seed) };
            assert_eq!(
                simulate(&config).fingerprint,
                simulate(&config).fingerprint,
                "{} seed {seed}",
                workload.name()
            );
        }
    }
}

#[test]
fn adding_a_client_does_not_reshuffle_the_fault_mix() {
    // Streams are per concern: the fault draw depends on the seed alone.
    let three = simulate(&RunConfig { clients: 3, ..config(5) });
    let four = simulate(&RunConfig { clients: 4, ..config(5) });
    assert_eq!(three.mix, four.mix);
    assert_ne!(three.fingerprint, four.fingerprint, "the runs themselves do differ");
}

#[test]
fn coverage_marks_never_change_a_fingerprint() {
    // These clean runs' fingerprints were pinned in snapshots/ before the store counted
    // coverage marks; they hit marks now and their fingerprints are what they were.
    let pinned = [
        (1, Workload::Register, 0xc32c_afa5_94a4_5d8e_u64),
        (3, Workload::Bank, 0x6972_123c_1f1b_59ed),
        (5, Workload::Counter, 0x4ced_ee2c_e018_90ce),
        (7, Workload::Hotspot, 0x335a_736c_a9ad_ba1a),
        (9, Workload::Mixed, 0x2a8a_de0f_8605_9520),
    ];
    let mut marks_hit = 0;
    for (seed, workload, fingerprint) in pinned {
        let sim = simulate(&crate::snapshots::small_run(seed, workload, "none"));
        assert_eq!(sim.fingerprint, fingerprint, "seed {seed} {}", workload.name());
        marks_hit += sim.marks.iter().map(|(_, n)| n).sum::<u64>();
    }
    assert!(marks_hit > 0, "the pinned runs hit coverage marks");
}

#[test]
fn watching_a_run_progress_does_not_change_it() {
    // Proves the progress bar's observer only reads: the run is the same with one, and it
    // sees the finished transactions grow towards the planned ones.
    let config = RunConfig { txns: 1_000, ..config(11) };
    let plain = simulate(&config);
    let mut seen = Vec::new();
    let watched = sim::world::simulate_observed(&config, 1_000, &mut |p| seen.push(*p));
    assert_eq!(plain.fingerprint, watched.fingerprint);
    assert_eq!(plain.history, watched.history);
    assert!(seen.len() >= 2, "{} observations", seen.len());
    assert!(seen
        .windows(2)
        .all(|w| w[0].finished <= w[1].finished && w[0].virtual_us < w[1].virtual_us));
    assert!(seen.iter().all(|p| p.planned == 1_000 && p.finished <= 1_000));
}

#[test]
fn a_fault_schedule_that_keeps_every_event_is_the_run_itself() {
    // The shrinker runs every candidate under a schedule (to list its fault events): one
    // that keeps all of them and hurries nothing must be the flags' run, bit for bit.
    for (seed, nodes) in [(0, 1), (1, 1), (2, 3), (3, 3)] {
        let plain = RunConfig { nodes, ..config(seed) };
        let listed = RunConfig { schedule: Some(FaultSchedule::default()), ..plain.clone() };
        let (plain, listed) = (simulate(&plain), simulate(&listed));
        assert_eq!(plain.fingerprint, listed.fingerprint, "seed {seed}");
        assert_eq!(plain.network.faults.drawn, listed.network.faults.drawn, "seed {seed}");
        assert!(plain.network.faults.happened.is_empty(), "listed only under a schedule");
        let happened = &listed.network.faults.happened;
        assert_eq!(happened.len() as u64, listed.network.faults.drawn.iter().sum::<u64>());
        assert!(happened.iter().any(|h| h.event == FaultEvent::Crash), "seed {seed}");
    }
}

#[test]
fn a_suppressed_fault_event_is_drawn_and_ignored() {
    // Keeping no crash leaves the store up all run, and no message is lost to a drop the
    // schedule took out; the other kinds' events still happen.
    let seed = 1;
    let none_of = |events: &[FaultEvent]| {
        let kept = events.iter().map(|e| (*e, Default::default())).collect();
        RunConfig {
            schedule: Some(FaultSchedule { kept, ..FaultSchedule::default() }),
            ..config(seed)
        }
    };
    let sim = simulate(&none_of(&[FaultEvent::Crash, FaultEvent::Drop]));
    assert_eq!(sim.disk.crashes, 0);
    assert_eq!(sim.network.dropped, 0);
    assert!(sim.network.faults.drawn[FaultEvent::Crash as usize] > 0, "crashes were drawn");
    assert!(sim.network.faults.happened.iter().any(|h| h.event == FaultEvent::Duplicate));
    // Keeping one crash: exactly that one happens.
    let mut one = none_of(&[FaultEvent::Crash]);
    one.schedule.as_mut().unwrap().kept.insert(FaultEvent::Crash, [0].into());
    assert_eq!(simulate(&one).disk.crashes, 1);
}
