"""Offline helpers for the template checks (scripts/check-template-api.py, scripts/deploy-check.py):
translate template.yaml with the SAM translator, validate parameter values as CloudFormation does
(AllowedPattern, AllowedValues, MinValue/MaxValue), evaluate the Rules, and resolve intrinsic
functions for one set of parameter values, so that what CloudFormation would compute (a name, the
CSP, the API's OpenAPI body in each AuthorizerMode) can be checked without an AWS account."""
import logging
import os
import re

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# The translator's usage metrics are never published offline; its reminder at exit is noise.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)

# A stack id as CloudFormation makes them; the last part is the stack's UUID.
SAMPLE_STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/1c2fa620-982a-11e3-aff7-50e2416294e0"
# The longest stack name CloudFormation accepts (128 characters).
LONGEST_STACK_NAME = ("organizer-" * 13)[:127] + "x"
assert len(LONGEST_STACK_NAME) == 128


def read_template(path):
    return yaml_parse(open(path).read())


class _NoPolicies:
    def load(self):
        return {}


def translate(path, parameter_values=None):
    """The template as CloudFormation receives it after `sam deploy` (local CodeUris become the S3
    locations sam deploy uploads to)."""
    text = re.sub(r"CodeUri: \S+", "CodeUri: s3://bucket/function.zip", open(path).read())
    return transform(yaml_parse(text), dict(parameter_values or {}), _NoPolicies())


def defaults(template):
    return {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}


def param_violation(spec, value):
    """None when CloudFormation accepts `value` for a parameter declared as `spec`, else why not.
    AllowedPattern must match the whole value (java.util.regex.Pattern.matches; the patterns keep
    to the syntax Python's re reads the same way, and deploy-check cross-checks with Java)."""
    value = str(value)
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return f"{value!r} is not one of {spec['AllowedValues']}"
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return f"{value!r} does not match {spec['AllowedPattern']!r}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{value} is below {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{value} is above {spec['MaxValue']}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{value!r} is shorter than {spec['MinLength']}"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"{value!r} is longer than {spec['MaxLength']}"
    return None


class Evaluator:
    """Resolves intrinsic functions the way CloudFormation would for one set of parameter values.
    Resource attributes it cannot know come from `attributes` ("Api.ApiEndpoint": ...) or become
    recognisable placeholders."""

    def __init__(self, template, parameters=None, stack_name="organizer", attributes=None):
        self.template = template
        self.params = defaults(template)
        self.params.update({k: str(v) for k, v in (parameters or {}).items()})
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::StackId": SAMPLE_STACK_ID.format(name=stack_name),
            "AWS::Region": "eu-west-1",
            "AWS::Partition": "aws",
            "AWS::AccountId": "123456789012",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.attributes = dict(attributes or {})
        self._conditions = {}

    def condition(self, name):
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def ref(self, name):
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        return self.attributes.get(name, f"<{name}>")

    def getatt(self, resource, attribute):
        key = f"{resource}.{attribute}"
        if key in self.attributes:
            return self.attributes[key]
        if attribute == "Arn":
            return f"arn:aws:service:eu-west-1:123456789012:{resource}"
        return f"<{key}>"

    def sub(self, text, variables):
        def one(match):
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.params:
                return str(self.getatt(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def value(self, node):
        """The resolved value; AWS::NoValue entries are dropped from maps and lists."""
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::Or":
                return any(self.value(x) for x in arg)
            if key == "Fn::And":
                return all(self.value(x) for x in arg)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                return self.sub(arg[0], {k: self.value(v) for k, v in arg[1].items()})
            if key == "Fn::Join":
                return arg[0].join(str(x) for x in self.value(arg[1]))
            if key == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(resource, attribute)
        out = {}
        for k, v in node.items():
            v = self.value(v)
            if v is not _NO_VALUE:
                out[k] = v
        return out

    def rule_failures(self):
        """The AssertDescription of every Rules assertion these parameter values break."""
        failures = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.value(assertion["Assert"]):
                    failures.append(f"{name}: {' '.join(assertion['AssertDescription'].split())}")
        return failures


class _NoValue:
    def __repr__(self):
        return "AWS::NoValue"


_NO_VALUE = _NoValue()
