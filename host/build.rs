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
    Ok(())
}
