//! Replay files: a run that flags alone cannot express (a shrunk run that skips chosen
//! transactions) written as one JSON object, run again with `sim run --replay FILE`.
//!
//! A replay file is input like any other: it gets the limits of the flags it stands for
//! (`"clients": 100000` once aborted on an allocation failure), and a `keep` must name
//! clients and programs the run has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::hunt::flags::{parse_bug, parse_workload, CLIENTS_MAX, KEYS_MAX, NODES_MAX, TXNS_MAX};
use crate::world::faults::{FaultEvent, FaultSchedule, FaultSpec};
use crate::world::store::{BinarySpec, StoreSpec};
use crate::world::topology::Shape;
use crate::world::RunConfig;

fn one_node() -> u32 {
    1
}

fn is_one_node(nodes: &u32) -> bool {
    *nodes == 1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFile {
    pub seed: u64,
    pub workload: String,
    /// Store nodes; absent means 1 (files written before clusters existed).
    #[serde(default = "one_node", skip_serializing_if = "is_one_node")]
    pub nodes: u32,
    pub clients: u32,
    pub txns: u64,
    pub keys: u32,
    pub faults: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug: Option<String>,
    /// Client number (from 1) -> indices of the generated programs it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<BTreeMap<u32, Vec<u64>>>,
    /// The store binary's command (`--bin`); absent for the shipped store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// The fault events a shrunk run keeps (absent: all that its seed draws).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleFile>,
    /// The store's snapshot interval and TTLs a shrunk run chose (absent: as its seed
    /// draws them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<ShapeFile>,
}

/// A [`Shape`] as JSON: `{"snapshot_min_bytes": 128, "txn_ttl_us": 200000}`; a field
/// left out keeps the seed's draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_min_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_chunk_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_after_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn_ttl_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_ttl_us: Option<u64>,
}

/// The largest snapshot interval a shape may name: the store's default.
pub const SNAPSHOT_MIN_BYTES_MAX: u64 = 1 << 20;

/// The longest TTL a shape may name: the store's default outcome TTL (60 s).
pub const TTL_US_MAX: u64 = 60_000_000;

impl ShapeFile {
    fn of(shape: &Shape) -> ShapeFile {
        ShapeFile {
            snapshot_min_bytes: shape.snapshot_min_bytes,
            snapshot_chunk_bytes: shape.snapshot_chunk_bytes,
            query_after_us: shape.query_after_us,
            txn_ttl_us: shape.txn_ttl_us,
            outcome_ttl_us: shape.outcome_ttl_us,
        }
    }

    fn shape(&self) -> Result<Shape, String> {
        let check = |field: &str, value: Option<u64>, max: u64| match value {
            None => Ok(()),
            Some(value) => within(field, value, max, "a shape"),
        };
        check("shape.snapshot_min_bytes", self.snapshot_min_bytes, SNAPSHOT_MIN_BYTES_MAX)?;
        check("shape.snapshot_chunk_bytes", self.snapshot_chunk_bytes, SNAPSHOT_MIN_BYTES_MAX)?;
        check("shape.query_after_us", self.query_after_us, TTL_US_MAX)?;
        check("shape.txn_ttl_us", self.txn_ttl_us, TTL_US_MAX)?;
        check("shape.outcome_ttl_us", self.outcome_ttl_us, TTL_US_MAX)?;
        Ok(Shape {
            snapshot_min_bytes: self.snapshot_min_bytes,
            snapshot_chunk_bytes: self.snapshot_chunk_bytes,
            query_after_us: self.query_after_us,
            txn_ttl_us: self.txn_ttl_us,
            outcome_ttl_us: self.outcome_ttl_us,
        })
    }
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

/// A [`FaultSchedule`] as JSON: `{"hurry": 8, "brief": 3, "kept": {"crash": [2], "drop": []}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// The nemesis's waits divided by this; absent means 1 (as drawn).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub hurry: u32,
    /// Partitions' lengths divided by this; absent means 1 (as drawn).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub brief: u32,
    /// Per kind of fault event (drop, duplicate, delay, partition, crash), the ordinals
    /// of those that happen; a kind not listed keeps all of its events.
    #[serde(default)]
    pub kept: BTreeMap<String, Vec<u64>>,
}

/// The most a schedule may hurry the nemesis: past a microsecond every wait is one.
pub const HURRY_MAX: u32 = 1_000_000;

impl ScheduleFile {
    fn of(schedule: &FaultSchedule) -> ScheduleFile {
        ScheduleFile {
            hurry: schedule.hurry,
            brief: schedule.brief,
            kept: schedule
                .kept
                .iter()
                .map(|(event, kept)| (event.name().to_string(), kept.iter().copied().collect()))
                .collect(),
        }
    }

    fn schedule(&self) -> Result<FaultSchedule, String> {
        within("schedule.hurry", u64::from(self.hurry), u64::from(HURRY_MAX), "a schedule")?;
        within("schedule.brief", u64::from(self.brief), u64::from(HURRY_MAX), "a schedule")?;
        let mut kept = BTreeMap::new();
        for (name, ordinals) in &self.kept {
            let event = FaultEvent::parse(name).ok_or_else(|| {
                let names: Vec<&str> = FaultEvent::ALL.iter().map(|e| e.name()).collect();
                format!("`schedule.kept` names `{name}`: expected one of {}", names.join(", "))
            })?;
            kept.insert(event, ordinals.iter().copied().collect());
        }
        Ok(FaultSchedule { kept, hurry: self.hurry, brief: self.brief })
    }
}

impl ReplayFile {
    /// The file of `config`. A shrunk `keep` may still list clients the shrinker removed
    /// afterwards (a run ignores them); they are left out, so that the file loads.
    pub fn of(config: &RunConfig) -> ReplayFile {
        let exists = |client: u32| (1..=config.clients).contains(&client);
        ReplayFile {
            seed: config.seed,
            workload: config.workload.name().to_string(),
            nodes: config.nodes,
            clients: config.clients,
            txns: config.txns,
            keys: config.keys,
            faults: config.faults.flag(),
            bug: config.bug.map(|b| b.name().to_string()),
            bin: match &config.store {
                StoreSpec::Builtin | StoreSpec::Custom(_) => None,
                StoreSpec::Binary(spec) => Some(spec.command.clone()),
            },
            keep: config.keep.as_ref().map(|keep| {
                keep.iter()
                    .filter(|(client, _)| exists(**client))
                    .map(|(client, programs)| {
                        let count = programs_of_client(config.txns, config.clients, *client);
                        (*client, programs.iter().copied().filter(|p| *p < count).collect())
                    })
                    .collect()
            }),
            schedule: config.schedule.as_ref().map(ScheduleFile::of),
            shape: config.shape.as_ref().map(ShapeFile::of),
        }
    }

    /// The run this file describes, if every field is within the limits of its flag.
    pub fn config(&self) -> Result<RunConfig, String> {
        within("nodes", u64::from(self.nodes), u64::from(NODES_MAX), "--nodes")?;
        within("clients", u64::from(self.clients), u64::from(CLIENTS_MAX), "--clients")?;
        within("txns", self.txns, TXNS_MAX, "--txns")?;
        within("keys", u64::from(self.keys), u64::from(KEYS_MAX), "--keys")?;
        if let Some(keep) = &self.keep {
            self.check_keep(keep)?;
        }
        let bug =
            self.bug.as_deref().map(parse_bug).transpose().map_err(|e| format!("`bug`: {e}"))?;
        crate::hunt::flags::check_bug_nodes(bug, self.nodes).map_err(|e| format!("`bug`: {e}"))?;
        let config = RunConfig {
            seed: self.seed,
            workload: parse_workload(&self.workload).map_err(|e| format!("`workload`: {e}"))?,
            nodes: self.nodes,
            clients: self.clients,
            txns: self.txns,
            keys: self.keys,
            faults: FaultSpec::parse(&self.faults).map_err(|e| format!("`faults`: {e}"))?,
            bug: self
                .bug
                .as_deref()
                .map(parse_bug)
                .transpose()
                .map_err(|e| format!("`bug`: {e}"))?,
            record_trace: false,
            store: match &self.bin {
                None => StoreSpec::Builtin,
                Some(command) => StoreSpec::Binary(BinarySpec { command: command.clone() }),
            },
            keep: self.keep.as_ref().map(|keep| {
                keep.iter()
                    .map(|(client, programs)| {
                        (*client, programs.iter().copied().collect::<BTreeSet<u64>>())
                    })
                    .collect()
            }),
            schedule: self.schedule.as_ref().map(ScheduleFile::schedule).transpose()?,
            shape: self.shape.as_ref().map(ShapeFile::shape).transpose()?,
        };
        if let Some(command) = &self.bin {
            crate::hunt::flags::check_binary(command, config.bug, &config.faults)
                .map_err(|e| format!("`bin`: {e}"))?;
        }
        crate::world::cost::check_fits(&config, 1)?;
        Ok(config)
    }

    /// Every client `keep` names exists, and so does every program it names.
    fn check_keep(&self, keep: &BTreeMap<u32, Vec<u64>>) -> Result<(), String> {
        for (&client, programs) in keep {
            if !(1..=self.clients).contains(&client) {
                return Err(format!(
                    "`keep` names client {client}, but the run has clients 1 to {}",
                    self.clients
                ));
            }
            let count = programs_of_client(self.txns, self.clients, client);
            if let Some(program) = programs.iter().find(|p| **p >= count) {
                return Err(format!(
                    "`keep` names program {program} of client {client}, which has {}",
                    match count {
                        0 => "no programs".to_string(),
                        1 => "only program 0".to_string(),
                        n => format!("programs 0 to {}", n - 1),
                    }
                ));
            }
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<RunConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the replay file: {e}", path.display()))?;
        let file: ReplayFile = serde_json::from_str(&text).map_err(|e| {
            let message = node::clip::clip_quoted(&e.to_string()).into_owned();
            format!("{}: not a replay file: {message}", path.display())
        })?;
        file.config().map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a replay file serializes") + "\n"
    }
}

/// How many programs client `client` (from 1) generates when `txns` are spread over
/// `clients`: the first `txns % clients` clients get one more (as the world deals them).
pub fn programs_of_client(txns: u64, clients: u32, client: u32) -> u64 {
    let clients = u64::from(clients.max(1));
    let slot = u64::from(client.saturating_sub(1));
    txns / clients + u64::from(slot < txns % clients)
}

/// A numeric field within `1..=max`, or an error naming the field and the flag's limit.
fn within(field: &str, value: u64, max: u64, flag: &str) -> Result<(), String> {
    if (1..=max).contains(&value) {
        return Ok(());
    }
    Err(format!("`{field}` is {value}, outside 1 to {max} (the limits of {flag})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ReplayFile {
        ReplayFile::of(&RunConfig { clients: 3, txns: 10, ..RunConfig::default() })
    }

    /// `edit` applied to a valid file must make `config` fail with an error containing
    /// `expect`.
    fn check(edit: impl FnOnce(&mut ReplayFile), expect: &str) {
        let mut replay = file();
        edit(&mut replay);
        let error = replay.config().expect_err(expect);
        assert!(error.contains(expect), "{error:?} lacks {expect:?}");
    }

    #[test]
    fn fields_outside_the_flags_limits_are_refused_naming_the_field_and_the_limit() {
        check(
            |f| f.clients = 100_000,
            "`clients` is 100000, outside 1 to 1000 (the limits of --clients)",
        );
        check(|f| f.clients = 0, "`clients` is 0");
        check(|f| f.txns = u64::MAX, "`txns` is 18446744073709551615, outside 1 to 1000000");
        check(|f| f.txns = 0, "`txns` is 0");
        check(|f| f.keys = 100_001, "`keys` is 100001, outside 1 to 100000");
        check(|f| f.workload = "queue".into(), "`workload`: unknown workload `queue`");
        check(|f| f.faults = "fire".into(), "`faults`: unknown fault family `fire`");
        check(|f| f.bug = Some("nope".into()), "`bug`: unknown bug `nope`");
        check(|f| f.nodes = 17, "`nodes` is 17, outside 1 to 16 (the limits of --nodes)");
        check(|f| f.bug = Some("commit-on-hint".into()), "needs --nodes 2 or more");
    }

    #[test]
    fn nodes_are_written_only_for_a_cluster_and_default_to_one() {
        let single = serde_json::to_string(&file()).unwrap();
        assert!(!single.contains("nodes"), "{single}");
        let cluster = ReplayFile::of(&RunConfig { nodes: 3, ..RunConfig::default() });
        let text = serde_json::to_string(&cluster).unwrap();
        assert!(text.contains(r#""nodes":3"#), "{text}");
        let back: ReplayFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.config().unwrap().nodes, 3);
        let old: ReplayFile = serde_json::from_str(&single).unwrap();
        assert_eq!(old.config().unwrap().nodes, 1);
    }

    #[test]
    fn a_keep_must_name_clients_and_programs_that_exist() {
        // 10 programs over 3 clients: client 1 has 4 (0 to 3), clients 2 and 3 have 3.
        let keep = |entries: &[(u32, &[u64])]| {
            Some(entries.iter().map(|(c, p)| (*c, p.to_vec())).collect())
        };
        check(|f| f.keep = keep(&[(4, &[0])]), "names client 4, but the run has clients 1 to 3");
        check(|f| f.keep = keep(&[(0, &[0])]), "names client 0");
        check(
            |f| f.keep = keep(&[(2, &[1, 3])]),
            "program 3 of client 2, which has programs 0 to 2",
        );
        let mut fine = file();
        fine.keep = keep(&[(1, &[3]), (2, &[]), (3, &[0, 2])]);
        assert!(fine.config().is_ok());
    }

    #[test]
    fn a_shrunk_keep_of_removed_clients_is_left_out_of_the_file() {
        let mut keep = BTreeMap::new();
        keep.insert(1, BTreeSet::from([0, 1]));
        keep.insert(5, BTreeSet::from([0]));
        let config = RunConfig { clients: 2, txns: 4, keep: Some(keep), ..RunConfig::default() };
        let replay = ReplayFile::of(&config);
        assert_eq!(replay.keep, Some(BTreeMap::from([(1, vec![0, 1])])));
        assert_eq!(replay.config().map(|c| c.keep.is_some()), Ok(true));
    }

    #[test]
    fn a_schedule_round_trips_and_a_bad_one_is_refused_naming_its_field() {
        let mut kept = BTreeMap::new();
        kept.insert(FaultEvent::Crash, BTreeSet::from([2]));
        kept.insert(FaultEvent::Drop, BTreeSet::new());
        let schedule = FaultSchedule { kept, hurry: 100, brief: 3 };
        let config = RunConfig { schedule: Some(schedule.clone()), ..RunConfig::default() };
        let text = ReplayFile::of(&config).to_json();
        assert!(text.contains(r#""hurry": 100"#) && text.contains(r#""brief": 3"#), "{text}");
        let back: ReplayFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.config().unwrap().schedule, Some(schedule));
        let plain = serde_json::to_string(&file()).unwrap();
        assert!(!plain.contains("schedule"), "{plain}");
        let with = |kept: &[(&str, Vec<u64>)], hurry| ScheduleFile {
            hurry,
            brief: 1,
            kept: kept.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        };
        check(|f| f.schedule = Some(with(&[("lightning", vec![])], 1)), "names `lightning`");
        check(|f| f.schedule = Some(with(&[], 0)), "`schedule.hurry` is 0");
        let brief = ScheduleFile { brief: 0, ..with(&[], 1) };
        check(|f| f.schedule = Some(brief.clone()), "`schedule.brief` is 0");
    }

    #[test]
    fn a_shape_round_trips_an_old_file_loads_without_one_and_a_bad_one_is_refused() {
        let shape = Shape {
            snapshot_min_bytes: Some(128),
            snapshot_chunk_bytes: Some(16),
            query_after_us: Some(2_000),
            txn_ttl_us: None,
            outcome_ttl_us: Some(500_000),
        };
        let config = RunConfig { shape: Some(shape), ..RunConfig::default() };
        let text = ReplayFile::of(&config).to_json();
        assert!(text.contains(r#""snapshot_min_bytes": 128"#), "{text}");
        assert!(text.contains(r#""snapshot_chunk_bytes": 16"#), "{text}");
        assert!(!text.contains("txn_ttl_us"), "{text}");
        let back: ReplayFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.config().unwrap().shape, Some(shape));
        let plain = serde_json::to_string(&file()).unwrap();
        assert!(!plain.contains("shape"), "{plain}");
        let old: ReplayFile = serde_json::from_str(&plain).unwrap();
        assert_eq!(old.config().unwrap().shape, None);
        let with = |snapshot_min_bytes| ShapeFile {
            snapshot_min_bytes,
            snapshot_chunk_bytes: None,
            query_after_us: None,
            txn_ttl_us: None,
            outcome_ttl_us: None,
        };
        check(|f| f.shape = Some(with(Some(0))), "`shape.snapshot_min_bytes` is 0");
        let no_chunk = ShapeFile { snapshot_chunk_bytes: Some(0), ..with(None) };
        check(|f| f.shape = Some(no_chunk.clone()), "`shape.snapshot_chunk_bytes` is 0");
        check(
            |f| f.shape = Some(ShapeFile { txn_ttl_us: Some(u64::MAX), ..with(None) }),
            "`shape.txn_ttl_us` is",
        );
    }
}
