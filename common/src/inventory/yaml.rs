//! The bridge between serde_yaml_ng and the inventory's own messages.
//!
//! serde_yaml_ng attaches the line and column of the YAML node being read to any error a visitor
//! returns, but formats the message its own way. So every visitor here reports through
//! [`ParseState::fail`], which keeps the typed problem aside; [`ParseState::into_error`] then
//! pairs it with the location serde_yaml_ng found. Every shape check happens *inside* the visitor
//! of the node it is about, which is what makes the line number point at that node.

use super::error::{InventoryError, InventoryErrorKind, SourceLocation};
use crate::input::{MAX_YAML_DEPTH, check_yaml_nesting};
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;
use std::path::Path;

/// Side channel for one file's deserialization.
pub(super) struct ParseState {
    /// The problem a visitor reported, in the inventory's own words.
    pending: RefCell<Option<InventoryErrorKind>>,
    /// The host, group or section being read, so a problem deep inside it can name it.
    subject: RefCell<Option<String>>,
}

impl ParseState {
    pub fn new(subject: Option<String>) -> Self {
        Self {
            pending: RefCell::new(None),
            subject: RefCell::new(subject),
        }
    }

    /// Records `kind` and returns the error that makes serde_yaml_ng stop and attach a location.
    pub fn fail<E: de::Error>(&self, kind: InventoryErrorKind) -> E {
        let error = E::custom(&kind);
        *self.pending.borrow_mut() = Some(kind);
        error
    }

    pub fn set_subject(&self, subject: Option<String>) {
        *self.subject.borrow_mut() = subject;
    }

    pub fn into_error(self, file: &Path, error: serde_yaml_ng::Error) -> InventoryError {
        let mut location = SourceLocation::file(file);
        let where_ = error.location();
        if let Some(at) = &where_ {
            location.line = Some(at.line());
            location.column = Some(at.column());
        }
        let kind = self.pending.into_inner().unwrap_or_else(|| {
            // The parser's own complaint (bad syntax, several documents, ...): its text minus the
            // position, which the prefix already carries.
            let mut message = error.to_string();
            if let Some(at) = where_ {
                let suffix = format!(" at line {} column {}", at.line(), at.column());
                if let Some(start) = message.find(&suffix) {
                    message.replace_range(start..start + suffix.len(), "");
                }
            }
            InventoryErrorKind::Yaml { message }
        });
        InventoryError::new(kind)
            .at(location)
            .about(self.subject.into_inner())
    }
}

/// Reads one whole file with `expect`, turning any failure into an [`InventoryError`].
pub(super) fn parse<X, T>(
    file: &Path,
    text: &str,
    subject: Option<String>,
    expect: X,
) -> Result<T, InventoryError>
where
    X: for<'de> Expect<'de, Out = T>,
{
    // Measured before serde_yaml_ng sees the text: its parser does work proportional to the
    // open nesting for every token, so a deep nest would take minutes to be refused.
    if let Err(e) = check_yaml_nesting(text, MAX_YAML_DEPTH) {
        let mut location = SourceLocation::file(file);
        location.line = Some(e.line);
        location.column = Some(e.column);
        let message = e.to_string();
        return Err(InventoryError::new(InventoryErrorKind::Yaml { message }).at(location));
    }
    let state = ParseState::new(subject);
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let result = Seed {
        state: &state,
        expect,
    }
    .deserialize(deserializer);
    result.map_err(|error| state.into_error(file, error))
}

/// A YAML scalar as serde_yaml_ng resolved it.
#[derive(Clone, Copy)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    /// The text a string field takes from an unquoted number (`username: 1234`).
    pub fn as_text(self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some(s.to_string()),
            Scalar::Int(i) => Some(i.to_string()),
            Scalar::UInt(u) => Some(u.to_string()),
            Scalar::Null | Scalar::Bool(_) | Scalar::Float(_) => None,
        }
    }

    /// How a message shows the value; `redact` keeps a credential out of it.
    pub fn describe(self, redact: bool) -> String {
        match (self, redact) {
            (Scalar::Null, _) => "nothing (null)".to_string(),
            (Scalar::Bool(_), true) => "a boolean".to_string(),
            (Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_), true) => "a number".to_string(),
            (Scalar::Str(_), true) => "a string".to_string(),
            (Scalar::Bool(b), false) => format!("`{b}`"),
            (Scalar::Int(i), false) => format!("`{i}`"),
            (Scalar::UInt(u), false) => format!("`{u}`"),
            (Scalar::Float(f), false) => format!("`{f}`"),
            (Scalar::Str(s), false) => format!("{s:?}"),
        }
    }
}

/// What one YAML node must look like, and what it becomes. Wrapped in a [`Seed`] to be read.
///
/// Every method not overridden rejects its kind of node with an `InvalidValue` naming what was
/// expected and what was found.
pub(super) trait Expect<'de>: Sized {
    type Out;

    /// How messages name the node: "`port`", "host entry".
    fn what(&self) -> String;

    /// What the node should have been: "a port number from 1 to 65535".
    fn expected(&self) -> String;

    /// Whether the value is a credential, which messages must not show.
    fn redact(&self) -> bool {
        false
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        let found = scalar.describe(self.redact());
        Err(self.mismatch(&found))
    }

    fn seq<A: SeqAccess<'de>>(self, state: &ParseState, _seq: A) -> Result<Self::Out, A::Error> {
        Err(state.fail(self.mismatch("a list")))
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, _map: A) -> Result<Self::Out, A::Error> {
        Err(state.fail(self.mismatch("a mapping")))
    }

    fn mismatch(&self, found: &str) -> InventoryErrorKind {
        InventoryErrorKind::InvalidValue {
            what: self.what(),
            reason: format!("expected {}, found {found}", self.expected()),
        }
    }
}

/// Makes an [`Expect`] readable: a serde seed and visitor that routes every node kind to it.
pub(super) struct Seed<'s, X> {
    pub state: &'s ParseState,
    pub expect: X,
}

impl<'s, X> Seed<'s, X> {
    pub fn new(state: &'s ParseState, expect: X) -> Self {
        Self { state, expect }
    }

    fn scalar<'de, E: de::Error>(self, scalar: Scalar<'_>) -> Result<X::Out, E>
    where
        X: Expect<'de>,
    {
        let state = self.state;
        self.expect.scalar(scalar).map_err(|kind| state.fail(kind))
    }
}

impl<'de, X: Expect<'de>> DeserializeSeed<'de> for Seed<'_, X> {
    type Value = X::Out;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<X::Out, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, X: Expect<'de>> Visitor<'de> for Seed<'_, X> {
    type Value = X::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expect.expected())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<X::Out, E> {
        self.scalar(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<X::Out, E> {
        self.scalar(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<X::Out, E> {
        self.scalar(Scalar::UInt(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<X::Out, E> {
        self.scalar(Scalar::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<X::Out, E> {
        self.scalar(Scalar::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<X::Out, E> {
        self.scalar(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<X::Out, E> {
        self.scalar(Scalar::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<X::Out, A::Error> {
        self.expect.seq(self.state, seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<X::Out, A::Error> {
        self.expect.map(self.state, map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, _data: A) -> Result<X::Out, A::Error> {
        // serde_yaml_ng hands a tagged node (`!vault ...`) to visit_enum.
        Err(self.state.fail(InventoryErrorKind::InvalidValue {
            what: self.expect.what(),
            reason: "YAML tags (`!tag value`) are not supported".to_string(),
        }))
    }
}
