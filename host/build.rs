//! Build script: protobuf code generation for chimerad's gRPC services.

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
