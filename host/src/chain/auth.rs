//! Accounts: the SDK's `BaseAccount` (address, public key, account number,
//! sequence), stored as its protobuf so that `cosmos.auth.v1beta1.Query/Account`
//! hands wallets and Hermes exactly what an SDK chain would.

use ibc_proto::cosmos::auth::v1beta1::BaseAccount;
use ibc_proto::google::protobuf::Any;
use prost::Message;

use super::address::Address;
use super::error::TxError;
use super::gas::Ctx;
use crate::state::{Delta, Snapshot, StateError};

/// Type URL of accounts in `Query/Account` answers.
pub const BASE_ACCOUNT_TYPE_URL: &str = "/cosmos.auth.v1beta1.BaseAccount";
/// Type URL of secp256k1 public keys in accounts and signer infos.
pub const SECP256K1_PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";

const NEXT_ACCOUNT_NUMBER: &[u8] = b"auth/next_account_number";

/// The state key of an account.
pub fn account_key(addr: &Address) -> Vec<u8> {
    let mut k = b"auth/account/".to_vec();
    k.extend_from_slice(&addr.length_prefixed());
    k
}

/// Reads an account through the metered context.
pub fn get(ctx: &mut Ctx, addr: &Address) -> Result<Option<BaseAccount>, TxError> {
    ctx.get(&account_key(addr))?.map(|b| decode(&b)).transpose()
}

/// Reads an account from a committed snapshot (queries).
pub fn get_committed(snap: &Snapshot, addr: &Address) -> Result<Option<BaseAccount>, StateError> {
    snap.get(&account_key(addr))?
        .map(|b| BaseAccount::decode(b.as_slice()).map_err(|e| StateError::Corrupt(format!("account: {e}"))))
        .transpose()
}

fn decode(b: &[u8]) -> Result<BaseAccount, TxError> {
    BaseAccount::decode(b).map_err(|e| TxError::Internal(format!("stored account does not decode: {e}")))
}

/// Writes an account.
pub fn set(ctx: &mut Ctx, acc: &BaseAccount) -> Result<(), TxError> {
    let addr = Address::parse(&acc.address).map_err(|e| TxError::Internal(e.to_string()))?;
    ctx.put(account_key(&addr), acc.encode_to_vec())
}

/// The account at `addr`, created with the next account number if new (the
/// SDK creates recipients' accounts on first receipt).
pub fn get_or_create(ctx: &mut Ctx, addr: &Address) -> Result<BaseAccount, TxError> {
    if let Some(acc) = get(ctx, addr)? {
        return Ok(acc);
    }
    let number = next_account_number(ctx.state)?;
    ctx.put(NEXT_ACCOUNT_NUMBER.to_vec(), (number + 1).to_be_bytes().to_vec())?;
    let acc = BaseAccount {
        address: addr.to_string(),
        pub_key: None,
        account_number: number,
        sequence: 0,
    };
    set(ctx, &acc)?;
    Ok(acc)
}

fn next_account_number(state: &Delta) -> Result<u64, TxError> {
    Ok(match state.get(NEXT_ACCOUNT_NUMBER)? {
        Some(b) => u64::from_be_bytes(
            b.as_slice()
                .try_into()
                .map_err(|_| TxError::Internal("next account number is not 8 bytes".into()))?,
        ),
        None => 0,
    })
}

/// The account's secp256k1 key (33 bytes, compressed), if it has one.
pub fn secp256k1_key(acc: &BaseAccount) -> Result<Option<Vec<u8>>, TxError> {
    match &acc.pub_key {
        None => Ok(None),
        Some(any) => decode_secp256k1(any).map(Some),
    }
}

/// The key inside a `/cosmos.crypto.secp256k1.PubKey` Any.
pub fn decode_secp256k1(any: &Any) -> Result<Vec<u8>, TxError> {
    if any.type_url != SECP256K1_PUBKEY_TYPE_URL {
        return Err(TxError::InvalidPubKey(format!(
            "unsupported key type {:?}; only {SECP256K1_PUBKEY_TYPE_URL}",
            any.type_url
        )));
    }
    let pk = ibc_proto::cosmos::crypto::secp256k1::PubKey::decode(any.value.as_slice())
        .map_err(|e| TxError::InvalidPubKey(e.to_string()))?;
    if pk.key.len() != 33 {
        return Err(TxError::InvalidPubKey(format!(
            "secp256k1 key of {} bytes, want 33",
            pk.key.len()
        )));
    }
    Ok(pk.key)
}

/// Wraps a compressed secp256k1 key as the SDK's Any.
pub fn secp256k1_any(key: &[u8]) -> Any {
    Any {
        type_url: SECP256K1_PUBKEY_TYPE_URL.into(),
        value: ibc_proto::cosmos::crypto::secp256k1::PubKey { key: key.to_vec() }.encode_to_vec(),
    }
}
