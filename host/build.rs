//! Build script: protobuf code generation for chimerad's gRPC services, and
//! the link flag that lets libtorch find CUDA.

use std::path::PathBuf;

/// Keeps `libtorch_cuda.so` as a dependency of every binary and test when the
/// linked libtorch has one. Rust links with `--as-needed`, and no symbol of
/// ours names libtorch_cuda directly, so the linker drops it; then CUDA's
/// hooks never register and `tch::Cuda::is_available()` is false even on a GPU
/// machine (measured: a CUDA torch build reported no GPU until this flag).
fn link_torch_cuda() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(lib) = std::env::var_os("LIBTORCH").map(|d| PathBuf::from(d).join("lib")) else {
        return;
    };
    if lib.join("libtorch_cuda.so").is_file() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    link_torch_cuda();
    // chimera.blob.v1.BlobService (host/src/blob), server and client.
    println!("cargo:rerun-if-changed=proto/chimera/blob/v1/blob.proto");
    tonic_build::configure()
        .bytes([
            ".chimera.blob.v1.PutRequest.data",
            ".chimera.blob.v1.GetResponse.data",
        ])
        .build_server(true)
        .build_client(true)
        .compile_protos(&["proto/chimera/blob/v1/blob.proto"], &["proto"])?;
    // chimera.inference.v1.Query (host/src/grpc/inference), server and
    // client: only the service is generated here; every message is the
    // prost type of `chimera_packets::proto` (packets/build.rs), so the
    // workspace has one set of inference types.
    for p in [
        "../packets/proto/chimera/inference/v1/query.proto",
        "../packets/proto/chimera/inference/v1/types.proto",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    tonic_build::configure()
        .extern_path(".chimera.inference.v1", "::chimera_packets::proto")
        .extern_path(".cosmos.base.v1beta1", "::ibc_proto::cosmos::base::v1beta1")
        .build_server(true)
        .build_client(true)
        .compile_protos(
            &["../packets/proto/chimera/inference/v1/query.proto"],
            &["../packets/proto"],
        )?;
    // chimera.fees.v1.Query (host/src/grpc/fees), server and client, the
    // same way: messages are `chimera_packets::proto::fees`. Built without
    // the `node` feature too (`crate::services`), for `chimera fees`.
    println!("cargo:rerun-if-changed=../packets/proto/chimera/fees/v1/fees.proto");
    tonic_build::configure()
        .extern_path(".chimera.fees.v1", "::chimera_packets::proto::fees")
        .extern_path(".cosmos.base.v1beta1", "::ibc_proto::cosmos::base::v1beta1")
        .build_server(true)
        .build_client(true)
        .compile_protos(
            &["../packets/proto/chimera/fees/v1/fees.proto"],
            &["../packets/proto"],
        )?;
    Ok(())
}
