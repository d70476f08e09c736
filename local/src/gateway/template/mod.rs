//! `template.yaml` as CloudFormation would read it: the YAML with its short-form intrinsics
//! (`!Ref`, `!Sub`, `!If`, …) turned into their long form (`{"Ref": …}`, `{"Fn::Sub": …}`),
//! parameters resolved from their defaults and `--parameter-overrides`, and an [`Evaluator`]
//! that computes what CloudFormation would for the parts the local gateway reads.
//!
//! Nothing here knows the project's routes or functions: they are read from the template.

mod intrinsics;
mod parameters;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use thiserror::Error;

pub use intrinsics::{Evaluator, Pseudo};
pub use parameters::{Overrides, ParameterValues};

/// Why the template cannot be run locally: where in the template (`Resources.Api.Properties…`,
/// always naming the resource when there is one) and what construct or value is the problem.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{file}: {at}: {problem}")]
pub struct TemplateError {
    pub file: String,
    pub at: String,
    pub problem: String,
}

/// A problem found while evaluating, before the file name is known to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub problem: String,
}

impl Problem {
    pub fn new(at: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            at: at.into(),
            problem: problem.into(),
        }
    }

    pub fn in_file(self, file: &Path) -> TemplateError {
        TemplateError {
            file: file.display().to_string(),
            at: self.at,
            problem: self.problem,
        }
    }
}

/// A loaded template: its YAML as JSON, intrinsics in their long form.
#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    pub root: Value,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Problem::new(
                "(file)",
                format!("cannot read it: {e} (give the SAM template with --template)"),
            )
            .in_file(path)
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, TemplateError> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)
            .map_err(|e| Problem::new("(file)", format!("not YAML: {e}")).in_file(path))?;
        let root = long_form(yaml, "").map_err(|p| p.in_file(path))?;
        if !root.is_object() {
            return Err(
                Problem::new("(file)", "not a template: the top level is not a mapping")
                    .in_file(path),
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
            root,
        })
    }

    /// A top-level section (`Parameters`, `Resources`, …), empty when absent.
    pub fn section(&self, name: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.root
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The resource's `Type`.
    pub fn resource_type(&self, id: &str) -> Option<&str> {
        self.section("Resources")
            .get(id)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
    }

    /// Resources of one type, in template order.
    pub fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        self.section("Resources")
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
    }
}

/// The short-form tags of CloudFormation YAML and their long-form keys.
fn long_key(tag: &str) -> String {
    match tag {
        "Ref" | "Condition" => tag.to_string(),
        other => format!("Fn::{other}"),
    }
}

/// The YAML as JSON: mapping keys as strings, `!Tag value` as `{"Fn::Tag": value}` (and
/// `!GetAtt a.b` as `{"Fn::GetAtt": ["a", "b"]}`, as CloudFormation reads it).
fn long_form(yaml: serde_norway::Value, at: &str) -> Result<Value, Problem> {
    use serde_norway::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| Problem::new(at, format!("{n} is not a finite number")))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| long_form(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut out = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(Problem::new(
                            at,
                            format!("a mapping key is not a string: {other:?}"),
                        ));
                    }
                };
                let here = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                let value = long_form(value, &here)?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = long_form(tagged.value, at)?;
            let value = match (name, value) {
                ("GetAtt", Value::String(s)) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.into()),
                        Value::String(attribute.into()),
                    ]),
                    None => {
                        return Err(Problem::new(
                            at,
                            format!("!GetAtt {s}: expected Resource.Attribute"),
                        ));
                    }
                },
                (_, value) => value,
            };
            let mut out = Map::new();
            out.insert(long_key(name), value);
            Value::Object(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms_and_anchors_are_followed() {
        let yaml =
            "A: &x !If [C, !Ref P, !GetAtt R.Arn]\nB: *x\nC: !Sub \"${P}-x\"\nD: {200: ok}\n";
        let t = Template::parse(yaml, Path::new("t.yaml")).unwrap();
        let expected =
            serde_json::json!({"Fn::If": ["C", {"Ref": "P"}, {"Fn::GetAtt": ["R", "Arn"]}]});
        assert_eq!(t.root["A"], expected);
        assert_eq!(t.root["B"], expected);
        assert_eq!(t.root["C"], serde_json::json!({"Fn::Sub": "${P}-x"}));
        assert_eq!(t.root["D"]["200"], "ok");
    }

    #[test]
    fn a_bad_getatt_names_where_it_is() {
        let error = Template::parse(
            "Resources:\n  X:\n    Y: !GetAtt nodot\n",
            Path::new("t.yaml"),
        )
        .unwrap_err();
        assert_eq!(error.at, "Resources.X.Y");
        assert!(error.problem.contains("!GetAtt nodot"), "{error}");
    }
}
