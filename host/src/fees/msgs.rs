//! `MsgUpdateParams`: the fee authority replaces the fee parameters
//! (prices, shares, fault limit, route). Why an authority account and not
//! a governance vote: chimerad has no governance module yet; the authority
//! can be a multisig, and a later gov module becomes the authority.

use chimera_packets::proto::fees as pb;
use ibc_proto::google::protobuf::Any;
use prost::{Message, Name};
use tendermint::abci::{Event, EventAttributeIndexExt};

use super::params::{FeeParams, PARAMS_KEY};
use crate::chain::address::Address;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;

/// Type URL of `MsgUpdateParams`.
pub fn type_url() -> String {
    pb::MsgUpdateParams::type_url()
}

pub fn decode(any: &Any) -> Result<pb::MsgUpdateParams, TxError> {
    pb::MsgUpdateParams::decode(any.value.as_slice())
        .map_err(|e| TxError::Decode(format!("MsgUpdateParams: {e}")))
}

/// Who signs: the message's `authority`.
pub fn signer(m: &pb::MsgUpdateParams) -> Result<Address, TxError> {
    Address::parse(&m.authority).map_err(|e| TxError::InvalidAddress(format!("MsgUpdateParams: {e}")))
}

/// Replaces the parameters when `signer` is the current authority and the
/// new ones are valid.
pub fn exec(
    ctx: &mut Ctx,
    m: &pb::MsgUpdateParams,
    signer: &Address,
    events: &mut Vec<Event>,
) -> Result<Any, TxError> {
    let current = FeeParams::load(ctx.state)?;
    if current.authority.is_empty() || Address::parse(&current.authority).ok().as_ref() != Some(signer) {
        return Err(TxError::Unauthorized(format!(
            "{signer} is not the fee authority ({})",
            if current.authority.is_empty() {
                "none: fee parameters are fixed"
            } else {
                &current.authority
            }
        )));
    }
    let next = FeeParams::from(
        m.params
            .as_ref()
            .ok_or_else(|| TxError::InvalidRequest("MsgUpdateParams without params".into()))?,
    );
    next.validate()
        .map_err(|e| TxError::InvalidRequest(format!("fee params: {e}")))?;
    let bytes = serde_json::to_vec(&next).expect("params serialize");
    // Metered like every other write.
    ctx.put(PARAMS_KEY.to_vec(), bytes)?;
    events.push(Event::new(
        "fee_params_updated",
        [("authority", signer.to_string()).index()],
    ));
    Ok(Any {
        type_url: pb::MsgUpdateParamsResponse::type_url(),
        value: pb::MsgUpdateParamsResponse {}.encode_to_vec(),
    })
}
