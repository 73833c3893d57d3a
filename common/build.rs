//! Compiles the wire contract with protox, so building fanout needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../proto";
    let files = ["fanout/v1/worker.proto", "fanout/v1/jobs.proto"];
    let descriptors = protox::compile(files.map(|f| format!("{proto_root}/{f}")), [proto_root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={proto_root}");
    Ok(())
}
