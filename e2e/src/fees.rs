//! Fees on the localnets (docs/tokenomics.md): the genesis that makes the
//! devnet user the fee authority, the parameters that price requests in
//! LUNC and send burn and community parts home to Terra Classic, and the
//! authority's `MsgUpdateParams`.

use chimera_packets::proto::fees as pb;

use crate::chimera;
use crate::keys;

/// Terra Classic's burn address: the `burn` module account (SHA-256 of
/// "burn", first 20 bytes), whose balance x/treasury burns at the end of
/// every block.
pub const TERRA_BURN_ADDRESS: &str = "terra1sk06e3dyexuq4shw77y3dsv480xv42mq73anxu";

/// The operator account of the devnet's validator (and of the tests'):
/// receives its executor shares.
pub fn operator_address() -> String {
    chimera::chimera_address(keys::VALIDATOR_MNEMONIC)
        .expect("the fixed validator mnemonic is valid")
        .to_string()
}

/// A [`chimera::ChimeraNetConfig::prepare_node`] hook: the funded user
/// ([`keys::USER_MNEMONIC`]) becomes the fee authority, so it can set the
/// prices and the route once the transfer channel exists.
pub fn authority_genesis(_: usize, home: &std::path::Path) -> Result<(), String> {
    let authority = chimera::chimera_address(keys::USER_MNEMONIC).map_err(|e| e.to_string())?;
    chimera::edit_genesis(home, |g| {
        g["app_state"]["fees"] = serde_json::json!({ "authority": authority.to_string() });
    })
}

/// Every model priced at `price` uluna (as it arrives over chimerad's
/// `channel`), default shares, and burn and community parts sent home on
/// `channel` every `interval` blocks.
pub fn lunc_params(
    authority: &str,
    channel: &str,
    price: u128,
    community: &str,
    interval: u64,
) -> pb::Params {
    pb::Params {
        authority: authority.into(),
        prices: vec![pb::Price {
            model: "*".into(),
            denom: format!("transfer/{channel}/{}", crate::terra::DENOM),
            amount: price.to_string(),
        }],
        executor_bps: 7000,
        burn_bps: 2000,
        community_bps: 1000,
        fault_limit: 3,
        route: Some(pb::Route {
            channel: channel.into(),
            burn_address: TERRA_BURN_ADDRESS.into(),
            community_address: community.into(),
            send_interval_blocks: interval,
            timeout_seconds: 600,
        }),
    }
}

/// `MsgUpdateParams` signed by `authority` (a user's chain handle).
pub async fn update_params(
    authority: &chimera_relayer::chain::Chain,
    params: pb::Params,
) -> Result<(), chimera_relayer::chain::ChainError> {
    let msg = chimera_relayer::light::any(&pb::MsgUpdateParams {
        authority: authority.address.clone(),
        params: Some(params),
    });
    authority.send(vec![msg]).await.map(|_| ())
}
