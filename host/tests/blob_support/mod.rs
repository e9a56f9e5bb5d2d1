//! Helpers shared by the blob-store integration tests.

/// Deterministic test bytes (xorshift64 from `seed`): different seeds give
/// different blobs, the same seed the same one.
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
