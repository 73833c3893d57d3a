//! Validation rules for fanout: the rules file users write ([`Rules`]), TextFSM parsing of
//! command output compatible with the ntc-templates layout ([`TemplateIndex`]), and the
//! evaluation the workers run for each host ([`evaluate`]).
//!
//! The order of use: [`Rules::load`], then [`Rules::check_templates`] and [`check_references`]
//! against the selected hosts (all before any connection); per host, run [`Rules::commands`]
//! and pass the outputs to [`evaluate`].

mod check;
mod expect;
mod expr;
mod hosts;
pub mod index;
mod rules;
pub mod textfsm;

pub use check::{RuleOutcome, evaluate};
pub use hosts::check_references;
pub use index::{IndexError, TEMPLATE_DIR_ENV, TemplateBundle, TemplateIndex};
pub use rules::{Check, Comparison, FieldOp, ParseMode, Rule, RuleError, Rules};
