//! Parameters of the ICS-27 host, as ibc-go's `icahost` `Params`: whether
//! the host accepts packets at all, and which message types an interchain
//! account may execute. Set in genesis (`app_state.ica_host`), stored in
//! state so every validator refuses the same messages.

use serde::{Deserialize, Serialize};

use crate::chain::bank::MSG_SEND_TYPE_URL;
use crate::chain::params::StateParams;

const PARAMS_KEY: &[u8] = b"icahost/params";

/// `MsgRunInference`'s type URL: the reason the host exists.
pub const MSG_RUN_INFERENCE_TYPE_URL: &str = chimera_packets::ica::MSG_RUN_INFERENCE_TYPE_URL;

/// ibc-go's wildcard in `allow_messages`: every message this host can
/// execute for an interchain account.
pub const ALLOW_ALL: &str = "*";

/// The message types an interchain account can execute here at all. The
/// allow-list is a subset: IBC messages are left out on purpose (an ICA
/// packet executing IBC messages would nest one IBC handler in another).
pub const EXECUTABLE: [&str; 2] = [MSG_RUN_INFERENCE_TYPE_URL, MSG_SEND_TYPE_URL];

/// ibc-go `icahost` `Params`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IcaHostParams {
    /// When false, channel handshakes are refused and every packet gets
    /// an error acknowledgement (ibc-go's `ErrHostSubModuleDisabled`).
    pub host_enabled: bool,
    /// Type URLs an interchain account may execute, or `"*"`.
    pub allow_messages: Vec<String>,
}

impl Default for IcaHostParams {
    fn default() -> Self {
        IcaHostParams {
            host_enabled: true,
            allow_messages: EXECUTABLE.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl IcaHostParams {
    /// Refuses type URLs this host could never execute, so a genesis
    /// never promises what the chain cannot do.
    pub fn validate(&self) -> Result<(), String> {
        for m in &self.allow_messages {
            if m != ALLOW_ALL && !EXECUTABLE.contains(&m.as_str()) {
                return Err(format!(
                    "allow_messages: {m:?} cannot be executed by an interchain account here (possible: {})",
                    EXECUTABLE.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Whether an interchain account may execute `type_url` (ibc-go's
    /// `ContainsMsgType`).
    pub fn allows(&self, type_url: &str) -> bool {
        self.allow_messages
            .iter()
            .any(|m| m == type_url || (m == ALLOW_ALL && EXECUTABLE.contains(&type_url)))
    }
}

impl StateParams for IcaHostParams {
    const KEY: &'static [u8] = PARAMS_KEY;
    const WHAT: &'static str = "ICA host params";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list() {
        let p = IcaHostParams::default();
        assert!(p.allows(MSG_RUN_INFERENCE_TYPE_URL));
        assert!(p.allows(MSG_SEND_TYPE_URL));
        assert!(!p.allows("/ibc.applications.transfer.v1.MsgTransfer"));
        let only_send = IcaHostParams {
            allow_messages: vec![MSG_SEND_TYPE_URL.into()],
            ..p.clone()
        };
        assert!(!only_send.allows(MSG_RUN_INFERENCE_TYPE_URL));
        let all = IcaHostParams {
            allow_messages: vec![ALLOW_ALL.into()],
            ..p.clone()
        };
        assert!(all.allows(MSG_RUN_INFERENCE_TYPE_URL));
        assert!(!all.allows("/cosmos.staking.v1beta1.MsgDelegate"));
        assert!(p.validate().is_ok() && all.validate().is_ok());
        let bad = IcaHostParams {
            allow_messages: vec!["/ibc.applications.transfer.v1.MsgTransfer".into()],
            ..p
        };
        assert!(bad.validate().unwrap_err().contains("cannot be executed"));
    }
}
