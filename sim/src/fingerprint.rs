//! A stable hash of a run's event trace.
//!
//! FNV-1a over explicitly laid-out little-endian fields: unlike `std`'s `DefaultHasher`,
//! whose algorithm may change between Rust releases, it gives the same 64 bits for the
//! same trace on every machine and toolchain.

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

#[derive(Clone, Debug)]
pub struct Fingerprint {
    state: u64,
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint { state: OFFSET_BASIS }
    }
}

impl Fingerprint {
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let mut state = self.state;
        for byte in bytes {
            state ^= u64::from(*byte);
            state = state.wrapping_mul(PRIME);
        }
        self.state = state;
    }

    pub fn write_u64(&mut self, value: u64) {
        self.write_bytes(&value.to_le_bytes());
    }

    /// A length-prefixed string, so that ("ab", "c") and ("a", "bc") differ.
    pub fn write_str(&mut self, value: &str) {
        self.write_u64(value.len() as u64);
        self.write_bytes(value.as_bytes());
    }

    pub fn finish(&self) -> u64 {
        self.state
    }
}

pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut fingerprint = Fingerprint::default();
    fingerprint.write_bytes(bytes);
    fingerprint.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn length_prefix_separates_fields() {
        let hash = |parts: &[&str]| {
            let mut f = Fingerprint::default();
            parts.iter().for_each(|p| f.write_str(p));
            f.finish()
        };
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
    }
}
