//! Finding the line of a node after the fact.
//!
//! serde_yaml_ng reports positions only with errors, so the loader keeps none while it reads (a
//! 10,000-host file stays one cheap pass). When a later check fails (an unknown group, a missing
//! environment variable) this walks the file once more along the node's path and fails on
//! purpose at the node: the error carries its line and column. Only error paths pay for it.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;

/// One step from a mapping or a list to a child node.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step<'a> {
    /// The entry under this key; as the last step, the key itself (where `key:` is written).
    Key(&'a str),
    /// The list item at this index.
    Index(usize),
}

/// The 1-based line and column of the node at `path` in `text`, or `None` if there is no such
/// node (or the path is empty). With duplicate keys, the first one counts.
pub(super) fn locate(text: &str, path: &[Step<'_>]) -> Option<(usize, usize)> {
    if path.is_empty() {
        return None;
    }
    let found = Cell::new(false);
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let error = Probe {
        path,
        found: &found,
    }
    .deserialize(deserializer)
    .err()?;
    if !found.get() {
        return None;
    }
    error.location().map(|at| (at.line(), at.column()))
}

struct Probe<'p, 'a> {
    path: &'p [Step<'a>],
    /// Set just before the deliberate failure, to tell it from a real one.
    found: &'p Cell<bool>,
}

const HIT: &str = "located";

impl<'de> DeserializeSeed<'de> for Probe<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    // A scalar where the path wants to go deeper: the node is not there.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(want), rest)) = self.path.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let found = self.found;
        let last = rest.is_empty();
        while let Some(matched) = map.next_key_seed(KeyProbe { want, last, found })? {
            if matched {
                return map.next_value_seed(Probe { path: rest, found });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(want), rest)) = self.path.split_first() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let found = self.found;
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        if rest.is_empty() {
            seq.next_element_seed(Hit { found })?;
            return Ok(());
        }
        seq.next_element_seed(Probe { path: rest, found })?;
        Ok(())
    }
}

/// A map key: `Ok(true)` if it is the wanted one; fails at the key if it is also the target.
struct KeyProbe<'p> {
    want: &'p str,
    last: bool,
    found: &'p Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        // deserialize_str hands over any scalar key as written, so `1:` matches "1".
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyProbe<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key != self.want {
            return Ok(false);
        }
        if self.last {
            self.found.set(true);
            return Err(E::custom(HIT));
        }
        Ok(true)
    }
}

/// The target list item: any node fails here, at its own position.
struct Hit<'p> {
    found: &'p Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Hit<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.found.set(true);
        // Every visit method of `Refuse` is serde's default, which returns an error.
        deserializer.deserialize_any(Refuse)
    }
}

struct Refuse;

impl Visitor<'_> for Refuse {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
hosts:
  r1:
    platform: linux
    groups: [core, edge]
  r2:
    groups:
      - core
      - edge
";

    #[test]
    fn finds_keys_and_list_items() {
        let r1 = [Step::Key("hosts"), Step::Key("r1")];
        assert_eq!(locate(TEXT, &r1), Some((2, 3)));
        let platform = [Step::Key("hosts"), Step::Key("r1"), Step::Key("platform")];
        assert_eq!(locate(TEXT, &platform), Some((3, 5)));
        let flow = [
            Step::Key("hosts"),
            Step::Key("r1"),
            Step::Key("groups"),
            Step::Index(1),
        ];
        assert_eq!(locate(TEXT, &flow), Some((4, 20)));
        let block = [
            Step::Key("hosts"),
            Step::Key("r2"),
            Step::Key("groups"),
            Step::Index(1),
        ];
        assert_eq!(locate(TEXT, &block), Some((8, 9)));
    }

    #[test]
    fn missing_nodes_have_no_location() {
        assert_eq!(locate(TEXT, &[Step::Key("hosts"), Step::Key("r9")]), None);
        let past_end = [
            Step::Key("hosts"),
            Step::Key("r2"),
            Step::Key("groups"),
            Step::Index(5),
        ];
        assert_eq!(locate(TEXT, &past_end), None);
        let broken = [Step::Key("hosts"), Step::Index(0)];
        assert_eq!(locate("hosts: [", &broken), None);
    }
}
