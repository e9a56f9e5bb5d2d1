//! `InferencePacketData::decode_and_validate` on arbitrary packet bytes: what
//! `on_recv_packet` runs on whatever a relayer delivers. Never panics; a valid
//! packet re-encodes canonically to bytes that decode to the same, still
//! valid, value.
#![no_main]

use chimera_packets::{encoding::is_canonical, InferencePacketData, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(packet) = InferencePacketData::decode_and_validate(data, &limits) else {
        return;
    };
    let bytes = packet.to_bytes();
    assert!(is_canonical(&bytes), "re-encoding is not canonical: {:?}", String::from_utf8_lossy(&bytes));
    let back = InferencePacketData::decode_and_validate(&bytes, &limits)
        .unwrap_or_else(|e| panic!("re-encoding of a valid packet is refused: {e}"));
    assert_eq!(back, packet, "re-encoding decodes to another value");
    assert_eq!(back.to_bytes(), bytes, "canonical bytes are not stable");
});
