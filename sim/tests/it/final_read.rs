//! The final read: marked in the history, begun only once nothing is in flight, split
//! when the key space is large.

use sim::world::faults::FaultSpec;
use sim::world::{simulate, RunConfig, TraceEvent, FINAL_READ_KEYS_MAX};
use workloads::history::EventKind;
use workloads::workload::{key_space, Workload};

#[test]
fn the_final_read_is_marked_and_begins_with_nothing_in_flight() {
    // Every event from the first marked one on is marked, none before it is, and no
    // message between other processes arrives once the final read has begun. Runs of one
    // client and one transaction end with the faults still on, duplicates and delayed
    // copies in flight: the final read must wait them out.
    for seed in 0..200 {
        let config = RunConfig {
            seed,
            clients: 1 + (seed % 2) as u32,
            txns: 1 + seed % 3,
            faults: FaultSpec::parse("all").unwrap(),
            record_trace: true,
            ..RunConfig::default()
        };
        let sim = simulate(&config);
        let first = sim.history.iter().position(|e| e.final_read).expect("a final read");
        assert!(sim.history[..first].iter().all(|e| !e.final_read), "seed {seed}");
        assert!(sim.history[first..].iter().all(|e| e.final_read), "seed {seed}");
        assert_eq!(sim.history[first].kind, EventKind::Invoke, "seed {seed}");
        let final_reader = sim.names.len() - 1;
        let began = sim
            .trace
            .iter()
            .position(|t| matches!(t, TraceEvent::Send { source, .. } if *source == final_reader))
            .expect("the final reader sends");
        let late = sim.trace[began..].iter().find(|t| match t {
            TraceEvent::Deliver { source, target, .. } => {
                *source != final_reader && *target != final_reader
            }
            _ => false,
        });
        assert!(late.is_none(), "seed {seed}: {late:?} arrived after the final read began");
    }
}

#[test]
fn a_large_key_space_is_read_in_several_final_transactions_that_all_commit() {
    // 4 families of 300 keys: more than one final transaction's worth.
    let config = RunConfig { seed: 3, keys: 300, txns: 40, ..RunConfig::default() };
    let sim = simulate(&config);
    let keys = key_space(Workload::Mixed, 300).len();
    let finals: Vec<_> = sim.history.iter().filter(|e| e.final_read).collect();
    let chunks = keys.div_ceil(FINAL_READ_KEYS_MAX);
    assert!(chunks > 1);
    assert_eq!(finals.iter().filter(|e| e.kind == EventKind::Ok).count(), chunks);
    let read: usize = finals.iter().filter(|e| e.kind == EventKind::Ok).map(|e| e.ops.len()).sum();
    assert_eq!(read, keys);
    assert!(sim.liveness_failure.is_none(), "{:?}", sim.liveness_failure);
}
