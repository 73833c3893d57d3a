//! The shapes of single values: strings, names, ports, group lists, free-form mappings. Each
//! rejects what it cannot take at the node itself, so the message has the value's line.

use super::error::InventoryErrorKind;
use super::yaml::{Expect, ParseState, Scalar, Seed};
use serde::de::{MapAccess, SeqAccess};
use serde_json::{Map, Value};

/// A string field; unquoted integers are taken as their text. Null means "not set here".
pub(super) struct Text {
    pub field: &'static str,
    pub redact: bool,
}

impl Expect<'_> for Text {
    type Out = Option<String>;

    fn what(&self) -> String {
        format!("`{}`", self.field)
    }

    fn expected(&self) -> String {
        "a string".to_string()
    }

    fn redact(&self) -> bool {
        self.redact
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(None),
            other => match other.as_text() {
                Some(text) => Ok(Some(text)),
                None => Err(self.mismatch(&format!(
                    "{} (quote it to use it as text)",
                    other.describe(self.redact)
                ))),
            },
        }
    }
}

/// A name that must not be empty: a group, an environment variable, a file path.
pub(super) struct Name {
    pub field: &'static str,
}

impl Expect<'_> for Name {
    type Out = Option<String>;

    fn what(&self) -> String {
        format!("`{}`", self.field)
    }

    fn expected(&self) -> String {
        "a non-empty name".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(None),
            other => match other.as_text() {
                Some(text) if !text.is_empty() => Ok(Some(text)),
                _ => Err(self.mismatch(&other.describe(false))),
            },
        }
    }
}

/// `port`: an integer from 1 to 65535.
pub(super) struct Port;

impl Expect<'_> for Port {
    type Out = Option<u16>;

    fn what(&self) -> String {
        "`port`".to_string()
    }

    fn expected(&self) -> String {
        "a port number from 1 to 65535".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        let number = match scalar {
            Scalar::Null => return Ok(None),
            Scalar::Int(i) => u16::try_from(i).ok(),
            Scalar::UInt(u) => u16::try_from(u).ok(),
            _ => None,
        };
        match number {
            Some(port) if port != 0 => Ok(Some(port)),
            _ => Err(self.mismatch(&scalar.describe(false))),
        }
    }
}

/// A free-form mapping (`data`, `connection_options`); null means empty.
pub(super) struct Mapping {
    pub field: &'static str,
}

impl<'de> Expect<'de> for Mapping {
    type Out = Map<String, Value>;

    fn what(&self) -> String {
        format!("`{}`", self.field)
    }

    fn expected(&self) -> String {
        "a mapping".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(Map::new()),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, map: A) -> Result<Self::Out, A::Error> {
        json_object(state, map)
    }
}

/// Any YAML value, as JSON.
struct Json;

impl<'de> Expect<'de> for Json {
    type Out = Value;

    fn what(&self) -> String {
        "value".to_string()
    }

    fn expected(&self) -> String {
        "a YAML value".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        Ok(match scalar {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::from(i),
            Scalar::UInt(u) => Value::from(u),
            // JSON has no NaN or infinity; those become null, as serde_json does.
            Scalar::Float(f) => Value::from(f),
            Scalar::Str(s) => Value::String(s.to_string()),
        })
    }

    fn seq<A: SeqAccess<'de>>(self, state: &ParseState, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Seed::new(state, Json))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn map<A: MapAccess<'de>>(self, state: &ParseState, map: A) -> Result<Self::Out, A::Error> {
        json_object(state, map).map(Value::Object)
    }
}

/// A mapping as a JSON object: duplicate keys are errors, YAML merge keys (`<<: *base`) apply.
fn json_object<'de, A: MapAccess<'de>>(
    state: &ParseState,
    mut map: A,
) -> Result<Map<String, Value>, A::Error> {
    let mut object = Map::new();
    let mut merged = Vec::new();
    while let Some(key) = map.next_key_seed(Seed::new(state, JsonKey { existing: &object }))? {
        let value = map.next_value_seed(Seed::new(state, Json))?;
        if key == MERGE_KEY {
            match value {
                Value::Object(base) => merged.push(base),
                Value::Array(bases) => merged.extend(bases.into_iter().filter_map(|b| match b {
                    Value::Object(base) => Some(base),
                    _ => None,
                })),
                _ => {}
            }
        } else {
            object.insert(key, value);
        }
    }
    // Keys written in the mapping win over merged ones; earlier merge sources win over later.
    for base in merged {
        for (key, value) in base {
            object.entry(key).or_insert(value);
        }
    }
    Ok(object)
}

/// YAML's merge key: `<<: *anchor` copies the anchored mapping's keys in.
pub(super) const MERGE_KEY: &str = "<<";

/// A key of a free-form mapping: a scalar, not yet used in this mapping.
struct JsonKey<'m> {
    existing: &'m Map<String, Value>,
}

impl Expect<'_> for JsonKey<'_> {
    type Out = String;

    fn what(&self) -> String {
        "mapping key".to_string()
    }

    fn expected(&self) -> String {
        "a string".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        let key = match scalar {
            Scalar::Null => "null".to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Float(f) => f.to_string(),
            other => other.as_text().unwrap_or_default(),
        };
        if self.existing.contains_key(&key) {
            return Err(InventoryErrorKind::DuplicateKey { key });
        }
        Ok(key)
    }
}

/// A yes/no field (`ssh_agent: true`). Null means "not set here".
pub(super) struct Flag {
    pub field: &'static str,
}

impl Expect<'_> for Flag {
    type Out = Option<bool>;

    fn what(&self) -> String {
        format!("`{}`", self.field)
    }

    fn expected(&self) -> String {
        "true or false".to_string()
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(None),
            Scalar::Bool(b) => Ok(Some(b)),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }
}

/// A list of non-empty names: `groups`, SSH algorithm lists. Null means "not set here".
pub(super) struct NameList {
    pub field: &'static str,
    /// What one entry is, for messages (`group name`).
    pub item: &'static str,
    /// What the list looks like written out, for messages (`core`).
    pub example: &'static str,
}

impl<'de> Expect<'de> for NameList {
    type Out = Option<Vec<String>>;

    fn what(&self) -> String {
        format!("`{}`", self.field)
    }

    fn expected(&self) -> String {
        format!(
            "a list of {}s (`{}: [{}]`)",
            self.item, self.field, self.example
        )
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar {
            Scalar::Null => Ok(None),
            other => Err(self.mismatch(&other.describe(false))),
        }
    }

    fn seq<A: SeqAccess<'de>>(self, state: &ParseState, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut names = Vec::new();
        let item = self.item;
        while let Some(name) = seq.next_element_seed(Seed::new(state, ListedName { item }))? {
            names.push(name);
        }
        Ok(Some(names))
    }
}

/// One entry of a [`NameList`].
struct ListedName {
    item: &'static str,
}

impl Expect<'_> for ListedName {
    type Out = String;

    fn what(&self) -> String {
        self.item.to_string()
    }

    fn expected(&self) -> String {
        format!("a non-empty {}", self.item)
    }

    fn scalar(self, scalar: Scalar<'_>) -> Result<Self::Out, InventoryErrorKind> {
        match scalar.as_text() {
            Some(name) if !name.is_empty() => Ok(name),
            _ => Err(self.mismatch(&scalar.describe(false))),
        }
    }
}
