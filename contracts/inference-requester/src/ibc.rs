//! The six IBC entry points (`docs/protocol.md` §3.1, §4.4).
//!
//! The contract's port is `wasm.<contract address>`; it opens UNORDERED
//! `chimera-inference-1` channels to a Chimera host's `inference` port, sends
//! `InferencePacketData`, and settles each request's escrow on its
//! acknowledgement or timeout.

use chimera_packets::{Acknowledgement, ErrorCode, InferencePacketData, CHANNEL_VERSION, PORT_ID};
use cosmwasm_std::{
    to_json_binary, BankMsg, Binary, Coin, CosmosMsg, DepsMut, Env, Ibc3ChannelOpenResponse,
    IbcBasicResponse, IbcChannel, IbcChannelCloseMsg, IbcChannelConnectMsg, IbcChannelOpenMsg,
    IbcChannelOpenResponse, IbcOrder, IbcPacket, IbcPacketAckMsg, IbcPacketReceiveMsg, IbcPacketTimeoutMsg,
    IbcReceiveResponse, Never, SubMsg, WasmMsg,
};

use crate::contract::{id_from_memo, truncate};
use crate::error::ContractError;
use crate::msg::CallbackMsg;
use crate::state::{
    ChannelInfo, ChannelState, FeeSplit, Outcome, RequestStatus, StoredOutcome, CHANNELS, CONFIG, REQUESTS,
};

/// The type URL of ibc-go's ICS-20 `MsgTransfer`.
pub const MSG_TRANSFER_TYPE_URL: &str = "/ibc.applications.transfer.v1.MsgTransfer";

/// The memo of the executor part's transfer, read by the host's ICS-20
/// receive (`fees::settle::remote_memo` there): `{"chimera_fees":{"job_id":"N"}}`.
pub fn remote_memo(job_id: u64) -> String {
    format!("{{\"chimera_fees\":{{\"job_id\":\"{job_id}\"}}}}")
}

/// The ICS-20 transfer of `amount` of `denom` from the contract to the
/// host's fees pool, naming job `job_id`, as a Stargate message
/// (cosmwasm-std 1.5's `IbcMsg::Transfer` has no memo).
pub fn executor_transfer(
    env: &Env,
    split: &FeeSplit,
    denom: &str,
    amount: u128,
    job_id: u64,
    timeout_seconds: u64,
) -> CosmosMsg {
    use ibc_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
    use ibc_proto::ibc::applications::transfer::v1::MsgTransfer;
    use prost::Message as _;
    let msg = MsgTransfer {
        source_port: "transfer".into(),
        source_channel: split.transfer_channel.clone(),
        token: Some(ProtoCoin {
            denom: denom.into(),
            amount: amount.to_string(),
        }),
        sender: env.contract.address.to_string(),
        receiver: split.host_pool.clone(),
        timeout_height: None,
        timeout_timestamp: env.block.time.plus_seconds(timeout_seconds).nanos(),
        memo: remote_memo(job_id),
    };
    CosmosMsg::Stargate {
        type_url: MSG_TRANSFER_TYPE_URL.into(),
        value: Binary(msg.encode_to_vec()),
    }
}

/// Longest error text kept from an acknowledgement.
const MAX_ERROR_TEXT: usize = 512;

fn check_order_and_port(channel: &IbcChannel) -> Result<(), ContractError> {
    if channel.order != IbcOrder::Unordered {
        return Err(ContractError::InvalidChannelOrder("ORDERED".into()));
    }
    if channel.counterparty_endpoint.port_id != PORT_ID {
        return Err(ContractError::InvalidCounterpartyPort {
            expected: PORT_ID.into(),
            got: channel.counterparty_endpoint.port_id.clone(),
        });
    }
    Ok(())
}

fn check_version(got: &str) -> Result<(), ContractError> {
    if got != CHANNEL_VERSION {
        return Err(ContractError::InvalidChannelVersion {
            expected: CHANNEL_VERSION.into(),
            got: got.into(),
        });
    }
    Ok(())
}

/// OpenInit: our proposal, empty (answered with ours) or ours. OpenTry: the
/// counterparty's version must be ours.
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn ibc_channel_open(
    _deps: DepsMut,
    _env: Env,
    msg: IbcChannelOpenMsg,
) -> Result<IbcChannelOpenResponse, ContractError> {
    match &msg {
        IbcChannelOpenMsg::OpenInit { channel } => {
            check_order_and_port(channel)?;
            if !channel.version.is_empty() {
                check_version(&channel.version)?;
            }
        }
        IbcChannelOpenMsg::OpenTry {
            channel,
            counterparty_version,
        } => {
            check_order_and_port(channel)?;
            check_version(counterparty_version)?;
            if !channel.version.is_empty() {
                check_version(&channel.version)?;
            }
        }
    }
    Ok(Some(Ibc3ChannelOpenResponse {
        version: CHANNEL_VERSION.to_string(),
    }))
}

/// OpenAck (the counterparty's version must be ours) or OpenConfirm: the
/// channel is open; record it.
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn ibc_channel_connect(
    deps: DepsMut,
    _env: Env,
    msg: IbcChannelConnectMsg,
) -> Result<IbcBasicResponse, ContractError> {
    let channel = match &msg {
        IbcChannelConnectMsg::OpenAck {
            channel,
            counterparty_version,
        } => {
            check_version(counterparty_version)?;
            channel
        }
        IbcChannelConnectMsg::OpenConfirm { channel } => channel,
    };
    check_order_and_port(channel)?;
    check_version(&channel.version)?;
    let info = ChannelInfo {
        channel_id: channel.endpoint.channel_id.clone(),
        counterparty_port_id: channel.counterparty_endpoint.port_id.clone(),
        counterparty_channel_id: channel.counterparty_endpoint.channel_id.clone(),
        connection_id: channel.connection_id.clone(),
        version: channel.version.clone(),
        state: ChannelState::Open,
    };
    CHANNELS.save(deps.storage, &info.channel_id, &info)?;
    Ok(IbcBasicResponse::new()
        .add_attribute("action", "channel_connect")
        .add_attribute("channel", info.channel_id)
        .add_attribute("counterparty_channel", info.counterparty_channel_id)
        .add_attribute("connection", info.connection_id))
}

/// CloseInit is refused (as the host refuses it: anyone may send
/// `MsgChannelCloseInit`); CloseConfirm marks the channel closed. Requests
/// still pending on it are refunded when their timeouts (timeout-on-close)
/// are relayed.
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn ibc_channel_close(
    deps: DepsMut,
    _env: Env,
    msg: IbcChannelCloseMsg,
) -> Result<IbcBasicResponse, ContractError> {
    let channel = match msg {
        IbcChannelCloseMsg::CloseInit { channel } => {
            return Err(ContractError::ChannelCloseRefused(channel.endpoint.channel_id))
        }
        IbcChannelCloseMsg::CloseConfirm { channel } => channel,
    };
    let id = channel.endpoint.channel_id.clone();
    let info = match CHANNELS.may_load(deps.storage, &id)? {
        Some(mut info) => {
            info.state = ChannelState::Closed;
            info
        }
        None => ChannelInfo {
            channel_id: id.clone(),
            counterparty_port_id: channel.counterparty_endpoint.port_id,
            counterparty_channel_id: channel.counterparty_endpoint.channel_id,
            connection_id: channel.connection_id,
            version: channel.version,
            state: ChannelState::Closed,
        },
    };
    CHANNELS.save(deps.storage, &id, &info)?;
    Ok(IbcBasicResponse::new()
        .add_attribute("action", "channel_close")
        .add_attribute("channel", id))
}

/// The contract never receives requests: every packet gets an error
/// acknowledgement. Never fails, so the relayer's transaction goes through.
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn ibc_packet_receive(
    _deps: DepsMut,
    _env: Env,
    msg: IbcPacketReceiveMsg,
) -> Result<IbcReceiveResponse, Never> {
    let ack = Acknowledgement::error(
        ErrorCode::InvalidPacket,
        "the chimera requester contract does not receive packets",
    );
    Ok(IbcReceiveResponse::new()
        .set_ack(ack.to_bytes())
        .add_attribute("action", "receive_refused")
        .add_attribute("channel", msg.packet.dest.channel_id)
        .add_attribute("sequence", msg.packet.sequence.to_string()))
}

/// The request id of one of our packets: from its memo.
fn request_id_of(packet: &IbcPacket) -> Option<u64> {
    let data = InferencePacketData::from_bytes(packet.data.as_slice()).ok()?;
    id_from_memo(&data.memo)
}

fn outcome_of_ack(bytes: &[u8]) -> StoredOutcome {
    match Acknowledgement::from_bytes(bytes) {
        Ok(Acknowledgement::Result(r)) => StoredOutcome::Result {
            job_id: r.job_id,
            output_sha256: Binary::from(r.output.sha256.to_vec()),
            output_size: r.output.size,
            output_encoding: r.output.encoding.name().to_string(),
            model_hash: Binary::from(r.model_hash.to_vec()),
            height: r.quorum.height,
            agreeing_power: r.quorum.agreeing_power,
            total_power: r.quorum.total_power,
        },
        Ok(Acknowledgement::Error(e)) => StoredOutcome::Error {
            code: Some(e.code.code()),
            text: {
                let mut t = e.detail;
                truncate(&mut t, MAX_ERROR_TEXT);
                t
            },
        },
        Err(e) => StoredOutcome::Error {
            code: None,
            text: {
                let mut t = e.to_string();
                truncate(&mut t, MAX_ERROR_TEXT);
                t
            },
        },
    }
}

/// Records the outcome of request `id` sent as `packet`, pays the escrowed
/// fee out (result: to the payout address, or divided by the fee split)
/// or back (error, timeout), and calls the requester back if it asked. A packet that is not one of our pending requests is
/// acknowledged without effect, never with an error (that would block the
/// relayer's transaction forever).
fn settle(
    deps: DepsMut,
    env: &Env,
    packet: &IbcPacket,
    stored: StoredOutcome,
    action: &str,
) -> Result<IbcBasicResponse, ContractError> {
    let base = IbcBasicResponse::new()
        .add_attribute("action", action)
        .add_attribute("channel", packet.src.channel_id.clone())
        .add_attribute("sequence", packet.sequence.to_string());
    let Some(id) = request_id_of(packet) else {
        return Ok(base.add_attribute("ignored", "not a request of this contract"));
    };
    let Some(mut record) = REQUESTS.may_load(deps.storage, id)? else {
        return Ok(base.add_attribute("ignored", format!("request {id} not found")));
    };
    if record.outcome.is_some() || record.channel_id != packet.src.channel_id {
        return Ok(base.add_attribute("ignored", format!("request {id} is not pending on this channel")));
    }
    let config = CONFIG.load(deps.storage)?;
    let status = stored.status();
    // A result's fee is divided when the contract has a split; any other
    // outcome is refunded in full.
    let split = match (&stored, config.fee_split) {
        (StoredOutcome::Result { job_id, .. }, Some(split)) => Some((*job_id, split)),
        _ => None,
    };
    let outcome = stored.to_outcome();
    record.sequence = Some(packet.sequence);
    record.outcome = Some(stored);
    let mut res = base.add_attribute("request_id", id.to_string()).add_attribute(
        "status",
        match status {
            RequestStatus::Succeeded => "succeeded",
            RequestStatus::Failed => "failed",
            RequestStatus::TimedOut => "timed_out",
            RequestStatus::Pending => "pending",
        },
    );
    let coin = |amount: u128| {
        vec![Coin {
            denom: config.denom.clone(),
            amount: amount.into(),
        }]
    };
    match split {
        Some((job_id, split)) => {
            let (executor, burn, community) = split.parts(record.fee.u128());
            record.split = Some(split.id);
            if burn > 0 {
                res = res.add_message(BankMsg::Send {
                    to_address: split.burn_address.to_string(),
                    amount: coin(burn),
                });
            }
            if community > 0 {
                res = res.add_message(BankMsg::Send {
                    to_address: split.community_address.to_string(),
                    amount: coin(community),
                });
            }
            if executor > 0 {
                res = res.add_message(executor_transfer(
                    env,
                    &split,
                    &config.denom,
                    executor,
                    job_id,
                    config.default_timeout_seconds,
                ));
            }
            res = res
                .add_attribute("burn", burn.to_string())
                .add_attribute("community", community.to_string())
                .add_attribute("executor_part", executor.to_string())
                .add_attribute("host_pool", split.host_pool);
        }
        None => {
            let to = match status {
                RequestStatus::Succeeded => config.payout_address.clone(),
                _ => record.requester.clone(),
            };
            record.fee_paid_to = (to != record.requester).then(|| to.clone());
            res = res
                .add_attribute("fee_paid_to", to.as_str())
                .add_message(BankMsg::Send {
                    to_address: to.into_string(),
                    amount: coin(record.fee.u128()),
                });
        }
    }
    REQUESTS.save(deps.storage, id, &record)?;

    if let Outcome::Result(r) = &outcome {
        res = res
            .add_attribute("job_id", r.job_id.to_string())
            .add_attribute("output_sha256", r.output_sha256.clone());
    }
    if let Outcome::Error(e) = &outcome {
        res = res.add_attribute("error_code", e.code.map(|c| c.to_string()).unwrap_or_default());
    }
    if record.callback {
        let callback = WasmMsg::Execute {
            contract_addr: record.requester.into_string(),
            msg: to_json_binary(&CallbackMsg::InferenceCallback {
                request_id: id,
                outcome,
            })?,
            funds: vec![],
        };
        res = res
            .add_submessage(SubMsg::reply_on_error(callback, id).with_gas_limit(config.callback_gas_limit));
    }
    Ok(res)
}

/// A result or error acknowledgement from the host (an unreadable one
/// counts as an error).
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn ibc_packet_ack(
    deps: DepsMut,
    env: Env,
    msg: IbcPacketAckMsg,
) -> Result<IbcBasicResponse, ContractError> {
    let outcome = outcome_of_ack(msg.acknowledgement.data.as_slice());
    settle(deps, &env, &msg.original_packet, outcome, "acknowledge")
}

/// The packet was not received in time, or its channel closed: refund.
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn ibc_packet_timeout(
    deps: DepsMut,
    env: Env,
    msg: IbcPacketTimeoutMsg,
) -> Result<IbcBasicResponse, ContractError> {
    settle(deps, &env, &msg.packet, StoredOutcome::Timeout {}, "timeout")
}
