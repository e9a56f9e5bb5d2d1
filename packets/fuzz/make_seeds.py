#!/usr/bin/env python3
"""Regenerates packets/fuzz/seeds/<target>/ from packets/testdata/*.json.

JSON kinds give their "bytes" (and error acks their "ack"); protobuf kinds
give "bytes_hex" decoded; the JSON packets are also written as
MsgRunInference protobuf so that message fuzzing starts from every shape
(blob, tensor, sealed, receiver, memo). Seeds are named after their source
and are deterministic: rerun after changing testdata, then commit.
Crash inputs kept for regression live next to them as crash-*; this script
does not touch those.
"""
import base64
import json
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
TESTDATA = HERE.parent / "testdata"
SEEDS = HERE / "seeds"
# Bigger seeds slow every mutation down; the size limits have unit tests.
MAX_SEED = 8192


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """Length-delimited field (bytes, string or message)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def uint(num, n):
    return varint(num << 3) + varint(n) if n else b""


def msg_run_inference(v):
    """MsgRunInference (tx.proto) for packet JSON value `v`, signer = requester."""
    inp = v["input"]
    if "inline" in inp:
        input_msg = field(1, base64.b64decode(inp["inline"]))
    else:
        blob = inp["blob"]
        input_msg = field(2, field(1, bytes.fromhex(blob["sha256"])) + uint(2, int(blob["size"])))
    enc = v["encoding"]
    if enc["kind"] == "tensor":
        packed = b"".join(varint(d) for d in enc["shape"])
        enc_msg = field(3, field(1, enc["dtype"]) + field(2, packed))
    else:
        enc_msg = field({"text": 1, "json": 2}[enc["kind"]], b"")
    params = v.get("params", {})
    params_msg = uint(1, int(params.get("seed", "0"))) + b"".join(
        field(2, field(1, k) + field(2, val)) for k, val in sorted(params.get("extra", {}).items())
    )
    out = field(1, v["requester"]) + field(2, v["model"]) + field(3, input_msg)
    out += field(4, enc_msg) + field(5, params_msg)
    if "sealed" in v:
        s = v["sealed"]
        env = field(1, s["scheme"]) + field(2, base64.b64decode(s["nonce"]))
        for r in s["recipients"]:
            env += field(3, field(1, bytes.fromhex(r["executor"]))
                         + field(2, base64.b64decode(r["ephemeral"]))
                         + field(3, base64.b64decode(r["wrapped_key"])))
        out += field(6, env)
    if v.get("receiver"):
        out += field(7, v["receiver"])
    if v.get("memo"):
        out += field(8, v["memo"])
    return out


def ica_seeds(testdata):
    """Seeds for the `ica` target: selector byte (bits 0-1: 0 packet data,
    1 CosmosTx, 2 metadata, 3 ack; bit 2: proto3json) + bytes. Taken from
    the raw strings of packets/tests/ica.rs (ibc-go's bytes) and testdata."""
    out = {}
    tests = HERE.parent / "tests" / "ica.rs"
    raws = re.findall(r'r#"(.*?)"#', tests.read_text()) if tests.exists() else []
    for i, raw in enumerate(raws):
        text = raw.encode()
        if raw.startswith('{"data":'):
            try:
                tx = base64.b64decode(json.loads(raw)["data"])
            except (ValueError, KeyError):
                continue
            json_tx = tx.startswith(b"{")
            out[f"packet_{i}"] = bytes([4 if json_tx else 0]) + text
            out[f"packet_{i}_tx"] = bytes([5 if json_tx else 1]) + tx
        elif raw.startswith('{"messages"'):
            out[f"json_tx_{i}"] = b"\x05" + text
        elif raw.startswith("{") and ("version" in raw or "onnection" in raw or "address" in raw):
            out[f"metadata_{i}"] = b"\x02" + text
    # MsgRunInference from testdata in a protobuf CosmosTx, bare and packed.
    msg = bytes.fromhex(testdata["msg_run_inference"]["bytes_hex"])
    tx = field(1, field(1, "/chimera.inference.v1.MsgRunInference") + field(2, msg))
    out["testdata_tx"] = b"\x01" + tx
    packet = {"data": base64.b64encode(tx).decode(), "memo": "", "type": "TYPE_EXECUTE_TX"}
    out["testdata_packet"] = b"\x00" + json.dumps(packet, separators=(",", ":")).encode()
    # The host's acks: success with a MsgRunInferenceResponse, and an error.
    resp = bytes.fromhex(testdata["msg_run_inference_response"]["bytes_hex"])
    tx_msg_data = field(2, field(1, "/chimera.inference.v1.MsgRunInferenceResponse") + field(2, resp))
    out["ack_result"] = b"\x03" + b'{"result":"' + base64.b64encode(tx_msg_data) + b'"}'
    out["ack_error"] = b"\x03" + b'{"error":"ABCI code: 2: error handling packet: see events for details"}'
    return out


def main():
    seeds = {t: {} for t in ("packet_data", "acknowledgement", "msg_run_inference", "sealed_envelope")}
    testdata = {p.stem: json.loads(p.read_text()) for p in sorted(TESTDATA.glob("*.json"))}
    for path in sorted(TESTDATA.glob("*.json")):
        name, d = path.stem, json.loads(path.read_text())
        kind = d["kind"]
        if kind in ("inference_packet_data", "invalid_inference_packet_data") and len(d["bytes"]) <= MAX_SEED:
            seeds["packet_data"][name] = d["bytes"].encode()
        if kind == "inference_packet_data":
            seeds["msg_run_inference"]["from_" + name] = msg_run_inference(d["value"])
        if kind == "acknowledgement":
            seeds["acknowledgement"][name] = d["bytes"].encode()
        if "ack" in d:
            seeds["acknowledgement"][name + "_ack"] = d["ack"].encode()
        if name == "msg_run_inference":
            seeds["msg_run_inference"][name] = bytes.fromhex(d["bytes_hex"])
        if kind == "inference_result":
            # The JSON inside a result ack, wrapped as the ack itself.
            ack = json.dumps({"result": base64.b64encode(d["bytes"].encode()).decode()}, separators=(",", ":"))
            seeds["acknowledgement"][name + "_wrapped"] = ack.encode()
        packet = d.get("value") if kind == "inference_packet_data" else None
        if packet is None and kind == "invalid_inference_packet_data":
            try:
                packet = json.loads(d["bytes"])
            except ValueError:
                packet = None
        if isinstance(packet, dict) and isinstance(packet.get("sealed"), dict):
            env = json.dumps(packet["sealed"], sort_keys=True, separators=(",", ":")).encode()
            seeds["sealed_envelope"][name] = env
            ct = base64.b64decode(packet["input"]["inline"])
            seeds["sealed_envelope"][name + "_open"] = env + b"\0" + ct
    seeds["ica"] = ica_seeds(testdata)
    for target, files in seeds.items():
        out = SEEDS / target
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("seed-*"):
            old.unlink()
        for name, data in files.items():
            (out / ("seed-" + name)).write_bytes(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
