//! Helpers shared by the state-store integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;

use chimera_host::state::{
    check_membership, check_non_membership, proof_specs, verify_membership, verify_non_membership, Snapshot,
    Storage, StorageOptions, IBC_STORE_PREFIX,
};
use prost::Message;

/// xorshift64*: deterministic, seedable, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A non-empty value of at most `max` bytes.
    pub fn value(&mut self, max: u64) -> Vec<u8> {
        let n = 1 + self.below(max) as usize;
        self.bytes(n)
    }
}

pub fn open(dir: &Path, keep_versions: u64) -> Storage {
    Storage::open(
        dir,
        StorageOptions {
            keep_versions,
            sync: false,
        },
    )
    .unwrap()
}

/// Checks `snap`'s answer for `key` and its proofs the way a counterparty's
/// ibc-go client would: the proofs go through their protobuf encoding,
/// then are chained with `proof_specs()` against the snapshot's app hash
/// under the `ibc` prefix.
pub fn assert_proof(snap: &Snapshot, key: &[u8], expected: Option<&[u8]>) {
    let (value, proofs) = snap.get_with_proof(key).unwrap();
    assert_eq!(
        value.as_deref(),
        expected,
        "get_with_proof value of {key:?} at {snap:?}"
    );
    assert_eq!(proofs.len(), 2);
    // Over the wire and back.
    let proofs: Vec<_> = proofs
        .iter()
        .map(|p| ics23::CommitmentProof::decode(p.encode_to_vec().as_slice()).unwrap())
        .collect();
    let specs = proof_specs();
    let root = snap.app_hash().0;
    match expected {
        Some(v) => {
            check_membership(&specs, &root, IBC_STORE_PREFIX, key, v, &proofs)
                .unwrap_or_else(|e| panic!("membership of {key:?} at {snap:?}: {e}"));
            assert!(!verify_non_membership(
                &specs,
                &root,
                IBC_STORE_PREFIX,
                key,
                &proofs
            ));
            let mut wrong = v.to_vec();
            wrong[0] ^= 1;
            assert!(!verify_membership(
                &specs,
                &root,
                IBC_STORE_PREFIX,
                key,
                &wrong,
                &proofs
            ));
            assert!(
                !verify_membership(&specs, &root, b"ibd", key, v, &proofs),
                "wrong prefix"
            );
            let mut other_root = root;
            other_root[31] ^= 1;
            assert!(!verify_membership(
                &specs,
                &other_root,
                IBC_STORE_PREFIX,
                key,
                v,
                &proofs
            ));
        }
        None => {
            check_non_membership(&specs, &root, IBC_STORE_PREFIX, key, &proofs)
                .unwrap_or_else(|e| panic!("non-membership of {key:?} at {snap:?}: {e}"));
            assert!(!verify_membership(
                &specs,
                &root,
                IBC_STORE_PREFIX,
                key,
                b"x",
                &proofs
            ));
            let mut other_root = root;
            other_root[0] ^= 1;
            assert!(!verify_non_membership(
                &specs,
                &other_root,
                IBC_STORE_PREFIX,
                key,
                &proofs
            ));
        }
    }
}
