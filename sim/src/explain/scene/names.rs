//! The names the harness gives a run's transactions: `T<n>`, the transaction invoked at
//! history event `n`, as the checker names it, with the store's txn id, the history
//! process and the simulated client attached once; and sentences renamed to use them.

use std::collections::BTreeMap;

use workloads::history::EventKind;

use crate::check::report::txn_title;
use crate::world::topology::Role;
use crate::world::Simulation;

/// The names the harness gives a run's transactions, and what is attached to them.
pub struct TxnNames<'s> {
    sim: &'s Simulation,
    /// The store's txn id -> `T<n>` (from the history's completions).
    by_txn_id: BTreeMap<&'s str, u64>,
    /// `n` of `T<n>` -> (history process, store txn id).
    txns: BTreeMap<u64, (u64, Option<&'s str>)>,
    /// Per simulated process (index into `names`): its invocations, (time, `n`), in order.
    invocations: BTreeMap<usize, Vec<(u64, u64)>>,
}

impl<'s> TxnNames<'s> {
    pub fn of(sim: &'s Simulation) -> TxnNames<'s> {
        let mut names = TxnNames {
            sim,
            by_txn_id: BTreeMap::new(),
            txns: BTreeMap::new(),
            invocations: BTreeMap::new(),
        };
        let mut open: BTreeMap<u64, u64> = BTreeMap::new();
        for event in &sim.history {
            if event.kind == EventKind::Invoke {
                open.insert(event.process, event.index);
                names.txns.insert(event.index, (event.process, None));
                if let Some(&index) = sim.process_index.get(&event.process) {
                    names.invocations.entry(index).or_default().push((event.time, event.index));
                }
                continue;
            }
            let Some(txn) = open.remove(&event.process) else { continue };
            if let Some(id) = event.txn_id.as_deref() {
                names.by_txn_id.insert(id, txn);
                names.txns.insert(txn, (event.process, Some(id)));
            }
        }
        names
    }

    /// Where a history process ran: `client c3` (or `client c6, the final read`).
    pub fn host(&self, process: u64) -> Option<String> {
        let index = *self.sim.process_index.get(&process)?;
        let name = &self.sim.names[index];
        Some(if self.sim.roles[index] == Role::FinalReader {
            format!("client {name}, the final read")
        } else {
            format!("client {name}")
        })
    }

    /// `T583 = txn t321, process 4 on client c5`.
    pub fn title(&self, txn: u64) -> String {
        let (process, id) = self.txns.get(&txn).copied().unwrap_or((0, None));
        txn_title(&format!("T{txn}"), id, process, self.host(process).as_deref())
    }

    /// `text` with every store txn id of a transaction in the history replaced by its
    /// `T<n>`, and the `n`s it named.
    pub fn rename(&self, text: &str) -> (String, Vec<u64>) {
        rename_ids(text, |word| self.by_txn_id.get(word).copied())
    }

    /// `T<n>` of the transaction the store knows as `txn_id`.
    pub(crate) fn of_txn_id(&self, txn_id: &str) -> Option<u64> {
        self.by_txn_id.get(txn_id).copied()
    }

    /// The store's txn id of `T<n>`, when it completed with one.
    pub(crate) fn txn_id(&self, txn: u64) -> Option<&'s str> {
        self.txns.get(&txn).and_then(|t| t.1)
    }

    /// The transaction a simulated process was running at `time_us`: its latest
    /// invocation at or before then. A client sends only for the transaction in progress,
    /// and it never sends and completes at the same instant (every message takes at least
    /// the network's base delay).
    pub(crate) fn running(&self, index: usize, time_us: u64) -> Option<u64> {
        let invocations = self.invocations.get(&index)?;
        let after = invocations.partition_point(|(time, _)| *time <= time_us);
        after.checked_sub(1).map(|i| invocations[i].1)
    }
}

/// `text` with every word (a run of ASCII letters and digits) that `txn_of` knows as a
/// store txn id replaced by `T<n>`, and the `n`s, in order of mention.
fn rename_ids(text: &str, txn_of: impl Fn(&str) -> Option<u64>) -> (String, Vec<u64>) {
    let mut named = Vec::new();
    let out = map_words(text, |word| {
        let txn = txn_of(word)?;
        named.push(txn);
        Some(format!("T{txn}"))
    });
    // A cluster's ids name their coordinator (`t57.n2`): two words around a dot.
    let out = match out.contains('.') {
        true => map_dotted_pairs(&out, |pair| {
            let txn = txn_of(pair)?;
            named.push(txn);
            Some(format!("T{txn}"))
        }),
        false => out,
    };
    (out, named)
}

/// `text` with each `word.word` (runs of ASCII letters and digits joined by one dot)
/// replaced by what `replace` makes of it, or kept when it makes nothing.
fn map_dotted_pairs(text: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let bytes = text.as_bytes();
    let word_end = |from: usize| {
        (from..bytes.len()).find(|&i| !bytes[i].is_ascii_alphanumeric()).unwrap_or(bytes.len())
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = bytes[i].is_ascii_alphanumeric()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'.');
        if starts_word {
            let first = word_end(i);
            if bytes.get(first) == Some(&b'.')
                && bytes.get(first + 1).is_some_and(u8::is_ascii_alphanumeric)
            {
                let second = word_end(first + 1);
                if let Some(replaced) = replace(&text[i..second]) {
                    out.push_str(&replaced);
                    i = second;
                    continue;
                }
            }
            out.push_str(&text[i..first]);
            i = first;
            continue;
        }
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}
/// `text` with each word (a run of ASCII letters and digits) replaced by what `replace`
/// makes of it, or kept when it makes nothing.
pub(crate) fn map_words(text: &str, mut replace: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let len = match rest.find(|c: char| !c.is_ascii_alphanumeric()) {
            Some(0) => first.len_utf8(),
            Some(len) => len,
            None => rest.len(),
        };
        let (word, after) = rest.split_at(len);
        match replace(word).filter(|_| first.is_ascii_alphanumeric()) {
            Some(replaced) => out.push_str(&replaced),
            None => out.push_str(word),
        }
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_txn_ids_in_a_sentence_become_t_names() {
        // Whole words only: t5 becomes T12, t55 and `at5` stay, other text is untouched.
        let txn_of = |word: &str| (word == "t5").then_some(12);
        let (text, named) = rename_ids("the store aborted t5 (t55, at5, t5é): é ok", txn_of);
        assert_eq!(text, "the store aborted T12 (t55, at5, T12é): é ok");
        assert_eq!(named, [12, 12]);
    }
}
