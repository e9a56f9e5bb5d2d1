//! Column families and key encodings of the state database, public for
//! tools and tests that inspect it.
//!
//! | CF | key | value |
//! |---|---|---|
//! | `jmt_nodes` | `version u64be ‖ nibble count u8 ‖ packed nibbles` | jmt `Node` ([`super::codec`], borsh layout) |
//! | `jmt_values` | `sha256(key) ‖ version u64be` | `0x00` (deleted) or `0x01 ‖ value` |
//! | `jmt_preimages` | `sha256(key)` | `key` |
//! | `flat` | `key` | latest committed `value` (deleted keys absent) |
//! | `stale` | `stale_since u64be ‖ kind u8 ‖ payload` | empty |
//! | `meta` | `format`, `latest`, `oldest`, `root/ ‖ version u64be` | format string, u64be, u64be, JMT root |
//!
//! Big-endian versions keep a key's entries and the pruning index in version
//! order, so `get_value_option(v, h)` is one `seek_for_prev(h ‖ v)` and
//! pruning reads the `stale` CF from its start. A `stale` entry names what
//! becomes garbage once every version before `stale_since` is pruned:
//! - [`STALE_NODE`]: a JMT node (payload: its `jmt_nodes` key), from jmt's
//!   stale-node index, plus the previous root when a version copies it;
//! - [`STALE_VALUE`]: a superseded `jmt_values` entry (payload: its key);
//! - [`STALE_TOMBSTONE`]: the deletion entry written at `stale_since`
//!   (payload: the key hash); its preimage goes too unless a later entry
//!   exists.

use jmt::storage::NodeKey;

pub const CF_NODES: &str = "jmt_nodes";
pub const CF_VALUES: &str = "jmt_values";
pub const CF_PREIMAGES: &str = "jmt_preimages";
pub const CF_FLAT: &str = "flat";
pub const CF_STALE: &str = "stale";
pub const CF_META: &str = "meta";

/// Every column family, in the order `open` creates them.
pub const ALL_CFS: [&str; 6] = [CF_NODES, CF_VALUES, CF_PREIMAGES, CF_FLAT, CF_STALE, CF_META];

/// `meta` key of the on-disk format marker; its value is [`FORMAT`].
pub const META_FORMAT: &[u8] = b"format";
/// `meta` key of the latest committed version (u64be); absent before the first commit.
pub const META_LATEST: &[u8] = b"latest";
/// `meta` key of the oldest readable version (u64be); absent means 1.
pub const META_OLDEST: &[u8] = b"oldest";
/// Prefix of the `meta` keys holding each retained version's JMT root.
pub const META_ROOT_PREFIX: &[u8] = b"root/";
/// The format this code reads and writes; `open` refuses any other.
pub const FORMAT: &[u8] = b"chimera-state/1";

/// `stale` kind: a JMT node.
pub const STALE_NODE: u8 = 0;
/// `stale` kind: a superseded value entry.
pub const STALE_VALUE: u8 = 1;
/// `stale` kind: a deletion entry, and maybe the key's preimage.
pub const STALE_TOMBSTONE: u8 = 2;

/// `jmt_values` tag of a deletion.
pub const VALUE_DELETED: u8 = 0;
/// `jmt_values` tag of a present value.
pub const VALUE_PRESENT: u8 = 1;

/// The `jmt_nodes` key of `key`.
pub fn node_key(key: &NodeKey) -> Vec<u8> {
    let path = key.nibble_path();
    let n = path.num_nibbles();
    let mut out = Vec::with_capacity(9 + n.div_ceil(2));
    out.extend_from_slice(&key.version().to_be_bytes());
    out.push(n as u8); // at most 64 nibbles
    let mut byte = 0u8;
    for (i, nibble) in path.nibbles().enumerate() {
        let nibble = u8::from(nibble);
        if i % 2 == 0 {
            byte = nibble << 4;
        } else {
            out.push(byte | nibble);
        }
    }
    if n % 2 == 1 {
        out.push(byte);
    }
    out
}

/// The `jmt_nodes` key of the root node of `version`.
pub fn root_node_key(version: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    out.extend_from_slice(&version.to_be_bytes());
    out.push(0);
    out
}

/// The `jmt_values` key of `key_hash` at `version`.
pub fn value_key(key_hash: &[u8; 32], version: u64) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..32].copy_from_slice(key_hash);
    out[32..].copy_from_slice(&version.to_be_bytes());
    out
}

/// The `meta` key of the JMT root of `version`.
pub fn root_key(version: u64) -> Vec<u8> {
    let mut out = META_ROOT_PREFIX.to_vec();
    out.extend_from_slice(&version.to_be_bytes());
    out
}

/// A `stale` key.
pub fn stale_key(stale_since: u64, kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&stale_since.to_be_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
    out
}

/// The parts of a `stale` key, or None if it is malformed.
pub fn parse_stale_key(key: &[u8]) -> Option<(u64, u8, &[u8])> {
    if key.len() < 9 {
        return None;
    }
    Some((u64::from_be_bytes(key[..8].try_into().ok()?), key[8], &key[9..]))
}

/// Encodes a `jmt_values` entry.
pub fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![VALUE_DELETED],
        Some(v) => {
            let mut out = Vec::with_capacity(1 + v.len());
            out.push(VALUE_PRESENT);
            out.extend_from_slice(v);
            out
        }
    }
}

/// Decodes a `jmt_values` entry: Some(None) for a deletion, None if malformed.
pub fn decode_value(bytes: &[u8]) -> Option<Option<&[u8]>> {
    match bytes.split_first() {
        Some((&VALUE_DELETED, [])) => Some(None),
        Some((&VALUE_PRESENT, rest)) => Some(Some(rest)),
        _ => None,
    }
}

/// The smallest byte string greater than every string starting with
/// `prefix`, or None when there is none (empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
