//! ICS-27 decoders (`chimera_packets::ica`): what the host reads from any
//! controller and what a requester reads back. The first input byte picks the
//! decoder (bits 0-1) and the channel encoding (bit 2: proto3json); the rest
//! is the bytes. Never panics; what decodes rebuilds to bytes that decode to
//! the same value, and what we build we also accept.
#![no_main]

use chimera_packets::ica::{self, Encoding, IcaError, Metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 4 == 0 { Encoding::Proto3 } else { Encoding::Proto3Json };
    match selector & 3 {
        0 => packet_data(bytes, encoding),
        1 => cosmos_tx(bytes, encoding),
        2 => metadata(bytes),
        _ => ack(bytes),
    }
});

fn packet_data(bytes: &[u8], encoding: Encoding) {
    let Ok(packet) = ica::decode_packet_data(bytes, encoding) else {
        return;
    };
    match ica::packet_data(&packet.messages, encoding, &packet.memo) {
        Ok(rebuilt) => {
            let back = ica::decode_packet_data(&rebuilt, encoding)
                .unwrap_or_else(|e| panic!("rebuilt packet data is refused: {e}"));
            assert_eq!(back, packet, "packet data round trip changed it");
        }
        // The host does not re-check what only the controller refuses.
        Err(IcaError::EmptyData | IcaError::MemoTooLong(_)) => {}
        Err(e) => panic!("decoded packet data does not rebuild: {e}"),
    }
}

fn cosmos_tx(bytes: &[u8], encoding: Encoding) {
    let Ok(msgs) = ica::decode_cosmos_tx(bytes, encoding) else {
        return;
    };
    let rebuilt = ica::build_cosmos_tx(&msgs, encoding)
        .unwrap_or_else(|e| panic!("decoded CosmosTx does not rebuild: {e}"));
    let back = ica::decode_cosmos_tx(&rebuilt, encoding)
        .unwrap_or_else(|e| panic!("rebuilt CosmosTx is refused: {e}"));
    assert_eq!(back, msgs, "CosmosTx round trip changed it");
    // Protobuf messages carried over to a proto3json channel: whatever we
    // manage to write there, we read back.
    if encoding == Encoding::Proto3 {
        if let Ok(json) = ica::build_cosmos_tx(&msgs, Encoding::Proto3Json) {
            ica::decode_cosmos_tx(&json, Encoding::Proto3Json)
                .unwrap_or_else(|e| panic!("proto3json we wrote is refused: {e}"));
        }
    }
}

fn metadata(bytes: &[u8]) {
    let Ok(md) = Metadata::from_json(bytes) else {
        return;
    };
    let json = md.to_json();
    let back = Metadata::from_json(&json).unwrap_or_else(|e| panic!("metadata we wrote is refused: {e}"));
    assert_eq!(back, md, "metadata round trip changed it");
    let _ = md.encoding();
    let host = md.validate_for_host("connection-1", "connection-0");
    let controller = md.validate_for_controller("connection-0", "connection-1");
    assert_eq!(host, controller, "host and controller disagree on the same channel");
}

fn ack(bytes: &[u8]) {
    let responses = ica::msg_responses_from_ack(bytes);
    let inference = ica::run_inference_response_from_ack(bytes);
    match responses {
        Ok(responses) => {
            let rebuilt = ica::success_ack(&responses);
            let back = ica::msg_responses_from_ack(&rebuilt)
                .unwrap_or_else(|e| panic!("success ack we wrote is refused: {e}"));
            assert_eq!(back, responses, "ack round trip changed the responses");
            assert_eq!(
                ica::run_inference_response_from_ack(&rebuilt).is_ok(),
                inference.is_ok(),
                "MsgRunInferenceResponse decoding depends on the ack's bytes"
            );
        }
        Err(IcaError::ErrorAck(text)) => {
            assert_eq!(inference, Err(IcaError::ErrorAck(text.clone())));
            if let Some(code) = ica::error_ack_code(&text) {
                let rebuilt = ica::error_ack(code);
                match ica::msg_responses_from_ack(&rebuilt) {
                    Err(IcaError::ErrorAck(t)) => assert_eq!(ica::error_ack_code(&t), Some(code)),
                    other => panic!("error ack we wrote reads as {other:?}"),
                }
            }
        }
        Err(_) => assert!(inference.is_err(), "inference responses from an unreadable ack"),
    }
}
