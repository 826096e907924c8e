//! One seed, a tree of named random streams.
//!
//! Every concern (the network, the nemesis, each client) draws from its own ChaCha stream,
//! derived from the master seed and the concern's name alone. Adding a client or drawing
//! one more number for the network therefore never reshuffles anything else. ChaCha8's
//! output is fixed by its specification, so a seed means the same run on every machine and
//! every release of `rand_chacha`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::world::fingerprint::fnv1a;

/// The stream named `name` of master seed `seed`.
pub fn stream(seed: u64, name: &str) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    let mut state = seed;
    for chunk in key.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(fnv1a(name.as_bytes()));
    rng
}

/// SplitMix64: spreads a 64-bit seed over the 256-bit ChaCha key, so that seeds 1 and 2
/// give unrelated keys.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_fixed_by_seed_and_name() {
        // Pinned outputs: a change here means every recorded seed now means another run.
        let first = |seed, name| stream(seed, name).next_u64();
        assert_eq!(first(7, "network"), first(7, "network"));
        assert_ne!(first(7, "network"), first(7, "faults"));
        assert_ne!(first(7, "network"), first(8, "network"));
        assert_eq!(format!("{:016x}", first(0, "network")), PINNED_SEED0_NETWORK);
    }

    const PINNED_SEED0_NETWORK: &str = "03687543437a1ba7";
}
