//! CloudFormation's intrinsic functions, computed for one set of parameter values.
//!
//! The functions a SAM template uses in the properties the local gateway reads are supported:
//! `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
//! `Condition`, `Fn::Split`, `Fn::Join`, `Fn::Select`, `Fn::FindInMap`, `Fn::Base64`, and in
//! `Rules` `Fn::Contains`. Anything else (`Fn::ImportValue`, `Fn::GetAZs`, …) is an error
//! naming where it is: a value the gateway cannot know is never guessed.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine;
use serde_json::{Map, Value};

use super::{ParameterValues, Problem, Template};

/// The pseudo parameters (`AWS::Region`, …) of the local stack.
#[derive(Debug, Clone)]
pub struct Pseudo {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
}

impl Default for Pseudo {
    fn default() -> Self {
        Self {
            stack_name: "organizer-local".into(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
        }
    }
}

/// Computes intrinsic functions as CloudFormation would for `params`.
pub struct Evaluator<'t> {
    template: &'t Template,
    params: &'t ParameterValues,
    pub pseudo: Pseudo,
    /// What `Ref` gives for a resource, when not its logical id (a table's local name).
    refs: HashMap<String, String>,
    /// `Fn::GetAtt` values known locally (`Api.ApiEndpoint`).
    attributes: HashMap<String, String>,
    conditions: RefCell<HashMap<String, Option<bool>>>,
}

impl<'t> Evaluator<'t> {
    pub fn new(template: &'t Template, params: &'t ParameterValues, pseudo: Pseudo) -> Self {
        Self {
            template,
            params,
            pseudo,
            refs: HashMap::new(),
            attributes: HashMap::new(),
            conditions: RefCell::new(HashMap::new()),
        }
    }

    /// `Ref` of resource `id` gives `value` (default: the logical id itself).
    pub fn with_ref(mut self, id: &str, value: impl Into<String>) -> Self {
        self.refs.insert(id.into(), value.into());
        self
    }

    /// `Fn::GetAtt` of `id.attribute` gives `value`.
    pub fn with_attribute(mut self, key: &str, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    pub fn params(&self) -> &ParameterValues {
        self.params
    }

    /// Whether a condition of the `Conditions` section holds.
    pub fn condition(&self, name: &str, at: &str) -> Result<bool, Problem> {
        if let Some(known) = self.conditions.borrow().get(name) {
            return known
                .ok_or_else(|| Problem::new(at, format!("condition {name} refers to itself")));
        }
        let Some(definition) = self.template.section("Conditions").get(name) else {
            return Err(Problem::new(
                at,
                format!("condition {name} is not in the Conditions section"),
            ));
        };
        self.conditions.borrow_mut().insert(name.into(), None);
        let value = self.value(definition, &format!("Conditions.{name}"))?;
        let holds = truth(value.as_ref(), &format!("Conditions.{name}"))?;
        self.conditions
            .borrow_mut()
            .insert(name.into(), Some(holds));
        Ok(holds)
    }

    /// The `AssertDescription` of every `Rules` assertion these parameters break.
    pub fn rule_failures(&self) -> Result<Vec<String>, Problem> {
        let mut failures = Vec::new();
        for (name, rule) in self.template.section("Rules") {
            let at = format!("Rules.{name}");
            if let Some(condition) = rule.get("RuleCondition") {
                let holds = self.value(condition, &format!("{at}.RuleCondition"))?;
                if !truth(holds.as_ref(), &at)? {
                    continue;
                }
            }
            let assertions = rule
                .get("Assertions")
                .and_then(Value::as_array)
                .ok_or_else(|| Problem::new(&at, "has no Assertions list"))?;
            for (i, assertion) in assertions.iter().enumerate() {
                let here = format!("{at}.Assertions[{i}]");
                let check = assertion
                    .get("Assert")
                    .ok_or_else(|| Problem::new(&here, "has no Assert"))?;
                let holds = self.value(check, &here)?;
                if !truth(holds.as_ref(), &here)? {
                    let description = assertion
                        .get("AssertDescription")
                        .and_then(Value::as_str)
                        .unwrap_or("(no AssertDescription)");
                    failures.push(format!(
                        "{name}: {}",
                        description.split_whitespace().collect::<Vec<_>>().join(" ")
                    ));
                }
            }
        }
        Ok(failures)
    }

    /// The value of `node` with every intrinsic computed; `None` for `AWS::NoValue` (which
    /// also drops the entry holding it from a mapping or list).
    pub fn value(&self, node: &Value, at: &str) -> Result<Option<Value>, Problem> {
        match node {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.value(item, &format!("{at}[{i}]"))? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) => {
                if map.len() == 1
                    && let Some((key, argument)) = map.iter().next()
                    && (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                {
                    return self.intrinsic(key, argument, at);
                }
                let mut out = Map::new();
                for (key, value) in map {
                    if let Some(v) = self.value(value, &format!("{at}.{key}"))? {
                        out.insert(key.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// [`Evaluator::value`], where `AWS::NoValue` is not a value.
    pub fn required(&self, node: &Value, at: &str) -> Result<Value, Problem> {
        self.value(node, at)?
            .ok_or_else(|| Problem::new(at, "is AWS::NoValue where a value is needed"))
    }

    /// A value that must be a string (numbers and booleans are written as CloudFormation
    /// passes them on).
    pub fn string(&self, node: &Value, at: &str) -> Result<String, Problem> {
        match self.required(node, at)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(Problem::new(
                at,
                format!("expected a string, found {other}"),
            )),
        }
    }

    fn intrinsic(&self, key: &str, argument: &Value, at: &str) -> Result<Option<Value>, Problem> {
        let here = format!("{at}.{key}");
        let args = |n: usize| -> Result<&Vec<Value>, Problem> {
            argument
                .as_array()
                .filter(|a| a.len() == n)
                .ok_or_else(|| Problem::new(&here, format!("expects a list of {n}")))
        };
        match key {
            "Ref" => {
                let name = argument
                    .as_str()
                    .ok_or_else(|| Problem::new(&here, "expects a name"))?;
                self.reference(name, &here)
            }
            "Condition" => {
                let name = argument
                    .as_str()
                    .ok_or_else(|| Problem::new(&here, "expects a condition name"))?;
                Ok(Some(Value::Bool(self.condition(name, &here)?)))
            }
            "Fn::If" => {
                let a = args(3)?;
                let name = a[0]
                    .as_str()
                    .ok_or_else(|| Problem::new(&here, "expects a condition name first"))?;
                let branch = if self.condition(name, &here)? {
                    &a[1]
                } else {
                    &a[2]
                };
                self.value(branch, &here)
            }
            "Fn::Equals" => {
                let a = args(2)?;
                let left = self.value(&a[0], &here)?;
                let right = self.value(&a[1], &here)?;
                Ok(Some(Value::Bool(
                    left.as_ref().map(plain) == right.as_ref().map(plain),
                )))
            }
            "Fn::Not" => {
                let a = args(1)?;
                let v = self.value(&a[0], &here)?;
                Ok(Some(Value::Bool(!truth(v.as_ref(), &here)?)))
            }
            "Fn::And" | "Fn::Or" => {
                let items = argument
                    .as_array()
                    .filter(|a| (2..=10).contains(&a.len()))
                    .ok_or_else(|| Problem::new(&here, "expects a list of 2 to 10 conditions"))?;
                let mut all = true;
                let mut any = false;
                for item in items {
                    let v = self.value(item, &here)?;
                    let t = truth(v.as_ref(), &here)?;
                    all &= t;
                    any |= t;
                }
                Ok(Some(Value::Bool(if key == "Fn::And" { all } else { any })))
            }
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Value::String(s) => (s.as_str(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let text = a[0]
                            .as_str()
                            .ok_or_else(|| Problem::new(&here, "expects a string first"))?;
                        let vars = match self.required(&a[1], &here)? {
                            Value::Object(m) => m,
                            _ => return Err(Problem::new(&here, "expects a mapping second")),
                        };
                        (text, vars)
                    }
                    _ => return Err(Problem::new(&here, "expects a string or [string, mapping]")),
                };
                Ok(Some(Value::String(
                    self.substitute(text, &variables, &here)?,
                )))
            }
            "Fn::GetAtt" => {
                let (resource, attribute) = match argument {
                    Value::Array(a) if a.len() == 2 => {
                        (self.string(&a[0], &here)?, self.string(&a[1], &here)?)
                    }
                    Value::String(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_string(), a.to_string()),
                        None => return Err(Problem::new(&here, "expects Resource.Attribute")),
                    },
                    _ => return Err(Problem::new(&here, "expects [Resource, Attribute]")),
                };
                Ok(Some(Value::String(
                    self.attribute(&resource, &attribute, &here)?,
                )))
            }
            "Fn::Split" => {
                let a = args(2)?;
                let delimiter = a[0]
                    .as_str()
                    .ok_or_else(|| Problem::new(&here, "expects a delimiter first"))?;
                let source = self.string(&a[1], &here)?;
                Ok(Some(Value::Array(
                    source
                        .split(delimiter)
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                )))
            }
            "Fn::Join" => {
                let a = args(2)?;
                let delimiter = a[0]
                    .as_str()
                    .ok_or_else(|| Problem::new(&here, "expects a delimiter first"))?;
                let items = match self.required(&a[1], &here)? {
                    Value::Array(items) => items,
                    _ => return Err(Problem::new(&here, "expects a list second")),
                };
                let parts: Vec<String> = items.iter().map(plain).collect();
                Ok(Some(Value::String(parts.join(delimiter))))
            }
            "Fn::Select" => {
                let a = args(2)?;
                let index: usize = plain(&self.required(&a[0], &here)?)
                    .parse()
                    .map_err(|_| Problem::new(&here, "expects an index first"))?;
                match self.required(&a[1], &here)? {
                    Value::Array(items) => {
                        items.into_iter().nth(index).map(Some).ok_or_else(|| {
                            Problem::new(&here, format!("index {index} is out of range"))
                        })
                    }
                    _ => Err(Problem::new(&here, "expects a list second")),
                }
            }
            "Fn::FindInMap" => {
                let a = args(3)?;
                let keys = [
                    self.string(&a[0], &here)?,
                    self.string(&a[1], &here)?,
                    self.string(&a[2], &here)?,
                ];
                let found = self
                    .template
                    .section("Mappings")
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .ok_or_else(|| {
                        Problem::new(&here, format!("Mappings has no {}", keys.join(".")))
                    })?;
                Ok(Some(found.clone()))
            }
            "Fn::Base64" => {
                let text = self.string(argument, &here)?;
                Ok(Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            "Fn::Contains" => {
                let a = args(2)?;
                let list = match self.required(&a[0], &here)? {
                    Value::Array(items) => items,
                    _ => return Err(Problem::new(&here, "expects a list first")),
                };
                let wanted = plain(&self.required(&a[1], &here)?);
                Ok(Some(Value::Bool(list.iter().any(|v| plain(v) == wanted))))
            }
            other => Err(Problem::new(
                at,
                format!(
                    "{other} is not supported by the local gateway (it computes Ref, Fn::Sub, \
                     Fn::GetAtt, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Split, Fn::Join, \
                     Fn::Select, Fn::FindInMap, Fn::Base64)"
                ),
            )),
        }
    }

    fn reference(&self, name: &str, at: &str) -> Result<Option<Value>, Problem> {
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(value) = self.params.reference(name) {
            return Ok(Some(value));
        }
        if let Some(value) = self.pseudo_parameter(name) {
            return Ok(Some(Value::String(value)));
        }
        if self.template.section("Resources").contains_key(name) {
            return Ok(Some(Value::String(
                self.refs
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| name.to_string()),
            )));
        }
        Err(Problem::new(
            at,
            format!("Ref {name}: no parameter, pseudo parameter or resource has this name"),
        ))
    }

    fn pseudo_parameter(&self, name: &str) -> Option<String> {
        let p = &self.pseudo;
        Some(match name {
            "AWS::StackName" => p.stack_name.clone(),
            "AWS::Region" => p.region.clone(),
            "AWS::AccountId" => p.account_id.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackId" => format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/00000000-0000-4000-8000-000000000000",
                p.region, p.account_id, p.stack_name
            ),
            _ => return None,
        })
    }

    /// `Fn::GetAtt`: the attributes known locally, ARNs built as AWS builds them (a function's
    /// ARN ends with its name, which is how an integration's URI names its function), and a
    /// recognisable placeholder for the rest (which the gateway never reads).
    fn attribute(&self, resource: &str, attribute: &str, at: &str) -> Result<String, Problem> {
        let key = format!("{resource}.{attribute}");
        if let Some(value) = self.attributes.get(&key) {
            return Ok(value.clone());
        }
        let Some(kind) = self.template.resource_type(resource) else {
            return Err(Problem::new(
                at,
                format!("Fn::GetAtt {key}: no resource is named {resource}"),
            ));
        };
        let name = self
            .refs
            .get(resource)
            .cloned()
            .unwrap_or_else(|| resource.to_string());
        let Pseudo {
            region, account_id, ..
        } = &self.pseudo;
        Ok(match (kind, attribute) {
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => {
                format!("arn:aws:lambda:{region}:{account_id}:function:{name}")
            }
            ("AWS::DynamoDB::Table", "Arn") => {
                format!("arn:aws:dynamodb:{region}:{account_id}:table/{name}")
            }
            (_, "Arn") => format!("arn:aws:local:{region}:{account_id}:{name}"),
            _ => format!("<{key}>"),
        })
    }

    fn substitute(
        &self,
        text: &str,
        variables: &Map<String, Value>,
        at: &str,
    ) -> Result<String, Problem> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(Problem::new(
                    at,
                    format!("Fn::Sub: unclosed ${{ in {text:?}"),
                ));
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                let value = self.value(value, at)?.unwrap_or(Value::Null);
                out.push_str(&plain(&value));
            } else if self.params.get(name).is_some()
                || self.pseudo_parameter(name).is_some()
                || self.template.section("Resources").contains_key(name)
            {
                let value = self.reference(name, at)?.unwrap_or(Value::Null);
                out.push_str(&plain(&value));
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute, at)?);
            } else {
                return Err(Problem::new(
                    at,
                    format!("Fn::Sub: ${{{name}}} names no parameter, resource or variable"),
                ));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A computed value as a plain string (how `Fn::Equals` and `Fn::Join` see it).
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn truth(value: Option<&Value>, at: &str) -> Result<bool, Problem> {
    match value {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(Problem::new(
            at,
            format!("expected a condition (true or false), found {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::super::Overrides;
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Mode: {Type: String, Default: lambda}
  Origins: {Type: String, Default: "http://a,http://b"}
  Domain: {Type: String, Default: ""}
Conditions:
  IsLambda: !Equals [!Ref Mode, lambda]
  IsJwt: !Equals [!Ref Mode, jwt]
  HasDomain: !Not [!Equals [!Ref Domain, ""]]
  Either: !Or [!Condition IsLambda, !Condition IsJwt]
  Loop: !Not [!Condition Loop]
Rules:
  One:
    Assertions:
      - Assert: !Not [!Equals [!Ref Mode, none]]
        AssertDescription: >-
          not
          none
Resources:
  Fn: {Type: AWS::Serverless::Function}
  Table: {Type: AWS::DynamoDB::Table}
  Api: {Type: AWS::Serverless::HttpApi}
"#;

    fn with(overrides: &[&str], check: impl FnOnce(&Evaluator<'_>)) {
        let t = Template::parse(TEMPLATE, Path::new("t.yaml")).unwrap();
        let p = ParameterValues::resolve(&t, &[], &Overrides::parse(overrides).unwrap()).unwrap();
        let e = Evaluator::new(&t, &p, Pseudo::default()).with_ref("Table", "local-table");
        check(&e);
    }

    fn eval(e: &Evaluator<'_>, yaml: &str) -> Option<Value> {
        let node = Template::parse(&format!("X: {yaml}"), Path::new("x"))
            .unwrap()
            .root["X"]
            .clone();
        e.value(&node, "X").unwrap()
    }

    #[test]
    fn conditions_if_and_no_value_follow_the_parameters() {
        with(&[], |e| {
            assert_eq!(
                eval(e, "!If [IsLambda, [{L: []}], !If [IsJwt, [{J: [s]}], []]]"),
                Some(json!([{"L": []}]))
            );
            assert_eq!(
                eval(e, "{a: !If [HasDomain, x, !Ref AWS::NoValue], b: 1}"),
                Some(json!({"b": 1}))
            );
            assert_eq!(eval(e, "[!Ref AWS::NoValue, 2]"), Some(json!([2])));
            assert!(e.condition("Either", "t").unwrap());
            assert!(
                e.condition("Loop", "t")
                    .unwrap_err()
                    .problem
                    .contains("refers to itself")
            );
        });
        with(&["Mode=jwt"], |e| {
            assert_eq!(
                eval(e, "!If [IsLambda, [{L: []}], !If [IsJwt, [{J: [s]}], []]]"),
                Some(json!([{"J": ["s"]}]))
            );
        });
    }

    #[test]
    fn strings_lists_and_attributes() {
        with(&[], |e| {
            assert_eq!(
                eval(e, "!Split [',', !Ref Origins]"),
                Some(json!(["http://a", "http://b"]))
            );
            assert_eq!(
                eval(e, "!Select [1, !Split [',', !Ref Origins]]"),
                Some(json!("http://b"))
            );
            assert_eq!(
                eval(e, "!Join ['-', [a, !Ref Mode]]"),
                Some(json!("a-lambda"))
            );
            assert_eq!(
                eval(
                    e,
                    r#"!Sub "arn:${AWS::Partition}:x/${Fn.Arn}/${Table}/${!Literal}/${V}""#
                        .replace("${V}", "${Mode}")
                        .as_str()
                ),
                Some(json!(
                    "arn:aws:x/arn:aws:lambda:us-east-1:000000000000:function:Fn/local-table/${Literal}/lambda"
                ))
            );
            assert_eq!(
                eval(e, "!Sub [\"${A}-x\", {A: !Ref Mode}]"),
                Some(json!("lambda-x"))
            );
            assert_eq!(
                eval(e, "!GetAtt Table.Arn"),
                Some(json!(
                    "arn:aws:dynamodb:us-east-1:000000000000:table/local-table"
                ))
            );
        });
    }

    #[test]
    fn what_cannot_be_known_is_an_error_naming_its_place() {
        with(&[], |e| {
            let node = Template::parse("X: {a: !ImportValue other}", Path::new("x"))
                .unwrap()
                .root["X"]
                .clone();
            let error = e.value(&node, "Resources.R.Properties").unwrap_err();
            assert_eq!(error.at, "Resources.R.Properties.a");
            assert!(
                error.problem.contains("Fn::ImportValue is not supported"),
                "{error:?}"
            );
            let node = Template::parse("X: !Ref Nothing", Path::new("x"))
                .unwrap()
                .root["X"]
                .clone();
            assert!(
                e.value(&node, "X")
                    .unwrap_err()
                    .problem
                    .contains("Ref Nothing")
            );
            let node = Template::parse("X: !GetAtt Nothing.Arn", Path::new("x"))
                .unwrap()
                .root["X"]
                .clone();
            assert!(
                e.value(&node, "X")
                    .unwrap_err()
                    .problem
                    .contains("no resource is named Nothing")
            );
        });
    }

    #[test]
    fn rules_are_checked() {
        with(&[], |e| assert!(e.rule_failures().unwrap().is_empty()));
        with(&["Mode=none"], |e| {
            assert_eq!(
                e.rule_failures().unwrap(),
                vec!["One: not none".to_string()]
            )
        });
    }
}
