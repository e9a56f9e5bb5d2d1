//! Canonical JSON and the serde field encodings every Chimera JSON type uses
//! (`docs/protocol.md` §2 "Canonical encoding").
//!
//! Packet and acknowledgement bytes are committed on chain (ICS-04 stores
//! `sha256(packet)` and `sha256(ack)`), so every implementation must produce
//! the same bytes for the same value. We follow what ibc-go does for ICS-20
//! (`sdk.MustSortJSON` over Go's `encoding/json`): object keys sorted by byte
//! order, no insignificant whitespace, and Go's string escaping (including
//! `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`), so a Go chain can
//! reproduce our bytes with `json.Marshal` of a sorted map. Integers wider
//! than 32 bits travel as decimal strings (JSON numbers lose precision past
//! 2^53 in JavaScript and Go's `interface{}` decoding); byte strings travel as
//! standard base64 with padding, as Go encodes `[]byte`.

use serde::Serialize;
use serde_json::Value;

/// Serializes `value` to canonical JSON bytes (sorted keys, compact, Go
/// escaping). Independent of serde_json's `preserve_order` feature, which
/// another crate in a build may switch on.
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = Vec::with_capacity(256);
    write_value(&value, &mut out);
    Ok(out)
}

/// True when `bytes` are exactly the canonical encoding of the JSON they hold.
pub fn is_canonical(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => {
            let mut out = Vec::with_capacity(bytes.len());
            write_value(&v, &mut out);
            out == bytes
        }
        Err(_) => false,
    }
}

fn write_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(item, out);
            }
            out.push(b'}');
        }
    }
}

/// Go `encoding/json` string escaping (HTML-safe), byte for byte, as of Go
/// 1.22 (which writes `\b` and `\f` rather than `\u0008` and `\u000c`).
fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => {
                let b = c as u32 as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// `#[serde(with = "b64")]`: bytes as standard base64 with padding.
pub mod b64 {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| D::Error::custom(format!("invalid base64: {e}")))
    }
}

/// `#[serde(with = "b64_array")]`: a fixed-size byte array as base64.
pub mod b64_array {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|e| D::Error::custom(format!("invalid base64: {e}")))?;
        let len = bytes.len();
        bytes
            .try_into()
            .map_err(|_| D::Error::custom(format!("expected {N} bytes, got {len}")))
    }
}

/// `#[serde(with = "hex32")]`: a SHA-256 digest or X25519 key as 64 lowercase
/// hex digits (uppercase is refused so that one value has one encoding).
pub mod hex32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(D::Error::custom("expected 64 lowercase hex digits"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.as_bytes(), &mut out)
            .map_err(|e| D::Error::custom(format!("invalid hex: {e}")))?;
        Ok(out)
    }
}

/// `#[serde(with = "hex32_opt")]`: an optional [`hex32`] value (absent
/// fields are skipped with `skip_serializing_if = "Option::is_none"`).
pub mod hex32_opt {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::hex32::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        super::hex32::deserialize(d).map(Some)
    }
}

/// `#[serde(with = "u64_str")]`: a u64 as a decimal string without sign or
/// leading zeros.
pub mod u64_str {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&text).map_err(D::Error::custom)
    }

    /// Parses the canonical decimal form; "007" and "+7" are refused.
    pub fn parse(text: &str) -> Result<u64, String> {
        let canonical = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        if !canonical {
            return Err(format!("expected a decimal u64 string, got {text:?}"));
        }
        text.parse::<u64>()
            .map_err(|_| format!("{text:?} does not fit in u64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_escapes_like_go() {
        let v = json!({"b": 1, "a": {"z": "<&>\u{2028}\n\u{1}", "y": [true, null]}});
        let bytes = to_canonical_vec(&v).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"a":{"y":[true,null],"z":"\u003c\u0026\u003e\u2028\n\u0001"},"b":1}"#
        );
        assert!(is_canonical(&bytes));
        assert!(!is_canonical(br#"{"b":1, "a":2}"#));
    }

    #[test]
    fn u64_strings_are_strict() {
        assert_eq!(u64_str::parse("0"), Ok(0));
        assert_eq!(u64_str::parse("18446744073709551615"), Ok(u64::MAX));
        assert!(u64_str::parse("18446744073709551616").is_err());
        assert!(u64_str::parse("007").is_err());
        assert!(u64_str::parse("+7").is_err());
        assert!(u64_str::parse("").is_err());
    }
}
