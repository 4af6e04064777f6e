//! `--template-vars FILE`: the variables a template is rendered with before validation, and
//! for envsubst the names it substitutes. YAML or JSON (JSON is YAML 1.2, so one parser reads
//! both, with line numbers in its errors).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// The variables, as JSON (what the renderers read).
#[derive(Debug, Clone, PartialEq)]
pub struct Vars {
    pub path: PathBuf,
    /// A JSON object: one entry per top-level variable.
    pub value: serde_json::Value,
}

impl Vars {
    pub fn load(path: &Path) -> Result<Vars, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--template-vars {}: {e}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Vars, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| {
            format!(
                "--template-vars {}:{}:{}: {}",
                path.display(),
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            )
        })?;
        let value = match docs.into_iter().next() {
            None | Some(Yaml::Null) => serde_json::Value::Object(Default::default()),
            Some(doc) => json(&doc)?,
        };
        if !value.is_object() {
            return Err(format!(
                "--template-vars {}: expected a mapping of variable names to values",
                path.display()
            ));
        }
        Ok(Vars {
            path: path.to_path_buf(),
            value,
        })
    }

    /// The top-level names.
    pub fn names(&self) -> BTreeSet<String> {
        self.value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn json(y: &Yaml) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match y {
        Yaml::Null | Yaml::BadValue => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(r.clone()), Value::Number),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(a) => Value::Array(a.iter().map(json).collect::<Result<_, _>>()?),
        Yaml::Hash(h) => {
            let mut map = serde_json::Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(r) => r.clone(),
                    other => return Err(format!("a mapping key must be a scalar, not {other:?}")),
                };
                map.insert(key, json(v)?);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) => return Err("YAML aliases are not supported".into()),
        #[allow(unreachable_patterns)]
        _ => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_give_the_same_variables() {
        let y = Vars::parse(
            Path::new("v.yml"),
            "domain: example.com\nports: [80, 443]\nexperimental: 'True'\nnested:\n  a: true\n",
        )
        .unwrap();
        let j = Vars::parse(Path::new("v.json"), r#"{"domain": "example.com", "ports": [80, 443], "experimental": "True", "nested": {"a": true}}"#).unwrap();
        assert_eq!(y.value, j.value);
        assert_eq!(y.names().len(), 4);
    }

    #[test]
    fn errors_say_where() {
        let e = Vars::parse(Path::new("v.yml"), "a: [1, 2\n").unwrap_err();
        assert!(e.starts_with("--template-vars v.yml:"), "{e}");
        let e = Vars::parse(Path::new("v.yml"), "- a\n- b\n").unwrap_err();
        assert!(e.contains("mapping"), "{e}");
    }
}
