//! The app hash and ICS-23 proofs, as a counterparty's ibc-go client sees them.
//!
//! State is one Jellyfish Merkle tree; CometBFT commits to
//! `app_hash = sha256("ChimeraAppHash" ‖ "ibc" ‖ jmt_root)`. That is the
//! ICS-23 leaf hash of key `ibc` (our IBC store prefix) with value
//! `jmt_root` under [`app_hash_spec`], so a proof for an IBC path `P` is the
//! two-level chain ibc-go verifies for the merkle path `["ibc", P]`:
//! proof 0 (spec [`jmt::ics23_spec`]) takes `P` and its value to the JMT
//! root, proof 1 (spec [`app_hash_spec`]) takes key `ibc` and that root to
//! the app hash. The design follows Penumbra's (cnidarium), with our domain
//! string and with the prefix inside the leaf op, so that the commitment
//! prefix is the conventional `ibc`.

use ics23::commitment_proof::Proof;
use ics23::{
    CommitmentProof, ExistenceProof, HashOp, HostFunctionsManager, InnerSpec, LeafOp, LengthOp, ProofSpec,
};
use sha2::{Digest, Sha256};

/// The commitment (store) prefix counterparties use for our IBC paths: the
/// key of the app-hash proof. Hermes: `store_prefix = "ibc"`.
pub const IBC_STORE_PREFIX: &[u8] = b"ibc";

/// Domain separator of the app hash: the leaf prefix of [`app_hash_spec`].
pub const APP_HASH_DOMAIN: &[u8] = b"ChimeraAppHash";

/// The root jmt gives a tree with no keys (its `SPARSE_MERKLE_PLACEHOLDER_HASH`).
pub const EMPTY_TREE_ROOT: [u8; 32] = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// The hash CometBFT records for our state after each block.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppHash(pub [u8; 32]);

impl AppHash {
    /// The app hash of the empty tree (nothing committed yet, or every key
    /// deleted): `sha256("ChimeraAppHash" ‖ "ibc" ‖ "SPARSE_MERKLE_PLACEHOLDER_HASH__")`
    /// = `a77165cf…442207` (checked against [`AppHash::from_root`] in tests). No
    /// proof can be made against it: ICS-23 cannot prove absence in an empty
    /// tree.
    pub const EMPTY: AppHash = AppHash([
        0xa7, 0x71, 0x65, 0xcf, 0xe7, 0xdb, 0x8a, 0xc0, 0x49, 0xc7, 0xe1, 0x63, 0x3b, 0xec, 0x4e, 0x93, 0x26,
        0x56, 0x61, 0x3b, 0x85, 0xe7, 0x1f, 0x09, 0x73, 0x88, 0xfc, 0x90, 0x21, 0x44, 0x22, 0x07,
    ]);

    /// The app hash committing to JMT root `root`: the [`app_hash_spec`]
    /// leaf hash of (`ibc`, `root`).
    pub fn from_root(root: [u8; 32]) -> AppHash {
        let mut h = Sha256::new();
        h.update(APP_HASH_DOMAIN);
        h.update(IBC_STORE_PREFIX);
        h.update(root);
        AppHash(h.finalize().into())
    }

    /// The bytes, as CometBFT's `app_hash` field carries them.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for AppHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppHash({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for AppHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl AsRef<[u8]> for AppHash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The spec of the upper proof (key `ibc` → JMT root → app hash): one leaf
/// op, no inner ops. `max_depth: 1` as in Penumbra (ics23 ignores depth
/// bounds that are 0, so 0 would mean "unbounded"; an empty path is within 1).
pub fn app_hash_spec() -> ProofSpec {
    ProofSpec {
        leaf_spec: Some(LeafOp {
            hash: HashOp::Sha256.into(),
            prehash_key: HashOp::NoHash.into(),
            prehash_value: HashOp::NoHash.into(),
            length: LengthOp::NoPrefix.into(),
            prefix: APP_HASH_DOMAIN.to_vec(),
        }),
        inner_spec: Some(InnerSpec {
            child_order: vec![0, 1],
            child_size: 32,
            min_prefix_length: 0,
            max_prefix_length: 0,
            empty_child: vec![],
            hash: HashOp::Sha256.into(),
        }),
        max_depth: 1,
        min_depth: 0,
        prehash_key_before_comparison: false,
    }
}

/// The proof specs a light client of our chain must hold, lowest tree
/// first: `[jmt::ics23_spec(), app_hash_spec()]` (ibc-go 07-tendermint
/// `ClientState.proof_specs`; Hermes `proof_specs`).
pub fn proof_specs() -> Vec<ProofSpec> {
    vec![jmt::ics23_spec(), app_hash_spec()]
}

/// The upper proof of every chain: `ibc` → `root` under [`app_hash_spec`].
pub fn app_hash_proof(root: [u8; 32]) -> CommitmentProof {
    CommitmentProof {
        proof: Some(Proof::Exist(ExistenceProof {
            key: IBC_STORE_PREFIX.to_vec(),
            value: root.to_vec(),
            leaf: app_hash_spec().leaf_spec,
            path: vec![],
        })),
    }
}

/// Verifies that `key` holds `value` under commitment `prefix` in the state
/// whose root hash is `root` (our app hash, or a counterparty's), exactly as
/// ibc-go v7 `MerkleProof.VerifyMembership` does for the merkle path
/// `[prefix, key]`: proof `i` with spec `i`, lowest first, each proving the
/// previous subroot under the next key, the last one reaching `root`.
pub fn verify_membership(
    specs: &[ProofSpec],
    root: &[u8],
    prefix: &[u8],
    key: &[u8],
    value: &[u8],
    proofs: &[CommitmentProof],
) -> bool {
    check_membership(specs, root, prefix, key, value, proofs).is_ok()
}

/// Verifies that `key` is absent under `prefix` in the state with root hash
/// `root`, as ibc-go v7 `MerkleProof.VerifyNonMembership` does: proof 0 is a
/// non-existence proof whose calculated root the remaining membership
/// proofs chain up to `root`.
pub fn verify_non_membership(
    specs: &[ProofSpec],
    root: &[u8],
    prefix: &[u8],
    key: &[u8],
    proofs: &[CommitmentProof],
) -> bool {
    check_non_membership(specs, root, prefix, key, proofs).is_ok()
}

/// [`verify_membership`] with the reason for a rejection (ibc-go's checks,
/// in ibc-go's order).
pub fn check_membership(
    specs: &[ProofSpec],
    root: &[u8],
    prefix: &[u8],
    key: &[u8],
    value: &[u8],
    proofs: &[CommitmentProof],
) -> Result<(), String> {
    validate_args(specs, root, proofs)?;
    if value.is_empty() {
        return Err("empty value in membership proof".into());
    }
    let keys = [prefix, key];
    chain_membership(root, specs, proofs, &keys, value.to_vec(), 0)
}

/// [`verify_non_membership`] with the reason for a rejection.
pub fn check_non_membership(
    specs: &[ProofSpec],
    root: &[u8],
    prefix: &[u8],
    key: &[u8],
    proofs: &[CommitmentProof],
) -> Result<(), String> {
    validate_args(specs, root, proofs)?;
    let keys = [prefix, key];
    let Some(Proof::Nonexist(non)) = &proofs[0].proof else {
        return Err("proof 0 is not a non-existence proof".into());
    };
    let subroot = non
        .left
        .as_ref()
        .or(non.right.as_ref())
        .ok_or("non-existence proof has no neighbour")
        .and_then(|ex| calculate(ex).map_err(|_| "cannot calculate the root of proof 0"))?;
    if !ics23::verify_non_membership::<HostFunctionsManager>(&proofs[0], &specs[0], &subroot, key) {
        return Err(format!(
            "absence of key {} not proven",
            String::from_utf8_lossy(key)
        ));
    }
    chain_membership(root, specs, proofs, &keys, subroot, 1)
}

fn validate_args(specs: &[ProofSpec], root: &[u8], proofs: &[CommitmentProof]) -> Result<(), String> {
    if proofs.is_empty() {
        return Err("proof cannot be empty".into());
    }
    if root.is_empty() {
        return Err("root cannot be empty".into());
    }
    if specs.len() != proofs.len() {
        return Err(format!("{} specs for {} proofs", specs.len(), proofs.len()));
    }
    // The merkle path is [prefix, key]: one key per proof.
    if specs.len() != 2 {
        return Err(format!("path length 2 not same as proof {}", specs.len()));
    }
    Ok(())
}

/// ibc-go's `verifyChainedMembershipProof`: keys run highest first, proofs
/// and specs lowest first.
fn chain_membership(
    root: &[u8],
    specs: &[ProofSpec],
    proofs: &[CommitmentProof],
    keys: &[&[u8]],
    mut value: Vec<u8>,
    start: usize,
) -> Result<(), String> {
    let mut subroot = value.clone();
    for i in start..proofs.len() {
        let Some(Proof::Exist(ex)) = &proofs[i].proof else {
            return Err(format!("proof {i} is not an existence proof"));
        };
        subroot = calculate(ex).map_err(|e| format!("cannot calculate the root of proof {i}: {e}"))?;
        let key = keys[keys.len() - 1 - i];
        if !ics23::verify_membership::<HostFunctionsManager>(&proofs[i], &specs[i], &subroot, key, &value) {
            return Err(format!(
                "proof {i} does not prove its value under key {}",
                String::from_utf8_lossy(key)
            ));
        }
        value = subroot.clone();
    }
    if subroot != root {
        return Err(format!(
            "proof commits to root {}, expected {}",
            hex::encode(&subroot),
            hex::encode(root)
        ));
    }
    Ok(())
}

fn calculate(ex: &ExistenceProof) -> ics23::Result<Vec<u8>> {
    ics23::calculate_existence_root::<HostFunctionsManager>(ex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_app_hash_is_the_hash_of_the_placeholder_root() {
        assert_eq!(AppHash::from_root(EMPTY_TREE_ROOT), AppHash::EMPTY);
    }

    #[test]
    fn app_hash_is_the_leaf_hash_of_the_spec() {
        let root = [7u8; 32];
        let proof = app_hash_proof(root);
        let Some(Proof::Exist(ex)) = &proof.proof else {
            unreachable!()
        };
        assert_eq!(calculate(ex).unwrap(), AppHash::from_root(root).0.to_vec());
        assert!(ics23::verify_membership::<HostFunctionsManager>(
            &proof,
            &app_hash_spec(),
            &AppHash::from_root(root).0.to_vec(),
            IBC_STORE_PREFIX,
            &root
        ));
    }
}
