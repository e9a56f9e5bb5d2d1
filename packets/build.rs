//! Generates the Rust types of Chimera's protobuf messages with prost.
//! `protoc` comes from Debian's protobuf-compiler (scripts/setup); set PROTOC
//! to use another.

fn main() -> std::io::Result<()> {
    let protos = [
        "proto/chimera/inference/v1/types.proto",
        "proto/chimera/inference/v1/tx.proto",
        "proto/chimera/inference/v1/query.proto",
        "proto/chimera/inference/v1/vote.proto",
        "proto/chimera/fees/v1/fees.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=proto/cosmos/base/v1beta1/coin.proto");
    prost_build::Config::new()
        // One Coin type in the workspace: ibc-proto's (cosmos-sdk-proto's).
        .extern_path(".cosmos.base.v1beta1", "::ibc_proto::cosmos::base::v1beta1")
        // `prost::Name` impls give type URLs for packing into `Any`.
        .enable_type_names()
        .type_name_domain(["."], "")
        .compile_protos(&protos, &["proto"])
}
