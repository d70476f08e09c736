"""The deploy check (`make deploy-check`, part of `make test`): everything about the deploy path
(docs/deploying.md) that can run without an AWS account or an Auth0 tenant. Run it
through scripts/deploy-check.sh, which installs the tools first. Each check prints PASS or FAIL;
a check that cannot run fails naming what to install, except the few marked optional, which say
why they did not run. Exit status 1 when any check fails."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cfn_eval import LONGEST_STACK_NAME, Evaluator, param_violation, read_template, translate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# The services behind the API: their functions, tables, indexes and scopes come from here.
SERVICES = __import__("yaml").safe_load((ROOT / "services.yaml").read_text())["services"]
VENV = ROOT / ".local/venv/bin"
WORK = ROOT / ".local/deploy-check"

# --- What the template must hold ------------------------------------------------------------

# Sample values per parameter: CloudFormation must accept every "good" one and refuse every
# "bad" one. A new parameter needs its row (the check fails without it).
SAMPLES = {
    "Auth0Domain": {
        "good": ["", "my-tenant.eu.auth0.com", "my-tenant.auth0.com", "login.example.com"],
        "bad": ["https://my-tenant.eu.auth0.com", "my-tenant.eu.auth0.com/", "My-Tenant.eu.auth0.com",
                "my tenant.auth0.com", "localhost", "my-tenant.eu.auth0.com.", " my-tenant.eu.auth0.com"],
    },
    "Issuer": {
        "good": ["", "https://login.example.com/", "https://my-tenant.eu.auth0.com/", "https://auth.example.com/tenant/",
                 "https://auth.example.com:8443/"],
        "bad": ["https://login.example.com", "http://login.example.com/", "login.example.com/",
                "https://login.example.com/ ", "https://Login.example.com/", "https:///", "https://login.example.com//"],
    },
    "Audience": {
        "good": ["organize", "https://api.example.com/organize"],
        "bad": ["", "organize,other", "my api", " organize"],
    },
    "AllowedOrigins": {
        "good": ["http://localhost:3000", "http://localhost:3000,https://d111111abcdef8.cloudfront.net",
                 "https://app.example.com"],
        "bad": ["http://localhost:3000, https://d111111abcdef8.cloudfront.net", "https://d111111abcdef8.cloudfront.net/",
                "*", "https://app.example.com/path", "localhost:3000", "", "https://App.example.com",
                "http://localhost:3000,", "http://localhost:3000,,https://app.example.com"],
    },
    "AuthorizerMode": {"good": ["lambda", "jwt", "none"], "bad": ["Lambda", "", "jwt2"]},
    "Dpop": {"good": ["off", "allowed", "required"], "bad": ["on", "", "Required", "true"]},
    "LogRetentionDays": {"good": ["1", "30", "365", "3653"], "bad": ["0", "31", "", "forever"]},
    "ApiThrottlingRateLimit": {"good": ["1", "100", "10000"], "bad": ["0", "10001", "", "fast"]},
    "ApiThrottlingBurstLimit": {"good": ["1", "200", "5000"], "bad": ["0", "5001", ""]},
    "ReservedConcurrency": {"good": ["", "0", "20", "9999"], "bad": ["-1", "020", "10000", "1.5", " "]},
    "JwksSnapshot": {
        "good": ["", '{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":"' + "x" * 342 + '","e":"AQAB"}]}',
                 '{"keys":[{"kty":"RSA","kid":"a"},{"kty":"RSA","kid":"b"}]}'],
        "bad": ['{"keys": [{"kty":"RSA"}]}', '[{"kty":"RSA"}]', "keys", '{"keys":[]}',
                '{"keys":[{"kty":"RSA","n":"' + "x" * 3000 + '"}]}', " "],
    },
}

# Parameter sets and the Rules assertions each must break (by AssertDescription's first words).
RULE_CASES = [
    ({"Auth0Domain": "my-tenant.eu.auth0.com"}, []),
    ({"Issuer": "https://login.example.com/"}, []),
    ({}, ["OneTenant: Set Auth0Domain (e.g."]),
    ({"Auth0Domain": "my-tenant.eu.auth0.com", "Issuer": "https://login.example.com/"},
     ["OneTenant: Set only one of Auth0Domain and Issuer"]),
    ({"Auth0Domain": "my-tenant.eu.auth0.com", "AuthorizerMode": "jwt", "Dpop": "allowed"}, []),
    ({"Auth0Domain": "my-tenant.eu.auth0.com", "AuthorizerMode": "lambda", "Dpop": "required"}, []),
    ({"Auth0Domain": "my-tenant.eu.auth0.com", "AuthorizerMode": "jwt", "Dpop": "required"},
     ["DpopNeedsTheLambdaAuthorizer: Dpop=required needs AuthorizerMode=lambda"]),
]

# Each function's IAM actions, exactly: (action, resource) with {Table} for the table's ARN.
# They are the calls of shared/src/store/dynamo: GetItem, PutItem, UpdateItem and DeleteItem on
# the table (writes run as transactions of these), Query on the index; never Scan. And PutItem
# alone on the DPoP replay table (each proof's jti, once).
WRITES = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
REPLAY_TABLE = "DpopReplayTable"
IAM = {
    **{s["function"]: {(a, "{%s}" % s["table"]["resource"]) for a in WRITES}
       | {("dynamodb:Query", "{%s}/index/%s" % (s["table"]["resource"], s["table"]["index"]))}
       | {("dynamodb:PutItem", "{%s}" % REPLAY_TABLE)} for s in SERVICES},
    "AuthorizerFunction": set(),
}
TABLES = [s["table"]["resource"] for s in SERVICES]
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

OUTPUTS = {
    "ApiUrl": {"Fn::GetAtt": ["Api", "ApiEndpoint"]},
    "SiteUrl": {"Fn::Sub": "https://${SiteDistribution.DomainName}"},
    "SiteBucket": {"Ref": "SiteBucket"},
    "DistributionId": {"Ref": "SiteDistribution"},
    **{t: {"Ref": t} for t in TABLES},
}

ACCESS_LOG_FIELDS = {"requestId", "routeKey", "status", "responseLatency", "authorizerError"}

# --- Operations (docs/operating.md): tracing, metrics, alarms, dashboard ------------------------

SAMPLES.update({
    "MetricsNamespace": {
        "good": ["", "Organizer/production", "Organizer/" + LONGEST_STACK_NAME, "my-team.organizer", "A", "AW", "AWS",
                 "AWSome/x", "AWX/x", "Awsx", "ops#1:prod_2", "x" * 255],
        "bad": ["AWS/Lambda", "AWS/", "Organizer production", "organizer\"x", "x" * 256, " ", "Organizer/é"],
    },
    "AlarmEmail": {
        "good": ["", "ops@example.com", "first.last+alarms@mail.example.co.uk", "a_b%c@x-y.example.org"],
        "bad": ["ops", "ops@", "@example.com", "ops@example", "ops @example.com", "ops@example.com,dev@example.com",
                "ops@-example.com", "mailto:ops@example.com", " "],
    },
    "ProbingDenialsThreshold": {"good": ["1", "20", "100000"], "bad": ["0", "100001", "", "many"]},
})
OUTPUTS.update({
    "DashboardUrl": {"Fn::Sub": "https://console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards/dashboard/${Dashboard}"},
    "AlarmTopic": {"Ref": "AlarmTopic"},
})
# SAM adds it to every role of a function with Tracing: Active (the X-Ray segments' upload).
XRAY_WRITE = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
# The metrics the functions emit (EMF, namespace METRICS_NAMESPACE): dimension sets [Service]
# and [Service, Route] for the services, [Service] (Service=authorizer) for the authorizer.
DENIALS = ["DeniedNoToken", "DeniedMalformed", "DeniedExpired", "DeniedBadSignature", "DeniedWrongAudience",
           "DeniedWrongIssuer", "DeniedInsufficientScope", "DeniedDpop", "DeniedOther"]
SERVICE_METRICS = ["Requests", "Status2xx", "Status4xx", "Status5xx", "Latency", "ColdStart", "TokenCacheHit",
                   "TokenCacheMiss", "JwksFetch", "JwksFetchFailed", "DynamoDbLatency", "DynamoDbThrottled",
                   "ConditionalCheckFailed", "QuotaRefused", *DENIALS]
AUTHORIZER_METRICS = ["Allowed", *DENIALS, "AuthorizerErrors", "JwksFetch", "JwksFetchFailed", "TokenCacheHit",
                      "TokenCacheMiss", "ColdStart"]
# Alarms that sum one metric (or two) over every service and the authorizer: (alarm, metrics).
SUMMED_ALARMS = {"JwksFetchFailuresAlarm": ["JwksFetchFailed"],
                 "ProbingAlarm": ["DeniedBadSignature", "DeniedInsufficientScope"]}
OPERATING_DOC = ROOT / "docs/operating.md"

# Sample stack outputs for the site bundle.
API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
SITE_URL = "https://d111111abcdef8.cloudfront.net"
CLIENT_ID = "AbCdEf0123456789AbCdEf0123456789"


# --- Plumbing ----------------------------------------------------------------------------------

class Failed(Exception):
    pass


class NotRun(Exception):
    """An optional check that could not run; the message says why and what would make it run."""


def need(condition, message):
    if not condition:
        raise Failed(message)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


RESULTS = []


def check(title):
    def wrap(fn):
        def go():
            try:
                lines = fn() or []
                RESULTS.append(("PASS", title))
                status = "PASS"
            except NotRun as why:
                RESULTS.append(("NOT RUN (optional)", title))
                status, lines = "NOT RUN (optional)", [str(why)]
            except Failed as why:
                RESULTS.append(("FAIL", title))
                status, lines = "FAIL", str(why).splitlines()
            except Exception as error:  # a bug or a tool's crash is a failure too
                RESULTS.append(("FAIL", title))
                status, lines = "FAIL", [f"{type(error).__name__}: {error}"]
            print(f"\n[{status}] {title}")
            for line in lines:
                print(f"    {line}")

        CHECKS.append((fn.__name__, go))
        return fn

    return wrap


CHECKS = []
TEMPLATE_DATA = read_template(TEMPLATE)
PARAMS = TEMPLATE_DATA["Parameters"]
RESOURCES = TEMPLATE_DATA["Resources"]


# --- Template ----------------------------------------------------------------------------------

@check("template: sam validate --lint, cfn-lint, the HTTP API body (scripts/check-template.sh)")
def template_lint():
    r = run([str(ROOT / "scripts/check-template.sh")], cwd=ROOT)
    need(r.returncode == 0, (r.stdout + r.stderr).strip())
    return [line for line in r.stdout.splitlines() if line.strip()]


@check("parameters: each one constrained, with an example, its default accepted, good and bad samples")
def parameters():
    lines, problems = [], []
    need(set(SAMPLES) == set(PARAMS), f"SAMPLES {sorted(SAMPLES)} != the template's parameters {sorted(PARAMS)}")
    for name, spec in PARAMS.items():
        kind = "AllowedPattern" if "AllowedPattern" in spec else "AllowedValues" if "AllowedValues" in spec else (
            "MinValue/MaxValue" if {"MinValue", "MaxValue"} <= set(spec) else None)
        if kind is None:
            problems.append(f"{name}: no AllowedPattern, AllowedValues or MinValue/MaxValue")
        if spec.get("Type") == "String" and "AllowedPattern" not in spec and "AllowedValues" not in spec:
            problems.append(f"{name}: a String parameter needs an AllowedPattern or AllowedValues")
        if "e.g." not in spec.get("ConstraintDescription", ""):
            problems.append(f"{name}: the ConstraintDescription gives no example (e.g. ...)")
        default = str(spec.get("Default", ""))
        if param_violation(spec, default):
            problems.append(f"{name}: the default {default!r} breaks its own constraint")
        for value in SAMPLES[name]["good"]:
            why = param_violation(spec, value)
            if why:
                problems.append(f"{name}: refuses the good value {value!r}: {why}")
        for value in SAMPLES[name]["bad"]:
            if not param_violation(spec, value):
                problems.append(f"{name}: accepts the bad value {value!r}")
        lines.append(f"{name:<24} {kind:<18} {len(SAMPLES[name]['good'])} accepted, {len(SAMPLES[name]['bad'])} refused")
    need(not problems, "\n".join(problems))
    return lines


@check("parameters: each AllowedPattern means the same under Java's regex (CloudFormation's) as under Python's")
def patterns_java():
    java = shutil.which("java")
    if not java or not shutil.which("javac"):
        raise NotRun("java and javac (a JDK, to run a source file) are not installed; apt-get install openjdk-17-jdk-headless")
    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / "PatternCheck.java"
    source.write_text(
        "import java.io.*;\nimport java.util.regex.*;\n"
        "public class PatternCheck {\n  public static void main(String[] a) throws Exception {\n"
        "    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, \"UTF-8\"));\n"
        "    for (String line; (line = r.readLine()) != null; ) {\n"
        "      String[] p = line.split(\"\\t\", -1);\n"
        "      System.out.println(Pattern.matches(p[0], p[1]));\n    }\n  }\n}\n"
    )
    cases = [(spec["AllowedPattern"], v) for name, spec in PARAMS.items() if "AllowedPattern" in spec
             for v in SAMPLES[name]["good"] + SAMPLES[name]["bad"]]
    need(cases, "no parameter has an AllowedPattern")
    r = run([java, str(source)], input="".join(f"{p}\t{v}\n" for p, v in cases))
    need(r.returncode == 0, r.stderr)
    answers = r.stdout.split()
    need(len(answers) == len(cases), f"java answered {len(answers)} of {len(cases)} cases: {r.stderr}")
    differ = [f"{p!r} on {v!r}: java {j}, python {bool(re.fullmatch(p, v))}"
              for (p, v), j in zip(cases, answers) if (j == "true") != bool(re.fullmatch(p, v))]
    need(not differ, "\n".join(differ))
    return [f"{len(cases)} pattern/value pairs agree"]


@check("rules: a stack with no tenant, with both Auth0Domain and Issuer, or with the JWT authorizer and DPoP required, is refused at deploy time")
def rules():
    lines = []
    for params, expected in RULE_CASES:
        failures = Evaluator(TEMPLATE_DATA, params).rule_failures()
        ok = len(failures) == len(expected) and all(f.startswith(e) for f, e in zip(failures, expected))
        need(ok, f"parameters {params}: expected {expected or 'no failure'}, got {failures or 'no failure'}")
        lines.append(f"{json.dumps(params) if params else 'the defaults':<88} -> {'refused' if failures else 'accepted'}")
    return lines


@check("translation: each parameter set translates; tenant, issuer and reserved concurrency come out right")
def translation():
    lines = []
    cases = [
        ({"Auth0Domain": "my-tenant.eu.auth0.com", "AuthorizerMode": "jwt"}, "https://my-tenant.eu.auth0.com/"),
        ({"Issuer": "https://login.example.com/", "AuthorizerMode": "jwt"}, "https://login.example.com/"),
    ]
    for params, issuer in cases:
        out = translate(TEMPLATE, params)
        ev = Evaluator(out, params)
        env = ev.value(out["Resources"][SERVICES[0]["function"]]["Properties"]["Environment"]["Variables"])
        tenant = {k: env[k] for k in ("AUTH0_DOMAIN", "ISSUER") if k in env}
        need(len(tenant) == 1, f"{params}: the functions get {tenant}, not exactly one of AUTH0_DOMAIN and ISSUER")
        schemes = ev.value(out["Resources"]["Api"]["Properties"]["Body"]["components"]["securitySchemes"])
        got = schemes["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]["jwtConfiguration"]["issuer"]
        need(got == issuer, f"{params}: the JWT authorizer's issuer is {got!r}, expected {issuer!r}")
        lines.append(f"{json.dumps(params)}: functions get {tenant}, JWT issuer {got}")
    out = translate(TEMPLATE, {"Auth0Domain": "my-tenant.eu.auth0.com"})
    for value, expected in (("", None), ("0", None), ("20", "20")):
        for function in IAM:
            props = Evaluator(out, {"ReservedConcurrency": value}).value(out["Resources"][function]["Properties"])
            got = props.get("ReservedConcurrentExecutions")
            need(got == expected, f"ReservedConcurrency={value!r}: {function} gets {got!r}, expected {expected!r}")
        lines.append(f"ReservedConcurrency={value!r:<5} -> ReservedConcurrentExecutions {expected or 'unset (unreserved)'}")
    return lines


@check("names: within their limits even for a 128-character stack name")
def names():
    ev = Evaluator(TEMPLATE_DATA, {"Auth0Domain": "my-tenant.eu.auth0.com"}, stack_name=LONGEST_STACK_NAME)
    lines = []
    # OAC names are limited to 64 characters; the response headers policy is held to the same.
    # The API's title is the stack name itself (at most 128).
    limits = [
        ("SiteOriginAccessControl", ["OriginAccessControlConfig", "Name"], 64, r"[A-Za-z0-9_.-]+"),
        ("SiteHeadersPolicy", ["ResponseHeadersPolicyConfig", "Name"], 64, r"[A-Za-z0-9_-]+"),
        ("Api", ["DefinitionBody", "info", "title"], 128, r".+"),
    ] + [(name, ["LogGroupName"], 512, r"[.\-_/#A-Za-z0-9]+")
         for name, r in RESOURCES.items() if r["Type"] == "AWS::Logs::LogGroup"]
    for resource, path, limit, pattern in limits:
        value = RESOURCES[resource]["Properties"]
        for key in path:
            value = value[key]
        value = ev.value(value)
        need(len(value) <= limit and re.fullmatch(pattern, value),
             f"{resource}.{'.'.join(path)} = {value!r} ({len(value)} characters; limit {limit}, pattern {pattern})")
        lines.append(f"{resource + '.' + path[-1]:<34} {len(value):>3} <= {limit}: {value[:70]}")
    # Two stacks of the same (long) name in one account still get distinct names.
    oac = RESOURCES["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]["Name"]
    other = Evaluator(TEMPLATE_DATA, stack_name=LONGEST_STACK_NAME)
    other.pseudo["AWS::StackId"] = other.pseudo["AWS::StackId"].replace("1c2fa620", "2d3eb731")
    need(ev.value(oac) != other.value(oac), "two stacks of one name would get the same origin access control name")
    return lines


@check("production settings: retained tables, logs with retention, access logs, throttling, exact IAM")
def production():
    lines = []
    for table in TABLES + [REPLAY_TABLE]:
        need(table in RESOURCES, f"services.yaml's table {table} is not a resource of template.yaml")
        r = RESOURCES[table]
        need(r.get("DeletionPolicy") == "Retain" and r.get("UpdateReplacePolicy") == "Retain",
             f"{table}: DeletionPolicy and UpdateReplacePolicy must be Retain")
    lines.append(f"{', '.join(TABLES + [REPLAY_TABLE])}: DeletionPolicy and UpdateReplacePolicy Retain")
    groups = {n for n, r in RESOURCES.items() if r["Type"] == "AWS::Logs::LogGroup"}
    for name in groups:
        need(RESOURCES[name]["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"},
             f"{name}: RetentionInDays must be the LogRetentionDays parameter")
    functions = [n for n, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"]
    for function in functions:
        group = RESOURCES[function]["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        need(group in groups, f"{function}: LoggingConfig.LogGroup must be one of the template's log groups")
        need(RESOURCES[group].get("Condition") == RESOURCES[function].get("Condition"),
             f"{function} and its log group {group} must share one Condition")
        lines.append(f"{function}: logs to {group} (retention: LogRetentionDays)")
    api = RESOURCES["Api"]["Properties"]
    logs = api.get("AccessLogSettings", {})
    need(logs.get("DestinationArn", {}).get("Fn::GetAtt", [None])[0] in groups, "Api: access logs must go to a log group of the template")
    fields = json.loads(logs["Format"])
    need(ACCESS_LOG_FIELDS <= set(fields), f"Api: access log format lacks {sorted(ACCESS_LOG_FIELDS - set(fields))}")
    need(all(re.fullmatch(r"\$context\.[A-Za-z.]+", v) for v in fields.values()), "Api: every access log value is one $context variable")
    lines.append(f"Api: JSON access logs to {logs['DestinationArn']['Fn::GetAtt'][0]}: {', '.join(fields)}")
    throttle = api.get("DefaultRouteSettings", {})
    need(throttle.get("ThrottlingRateLimit") == {"Ref": "ApiThrottlingRateLimit"}
         and throttle.get("ThrottlingBurstLimit") == {"Ref": "ApiThrottlingBurstLimit"},
         "Api: stage throttling must come from ApiThrottlingRateLimit and ApiThrottlingBurstLimit")
    lines.append("Api: stage throttling from ApiThrottlingRateLimit / ApiThrottlingBurstLimit")
    # IAM, on the translated template: what CloudFormation creates.
    out = translate(TEMPLATE, {"Auth0Domain": "my-tenant.eu.auth0.com"})
    res = out["Resources"]
    for function, expected in IAM.items():
        need(f"{function}Role" in res, f"{function} (services.yaml) is not a function of template.yaml")
        role = res[f"{function}Role"]["Properties"]
        need(role.get("ManagedPolicyArns") == [BASIC_EXECUTION, XRAY_WRITE],
             f"{function}: managed policies {role.get('ManagedPolicyArns')} (only AWSLambdaBasicExecutionRole and, "
             "for Tracing: Active, AWSXrayWriteOnlyAccess)")
        granted = set()
        for policy in role.get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                need(st["Effect"] == "Allow", f"{function}: unexpected statement {st}")
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                for a in actions:
                    for r in resources:
                        granted.add((a, _arn_pattern(r)))
        need(granted == expected, f"{function}: grants {sorted(granted)}, expected exactly {sorted(expected)}")
        lines.append(f"{function}: {', '.join(f'{a} on {r}' for a, r in sorted(granted)) or 'no DynamoDB access'}")
    for service in SERVICES:
        table = service["table"]
        indexes = {i["IndexName"] for i in RESOURCES[table["resource"]]["Properties"].get("LocalSecondaryIndexes", [])}
        need(table["index"] in indexes, f"{table['resource']}: its indexes are {indexes}, services.yaml says {table['index']}")
    return lines


def _arn_pattern(resource):
    for table in TABLES + [REPLAY_TABLE]:
        if resource == {"Fn::GetAtt": [table, "Arn"]} or resource == {"Fn::GetAtt": f"{table}.Arn"}:
            return "{%s}" % table
    if isinstance(resource, dict) and "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], str):
        return re.sub(r"\$\{(\w+)\.Arn\}", r"{\1}", resource["Fn::Sub"])
    return json.dumps(resource)


@check("outputs: the API and site URLs, the bucket, the distribution id and every service's table name")
def outputs():
    got = {k: v["Value"] for k, v in TEMPLATE_DATA["Outputs"].items()}
    for name, value in OUTPUTS.items():
        need(got.get(name) == value, f"output {name}: {got.get(name)!r}, expected {value!r}")
    return [", ".join(OUTPUTS)]


# --- Operations: tracing, metrics, alarms, dashboard (docs/operating.md) -----------------------

def _alarm_metrics(props):
    """(namespace node, metric name, {dimension: value node}) of every metric an alarm reads,
    whether it reads one metric or several through metric math."""
    if "MetricName" in props:
        return [(props.get("Namespace"), props["MetricName"], {d["Name"]: d["Value"] for d in props.get("Dimensions", [])})]
    out = []
    for query in props.get("Metrics", []):
        if "MetricStat" in query:
            m = query["MetricStat"]["Metric"]
            out.append((m.get("Namespace"), m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}))
    return out


def _alarm_namespace_ok(node):
    return node == TEMPLATE_DATA["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"]


@check("operations: X-Ray and METRICS_NAMESPACE on every function; each function's Errors/Throttles alarm; alarms cover every service; all notify the topic")
def operations():
    lines, problems = [], []
    # API Gateway traces REST APIs only; should SAM's HttpApi ever take TracingEnabled, turn it on.
    from samtranslator.model.sam_resources import SamHttpApi

    if "TracingEnabled" in SamHttpApi.property_types:
        problems.append("SAM's AWS::Serverless::HttpApi now takes TracingEnabled: set it on Api (docs/operating.md, Traces)")
    else:
        lines.append("Api: AWS::Serverless::HttpApi has no TracingEnabled in this SAM (HTTP APIs are not traced)")
    functions = {n: r for n, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
    alarms = {n: r for n, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    sources = [s["name"] for s in SERVICES] + ["authorizer"]
    # Tracing and the namespace, as CloudFormation gets them (after SAM's translation).
    for params, expected in (({}, "Organizer/organizer"), ({"MetricsNamespace": "Organizer/production"}, "Organizer/production")):
        params = {"Auth0Domain": "my-tenant.eu.auth0.com", **params}
        out = translate(TEMPLATE, params)
        ev = Evaluator(out, params)
        for function in functions:
            props = out["Resources"][function]["Properties"]
            if props.get("TracingConfig") != {"Mode": "Active"}:
                problems.append(f"{function}: TracingConfig {props.get('TracingConfig')} (Tracing: Active in Globals)")
            got = ev.value(props.get("Environment", {}).get("Variables", {})).get("METRICS_NAMESPACE")
            if got != expected:
                problems.append(f"{function} with {params}: METRICS_NAMESPACE {got!r}, expected {expected!r}")
            policies = out["Resources"][f"{function}Role"]["Properties"].get("ManagedPolicyArns", [])
            if XRAY_WRITE not in policies:
                problems.append(f"{function}: its role lacks {XRAY_WRITE} (SAM adds it with Tracing: Active)")
        lines.append(f"MetricsNamespace={params.get('MetricsNamespace', '')!r:<24} -> every function: Tracing Active, "
                     f"METRICS_NAMESPACE {expected}")
    # Each function's own alarms: Lambda's Errors and Throttles, under the function's Condition.
    for function, resource in functions.items():
        for metric in ("Errors", "Throttles"):
            found = [a for a, r in alarms.items()
                     if any(ns == "AWS/Lambda" and name == metric and dims.get("FunctionName") == {"Ref": function}
                            for ns, name, dims in _alarm_metrics(r["Properties"]))]
            if not found:
                problems.append(f"{function}: no alarm on AWS/Lambda {metric} with FunctionName !Ref {function}")
            for a in found:
                if alarms[a].get("Condition") != resource.get("Condition"):
                    problems.append(f"{a} and {function} must share one Condition")
            lines.append(f"{function + ' ' + metric:<28} -> {', '.join(found) or 'NONE'}")
    # The per-service DynamoDB throttles alarm, for every service of services.yaml.
    for service in SERVICES:
        found = [a for a, r in alarms.items()
                 if any(_alarm_namespace_ok(ns) and name == "DynamoDbThrottled" and dims == {"Service": service["name"]}
                        for ns, name, dims in _alarm_metrics(r["Properties"]))]
        if not found:
            problems.append(f"services.yaml's {service['name']}: no alarm on DynamoDbThrottled with Service={service['name']}")
        lines.append(f"{service['name'] + ' DynamoDbThrottled':<28} -> {', '.join(found) or 'NONE'}")
    # The alarms that sum over every source: each service and the authorizer, every metric in the sum.
    for alarm, metrics in SUMMED_ALARMS.items():
        props = alarms[alarm]["Properties"]
        read = {(name, dims.get("Service")) for ns, name, dims in _alarm_metrics(props) if _alarm_namespace_ok(ns)}
        wanted = {(m, s) for m in metrics for s in sources}
        if read != wanted:
            problems.append(f"{alarm}: reads {sorted(read)}; expected {sorted(wanted)} (every service of services.yaml and the authorizer)")
        returned = [q for q in props["Metrics"] if q.get("ReturnData", True)]
        ids = {q["Id"] for q in props["Metrics"] if "MetricStat" in q}
        used = set(re.findall(r"[a-z][A-Za-z0-9_]*", returned[0].get("Expression", ""))) if len(returned) == 1 else set()
        if ids - used:
            problems.append(f"{alarm}: its expression leaves out {sorted(ids - used)}")
        lines.append(f"{alarm:<28} -> {' + '.join(metrics)} over {', '.join(sources)}")
    # CloudWatch's limits on an alarm's metric math: 10 metrics, 10 expressions, one returned.
    for alarm, r in alarms.items():
        props = r["Properties"]
        if "Metrics" in props:
            stats = sum(1 for q in props["Metrics"] if "MetricStat" in q)
            exprs = sum(1 for q in props["Metrics"] if "Expression" in q)
            returned = sum(1 for q in props["Metrics"] if q.get("ReturnData", True))
            if stats > 10 or exprs > 10 or returned != 1:
                problems.append(f"{alarm}: {stats} metrics, {exprs} expressions, {returned} returned "
                                "(CloudWatch: at most 10 and 10, exactly one returned; split the alarm)")
            if any("SEARCH" in q.get("Expression", "") for q in props["Metrics"]):
                problems.append(f"{alarm}: SEARCH is not allowed in an alarm")
        for ns, name, dims in _alarm_metrics(props):
            if ns not in ("AWS/Lambda", "AWS/ApiGateway") and not _alarm_namespace_ok(ns):
                problems.append(f"{alarm}: {name} is read from {ns}, not the functions' METRICS_NAMESPACE")
        # Every alarm tells the topic when it fires and when it clears; no traffic is no alarm.
        if props.get("AlarmActions") != [{"Ref": "AlarmTopic"}] or props.get("OKActions") != [{"Ref": "AlarmTopic"}]:
            problems.append(f"{alarm}: AlarmActions and OKActions must be [!Ref AlarmTopic]")
        if props.get("TreatMissingData") != "notBreaching":
            problems.append(f"{alarm}: TreatMissingData must be notBreaching")
    need(RESOURCES.get("AlarmTopic", {}).get("Type") == "AWS::SNS::Topic", "no AWS::SNS::Topic AlarmTopic")
    subs = [r for r in RESOURCES.values() if r["Type"] == "AWS::SNS::Subscription"]
    if not (len(subs) == 1 and subs[0].get("Condition") == "HasAlarmEmail"
            and subs[0]["Properties"].get("Endpoint") == {"Ref": "AlarmEmail"}):
        problems.append("one AWS::SNS::Subscription of AlarmEmail, under the Condition HasAlarmEmail")
    lines.append(f"{len(alarms)} alarms, all notifying AlarmTopic (OK too), missing data not breaching; "
                 "e-mail subscription only with AlarmEmail")
    # Names: alarm names (255) and the dashboard's (255, letters, digits, - and _) for the longest stack.
    ev = Evaluator(TEMPLATE_DATA, {"Auth0Domain": "my-tenant.eu.auth0.com"}, stack_name=LONGEST_STACK_NAME)
    names = [ev.value(r["Properties"]["AlarmName"]) for r in alarms.values()]
    longest = max(names, key=len)
    if len(longest) > 255 or len(set(names)) != len(names):
        problems.append(f"alarm names: longest {len(longest)} characters (limit 255), {len(names) - len(set(names))} repeated")
    dashboard = [n for n, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    need(len(dashboard) == 1, f"one AWS::CloudWatch::Dashboard, found {dashboard}")
    dash = RESOURCES[dashboard[0]]["Properties"]
    dash_name = ev.value(dash["DashboardName"])
    if not (len(dash_name) <= 255 and re.fullmatch(r"[A-Za-z0-9_-]+", dash_name)):
        problems.append(f"DashboardName {dash_name!r}: at most 255 of A-Z a-z 0-9 - _")
    lines.append(f"names for a {len(LONGEST_STACK_NAME)}-character stack name: alarms up to {len(longest)} <= 255, "
                 f"dashboard {len(dash_name)} <= 255")
    # The dashboard: valid JSON once CloudFormation has substituted, with every figure.
    for mode in ("lambda", "jwt"):
        params = {"Auth0Domain": "my-tenant.eu.auth0.com", "AuthorizerMode": mode}
        text = Evaluator(TEMPLATE_DATA, params, stack_name=LONGEST_STACK_NAME).value(dash["DashboardBody"])
        text = text.replace("${!", "${")  # Fn::Sub's escape for a literal ${
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise Failed(f"DashboardBody ({mode}) is not JSON once substituted: {error}")
        if len(text.encode()) > 1_000_000:
            problems.append(f"DashboardBody: {len(text.encode())} bytes (CloudWatch's limit: 1 MB)")
        graphed = json.dumps(body)
        for metric in sorted(set(SERVICE_METRICS) | set(AUTHORIZER_METRICS)):
            if not re.search(rf'\b{metric}\b', graphed):
                problems.append(f"the dashboard shows no {metric}")
        namespace = f"Organizer/{LONGEST_STACK_NAME}"
        searches = re.findall(r"SEARCH\('\{\\\"([^\\]*)\\\",Service\}", graphed)
        if not searches or set(searches) != {namespace}:
            problems.append(f"the dashboard's SEARCH expressions read {sorted(set(searches))}, not {namespace}")
        for function in functions:
            if functions[function].get("Condition") and mode != "lambda":
                continue
            for metric in ("Errors", "Throttles"):
                if f'["AWS/Lambda", "{metric}", "FunctionName", "<{function}>"' not in graphed:
                    problems.append(f"the dashboard ({mode}) graphs no AWS/Lambda {metric} of {function}")
        for metric in ("5xx", "Count"):
            if f'["AWS/ApiGateway", "{metric}", "ApiId", "<Api>"' not in graphed:
                problems.append(f"the dashboard graphs no AWS/ApiGateway {metric} of the API")
    lines.append(f"dashboard: valid JSON in lambda and jwt modes, {len(body['widgets'])} widgets, every metric of the "
                 f"functions ({len(SERVICE_METRICS)}) and the authorizer ({len(AUTHORIZER_METRICS)}), Lambda errors and "
                 "throttles of every function, API Gateway 5xx")
    # The runbook names every alarm and every metric.
    if not OPERATING_DOC.is_file():
        problems.append(f"{OPERATING_DOC.relative_to(ROOT)} is missing")
    else:
        doc = OPERATING_DOC.read_text()
        for metric in sorted(set(SERVICE_METRICS) | set(AUTHORIZER_METRICS)):
            if f"`{metric}`" not in doc:
                problems.append(f"{OPERATING_DOC.relative_to(ROOT)} does not name the metric `{metric}`")
        for alarm, r in alarms.items():
            suffix = r["Properties"]["AlarmName"]["Fn::Sub"].replace("${AWS::StackName}", "")
            if f"`{suffix}`" not in doc:
                problems.append(f"{OPERATING_DOC.relative_to(ROOT)} does not name the alarm `{suffix}` ({alarm})")
        lines.append(f"{OPERATING_DOC.relative_to(ROOT)} names every alarm and every metric")
    need(not problems, "\n".join(dict.fromkeys(problems)))
    return lines


@check("checkov: no failed check on the template or its translation; every skip has a reason")
def checkov():
    exe = ROOT / ".local/checkov-venv/bin/checkov"
    need(exe.exists(), f"{exe} is missing: run scripts/deploy-tools.sh (pip install checkov)")
    WORK.mkdir(parents=True, exist_ok=True)
    translated = WORK / "translated.json"
    translated.write_text(json.dumps(translate(TEMPLATE), indent=1))
    lines, problems, skips = [], [], {}
    for target in (TEMPLATE, translated):
        r = run([str(exe), "-f", str(target), "--framework", "cloudformation", "-o", "json", "--skip-download",
                 "--soft-fail"], cwd=ROOT, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
        try:
            reports = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise Failed(f"checkov gave no JSON report for {target.name}: {r.stderr.strip()[-2000:]}")
        reports = reports if isinstance(reports, list) else [reports]
        summary = {"passed": 0, "failed": 0, "skipped": 0}
        for report in reports:
            for key in summary:
                summary[key] += report.get("summary", {}).get(key, 0)
            for f in report.get("results", {}).get("failed_checks", []):
                problems.append(f"{target.name}: {f['check_id']} {f['check_name']} on {f['resource']}")
            for s in report.get("results", {}).get("skipped_checks", []):
                comment = (s.get("check_result") or {}).get("suppress_comment") or ""
                if not comment.strip() or comment.strip() == "No comment provided":
                    problems.append(f"{target.name}: {s['check_id']} on {s['resource']} is skipped without a reason")
                skips.setdefault((s["check_id"], comment), set()).add(s["resource"].split(".")[-1])
        lines.append(f"{target.relative_to(ROOT)}: passed {summary['passed']}, failed {summary['failed']}, skipped {summary['skipped']}")
    need(not problems, "\n".join(problems))
    lines.append("skipped, with the template's reasons:")
    for (check_id, comment), where in sorted(skips.items()):
        lines.append(f"  {check_id} ({', '.join(sorted(where))}): {comment}")
    return lines


# --- Site bundle -------------------------------------------------------------------------------

class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems, self.refs, self.modules, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if any(k.startswith("on") for k in a) or "style" in a:
            self.problems.append(f"<{tag}> has an inline handler or style attribute")
        if tag == "style":
            self.problems.append("inline <style>")
        if tag == "script":
            self._in_script = True
            if not a.get("src", "").startswith("/"):
                self.problems.append(f"<script> without a same-site src: {a}")
            else:
                self.refs.append(a["src"])
                if a.get("type") == "module":
                    self.modules.append(a["src"])
        if tag == "link" and a.get("rel") == "stylesheet":
            if not a.get("href", "").startswith("/"):
                self.problems.append(f"stylesheet not from the site: {a}")
            else:
                self.refs.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline script content")


def _csp(policy):
    out = {}
    for directive in policy.split(";"):
        parts = directive.split()
        if parts:
            out[parts[0]] = parts[1:]
    return out


def _allows(sources, url, self_origin):
    """CSP Level 3 source matching, as far as this policy needs it: 'self', and scheme://host[:port]
    with an optional path (a path ending in / matches every path below it)."""
    u = urlparse(url)
    for s in sources:
        if s == "'self'":
            if f"{u.scheme}://{u.netloc}" == self_origin:
                return True
            continue
        if s.startswith("'"):
            continue
        p = urlparse(s)
        if (p.scheme, p.hostname, p.port) != (u.scheme, u.hostname, u.port):
            continue
        if not p.path or (p.path.endswith("/") and u.path.startswith(p.path)) or p.path == u.path:
            return True
    return False


# The app's modules, as the pages and the modules import them (`from './dom.js'`).
IMPORT = re.compile(r"""^\s*import\b[^'"]*['"]([^'"]+)['"]""", re.M)
# What the SPA gets of each service: its entry in services.yaml but these.
PRIVATE = ("function", "binary", "table", "id_prefix")


def _bundle(out, *args, cwd=ROOT, env=None):
    return run([str(ROOT / "scripts/site-bundle.sh"), str(out), *args], cwd=cwd, env=env)


def _organizer_env():
    """site-bundle.sh runs `organizer services --json`: the built binary when there is one
    (ORGANIZER_BIN, else target/), else `cargo run`."""
    exe = os.environ.get("ORGANIZER_BIN") or _organizer()
    return {**os.environ, "ORGANIZER_BIN": str(exe)} if exe else dict(os.environ)


def _public_services(env):
    """`organizer services --json`, checked against services.yaml: every service's entry but
    PRIVATE, each field's max the manifest's (or its type's default, which only the crate knows)."""
    exe = env.get("ORGANIZER_BIN")
    cmd = [exe, "services", "--json"] if exe else ["cargo", "run", "-q", "-p", "organizer-local", "--", "services", "--json"]
    r = run(cmd, cwd=ROOT)
    need(r.returncode == 0, f"{' '.join(cmd)}: {r.stderr.strip()[-500:]}")
    printed = json.loads(r.stdout)
    stale = f" ({exe} may be older than services.yaml: cargo build -p organizer-local)" if exe else ""
    need([p.get("name") for p in printed] == [s["name"] for s in SERVICES],
         f"organizer services --json lists {[p.get('name') for p in printed]}, services.yaml {[s['name'] for s in SERVICES]}{stale}")
    for mine, theirs in zip(SERVICES, printed):
        name = mine["name"]
        for key in PRIVATE:
            need(key not in theirs, f"organizer services --json: {name} has {key}, which only the deploy needs")
        for key in ("title", "one", "many", "quota", "scopes"):
            need(theirs.get(key) == mine[key], f"organizer services --json: {name}.{key} is {theirs.get(key)!r}, "
                                               f"services.yaml says {mine[key]!r}{stale}")
        list_ = mine["list"]
        need(theirs["list"].get("order") == list_["order"] and theirs["list"].get("empty") == list_.get("empty")
             and [f["name"] for f in theirs["list"].get("filters", [])] == [f["name"] for f in list_.get("filters", [])],
             f"organizer services --json: {name}.list is {theirs['list']}, services.yaml says {list_}{stale}")
        for f, g in zip(mine["fields"], theirs["fields"], strict=True):
            wanted = {"name": f["name"], "label": f["label"], "type": f["type"], "required": f.get("required", False),
                      "autocomplete": f.get("autocomplete")}
            got = {k: g.get(k) for k in wanted}
            need(got == wanted and ("max" not in f or g.get("max") == f["max"]),
                 f"organizer services --json: {name}.{f['name']} is {g}, services.yaml says {f}{stale}")
    return printed


def _expected_scope():
    """The scope config.json asks for: every service's read scope, then every write scope."""
    return " ".join(["openid", "profile", "email", *(s["scopes"]["read"]["name"] for s in SERVICES),
                     *(s["scopes"]["write"]["name"] for s in SERVICES)])


@check("site bundle: built from sample outputs (domain, issuer), its config.json and CloudFront's CSP")
def site_bundle():
    WORK.mkdir(parents=True, exist_ok=True)
    common = ["--client-id", CLIENT_ID, "--api-url", API_URL, "--site-url", SITE_URL]
    env = _organizer_env()
    services = _public_services(env)
    # The app: its pages, styles and modules, each module reached from the entry (app.js).
    modules = sorted(p.name for p in (ROOT / "site/public").glob("*.js"))
    cases = [
        ("domain", ["--domain", "my-tenant.eu.auth0.com"], {"Auth0Domain": "my-tenant.eu.auth0.com"},
         "my-tenant.eu.auth0.com", None),
        ("issuer", ["--issuer", "https://login.example.com/"], {"Issuer": "https://login.example.com/"},
         "login.example.com", None),
        ("issuer-path", ["--issuer", "https://auth.example.com/tenant/"], {"Issuer": "https://auth.example.com/tenant/"},
         "https://auth.example.com/tenant",
         {"__token_issuer": "https://auth.example.com/tenant/", "__jwks_uri": "https://auth.example.com/tenant/.well-known/jwks.json"}),
    ]
    lines = []
    policy_node = RESOURCES["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    for label, args, params, domain, overrides in cases:
        out = WORK / f"site-{label}"
        r = _bundle(out, *args, *common, env=env)
        need(r.returncode == 0, f"site-bundle.sh {' '.join(args)}: {r.stderr.strip()}")
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        need(files == sorted([".organizer-site-bundle", "app.css", "callback.html", "config.json", "index.html", *modules,
                              "vendor/auth0-spa-js.production.js", "vendor/auth0-spa-js.worker.production.js",
                              "vendor/auth0.min.js"]), f"{label}: the bundle holds {files}")
        need({"app.js", "auth.js", "dom.js", "session.js", "api.js", "panels.js", "editor.js"} <= set(modules),
             f"site/public's modules are {modules}")
        reached, queue = set(), ["app.js"]
        while queue:
            module = queue.pop()
            if module in reached:
                continue
            reached.add(module)
            need((out / module).is_file(), f"{label}: a module imports {module}, which the bundle lacks")
            for spec in IMPORT.findall((out / module).read_text()):
                need(spec.startswith("./") and spec.endswith(".js"), f"{label}/{module}: imports {spec!r}, not a module of the site")
                queue.append(spec[2:])
        need(reached == set(modules), f"{label}: modules app.js never imports: {sorted(set(modules) - reached)}")
        config = json.loads((out / "config.json").read_text())
        expected = {
            "domain": domain, "clientID": CLIENT_ID, "audience": "organize", "scope": _expected_scope(),
            "redirectUri": f"{SITE_URL}/callback.html", "logoutReturnTo": SITE_URL, "apiBaseUrl": API_URL,
            "sessionCheckSeconds": 900, "flow": "implicit", "cacheLocation": "memory", "services": services,
        }
        if overrides:
            expected["overrides"] = overrides
            expected["issuer"] = overrides["__token_issuer"]
        need(config == expected, f"{label}: config.json is {config}, expected {expected}")
        # The CSP CloudFront sends for a stack with these parameters and this API.
        ev = Evaluator(TEMPLATE_DATA, params, attributes={"Api.ApiEndpoint": API_URL})
        csp = _csp(ev.value(policy_node["ContentSecurityPolicy"]["ContentSecurityPolicy"]))
        need(csp.get("script-src") == ["'self'"] and csp.get("style-src") == ["'self'"],
             f"{label}: scripts and styles must come from the site only: {csp}")
        need(csp.get("frame-ancestors") == ["'none'"] and csp.get("object-src") == ["'none'"], f"{label}: {csp}")
        base = domain if domain.startswith("http") else f"https://{domain}"
        jwks = (overrides or {}).get("__jwks_uri", f"https://{domain}/.well-known/jwks.json")
        wanted = [*(("connect-src", f"{API_URL}/{s['name']}") for s in SERVICES),
                  ("connect-src", jwks), ("frame-src", f"{base}/authorize"), ("connect-src", f"{SITE_URL}/config.json"),
                  # The code flow: the token endpoint, and auth0-spa-js's worker from the site.
                  ("connect-src", f"{base}/oauth/token"),
                  ("script-src", f"{SITE_URL}/vendor/auth0-spa-js.worker.production.js")]
        for directive, url in wanted:
            need(_allows(csp.get(directive, []), url, SITE_URL), f"{label}: the CSP's {directive} {csp.get(directive)} blocks {url}")
        need(not _allows(csp.get("connect-src", []), "https://evil.example.com/", SITE_URL), f"{label}: connect-src is too wide")
        for page in ("index.html", "callback.html"):
            html = _Html()
            html.feed((out / page).read_text())
            need(not html.problems, f"{label}/{page}: {html.problems} (the CSP would block it)")
            need(html.modules == ["/app.js"], f"{label}/{page} must load the app as one module, /app.js: {html.modules}")
            for ref in html.refs:
                need((out / ref.lstrip("/")).is_file(), f"{label}/{page} refers to {ref}, which the bundle lacks")
        lines.append(f"{label:<12} config.json domain={config['domain']}{' + overrides' if overrides else ''}; "
                     f"CSP allows the API, the JWKS and {base}/authorize")
    # The code flow, with tokens in localStorage: both keys as given.
    out = WORK / "site-code"
    r = _bundle(out, "--domain", "my-tenant.eu.auth0.com", *common, "--flow", "code", "--cache-location", "localstorage", env=env)
    need(r.returncode == 0, f"site-bundle.sh --flow code: {r.stderr.strip()}")
    config = json.loads((out / "config.json").read_text())
    need(config.get("flow") == "code" and config.get("cacheLocation") == "localstorage", f"--flow code: config.json is {config}")
    lines.append("code         config.json flow=code cacheLocation=localstorage; CSP allows the token endpoint and the worker")
    # Refusals: each bad invocation fails with a message and writes nothing.
    bad = [
        (["--domain", "https://my-tenant.eu.auth0.com"], "--domain"),
        (["--issuer", "https://login.example.com"], "--issuer"),
        (["--issuer", "http://login.example.com/"], "--issuer"),
        (["--domain", "my-tenant.eu.auth0.com", "--issuer", "https://login.example.com/"], "not allowed with"),
        (["--domain", "my-tenant.eu.auth0.com", "--client-id", "x", "--api-url", "http://a.example.com",
          "--site-url", SITE_URL], "--api-url"),
        (["--domain", "my-tenant.eu.auth0.com", "--flow", "hybrid"], "--flow"),
        (["--domain", "my-tenant.eu.auth0.com", "--cache-location", "cookie"], "--cache-location"),
    ]
    for args, message in bad:
        out = WORK / "site-refused"
        shutil.rmtree(out, ignore_errors=True)
        full = args if "--client-id" in args else args + common
        r = _bundle(out, *full, env=env)
        need(r.returncode != 0 and message in r.stderr and not out.exists(),
             f"site-bundle.sh {' '.join(args)}: exit {r.returncode}, {r.stderr.strip()[-300:]!r}")
    foreign = WORK / "site-foreign"
    foreign.mkdir(exist_ok=True)
    (foreign / "keep.txt").write_text("not the bundle's")
    r = _bundle(foreign, "--domain", "my-tenant.eu.auth0.com", *common, env=env)
    need(r.returncode != 0 and (foreign / "keep.txt").exists(), "site-bundle.sh emptied a folder it did not make")
    # OUT_DIR relative to where the command runs (no GNU realpath -m, which macOS lacks), and
    # the services from `cargo run` (no ORGANIZER_BIN), as an operator runs it.
    shutil.rmtree(WORK / "site-relative", ignore_errors=True)
    plain = {k: v for k, v in os.environ.items() if k != "ORGANIZER_BIN"}
    r = _bundle("site-relative", "--domain", "my-tenant.eu.auth0.com", *common, cwd=WORK, env=plain)
    need(r.returncode == 0 and (WORK / "site-relative/config.json").is_file(), f"a relative OUT_DIR: {r.stderr.strip()}")
    need(json.loads((WORK / "site-relative/config.json").read_text()).get("services") == services,
         "with cargo run, config.json's services differ from organizer services --json's")
    r = _bundle(WORK / "site-help", "--help")
    need(r.returncode == 0 and "--issuer" in r.stdout and not (WORK / "site-help").exists(), "site-bundle.sh OUT_DIR --help")
    lines.append(f"refused: {len(bad)} bad invocations and a foreign folder; a relative OUT_DIR (with cargo run) and --help work")
    lines.append(f"services: {', '.join(s['name'] for s in services)} (organizer services --json, as services.yaml says); "
                 f"{len(modules)} modules, all reached from app.js")
    return lines


@check("site-bundle.sh: no GNU-only tools or options (it runs on macOS)")
def portability():
    text = (ROOT / "scripts/site-bundle.sh").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    gnu = {
        r"\brealpath\b": "realpath (GNU coreutils; macOS has none before 13, and no -m)",
        r"\breadlink\s+-f\b": "readlink -f",
        r"\bsed\s+-i\b": "sed -i (BSD sed needs a suffix argument)",
        r"\bfind\b[^\n|]*-printf": "find -printf",
        r"\b(cp|mv|rm|mkdir|ls)\s+--[a-z]": "GNU long options",
        r"\bdate\s+-d\b": "date -d",
        r"\bstat\s+-c\b": "stat -c",
        r"\bgrep\s+-P\b": "grep -P",
        r"\bmktemp\s+--": "mktemp long options",
        r"\bdeclare\s+-A\b|\bmapfile\b|\breadarray\b|\$\{[a-z_]+,,\}|\$\{[a-z_]+\^\^\}": "bash 4 features (macOS has bash 3.2)",
    }
    found = [f"{what}: {m.group(0)!r}" for pattern, what in gnu.items() for m in [re.search(pattern, code)] if m]
    need(not found, "\n".join(found))
    r = run(["bash", "-n", str(ROOT / "scripts/site-bundle.sh")])
    need(r.returncode == 0, r.stderr)
    return [f"{len(gnu)} GNU-only patterns absent; bash -n passes"]


# --- The deploy steps (docs/deploying.md) ------------------------------------------------------

DEPLOY_DOC = ROOT / "docs/deploying.md"
# The deploy steps run from the page's top to this heading; what follows (the tutorial's steps
# mapped onto the project) holds no command to check.
DEPLOY_STEPS_END = "\n## The pattern, step by step"


def _deploy_section():
    """The deploy steps of docs/deploying.md: the page from its title to DEPLOY_STEPS_END (or its
    end). Fails, naming the page, when the page or its title is missing."""
    if not DEPLOY_DOC.is_file():
        raise Failed(f"{DEPLOY_DOC.relative_to(ROOT)} is missing: the deploy steps are read from it")
    text = DEPLOY_DOC.read_text()
    if not text.startswith("# Deploying to AWS\n"):
        raise Failed(f"{DEPLOY_DOC.relative_to(ROOT)} does not start with '# Deploying to AWS'")
    end = text.find(DEPLOY_STEPS_END)
    return text[:end if end >= 0 else len(text)]


def _split(line):
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError as error:
        raise Failed(f"docs/deploying.md: cannot split {line!r}: {error}")
    commands, current = [], []
    for w in words + [";"]:
        if w in ("|", "||", "&&", ";", "&", ";;"):
            # `X=$(cmd ...`, `name() { cmd ...` and `{ cmd ...`: the command is cmd.
            while current and (current[0] == "{" or current[0].endswith("()")):
                current.pop(0)
            if current and re.match(r"^\w+=\$\(.", current[0]):
                current[0] = current[0].split("$(", 1)[1]
            if current and current[0] not in ("}", ")"):
                commands.append(current)
            current = []
        else:
            current.append(w)
    return commands


def _commands(section):
    """Each command of the section, as a list of words: from its shell code blocks (continuations
    joined, comments dropped, pipelines and && lists split) and from inline code that starts with
    one of the commands checked."""
    commands = []
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", section, re.S):
        block = re.sub(r"\\\n", " ", block)
        for line in block.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            if line:
                commands.extend(_split(line))
    for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", section.replace("\n   ", " ")):
        # (Spans about help itself, such as `curl --help all`, are not commands of the deploy.)
        if re.match(r"(sam|aws|curl|npx|cargo run|scripts/site-bundle\.sh) ", span) and not re.search(r"…|--help|\bhelp$", span):
            commands.extend(_split(span))
    return commands


def _long_flags(words):
    return {w.split("=", 1)[0] for w in words if re.match(r"--[a-z]", w)}


def _help_flags(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9_-]*)", re.sub(".\b", "", text)))


_help_cache = {}


def _helped(key, cmd, env=None):
    if key not in _help_cache:
        r = run(cmd, env={**os.environ, **(env or {})}, cwd=ROOT)
        if r.returncode != 0 or not r.stdout.strip():
            raise Failed(f"`{' '.join(cmd)}` failed: {(r.stderr or r.stdout).strip()[-500:]}")
        _help_cache[key] = _help_flags(r.stdout)
    return _help_cache[key]


def _organizer():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    for profile in ("debug", "release"):
        exe = target / profile / "organizer"
        if exe.is_file():
            return exe
    return None


@check("docs/deploying.md: every flag of the deploy commands exists (sam, aws, a0deploy, site-bundle.sh, curl)")
def deploy_doc_flags():
    section = _deploy_section()
    commands = _commands(section)
    sam, aws = str(VENV / "sam"), str(VENV / "aws")
    need(Path(sam).exists() and Path(aws).exists(), "sam or aws missing in .local/venv: run scripts/deploy-tools.sh")
    a0 = ROOT / ".local/a0deploy/node_modules/.bin/a0deploy"
    need(a0.exists(), f"{a0} is missing: run scripts/deploy-tools.sh (npm install auth0-deploy-cli)")
    seen, problems = {}, []
    for words in commands:
        if words[0] == "sam":
            sub = []
            for w in words[1:]:
                if w.startswith("-"):
                    break
                sub.append(w)
            key = "sam " + " ".join(sub)
            known = _helped(key, [sam, *sub, "--help"], {"SAM_CLI_TELEMETRY": "0"})
        elif words[0] == "aws":
            sub = [w for w in words[1:] if not w.startswith("-")][:2]
            key = "aws " + " ".join(sub)
            known = _helped(key, [aws, *sub, "help"], {"PAGER": "cat", "MANPAGER": "cat", "AWS_DEFAULT_REGION": "us-east-1"})
        elif "a0deploy" in words:
            i = words.index("a0deploy")
            sub = words[i + 1]
            key = f"a0deploy {sub}"
            known = _helped(key, [str(a0), sub, "--help"])
            words = words[i:]
        elif words[0] == "scripts/site-bundle.sh":
            key = "scripts/site-bundle.sh"
            known = _helped(key, [str(ROOT / "scripts/site-bundle.sh"), str(WORK / "help-only"), "--help"])
        elif words[0] == "curl":
            key = "curl"
            if not shutil.which("curl"):
                raise Failed("curl is not installed (apt-get install curl)")
            known = _helped(key, ["curl", "--help", "all"])
        else:
            continue
        unknown = _long_flags(words) - known
        if unknown:
            problems.append(f"{key}: unknown {sorted(unknown)} in: {' '.join(words)}")
        seen.setdefault(key, set()).update(_long_flags(words))
    need(not problems, "\n".join(problems))
    for needed in ("sam build", "sam deploy", "aws s3 sync", "aws cloudfront create-invalidation",
                   "a0deploy import", "scripts/site-bundle.sh", "curl"):
        need(needed in seen, f"docs/deploying.md's deploy steps have no `{needed}` command")
    return [f"{k:<36} {' '.join(sorted(v)) or '(no flags)'}" for k, v in sorted(seen.items())]


@check("docs/deploying.md: the flags of `cargo run -- seed` exist (the local tool's seed --help)")
def deploy_doc_seed():
    seeds = [w[3:] for w in _commands(_deploy_section()) if w[:4] == ["cargo", "run", "--", "seed"]]
    need(seeds, "docs/deploying.md's deploy steps have no `cargo run -- seed` command")
    need(all("--no-create" in w for w in seeds), "against AWS, seed with --no-create: the stack owns the tables")
    exe = _organizer()
    if exe is None:
        raise NotRun("the local tool is not built, so its flags were not read: cargo build -p organizer-local "
                     "(make test builds it before this check)")
    known = _helped("seed", [str(exe), "seed", "--help"])
    unknown = set().union(*(_long_flags(w) for w in seeds)) - known
    need(not unknown, f"cargo run -- seed: unknown {sorted(unknown)}; {exe} seed --help knows {sorted(known)}")
    return [f"{exe}: {' '.join(sorted(set().union(*(_long_flags(w) for w in seeds))))}"]


@check("docs/deploying.md: outputs, parameters and files it names exist; secrets files are gitignored")
def deploy_doc_names():
    section = _deploy_section()
    lines = []
    named = set(re.findall(r"\$\(out (\w+)\)", section)) | set(re.findall(r"OutputKey=='(\w+)'", section))
    missing = named - set(TEMPLATE_DATA["Outputs"])
    need(named and not missing, f"docs/deploying.md names outputs the template lacks: {sorted(missing) or 'none named'}")
    lines.append(f"outputs used: {', '.join(sorted(named))}")
    from samcli.cli.types import CfnParameterOverridesType

    samples = {"$SITE_URL": SITE_URL, "${SITE_URL}": SITE_URL, "$AUTH0_DOMAIN": "my-tenant.eu.auth0.com"}
    overrides = 0
    for words in _commands(section):
        if words[:2] == ["sam", "deploy"] and "--parameter-overrides" in words:
            raw = words[words.index("--parameter-overrides") + 1]
            for k, v in samples.items():
                raw = raw.replace(k, v)
            parsed = CfnParameterOverridesType().convert((raw,), None, None)
            for name, value in parsed.items():
                need(name in PARAMS, f"--parameter-overrides names {name}, which the template lacks")
                why = param_violation(PARAMS[name], value)
                need(not why, f"--parameter-overrides {name}={value}: CloudFormation would refuse it: {why}")
                overrides += 1
    need(overrides, "docs/deploying.md shows no `sam deploy --parameter-overrides`")
    lines.append(f"--parameter-overrides: {overrides} value(s) parsed by SAM CLI's own parser and accepted")
    for path in ("auth0-deploy.json", "samconfig.toml", ".aws-sam/build/template.yaml", ".local/site-dist/x"):
        r = run(["git", "check-ignore", "-q", path], cwd=ROOT)
        need(r.returncode == 0, f"{path} is not gitignored")
    need("auth0-deploy.json" in section and "--config_file auth0-deploy.json" in section.replace("-c ", "--config_file "),
         "docs/deploying.md: the Deploy CLI's configuration file must be auth0-deploy.json (site/config.json is the SPA's)")
    for key in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"):
        need(key in section, f"docs/deploying.md: the Deploy CLI's configuration lacks {key}")
    lines.append("auth0-deploy.json, samconfig.toml, .aws-sam/ and .local/ are gitignored")
    configs = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S) if "AUTH0_DOMAIN" in b]
    need(len(configs) == 1, "docs/deploying.md: one auth0-deploy.json example")
    config = configs[0]
    need(config.get("AUTH0_ALLOW_DELETE") is False, "auth0-deploy.json: AUTH0_ALLOW_DELETE must be false")
    import yaml  # noqa: E402 (PyYAML, a dependency of the SAM CLI)

    kinds = set(yaml.safe_load((ROOT / "tenant.yaml").read_text()))
    included = set(config.get("AUTH0_INCLUDED_ONLY", []))
    need(included == kinds, f"auth0-deploy.json: AUTH0_INCLUDED_ONLY {sorted(included)} != tenant.yaml's {sorted(kinds)}")
    handlers = ROOT / ".local/a0deploy/node_modules/auth0-deploy-cli/lib/tools/auth0/handlers"
    types = set(re.findall(r"type: '(\w+)'", "".join(f.read_text() for f in handlers.glob("*.js"))))
    need(included <= types, f"the Deploy CLI knows no {sorted(included - types)} (its types: {sorted(types)})")
    lines.append(f"auth0-deploy.json: AUTH0_INCLUDED_ONLY = tenant.yaml's kinds, all known to the Deploy CLI: {', '.join(sorted(included))}")
    need("--paths '/*'" in section or '--paths "/*"' in section, "docs/deploying.md: invalidate /* after uploading the site")
    need(".aws-sam/build" in section, "docs/deploying.md: say that sam deploy reads .aws-sam/build")
    return lines


def main():
    only = sys.argv[1:]
    for name, go in CHECKS:
        if not only or name in only:
            go()
    print("\ndeploy check summary:")
    for status, title in RESULTS:
        print(f"  {status:<19} {title}")
    failed = sum(1 for s, _ in RESULTS if s == "FAIL")
    not_run = sum(1 for s, _ in RESULTS if s.startswith("NOT RUN"))
    print(f"\n{len(RESULTS) - failed - not_run} passed, {failed} failed, {not_run} optional not run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
