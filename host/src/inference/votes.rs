//! Vote extensions (docs/protocol.md §13): what a validator reports in
//! `ExtendVote`, the stateless checks of `VerifyVoteExtension`, and the
//! proposer's record of the previous height's extensions that carries them
//! into the block.
//!
//! CometBFT 0.38 hands vote extensions only to the next proposer
//! (`PrepareProposal.local_last_commit`), never to `FinalizeBlock`. So the
//! proposer puts them in the block as a first pseudo-transaction, the
//! *votes record*: [`VOTES_TX_PREFIX`] then the protobuf
//! `tendermint.abci.ExtendedCommitInfo`. `ProcessProposal` re-checks every
//! extension's signature against the validator set in state (so a proposer
//! cannot forge or alter a report, only leave some out), and `FinalizeBlock`
//! reads the reports from it. A TxRaw never starts with a zero byte (it
//! would be protobuf field 0), so the record cannot be confused with a tx,
//! and CheckTx refuses anything that starts with the prefix.

use chimera_packets::{proto, ErrorCode, OutputEncoding};
use prost::Message;
use tendermint_proto::v0_38::abci::ExtendedCommitInfo;
use tendermint_proto::v0_38::types::CanonicalVoteExtension;

use super::store::ValidatorRecord;
use crate::executor::sketch::Sketch;

/// The first bytes of the votes record.
pub const VOTES_TX_PREFIX: &[u8] = b"\0chimera/votes\0";

/// Largest vote extension a validator may send.
///
/// Why 256 KiB: 256 reports of a few hundred bytes each (an 8×8 image
/// thumbnail is 140 bytes, 64 tokens 260), and four validators' worth still
/// fits a block comfortably.
pub const MAX_EXTENSION_BYTES: usize = 256 * 1024;

/// Most reports in one extension (the node sends at most this many).
pub const MAX_REPORTS: usize = 256;

/// CometBFT's `BlockIDFlagCommit`.
const BLOCK_ID_FLAG_COMMIT: i32 = 2;

/// Why an extension or a votes record is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VoteError {
    #[error("vote extension is {0} bytes (the limit is {MAX_EXTENSION_BYTES})")]
    TooLarge(usize),
    #[error("vote extension does not decode: {0}")]
    Decode(String),
    #[error("vote extension has {0} reports (the limit is {MAX_REPORTS})")]
    TooManyReports(usize),
    #[error("reports are not in strictly increasing job order at job {0}")]
    Unordered(u64),
    #[error("report of job {job}: {why}")]
    BadReport { job: u64, why: String },
    #[error("votes record: {0}")]
    Record(String),
}

/// Decodes an extension and checks everything that needs no state.
pub fn decode_extension(bytes: &[u8]) -> Result<proto::VoteExtension, VoteError> {
    if bytes.len() > MAX_EXTENSION_BYTES {
        return Err(VoteError::TooLarge(bytes.len()));
    }
    let ext = proto::VoteExtension::decode(bytes).map_err(|e| VoteError::Decode(e.to_string()))?;
    if ext.reports.len() > MAX_REPORTS {
        return Err(VoteError::TooManyReports(ext.reports.len()));
    }
    let mut last = 0u64;
    for r in &ext.reports {
        if r.job_id <= last {
            return Err(VoteError::Unordered(r.job_id));
        }
        last = r.job_id;
        check_report(r).map_err(|why| VoteError::BadReport { job: r.job_id, why })?;
    }
    Ok(ext)
}

fn check_report(r: &proto::JobReport) -> Result<(), String> {
    use proto::job_report::Outcome;
    match &r.outcome {
        None => Err("no outcome".into()),
        Some(Outcome::Result(x)) => {
            if x.model_hash.len() != 32 {
                return Err("model_hash is not 32 bytes".into());
            }
            let o = x.output.as_ref().ok_or("no output commitment")?;
            if o.sha256.len() != 32 {
                return Err("output.sha256 is not 32 bytes".into());
            }
            if OutputEncoding::from_name(&o.encoding).is_none() {
                return Err(format!("unknown output encoding {:?}", o.encoding));
            }
            match (x.sketch.is_empty(), x.sealed_sketch.is_empty()) {
                (false, true) => Sketch::from_bytes(&x.sketch).map(drop).map_err(|e| e.to_string()),
                (true, false) => chimera_packets::sealed::SealedMessage::from_bytes(&x.sealed_sketch)
                    .map(drop)
                    .map_err(|e| format!("sealed_sketch: {e}")),
                _ => Err("exactly one of sketch and sealed_sketch must be set".into()),
            }
        }
        Some(Outcome::Agreement(a)) => {
            if a.reference.len() != 20 {
                return Err("agreement.reference is not a 20-byte address".into());
            }
            Ok(())
        }
        Some(Outcome::Failure(f)) => {
            if ErrorCode::from_code(f.code).is_none() {
                return Err(format!("unknown error code {}", f.code));
            }
            if f.detail.len() > chimera_packets::limits::MAX_ERROR_TEXT_LEN {
                return Err("failure detail is too long".into());
            }
            Ok(())
        }
    }
}

/// The votes record for a proposal, or `None` when there is nothing to
/// carry (the first block, or no validator reported anything).
pub fn record_tx(commit: Option<tendermint::abci::types::ExtendedCommitInfo>) -> Option<Vec<u8>> {
    let commit = ExtendedCommitInfo::from(commit?);
    if commit.votes.iter().all(|v| v.vote_extension.is_empty()) {
        return None;
    }
    let mut tx = VOTES_TX_PREFIX.to_vec();
    commit.encode(&mut tx).expect("a Vec grows");
    Some(tx)
}

/// Whether a block transaction is the votes record.
pub fn is_record(tx: &[u8]) -> bool {
    tx.starts_with(VOTES_TX_PREFIX)
}

/// One validator's verified extension in a votes record.
#[derive(Debug)]
pub struct SignedReports {
    /// The validator's consensus address.
    pub validator: Vec<u8>,
    pub extension: proto::VoteExtension,
}

/// Checks a votes record of the votes for `height` (the proposal's height
/// minus one) on `chain_id`: every vote names a validator of `validators`
/// once, every extension is signed by that validator and well formed.
/// Returns the non-empty extensions by validator.
pub fn verify_record(
    tx: &[u8],
    height: u64,
    chain_id: &str,
    validators: &[ValidatorRecord],
) -> Result<Vec<SignedReports>, VoteError> {
    let body = tx
        .strip_prefix(VOTES_TX_PREFIX)
        .ok_or_else(|| VoteError::Record("missing prefix".into()))?;
    let commit = ExtendedCommitInfo::decode(body).map_err(|e| VoteError::Record(format!("decode: {e}")))?;
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut out = Vec::new();
    for v in &commit.votes {
        let addr = v
            .validator
            .as_ref()
            .map(|x| x.address.as_ref())
            .ok_or_else(|| VoteError::Record("a vote without its validator".into()))?;
        if seen.contains(&addr) {
            return Err(VoteError::Record(format!(
                "validator {} votes twice",
                hex::encode(addr)
            )));
        }
        seen.push(addr);
        if v.block_id_flag != BLOCK_ID_FLAG_COMMIT {
            if !v.vote_extension.is_empty() {
                return Err(VoteError::Record(
                    "an extension on a vote that did not commit".into(),
                ));
            }
            continue;
        }
        let val = validators
            .iter()
            .find(|x| x.address == addr)
            .ok_or_else(|| VoteError::Record(format!("{} is not a validator", hex::encode(addr))))?;
        let sign_bytes = CanonicalVoteExtension {
            extension: v.vote_extension.to_vec(),
            height: height as i64,
            round: commit.round as i64,
            chain_id: chain_id.to_string(),
        }
        .encode_length_delimited_to_vec();
        let key = ed25519_consensus::VerificationKey::try_from(val.ed25519.as_slice())
            .map_err(|e| VoteError::Record(format!("validator key: {e:?}")))?;
        let sig = ed25519_consensus::Signature::try_from(v.extension_signature.as_ref())
            .map_err(|e| VoteError::Record(format!("extension signature: {e:?}")))?;
        key.verify(&sig, &sign_bytes).map_err(|_| {
            VoteError::Record(format!(
                "bad extension signature of validator {}",
                hex::encode(addr)
            ))
        })?;
        if v.vote_extension.is_empty() {
            continue;
        }
        out.push(SignedReports {
            validator: addr.to_vec(),
            extension: decode_extension(&v.vote_extension)?,
        });
    }
    Ok(out)
}

/// Encodes a validator's reports (sorted by job id, capped).
/// Returns the bytes and the ids of the jobs that fit.
pub fn encode_extension(mut reports: Vec<proto::JobReport>) -> (Vec<u8>, Vec<u64>) {
    reports.sort_by_key(|r| r.job_id);
    reports.dedup_by_key(|r| r.job_id);
    reports.truncate(MAX_REPORTS);
    let mut ext = proto::VoteExtension { reports };
    while ext.encoded_len() > MAX_EXTENSION_BYTES {
        ext.reports.pop();
    }
    let jobs = ext.reports.iter().map(|r| r.job_id).collect();
    (ext.encode_to_vec(), jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tendermint_proto::v0_38::abci::ExtendedVoteInfo;
    use tendermint_proto::v0_38::abci::Validator as RawValidator;

    fn report(job: u64) -> proto::JobReport {
        proto::JobReport {
            job_id: job,
            outcome: Some(proto::job_report::Outcome::Result(proto::ExecutedResult {
                model_hash: vec![1; 32],
                output: Some(proto::OutputCommitment {
                    sha256: vec![2; 32],
                    size: 9,
                    encoding: "png".into(),
                }),
                sketch: Sketch::Tokens { tokens: vec![1, 2] }.to_bytes(),
                sealed_sketch: Vec::new(),
            })),
        }
    }

    #[test]
    fn extensions_round_trip_sorted_and_bounded() {
        let (bytes, jobs) = encode_extension(vec![report(3), report(1), report(3)]);
        assert_eq!(jobs, [1, 3]);
        let ext = decode_extension(&bytes).unwrap();
        assert_eq!(ext.reports.iter().map(|r| r.job_id).collect::<Vec<_>>(), [1, 3]);
        assert!(decode_extension(&[]).unwrap().reports.is_empty());
        assert!(matches!(decode_extension(&[0xff; 7]), Err(VoteError::Decode(_))));
        let unordered = proto::VoteExtension {
            reports: vec![report(2), report(1)],
        };
        assert_eq!(
            decode_extension(&unordered.encode_to_vec()),
            Err(VoteError::Unordered(1))
        );
        let mut bad = report(1);
        if let Some(proto::job_report::Outcome::Result(x)) = &mut bad.outcome {
            x.sketch = vec![9, 9];
        }
        let e = decode_extension(&proto::VoteExtension { reports: vec![bad] }.encode_to_vec()).unwrap_err();
        assert!(matches!(e, VoteError::BadReport { job: 1, .. }), "{e}");
        assert!(matches!(
            decode_extension(&vec![0; MAX_EXTENSION_BYTES + 1]),
            Err(VoteError::TooLarge(_))
        ));
    }

    fn signed_record(
        ext: &[u8],
        height: i64,
        chain: &str,
        key: &ed25519_consensus::SigningKey,
        addr: &[u8],
    ) -> Vec<u8> {
        let sign_bytes = CanonicalVoteExtension {
            extension: ext.to_vec(),
            height,
            round: 0,
            chain_id: chain.into(),
        }
        .encode_length_delimited_to_vec();
        let commit = ExtendedCommitInfo {
            round: 0,
            votes: vec![ExtendedVoteInfo {
                validator: Some(RawValidator {
                    address: addr.to_vec().into(),
                    power: 10,
                }),
                vote_extension: ext.to_vec().into(),
                extension_signature: key.sign(&sign_bytes).to_bytes().to_vec().into(),
                block_id_flag: BLOCK_ID_FLAG_COMMIT,
            }],
        };
        let mut tx = VOTES_TX_PREFIX.to_vec();
        tx.extend(commit.encode_to_vec());
        tx
    }

    #[test]
    fn records_verify_signatures_height_and_chain() {
        let key = ed25519_consensus::SigningKey::from([5u8; 32]);
        let addr = vec![0xaa; 20];
        let vals = [ValidatorRecord {
            address: addr.clone(),
            ed25519: key.verification_key().to_bytes().to_vec(),
            power: 10,
        }];
        let (ext, _) = encode_extension(vec![report(4)]);
        let tx = signed_record(&ext, 7, "chimera-1", &key, &addr);
        assert!(is_record(&tx));
        let got = verify_record(&tx, 7, "chimera-1", &vals).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].extension.reports[0].job_id, 4);
        // Replayed at another height or on another chain: refused.
        assert!(verify_record(&tx, 8, "chimera-1", &vals).is_err());
        assert!(verify_record(&tx, 7, "other-1", &vals).is_err());
        // Signed by a stranger's key: refused.
        let forged = signed_record(
            &ext,
            7,
            "chimera-1",
            &ed25519_consensus::SigningKey::from([6u8; 32]),
            &addr,
        );
        let e = verify_record(&forged, 7, "chimera-1", &vals).unwrap_err();
        assert!(e.to_string().contains("bad extension signature"), "{e}");
        // A vote from outside the validator set: refused.
        let stranger = signed_record(&ext, 7, "chimera-1", &key, &[0xbb; 20]);
        assert!(verify_record(&stranger, 7, "chimera-1", &vals).is_err());
    }
}
