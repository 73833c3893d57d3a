//! A coordinator and its worker processes on this machine.

pub mod worker_processes;
