//! The inference-requester contract on a Terra Classic localnet, ready for
//! requests: stored and instantiated with `terrad` (as docs/users.md §8
//! shows), and its `chimera-inference-1` channel from `wasm.<contract>` to
//! chimerad's `inference` port opened by `chimera create channel`. Shared
//! by tests that need the contract route but not its details
//! (`e2e/tests/web_ask.rs`).

use anyhow::{Context, Result};
use serde_json::Value;

use crate::hermes::HermesChain;
use crate::relayer::ChimeraRelayer;
use crate::terra::TerraLocalnet;
use crate::wasm;

/// A deployed contract with its open channel.
#[derive(Debug, Clone)]
pub struct Requester {
    pub code_id: u64,
    pub address: String,
    /// The contract's end (`channel-N` on Terra).
    pub channel: String,
    /// chimerad's end.
    pub host_channel: String,
}

/// Stores the contract's wasm and instantiates it from `from` (also its
/// admin) with `init` (e.g. `{"payout_address":...,"prices":[...]}`), then
/// opens its channel to chimerad's `inference` port.
pub fn deploy(
    terra: &TerraLocalnet,
    relayer: &ChimeraRelayer,
    chains: (&HermesChain, &HermesChain),
    from: &str,
    init: &Value,
) -> Result<Requester> {
    let file = wasm::requester_wasm().context("the contract's wasm (scripts/wasm-build --contract)")?;
    let (code_id, _) = wasm::store(terra, from, &file).context("terrad tx wasm store")?;
    let admin = terra
        .account_address(from)
        .context("the deployer's key")?
        .to_string();
    let (address, _) = wasm::instantiate(terra, from, &admin, code_id, init, "chimera-inference-requester")
        .context("terrad tx wasm instantiate")?;
    let (channel, host_channel, _) = relayer
        .create_channel(
            &chains.0.id,
            &chains.1.id,
            &format!("wasm.{address}"),
            "inference",
            "chimera-inference-1",
            None,
        )
        .map_err(|e| anyhow::anyhow!("the contract's channel: {e}"))?;
    Ok(Requester {
        code_id,
        address,
        channel,
        host_channel,
    })
}
