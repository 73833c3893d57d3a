//! The generated gRPC contract (`proto/fanout/v1/worker.proto`).

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("fanout.v1");
