//! The table TextFSM's `clitable` makes of command output, which is what users of
//! ntc-templates (`parse_output`) and of Netmiko's `use_textfsm=True` get: its cells, and its
//! join of the tables of an index row that names several templates (`a.textfsm:b.textfsm`).
//!
//! [`Template::parse_text`] stays at TextFSM's level (Python's `TextFSM.ParseText`); only the
//! index, which plays clitable's part, goes through here.

use super::engine::{Row, Table};
use super::template::{Template, ValueOption};
use serde_json::Value as Json;

/// A cell as clitable stores it. Its `TextTable` passes every list element through Python's
/// `str()`, so a `List` element that matched nothing is the string `"None"` (ntc-templates'
/// expected results hold exactly that). Elements that are maps (a `List` value with named
/// groups of its own) stay maps: `str()` would make them a Python `repr` no other language
/// reads, and no ntc-templates template has one.
fn cell(value: Json) -> Json {
    match value {
        Json::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|v| match v {
                    Json::Null => Json::String("None".into()),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

fn cells(table: Table) -> Table {
    let rows = table
        .rows
        .into_iter()
        .map(|row| row.into_iter().map(|(k, v)| (k, cell(v))).collect())
        .collect();
    Table {
        header: table.header,
        rows,
    }
}

/// The names of a template's `Key` values, in template order.
fn keys(template: &Template) -> Vec<String> {
    template
        .values()
        .iter()
        .filter(|v| v.has(ValueOption::Key))
        .map(|v| v.name.clone())
        .collect()
}

/// Joins the tables `templates` made of one output as clitable's `ParseCmd` does:
///
/// * the first table's columns, then only the columns of each later table that are new;
/// * the join keys are the `Key` values of the first template that has any;
/// * without keys, rows pair by position; with keys, each row takes the new columns of the first
///   later row with equal key values;
/// * a row with no partner keeps `''` in the new columns, and rows of later tables that pair
///   with nothing are dropped.
///
/// Fails, as clitable does, when a key is not a column of the table built so far, or a later
/// table that adds columns lacks a key column that must be compared.
pub(crate) fn join(templates: &[&Template], tables: Vec<Table>) -> Result<Table, String> {
    let mut parts = templates.iter().zip(tables);
    let Some((first_template, first)) = parts.next() else {
        return Ok(Table::default());
    };
    let mut keys = keys(first_template);
    let mut joined = cells(first);
    for (template, table) in parts {
        if keys.is_empty() {
            keys = self::keys(template);
        }
        if let Some(key) = keys.iter().find(|k| !joined.header.contains(k)) {
            return Err(format!(
                "key `{key}` is not a column of the templates before {}",
                template.source
            ));
        }
        let table = cells(table);
        let new: Vec<String> = table
            .header
            .iter()
            .filter(|c| !joined.header.contains(c))
            .cloned()
            .collect();
        if new.is_empty() {
            continue;
        }
        joined.header.extend(new.iter().cloned());
        for row in &mut joined.rows {
            for column in &new {
                row.insert(column.clone(), Json::String(String::new()));
            }
        }
        let copy = |row: &mut Row, from: &Row| {
            for column in &new {
                row.insert(column.clone(), from[column].clone());
            }
        };
        if keys.is_empty() {
            for (row, other) in joined.rows.iter_mut().zip(&table.rows) {
                copy(row, other);
            }
            continue;
        }
        for row in &mut joined.rows {
            let mut partner = None;
            for other in &table.rows {
                let mut equal = true;
                for key in &keys {
                    let theirs = other.get(key).ok_or_else(|| {
                        format!("{} has no column `{key}` to join on", template.source)
                    })?;
                    if row.get(key) != Some(theirs) {
                        equal = false;
                        break;
                    }
                }
                if equal {
                    partner = Some(other);
                    break;
                }
            }
            if let Some(other) = partner {
                copy(row, other);
            }
        }
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(templates: &[&str], text: &str) -> Result<Table, String> {
        let compiled: Vec<Template> = templates
            .iter()
            .enumerate()
            .map(|(n, t)| Template::parse(&format!("t{n}"), t).unwrap())
            .collect();
        let tables = compiled
            .iter()
            .map(|t| t.parse_text(text).unwrap())
            .collect();
        join(&compiled.iter().collect::<Vec<_>>(), tables)
    }

    fn rows(table: &Table) -> Vec<Vec<String>> {
        table
            .rows
            .iter()
            .map(|r| table.header.iter().map(|c| r[c].to_string()).collect())
            .collect()
    }

    /// Module status on some lines, serial numbers on others, in a different order: clitable
    /// joins them on the first template's `Key`, not by position.
    const STATUS: &str = "Value Key MODULE (\\d+)\nValue STATUS (\\w+)\n\nStart\n  ^${MODULE}\\s+status\\s+${STATUS} -> Record\n";
    const SERIALS: &str = "Value MODULE (\\d+)\nValue STATUS (\\w+)\nValue SERIAL (\\w+)\n\nStart\n  ^${MODULE}\\s+serial\\s+${SERIAL} -> Record\n";
    const OUTPUT: &str =
        "1 status ok\n2 status failed\n3 status ok\n3 serial C333\n1 serial A111\n9 serial Z999\n";

    #[test]
    fn tables_join_on_the_first_templates_keys() {
        let table = parse(&[STATUS, SERIALS], OUTPUT).unwrap();
        // STATUS appears once; SERIALS' own (empty) STATUS does not overwrite it.
        assert_eq!(table.header, ["MODULE", "STATUS", "SERIAL"]);
        assert_eq!(
            rows(&table),
            [
                [r#""1""#, r#""ok""#, r#""A111""#],
                [r#""2""#, r#""failed""#, r#""""#],
                [r#""3""#, r#""ok""#, r#""C333""#],
            ]
        );
    }

    #[test]
    fn without_keys_rows_pair_by_position() {
        let unkeyed = STATUS.replace("Value Key MODULE", "Value MODULE");
        let table = parse(&[&unkeyed, SERIALS], OUTPUT).unwrap();
        assert_eq!(
            rows(&table),
            [
                [r#""1""#, r#""ok""#, r#""C333""#],
                [r#""2""#, r#""failed""#, r#""A111""#],
                [r#""3""#, r#""ok""#, r#""Z999""#],
            ]
        );
    }

    #[test]
    fn keys_come_from_the_first_template_that_has_some() {
        let unkeyed = STATUS.replace("Value Key MODULE", "Value MODULE");
        let keyed = SERIALS.replace("Value MODULE", "Value Key MODULE");
        let table = parse(&[&unkeyed, &keyed], OUTPUT).unwrap();
        assert_eq!(table.column("SERIAL"), ["A111", "", "C333"]);
        let only_later =
            "Value Key SLOT (\\d+)\nValue X (\\w+)\n\nStart\n  ^${SLOT} ${X} -> Record\n";
        let err = parse(&[&unkeyed, only_later], OUTPUT).unwrap_err();
        assert!(err.contains("key `SLOT`"), "{err}");
    }

    #[test]
    fn list_elements_that_matched_nothing_are_none_strings() {
        let template = "Value List PORTS (\\S+)\nValue Required VLAN (\\d+)\n\nStart\n  ^vlan ${VLAN}\n  ^port ${PORTS}?$$\n  ^end -> Record\n";
        let table = parse(&[template], "vlan 7\nport a\nport \nend\n").unwrap();
        assert_eq!(table.rows[0]["PORTS"], serde_json::json!(["a", "None"]));
        // At TextFSM's level the element is Python's `None`, as the fixtures hold.
        let raw = Template::parse("t", template)
            .unwrap()
            .parse_text("vlan 7\nport a\nport \nend\n")
            .unwrap();
        assert_eq!(raw.rows[0]["PORTS"], serde_json::json!(["a", null]));
    }
}
