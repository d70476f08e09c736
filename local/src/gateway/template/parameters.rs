//! The template's parameters: defaults, values the local stack supplies, and the user's
//! `--parameter-overrides` (checked as CloudFormation checks them at deploy time).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Problem, Template};

/// `--parameter-overrides` as `sam deploy` takes them: `Key=Value` or
/// `ParameterKey=Key,ParameterValue=Value`, several per argument when separated by spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides(pub Vec<(String, String)>);

impl Overrides {
    pub fn parse<S: AsRef<str>>(arguments: &[S]) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for item in arguments.iter().flat_map(|a| a.as_ref().split_whitespace()) {
            let pair = if let Some(rest) = item.strip_prefix("ParameterKey=") {
                rest.split_once(",ParameterValue=")
            } else {
                item.split_once('=')
            };
            match pair {
                Some((key, value)) if !key.is_empty() => {
                    pairs.push((key.to_string(), value.to_string()));
                }
                _ => {
                    return Err(format!(
                        "--parameter-overrides: {item:?} is not Key=Value (e.g. AuthorizerMode=jwt)"
                    ));
                }
            }
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every parameter's value, as the stack would be created with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterValues {
    values: BTreeMap<String, String>,
    lists: Vec<String>,
}

impl ParameterValues {
    /// Defaults, then `local` (values the local stack supplies for its own setting, such as the
    /// dev tenant's issuer; not pattern-checked, and ignored for parameters the template does
    /// not declare), then `overrides` (checked against the parameter's constraints, and an
    /// unknown name is an error, as `sam deploy` refuses it).
    pub fn resolve(
        template: &Template,
        local: &[(&str, String)],
        overrides: &Overrides,
    ) -> Result<Self, Problem> {
        let declared = template.section("Parameters");
        let mut values = BTreeMap::new();
        let mut lists = Vec::new();
        for (name, spec) in declared {
            let at = format!("Parameters.{name}");
            let kind = spec.get("Type").and_then(Value::as_str).unwrap_or("");
            match kind {
                "String" | "Number" => {}
                "CommaDelimitedList" | "List<Number>" => lists.push(name.clone()),
                other => {
                    return Err(Problem::new(
                        at,
                        format!(
                            "Type {other:?} is not supported by the local gateway (String, Number, \
                             CommaDelimitedList and List<Number> are)"
                        ),
                    ));
                }
            }
            if let Some(default) = spec.get("Default") {
                values.insert(name.clone(), scalar(default));
            }
        }
        for (name, value) in local {
            if declared.contains_key(*name) {
                values.insert((*name).to_string(), value.clone());
            }
        }
        for (name, value) in &overrides.0 {
            let Some(spec) = declared.get(name) else {
                return Err(Problem::new(
                    "--parameter-overrides",
                    format!(
                        "{name} is not a parameter of the template (it has: {})",
                        declared.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            if let Some(why) = violation(spec, value) {
                let hint = spec
                    .get("ConstraintDescription")
                    .and_then(Value::as_str)
                    .map(|d| format!(": {}", d.split_whitespace().collect::<Vec<_>>().join(" ")))
                    .unwrap_or_default();
                return Err(Problem::new(
                    format!("Parameters.{name}"),
                    format!("--parameter-overrides {name}={value}: {why}{hint}"),
                ));
            }
            values.insert(name.clone(), value.clone());
        }
        for name in declared.keys() {
            if !values.contains_key(name) {
                return Err(Problem::new(
                    format!("Parameters.{name}"),
                    format!("no Default: give it with --parameter-overrides {name}=<value>"),
                ));
            }
        }
        Ok(Self { values, lists })
    }

    /// A parameter's value as `Ref` gives it: a string, or a list for list types.
    pub fn reference(&self, name: &str) -> Option<Value> {
        let value = self.values.get(name)?;
        Some(if self.lists.iter().any(|l| l == name) {
            Value::Array(
                value
                    .split(',')
                    .map(|v| Value::String(v.trim().to_string()))
                    .collect(),
            )
        } else {
            Value::String(value.clone())
        })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Why CloudFormation would refuse `value` for a parameter declared as `spec`, if it would.
/// `AllowedPattern` must match the whole value.
fn violation(spec: &Value, value: &str) -> Option<String> {
    if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().map(scalar).collect();
        if !allowed.iter().any(|a| a == value) {
            return Some(format!("not one of {}", allowed.join(", ")));
        }
    }
    if let Some(pattern) = spec.get("AllowedPattern").and_then(Value::as_str) {
        match regex_lite::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) if re.is_match(value) => {}
            Ok(_) => return Some(format!("does not match the pattern {pattern}")),
            Err(e) => return Some(format!("its AllowedPattern cannot be read: {e}")),
        }
    }
    let number = |key: &str| {
        spec.get(key)
            .map(scalar)
            .and_then(|v| v.parse::<f64>().ok())
    };
    if spec.get("Type").and_then(Value::as_str) == Some("Number") {
        let Ok(n) = value.parse::<f64>() else {
            return Some("not a number".into());
        };
        if number("MinValue").is_some_and(|min| n < min) {
            return Some(format!("below the MinValue {}", scalar(&spec["MinValue"])));
        }
        if number("MaxValue").is_some_and(|max| n > max) {
            return Some(format!("above the MaxValue {}", scalar(&spec["MaxValue"])));
        }
    }
    let length = value.chars().count() as f64;
    if number("MinLength").is_some_and(|min| length < min) {
        return Some(format!("shorter than {}", scalar(&spec["MinLength"])));
    }
    if number("MaxLength").is_some_and(|max| length > max) {
        return Some(format!("longer than {}", scalar(&spec["MaxLength"])));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn template() -> Template {
        Template::parse(
            "Parameters:\n  Mode:\n    Type: String\n    Default: lambda\n    AllowedValues: [lambda, jwt, none]\n  \
             Rate:\n    Type: Number\n    Default: 100\n    MinValue: 1\n    MaxValue: 10000\n  \
             Name:\n    Type: String\n    Default: ''\n    AllowedPattern: '|[a-z]+'\n  \
             Origins:\n    Type: CommaDelimitedList\n    Default: 'a,b'\n",
            Path::new("t.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn overrides_are_read_in_both_of_sams_forms() {
        let o =
            Overrides::parse(&["Mode=jwt Rate=5", "ParameterKey=Name,ParameterValue=x=y"]).unwrap();
        assert_eq!(o.get("Mode"), Some("jwt"));
        assert_eq!(o.get("Rate"), Some("5"));
        assert_eq!(o.get("Name"), Some("x=y"));
        assert!(Overrides::parse(&["nokey"]).is_err());
        assert!(Overrides::parse(&["=v"]).is_err());
    }

    #[test]
    fn overrides_are_checked_as_cloudformation_checks_them() {
        let t = template();
        let ok =
            ParameterValues::resolve(&t, &[], &Overrides::parse(&["Mode=jwt"]).unwrap()).unwrap();
        assert_eq!(ok.get("Mode"), Some("jwt"));
        assert_eq!(ok.reference("Origins"), Some(serde_json::json!(["a", "b"])));
        for (bad, why) in [
            ("Mode=iam", "not one of lambda, jwt, none"),
            ("Rate=0", "below the MinValue 1"),
            ("Rate=fast", "not a number"),
            ("Name=ABC", "does not match"),
            ("Nope=1", "is not a parameter of the template"),
        ] {
            let error =
                ParameterValues::resolve(&t, &[], &Overrides::parse(&[bad]).unwrap()).unwrap_err();
            assert!(error.problem.contains(why), "{bad}: {error:?}");
        }
        // What the local stack supplies for itself is not pattern-checked.
        let local =
            ParameterValues::resolve(&t, &[("Name", "Http://X".into())], &Overrides::default())
                .unwrap();
        assert_eq!(local.get("Name"), Some("Http://X"));
    }
}
