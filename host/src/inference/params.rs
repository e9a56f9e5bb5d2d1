//! Parameters of the inference module: set in genesis, stored in state, so
//! every validator tallies, times out and bounds work alike.

use serde::{Deserialize, Serialize};

use crate::chain::params::StateParams;

const PARAMS_KEY: &[u8] = b"inference/params";

/// Consensus parameters of inference jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InferenceParams {
    /// A result is final when agreeing power × `quorum_den` exceeds total
    /// power × `quorum_num` (CometBFT's "more than 2/3" with 2/3).
    pub quorum_num: u64,
    pub quorum_den: u64,
    /// Blocks after its creation by which a job must reach a quorum; then it
    /// fails with `no_quorum`.
    ///
    /// Why 50: a slow model (tiny-lm on a CPU takes seconds) plus two blocks
    /// of vote-extension latency fits with margin at 1 s blocks, and a stuck
    /// job still frees its queue slot within a minute.
    pub deadline_blocks: u64,
    /// Most jobs pending at once; more requests get `queue_full`.
    pub max_pending_jobs: u64,
    /// Most reports one vote extension may carry.
    pub max_reports_per_vote: u64,
    /// Largest inline input, in bytes (never above the packet limit).
    pub max_inline_input_bytes: u64,
}

impl Default for InferenceParams {
    fn default() -> Self {
        InferenceParams {
            quorum_num: 2,
            quorum_den: 3,
            deadline_blocks: 50,
            max_pending_jobs: 4096,
            max_reports_per_vote: 256,
            max_inline_input_bytes: chimera_packets::limits::DEFAULT_MAX_INLINE_INPUT as u64,
        }
    }
}

impl InferenceParams {
    /// Checks the numbers: a genesis with nonsense is refused at InitChain.
    pub fn validate(&self) -> Result<(), String> {
        if self.quorum_den == 0 || self.quorum_num == 0 || self.quorum_num >= self.quorum_den {
            return Err(format!(
                "quorum {}/{} must be a fraction in (0, 1)",
                self.quorum_num, self.quorum_den
            ));
        }
        if self.deadline_blocks == 0 {
            return Err("deadline_blocks must be at least 1".into());
        }
        if self.max_pending_jobs == 0 || self.max_reports_per_vote == 0 {
            return Err("max_pending_jobs and max_reports_per_vote must be positive".into());
        }
        let packet_limit = chimera_packets::limits::MAX_PACKET_BYTES as u64;
        if self.max_inline_input_bytes > packet_limit {
            return Err(format!(
                "max_inline_input_bytes {} is above the packet limit {packet_limit}",
                self.max_inline_input_bytes
            ));
        }
        Ok(())
    }

    /// Whether `agreeing` of `total` power is a quorum.
    pub fn is_quorum(&self, agreeing: u64, total: u64) -> bool {
        total > 0 && agreeing as u128 * self.quorum_den as u128 > total as u128 * self.quorum_num as u128
    }

    /// The packet and input limits these parameters imply.
    pub fn limits(&self) -> chimera_packets::Limits {
        chimera_packets::Limits {
            max_inline_input: self.max_inline_input_bytes as usize,
            ..Default::default()
        }
    }
}

impl StateParams for InferenceParams {
    const KEY: &'static [u8] = PARAMS_KEY;
    const WHAT: &'static str = "inference params";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_more_than_two_thirds() {
        let p = InferenceParams::default();
        assert!(!p.is_quorum(2, 3));
        assert!(p.is_quorum(3, 4));
        assert!(!p.is_quorum(20, 30));
        assert!(p.is_quorum(21, 30));
        assert!(p.is_quorum(1, 1));
        assert!(!p.is_quorum(0, 0));
    }
}
