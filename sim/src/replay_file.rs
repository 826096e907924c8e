//! Replay files: a run that flags alone cannot express (a shrunk run that skips chosen
//! transactions) written as one JSON object, run again with `sim run --replay FILE`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cli::args::{parse_bug, parse_workload};
use crate::faults::FaultSpec;
use crate::world::RunConfig;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFile {
    pub seed: u64,
    pub workload: String,
    pub clients: u32,
    pub txns: u64,
    pub keys: u32,
    pub faults: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug: Option<String>,
    /// Client number (from 1) -> indices of the generated programs it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<BTreeMap<u32, Vec<u64>>>,
}

impl ReplayFile {
    pub fn of(config: &RunConfig) -> ReplayFile {
        ReplayFile {
            seed: config.seed,
            workload: config.workload.name().to_string(),
            clients: config.clients,
            txns: config.txns,
            keys: config.keys,
            faults: config.faults.flag(),
            bug: config.bug.map(|b| b.name().to_string()),
            keep: config.keep.as_ref().map(|keep| {
                keep.iter()
                    .map(|(client, programs)| (*client, programs.iter().copied().collect()))
                    .collect()
            }),
        }
    }

    pub fn config(&self) -> Result<RunConfig, String> {
        if self.clients == 0 || self.keys == 0 {
            return Err("clients and keys must be at least 1".into());
        }
        Ok(RunConfig {
            seed: self.seed,
            workload: parse_workload(&self.workload)?,
            clients: self.clients,
            txns: self.txns,
            keys: self.keys,
            faults: FaultSpec::parse(&self.faults)?,
            bug: self.bug.as_deref().map(parse_bug).transpose()?,
            record_trace: false,
            keep: self.keep.as_ref().map(|keep| {
                keep.iter()
                    .map(|(client, programs)| {
                        (*client, programs.iter().copied().collect::<BTreeSet<u64>>())
                    })
                    .collect()
            }),
        })
    }

    pub fn load(path: &Path) -> Result<RunConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the replay file: {e}", path.display()))?;
        let file: ReplayFile = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a replay file: {e}", path.display()))?;
        file.config().map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a replay file serializes") + "\n"
    }
}
