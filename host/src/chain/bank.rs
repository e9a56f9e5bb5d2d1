//! Balances and `MsgSend`: fungible coins by denom, with total supply, in
//! the SDK's shapes (`Coin {denom, amount}` with decimal amounts) and its
//! events (`coin_spent`, `coin_received`, `transfer`), which explorers and
//! relayers parse.

use ibc_proto::cosmos::bank::v1beta1::MsgSend;
use ibc_proto::cosmos::base::v1beta1::Coin;
use tendermint::abci::{Event, EventAttributeIndexExt};

use super::address::Address;
use super::error::TxError;
use super::gas::Ctx;
use crate::state::{Snapshot, StateError};

/// Type URL of `MsgSend`.
pub const MSG_SEND_TYPE_URL: &str = "/cosmos.bank.v1beta1.MsgSend";

fn balance_prefix(addr: &Address) -> Vec<u8> {
    let mut k = b"bank/balance/".to_vec();
    k.extend_from_slice(&addr.length_prefixed());
    k.push(b'/');
    k
}

fn balance_key(addr: &Address, denom: &str) -> Vec<u8> {
    let mut k = balance_prefix(addr);
    k.extend_from_slice(denom.as_bytes());
    k
}

fn supply_key(denom: &str) -> Vec<u8> {
    let mut k = b"bank/supply/".to_vec();
    k.extend_from_slice(denom.as_bytes());
    k
}

/// Checks a denom as the SDK's default `^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$`.
pub fn validate_denom(d: &str) -> Result<(), TxError> {
    let b = d.as_bytes();
    let ok = (3..=128).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"/:._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(TxError::InvalidCoins(format!("invalid denom: {d}")))
    }
}

/// Parses a coin amount (a decimal integer, as the SDK's `math.Int`).
pub fn parse_amount(s: &str) -> Result<u128, TxError> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(TxError::InvalidCoins(format!("invalid amount {s:?}")));
    }
    s.parse::<u128>()
        .map_err(|_| TxError::InvalidCoins(format!("amount {s} is out of range")))
}

/// Validates a coin list as the SDK's `Coins.Validate` for sends: sorted,
/// no duplicate denoms, every amount positive.
pub fn validate_coins(coins: &[Coin]) -> Result<Vec<(String, u128)>, TxError> {
    let mut out: Vec<(String, u128)> = Vec::with_capacity(coins.len());
    for c in coins {
        validate_denom(&c.denom)?;
        let a = parse_amount(&c.amount)?;
        if a == 0 {
            return Err(TxError::InvalidCoins(format!(
                "0{}: amount must be positive",
                c.denom
            )));
        }
        if let Some((prev, _)) = out.last() {
            if prev.as_str() >= c.denom.as_str() {
                return Err(TxError::InvalidCoins(format!(
                    "coins are not sorted or repeat denom {}",
                    c.denom
                )));
            }
        }
        out.push((c.denom.clone(), a));
    }
    Ok(out)
}

/// `1000uchim,5ibc/…`: the SDK's `Coins.String()`.
pub fn coins_string(coins: &[(String, u128)]) -> String {
    coins
        .iter()
        .map(|(d, a)| format!("{a}{d}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn read_amount(v: Option<Vec<u8>>) -> Result<u128, TxError> {
    match v {
        None => Ok(0),
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| TxError::Internal("stored amount is not a decimal".into())),
    }
}

/// One balance.
pub fn balance(ctx: &mut Ctx, addr: &Address, denom: &str) -> Result<u128, TxError> {
    read_amount(ctx.get(&balance_key(addr, denom))?)
}

fn set_balance(ctx: &mut Ctx, addr: &Address, denom: &str, amount: u128) -> Result<(), TxError> {
    if amount == 0 {
        ctx.delete(balance_key(addr, denom))
    } else {
        ctx.put(balance_key(addr, denom), amount.to_string().into_bytes())
    }
}

/// All balances of an account at a committed version, sorted by denom.
pub fn balances_committed(snap: &Snapshot, addr: &Address) -> Result<Vec<Coin>, StateError> {
    let p = balance_prefix(addr);
    Ok(snap
        .prefix(&p)?
        .into_iter()
        .map(|(k, v)| Coin {
            denom: String::from_utf8_lossy(&k[p.len()..]).into_owned(),
            amount: String::from_utf8_lossy(&v).into_owned(),
        })
        .collect())
}

/// One balance at a committed version.
pub fn balance_committed(snap: &Snapshot, addr: &Address, denom: &str) -> Result<u128, StateError> {
    Ok(snap
        .get(&balance_key(addr, denom))?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Total supply of a denom at a committed version.
pub fn supply_committed(snap: &Snapshot, denom: &str) -> Result<u128, StateError> {
    Ok(snap
        .get(&supply_key(denom))?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Every denom's supply at a committed version.
pub fn supplies_committed(snap: &Snapshot) -> Result<Vec<Coin>, StateError> {
    let p = b"bank/supply/";
    Ok(snap
        .prefix(p)?
        .into_iter()
        .map(|(k, v)| Coin {
            denom: String::from_utf8_lossy(&k[p.len()..]).into_owned(),
            amount: String::from_utf8_lossy(&v).into_owned(),
        })
        .collect())
}

/// Moves coins; fails without writing if `from` lacks any of them.
pub fn send(
    ctx: &mut Ctx,
    from: &Address,
    to: &Address,
    coins: &[(String, u128)],
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    for (denom, amount) in coins {
        let have = balance(ctx, from, denom)?;
        if have < *amount {
            return Err(TxError::InsufficientFunds(format!(
                "spendable balance {have}{denom} is smaller than {amount}{denom}"
            )));
        }
    }
    for (denom, amount) in coins {
        let have = balance(ctx, from, denom)?;
        set_balance(ctx, from, denom, have - amount)?;
        let got = balance(ctx, to, denom)?;
        let sum = got
            .checked_add(*amount)
            .ok_or_else(|| TxError::InvalidCoins("balance overflow".into()))?;
        set_balance(ctx, to, denom, sum)?;
    }
    super::auth::get_or_create(ctx, to)?;
    let amount = coins_string(coins);
    events.push(Event::new(
        "coin_spent",
        [
            ("spender", from.to_string()).index(),
            ("amount", amount.clone()).index(),
        ],
    ));
    events.push(Event::new(
        "coin_received",
        [
            ("receiver", to.to_string()).index(),
            ("amount", amount.clone()).index(),
        ],
    ));
    events.push(Event::new(
        "transfer",
        [
            ("recipient", to.to_string()).index(),
            ("sender", from.to_string()).index(),
            ("amount", amount).index(),
        ],
    ));
    Ok(())
}

/// Creates coins (genesis, ICS-20 vouchers).
pub fn mint(ctx: &mut Ctx, to: &Address, denom: &str, amount: u128) -> Result<(), TxError> {
    let have = balance(ctx, to, denom)?;
    let overflow = || TxError::InvalidCoins("supply overflow".into());
    set_balance(ctx, to, denom, have.checked_add(amount).ok_or_else(overflow)?)?;
    let supply = read_amount(ctx.get(&supply_key(denom))?)?;
    ctx.put(
        supply_key(denom),
        supply
            .checked_add(amount)
            .ok_or_else(overflow)?
            .to_string()
            .into_bytes(),
    )?;
    super::auth::get_or_create(ctx, to)?;
    Ok(())
}

/// Destroys coins (ICS-20 vouchers going home, burned fees).
pub fn burn(ctx: &mut Ctx, from: &Address, denom: &str, amount: u128) -> Result<(), TxError> {
    let have = balance(ctx, from, denom)?;
    if have < amount {
        return Err(TxError::InsufficientFunds(format!(
            "{have}{denom} is smaller than {amount}{denom}"
        )));
    }
    set_balance(ctx, from, denom, have - amount)?;
    let supply = read_amount(ctx.get(&supply_key(denom))?)?;
    ctx.put(
        supply_key(denom),
        supply.saturating_sub(amount).to_string().into_bytes(),
    )
}

/// Executes `MsgSend` signed by `signer`.
pub fn exec_send(
    ctx: &mut Ctx,
    msg: &MsgSend,
    signer: &Address,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let from = Address::parse(&msg.from_address).map_err(|e| TxError::InvalidAddress(e.to_string()))?;
    let to = Address::parse(&msg.to_address).map_err(|e| TxError::InvalidAddress(e.to_string()))?;
    if &from != signer {
        return Err(TxError::Unauthorized(format!("{from} did not sign this MsgSend")));
    }
    let coins = validate_coins(&msg.amount)?;
    if coins.is_empty() {
        return Err(TxError::InvalidCoins("empty amount".into()));
    }
    send(ctx, &from, &to, &coins, events)
}

/// The signer of a `MsgSend`, for signature checks before execution.
pub fn send_signer(msg: &MsgSend) -> Result<Address, TxError> {
    Address::parse(&msg.from_address).map_err(|e| TxError::InvalidAddress(e.to_string()))
}
