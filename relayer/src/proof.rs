//! ICS-23 membership checks of the proofs the relayer carries, exactly as
//! ibc-go's `MerkleProof.VerifyMembership` does them: proof `i` with spec
//! `i`, lowest store first, each proving the previous subroot under the
//! next key (`[key, store prefix]`), the last reaching the app hash.

use ibc_proto::ibc::core::commitment::v1::MerkleProof;
use ics23::{HostFunctionsManager, ProofSpec};
use prost::Message;

/// Checks that `value` is stored at `key` under store `prefix` in the state
/// whose app hash is `root`.
pub fn verify_membership(
    specs: &[ProofSpec],
    root: &[u8],
    prefix: &[u8],
    key: &[u8],
    value: &[u8],
    merkle: &[u8],
) -> Result<(), String> {
    let proof = MerkleProof::decode(merkle).map_err(|e| format!("not a MerkleProof: {e}"))?;
    if proof.proofs.len() != specs.len() {
        return Err(format!(
            "{} proofs for {} proof specs (wrong proof_specs in the config?)",
            proof.proofs.len(),
            specs.len()
        ));
    }
    let keys = [key, prefix];
    let mut value = value.to_vec();
    for (i, (p, spec)) in proof.proofs.iter().zip(specs).enumerate() {
        let Some(ics23::commitment_proof::Proof::Exist(exist)) = &p.proof else {
            return Err(format!("proof {i} is not an existence proof"));
        };
        let sub = ics23::calculate_existence_root::<HostFunctionsManager>(exist)
            .map_err(|e| format!("proof {i}: {e}"))?;
        let k = keys.get(i).copied().unwrap_or_default();
        if !ics23::verify_membership::<HostFunctionsManager>(p, spec, &sub, k, &value) {
            return Err(format!(
                "proof {i} does not prove {:?} under its root",
                String::from_utf8_lossy(k)
            ));
        }
        value = sub;
    }
    if value != root {
        return Err(format!(
            "the proof reaches {} but the header's app hash is {}",
            hex::encode_upper(&value),
            hex::encode_upper(root)
        ));
    }
    Ok(())
}
