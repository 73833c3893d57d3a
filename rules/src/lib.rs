//! Validation rules for fanout: the rules file users write, TextFSM parsing of command output
//! (compatible with the ntc-templates layout), and the evaluation the workers run per host.

pub mod textfsm;
