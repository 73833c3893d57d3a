//! `{{ path }}` references in expectations, rendered against one host's description (a JSON
//! object such as `{"name": ..., "hostname": ..., "platform": ..., "data": {...}}`).

use serde_json::Value as Json;

/// Renders every string in `value`. A string that is exactly one reference becomes the
/// referenced value itself (so `"{{ data.vlans }}"` can be a list); references inside longer
/// strings are replaced by their text. Fails with the first reference the host lacks.
pub(crate) fn render(value: &Json, host: &Json) -> Result<Json, String> {
    Ok(match value {
        Json::String(s) => render_str(s, host)?,
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| render(v, host))
                .collect::<Result<_, _>>()?,
        ),
        // Keys too: a `section` parent line may name host data (`interface {{ data.uplink }}`).
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((text(&render_str(k, host)?), render(v, host)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Whether `s` contains a reference at all.
pub(crate) fn has_reference(value: &Json) -> bool {
    match value {
        Json::String(s) => s.contains("{{"),
        Json::Array(items) => items.iter().any(has_reference),
        Json::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains("{{") || has_reference(v)),
        _ => false,
    }
}

fn render_str(s: &str, host: &Json) -> Result<Json, String> {
    let trimmed = s.trim();
    if let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return lookup(host, inner.trim()).cloned();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in `{s}`"))?;
        out.push_str(&rest[..start]);
        out.push_str(&text(lookup(host, rest[start + 2..start + end].trim())?));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(Json::String(out))
}

fn lookup<'h>(host: &'h Json, path: &str) -> Result<&'h Json, String> {
    if path.is_empty() {
        return Err("empty reference `{{ }}`".into());
    }
    let mut at = host;
    for key in path.split('.') {
        let next = match at {
            Json::Object(map) => map.get(key),
            Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        at =
            next.ok_or_else(|| format!("reference `{{{{ {path} }}}}`: the host has no `{key}`"))?;
    }
    Ok(at)
}

/// A value as plain text: strings unquoted, lists joined with `, `.
pub(crate) fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_references_keep_their_type_and_inner_ones_become_text() {
        let host = json!({"name": "r1", "data": {"vlans": [10, 20], "site": {"dc": "ams"}}});
        assert_eq!(
            render(&json!("{{ data.vlans }}"), &host).unwrap(),
            json!([10, 20])
        );
        assert_eq!(
            render(&json!(["x {{name}} y", "{{ data.site.dc }}", 3]), &host).unwrap(),
            json!(["x r1 y", "ams", 3])
        );
        assert_eq!(
            render(&json!("{{ data.vlans.1 }}"), &host).unwrap(),
            json!(20)
        );
        let err = render(&json!({"a": "{{ data.missing }}"}), &host).unwrap_err();
        assert!(err.contains("no `missing`"), "{err}");
        assert!(has_reference(&json!({"a": ["{{ x }}"]})));
        assert!(!has_reference(&json!({"a": ["x"]})));
        assert!(has_reference(&json!({"interface {{ data.up }}": ["x"]})));
        assert_eq!(
            render(
                &json!({"interface {{ data.site.dc }}": ["{{ name }}"]}),
                &host
            )
            .unwrap(),
            json!({"interface ams": ["r1"]})
        );
    }
}
