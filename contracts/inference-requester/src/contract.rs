//! `instantiate`, `execute`, `query` and `reply`.

use chimera_packets::limits::{DEFAULT_MAX_INLINE_INPUT, MAX_PACKET_BYTES};
use chimera_packets::packet::validate_model_id;
use chimera_packets::{InferencePacketData, Input, Limits, ValidationError};
use cosmwasm_std::{
    to_json_binary, Addr, Api, Binary, Coin, Deps, DepsMut, Empty, Env, IbcMsg, IbcTimeout, MessageInfo,
    Order, Reply, Response, StdResult, Storage, SubMsgResult,
};
use cw_storage_plus::Bound;

use crate::error::ContractError;
use crate::msg::{
    ChannelsResponse, Encoding, ExecuteMsg, FeeSplitMsg, InstantiateMsg, QueryMsg, RequestInferenceResponse,
    RequestsResponse,
};
use crate::state::{
    ChannelState, Config, FeeSplit, Price, Record, BPS, CHANNELS, CONFIG, FEE_SPLITS, NEXT_REQUEST_ID,
    REQUESTS, REQUESTS_BY_REQUESTER,
};

/// The fee denom: LUNC.
pub const DENOM: &str = "uluna";
/// Default packet timeout: ten minutes covers delivery by a relayer (the
/// job's run time does not count: a received packet cannot time out).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 600;
/// Longest packet timeout a request may ask for: seven days.
pub const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
/// Default gas for a requester contract's `inference_callback`.
pub const DEFAULT_CALLBACK_GAS_LIMIT: u64 = 300_000;
/// Bounds of `callback_gas_limit`.
pub const MIN_CALLBACK_GAS_LIMIT: u64 = 10_000;
pub const MAX_CALLBACK_GAS_LIMIT: u64 = 10_000_000;
/// Prefix of the packet memo that carries the request id, so that the
/// acknowledgement (which holds the original packet) finds its request: the
/// packet sequence is not known when the packet is sent.
pub const MEMO_PREFIX: &str = "chimera-requester:";
/// The model id of the price that applies to every model without its own.
pub const ANY_MODEL: &str = "*";
/// Most entries in `prices` (each request reads them all).
pub const MAX_PRICES: usize = 64;
/// Page size of `requests_by_requester`.
pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 30;

#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    let admin = match msg.admin {
        Some(a) => deps.api.addr_validate(&a)?,
        None => info.sender.clone(),
    };
    let payout_address = match msg.payout_address {
        Some(a) => deps.api.addr_validate(&a)?,
        None => admin.clone(),
    };
    let config = Config {
        admin,
        payout_address,
        denom: DENOM.to_string(),
        max_input_bytes: check_max_input(msg.max_input_bytes.unwrap_or(DEFAULT_MAX_INLINE_INPUT as u64))?,
        default_timeout_seconds: check_timeout(
            msg.default_timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        )?,
        callback_gas_limit: check_gas(msg.callback_gas_limit.unwrap_or(DEFAULT_CALLBACK_GAS_LIMIT))?,
        fee_split: msg
            .fee_split
            .map(|m| new_fee_split(deps.api, deps.storage, m))
            .transpose()?,
        prices: check_prices(msg.prices.unwrap_or_default())?,
    };
    CONFIG.save(deps.storage, &config)?;
    NEXT_REQUEST_ID.save(deps.storage, &1)?;
    Ok(config_attributes(
        Response::new().add_attribute("action", "instantiate"),
        config,
    ))
}

fn config_attributes(res: Response, config: Config) -> Response {
    let res = res
        .add_attribute("admin", config.admin)
        .add_attribute("payout_address", config.payout_address);
    match config.fee_split {
        Some(s) => res.add_attribute("fee_split", s.id.to_string()),
        None => res,
    }
}

/// Checks a fee split and stores it under the next id.
fn new_fee_split(
    api: &dyn Api,
    storage: &mut dyn Storage,
    m: FeeSplitMsg,
) -> Result<FeeSplit, ContractError> {
    let sum = m.executor_bps as u64 + m.burn_bps as u64 + m.community_bps as u64;
    if sum != BPS as u64 {
        return Err(ContractError::FeeSplitNotWhole {
            executor_bps: m.executor_bps,
            burn_bps: m.burn_bps,
            community_bps: m.community_bps,
            sum,
        });
    }
    let channel_ok = m
        .transfer_channel
        .strip_prefix("channel-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u64>().is_ok());
    if !channel_ok {
        return Err(ContractError::InvalidFeeSplit(format!(
            "transfer_channel {:?} must be a channel id, channel-N",
            m.transfer_channel
        )));
    }
    check_foreign_address(&m.host_pool)?;
    let addr = |field: &str, a: &str| {
        api.addr_validate(a)
            .map_err(|e| ContractError::InvalidFeeSplit(format!("{field} {a:?}: {e}")))
    };
    let split = FeeSplit {
        id: FEE_SPLITS
            .keys(storage, None, None, Order::Descending)
            .next()
            .transpose()?
            .map_or(1, |last| last + 1),
        transfer_channel: m.transfer_channel,
        host_pool: m.host_pool,
        burn_address: addr("burn_address", &m.burn_address)?,
        community_address: addr("community_address", &m.community_address)?,
        executor_bps: m.executor_bps,
        burn_bps: m.burn_bps,
        community_bps: m.community_bps,
    };
    FEE_SPLITS.save(storage, split.id, &split)?;
    Ok(split)
}

/// The host's pool address: another chain's, so only its form is checked
/// (bech32, lowercase, a non-empty address).
fn check_foreign_address(a: &str) -> Result<(), ContractError> {
    use bech32::FromBase32 as _;
    let bad = |why: String| ContractError::InvalidFeeSplit(format!("host_pool {a:?}: {why}"));
    if a.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad("must be lowercase".into()));
    }
    let (_, data, variant) = bech32::decode(a).map_err(|e| bad(e.to_string()))?;
    if variant != bech32::Variant::Bech32 {
        return Err(bad("not bech32 (bech32m)".into()));
    }
    let bytes = Vec::<u8>::from_base32(&data).map_err(|e| bad(e.to_string()))?;
    if bytes.is_empty() || bytes.len() > 255 {
        return Err(bad(format!("{} address bytes", bytes.len())));
    }
    Ok(())
}

/// Checks a price list: model ids (or `*`) each at most once.
fn check_prices(prices: Vec<Price>) -> Result<Vec<Price>, ContractError> {
    if prices.len() > MAX_PRICES {
        return Err(ContractError::InvalidPrices(format!(
            "{} entries, at most {MAX_PRICES}",
            prices.len()
        )));
    }
    for (i, p) in prices.iter().enumerate() {
        if p.model != ANY_MODEL {
            validate_model_id(&p.model)
                .map_err(|e| ContractError::InvalidPrices(format!("model {:?}: {e}", p.model)))?;
        }
        if prices[..i].iter().any(|q| q.model == p.model) {
            return Err(ContractError::InvalidPrices(format!(
                "model {:?} is listed twice",
                p.model
            )));
        }
    }
    Ok(prices)
}

/// The least fee of `model`: its own price, else the `*` price, else none.
pub fn price_of(prices: &[Price], model: &str) -> Option<u128> {
    prices
        .iter()
        .find(|p| p.model == model)
        .or_else(|| prices.iter().find(|p| p.model == ANY_MODEL))
        .map(|p| p.amount.u128())
}

fn check_max_input(v: u64) -> Result<u64, ContractError> {
    if v == 0 || v > DEFAULT_MAX_INLINE_INPUT as u64 {
        return Err(ContractError::InvalidConfig(format!(
            "max_input_bytes {v} must be 1..={DEFAULT_MAX_INLINE_INPUT}"
        )));
    }
    Ok(v)
}

fn check_timeout(seconds: u64) -> Result<u64, ContractError> {
    if seconds == 0 || seconds > MAX_TIMEOUT_SECONDS {
        return Err(ContractError::InvalidTimeout {
            seconds,
            max: MAX_TIMEOUT_SECONDS,
        });
    }
    Ok(seconds)
}

fn check_gas(v: u64) -> Result<u64, ContractError> {
    if !(MIN_CALLBACK_GAS_LIMIT..=MAX_CALLBACK_GAS_LIMIT).contains(&v) {
        return Err(ContractError::InvalidConfig(format!(
            "callback_gas_limit {v} must be {MIN_CALLBACK_GAS_LIMIT}..={MAX_CALLBACK_GAS_LIMIT}"
        )));
    }
    Ok(v)
}

#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    match msg {
        ExecuteMsg::RequestInference {
            channel,
            model,
            input,
            encoding,
            params,
            sealed,
            output_key,
            timeout_seconds,
            callback,
        } => request_inference(
            deps,
            env,
            info,
            RequestArgs {
                channel,
                model,
                input,
                encoding,
                params,
                sealed,
                output_key,
                timeout_seconds,
                callback,
            },
        ),
        ExecuteMsg::UpdateConfig {
            admin,
            payout_address,
            max_input_bytes,
            default_timeout_seconds,
            callback_gas_limit,
            fee_split,
            prices,
        } => {
            let mut config = CONFIG.load(deps.storage)?;
            if info.sender != config.admin {
                return Err(ContractError::Unauthorized);
            }
            if let Some(a) = admin {
                config.admin = deps.api.addr_validate(&a)?;
            }
            if let Some(a) = payout_address {
                config.payout_address = deps.api.addr_validate(&a)?;
            }
            if let Some(v) = max_input_bytes {
                config.max_input_bytes = check_max_input(v)?;
            }
            if let Some(v) = default_timeout_seconds {
                config.default_timeout_seconds = check_timeout(v)?;
            }
            if let Some(v) = callback_gas_limit {
                config.callback_gas_limit = check_gas(v)?;
            }
            if let Some(split) = fee_split {
                config.fee_split = split
                    .map(|m| new_fee_split(deps.api, deps.storage, m))
                    .transpose()?;
            }
            if let Some(p) = prices {
                config.prices = check_prices(p)?;
            }
            CONFIG.save(deps.storage, &config)?;
            Ok(config_attributes(
                Response::new().add_attribute("action", "update_config"),
                config,
            ))
        }
    }
}

struct RequestArgs {
    channel: String,
    model: String,
    input: Binary,
    encoding: Encoding,
    params: chimera_packets::Params,
    sealed: Option<chimera_packets::SealedEnvelope>,
    output_key: Option<String>,
    timeout_seconds: Option<u64>,
    callback: bool,
}

/// The escrowed fee: exactly one coin of `denom`, more than zero.
fn one_coin(funds: &[Coin], denom: &str) -> Result<Coin, ContractError> {
    if let Some(other) = funds.iter().find(|c| c.denom != denom) {
        return Err(ContractError::WrongDenom {
            expected: denom.to_string(),
            got: other.denom.clone(),
        });
    }
    match funds {
        [coin] if !coin.amount.is_zero() => Ok(coin.clone()),
        _ => Err(ContractError::NoFunds {
            denom: denom.to_string(),
        }),
    }
}

/// The memo that carries request `id`.
pub fn memo_for(id: u64) -> String {
    format!("{MEMO_PREFIX}{id}")
}

/// The request id in a memo written by [`memo_for`].
pub fn id_from_memo(memo: &str) -> Option<u64> {
    memo.strip_prefix(MEMO_PREFIX)?.parse().ok()
}

fn map_validation(e: ValidationError) -> ContractError {
    match e {
        ValidationError::InputTooLarge { size, max, .. } => ContractError::InputTooLarge { size, max },
        ValidationError::PacketTooLarge { size, max } => ContractError::PacketTooLarge {
            size: size as u64,
            max: max as u64,
        },
        ValidationError::Field {
            ref field,
            ref reason,
        } if field == "model" => ContractError::InvalidModelId(reason.clone()),
        ValidationError::Sealed(s) => ContractError::InvalidSealedEnvelope(s.to_string()),
        other => ContractError::InvalidRequest(other.to_string()),
    }
}

fn parse_output_key(hex_key: &str) -> Result<[u8; 32], ContractError> {
    let mut key = [0u8; 32];
    if hex_key.len() != 64 || hex_key.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ContractError::InvalidRequest(
            "field output_key: expected 64 lowercase hex digits".into(),
        ));
    }
    hex::decode_to_slice(hex_key, &mut key)
        .map_err(|e| ContractError::InvalidRequest(format!("field output_key: {e}")))?;
    Ok(key)
}

fn request_inference(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    args: RequestArgs,
) -> Result<Response, ContractError> {
    let config = CONFIG.load(deps.storage)?;
    let fee = one_coin(&info.funds, &config.denom)?;
    if let Some(price) = price_of(&config.prices, &args.model) {
        if fee.amount.u128() < price {
            return Err(ContractError::FeeTooLow {
                model: args.model,
                price,
                got: fee.amount.u128(),
            });
        }
    }

    let channel = CHANNELS
        .may_load(deps.storage, &args.channel)?
        .ok_or_else(|| ContractError::ChannelNotFound(args.channel.clone()))?;
    if channel.state != ChannelState::Open {
        return Err(ContractError::ChannelNotOpen(args.channel));
    }

    let timeout_seconds = check_timeout(args.timeout_seconds.unwrap_or(config.default_timeout_seconds))?;

    if args.callback
        && deps
            .querier
            .query_wasm_contract_info(info.sender.as_str())
            .is_err()
    {
        return Err(ContractError::CallbackNotContract(info.sender.to_string()));
    }

    // Checked here too so that an oversized input is refused before it is
    // copied into the packet.
    let size = args.input.len() as u64;
    if size > config.max_input_bytes {
        return Err(ContractError::InputTooLarge {
            size,
            max: config.max_input_bytes,
        });
    }

    let id = NEXT_REQUEST_ID.load(deps.storage)?;
    let packet = InferencePacketData {
        model: args.model,
        input: Input::Inline(args.input.0),
        encoding: args.encoding.into(),
        params: args.params,
        requester: info.sender.to_string(),
        receiver: None,
        memo: memo_for(id),
        sealed: args.sealed,
        output_key: args.output_key.as_deref().map(parse_output_key).transpose()?,
    };
    let limits = Limits {
        max_inline_input: config.max_input_bytes as usize,
        ..Limits::default()
    };
    packet.validate(&limits).map_err(map_validation)?;
    let bytes = packet.to_bytes();
    if bytes.len() > MAX_PACKET_BYTES {
        return Err(ContractError::PacketTooLarge {
            size: bytes.len() as u64,
            max: MAX_PACKET_BYTES as u64,
        });
    }

    let timeout = env.block.time.plus_seconds(timeout_seconds);
    let record = Record {
        requester: info.sender.clone(),
        channel_id: channel.channel_id.clone(),
        model: packet.model.clone(),
        fee: fee.amount,
        created_height: env.block.height,
        timeout: timeout.nanos(),
        callback: args.callback,
        sequence: None,
        outcome: None,
        fee_paid_to: None,
        callback_error: None,
        split: None,
    };
    REQUESTS.save(deps.storage, id, &record)?;
    let requester = deps.api.addr_canonicalize(info.sender.as_str())?;
    REQUESTS_BY_REQUESTER.save(deps.storage, (requester.as_slice(), id), &Empty {})?;
    NEXT_REQUEST_ID.save(deps.storage, &(id + 1))?;

    Ok(Response::new()
        .add_message(IbcMsg::SendPacket {
            channel_id: channel.channel_id,
            data: Binary(bytes),
            timeout: IbcTimeout::with_timestamp(timeout),
        })
        .set_data(to_json_binary(&RequestInferenceResponse { request_id: id })?)
        .add_attribute("action", "request_inference")
        .add_attribute("request_id", id.to_string())
        .add_attribute("requester", info.sender)
        .add_attribute("channel", record.channel_id)
        .add_attribute("model", record.model)
        .add_attribute("fee", fee.to_string())
        .add_attribute("timeout", timeout.nanos().to_string()))
}

/// Only a failed callback comes here (`reply_on_error`): record why and
/// succeed, so that the acknowledgement or timeout still completes.
#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn reply(deps: DepsMut, _env: Env, msg: Reply) -> Result<Response, ContractError> {
    let error = match msg.result {
        SubMsgResult::Err(e) => e,
        SubMsgResult::Ok(_) => return Ok(Response::new()),
    };
    let id = msg.id;
    let mut text = error;
    truncate(&mut text, 512);
    if let Some(mut record) = REQUESTS.may_load(deps.storage, id)? {
        record.callback_error = Some(text.clone());
        REQUESTS.save(deps.storage, id, &record)?;
    }
    Ok(Response::new()
        .add_attribute("action", "callback_failed")
        .add_attribute("request_id", id.to_string())
        .add_attribute("error", text))
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg_attr(not(feature = "library"), cosmwasm_std::entry_point)]
pub fn query(deps: Deps, _env: Env, msg: QueryMsg) -> Result<Binary, ContractError> {
    Ok(match msg {
        QueryMsg::Request { id } => to_json_binary(&answer(
            deps,
            id,
            REQUESTS
                .may_load(deps.storage, id)?
                .ok_or(ContractError::RequestNotFound(id))?,
        )?)?,
        QueryMsg::RequestsByRequester {
            requester,
            start_after,
            limit,
        } => to_json_binary(&requests_by_requester(
            deps,
            deps.api.addr_validate(&requester)?,
            start_after,
            limit,
        )?)?,
        QueryMsg::Config {} => to_json_binary(&CONFIG.load(deps.storage)?)?,
        QueryMsg::Channels {} => to_json_binary(&ChannelsResponse {
            channels: CHANNELS
                .range(deps.storage, None, None, Order::Ascending)
                .map(|item| item.map(|(_, c)| c))
                .collect::<StdResult<_>>()?,
        })?,
    })
}

/// Request `id` as answered, with the fee split it was settled with.
fn answer(deps: Deps, id: u64, record: Record) -> StdResult<crate::state::Request> {
    let split = record
        .split
        .map(|s| FEE_SPLITS.load(deps.storage, s))
        .transpose()?;
    Ok(record.to_request(id, DENOM, split.as_ref()))
}

/// Newest first: ids below `start_after`, at most `limit` of them.
fn requests_by_requester(
    deps: Deps,
    requester: Addr,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<RequestsResponse> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as usize;
    let max = start_after.map(Bound::exclusive);
    let requester = deps.api.addr_canonicalize(requester.as_str())?;
    let requests = REQUESTS_BY_REQUESTER
        .prefix(requester.as_slice())
        .keys(deps.storage, None, max, Order::Descending)
        .take(limit)
        .map(|id| id.and_then(|id| answer(deps, id, REQUESTS.load(deps.storage, id)?)))
        .collect::<StdResult<_>>()?;
    Ok(RequestsResponse { requests })
}
