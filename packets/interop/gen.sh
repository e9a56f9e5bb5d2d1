#!/usr/bin/env bash
# Regenerates chimerapb/*.pb.go from ../proto (the protos the Rust crate
# compiles) with protoc and protoc-gen-gocosmos, the generator Cosmos SDK
# chains use. The generator is built from github.com/cosmos/gogoproto at the
# version go.mod pins (v1.7.0, the one Terra Classic core v3.4.0 uses), so the
# output depends only on go.mod and ../proto. Tested with Debian's protoc
# 3.21.12 (gogo output does not embed the protoc version).
# The package name is the one gogo derives from the proto package
# (chimera_inference_v1); chimerapb/msg.go is hand-written and kept.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS=-mod=readonly
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/protoc-gen-gocosmos" github.com/cosmos/gogoproto/protoc-gen-gocosmos

pkg=github.com/chimera-ibc/chimera/packets/interop/chimerapb
opts="paths=source_relative"
for f in types tx query; do
  opts="$opts,Mchimera/inference/v1/$f.proto=$pkg"
done
# Coin is the SDK's own (sdk.Coin), as on a chain.
opts="$opts,Mcosmos/base/v1beta1/coin.proto=github.com/cosmos/cosmos-sdk/types"

mkdir -p "$tmp/out"
protoc --plugin=protoc-gen-gocosmos="$tmp/protoc-gen-gocosmos" \
  -I ../proto --gocosmos_out="$opts:$tmp/out" \
  chimera/inference/v1/types.proto chimera/inference/v1/tx.proto chimera/inference/v1/query.proto

rm -f chimerapb/*.pb.go
cp "$tmp"/out/chimera/inference/v1/*.pb.go chimerapb/
echo "generated: $(ls chimerapb/*.pb.go | tr '\n' ' ')"
