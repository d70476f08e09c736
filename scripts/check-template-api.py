"""Translates template.yaml with the SAM translator (offline) and checks what sam validate
cannot: that every route of the HTTP API's OpenAPI body keeps, after translation, its Lambda
integration, a security choice per AuthorizerMode, its method in CORS and an invoke permission, that the Lambda authorizer's cache key includes the route,
that CORS origins still come from the AllowedOrigins parameter (SAM's CorsConfiguration property
would freeze the parameter's default at transform time), and that the body, resolved for each
AuthorizerMode, is a valid OpenAPI 3.0 document, so that API Gateway imports it without warnings
(the API has FailOnWarnings: true, so a warning fails the deployment)."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cfn_eval import Evaluator, read_template, translate  # noqa: E402

# Which routes there are, and which function and scopes each has, is the route table's
# (shared/src/routes.rs); shared/tests/route_table.rs fails when template.yaml differs from it.
# Here each route of the body is checked for what translation and deployment need.
MODES = ("lambda", "jwt", "none")

path = sys.argv[1]
source = read_template(path)["Resources"]["Api"]
# SAM merges an `Auth:` property's authorizers into the body's securitySchemes, which are an
# Fn::If here, and writes an invalid body (seen in the translator's output).
assert "Auth" not in source["Properties"], "Api: no Auth property; security lives in the OpenAPI body"
assert source["Properties"].get("FailOnWarnings") is True, "Api: FailOnWarnings must be true"

out = translate(path)
api = out["Resources"]["Api"]
assert api["Type"] == "AWS::ApiGatewayV2::Api", api["Type"]
assert api["Properties"].get("FailOnWarnings") is True, "FailOnWarnings lost in translation"
body = api["Properties"]["Body"]
cors = body["x-amazon-apigateway-cors"]
assert cors["allowOrigins"] == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]}, cors
operations = sorted((m, p) for p, item in body["paths"].items() for m in item if m != "parameters")
assert operations, "the API body has no routes"
functions = {k for k, r in out["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
for method, route in operations:
    op = body["paths"][route][method]
    assert method.upper() in cors["allowMethods"], (route, method, cors["allowMethods"])
    uri = json.dumps(op["x-amazon-apigateway-integration"]["uri"])
    named = re.findall(r"\$\{(\w+)\.Arn\}", uri)
    assert len(named) == 1 and named[0] in functions, (route, uri)
    function = named[0]
    assert op["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    assert op.get("responses"), f"{method} {route}: no responses (an import warning)"
    security = op["security"]["Fn::If"]
    assert security[0] == "UseLambdaAuthorizer" and security[1] == [{"LambdaAuthorizer": []}], (route, security)
    jwt = security[2]["Fn::If"]
    assert jwt[0] == "UseJwtAuthorizer" and jwt[2] == [], (route, jwt)
    scopes = jwt[1][0]["JwtAuthorizer"]
    assert scopes and all(isinstance(s, str) for s in scopes), (route, jwt)
    permissions = [
        r["Properties"]["SourceArn"]["Fn::Sub"]
        for r in out["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == {"Ref": function}
    ]
    prefix = route.split("{")[0].rstrip("/")
    assert any(arn.endswith(f"/*/*{prefix}*") for arn in permissions), (route, permissions)
schemes = body["components"]["securitySchemes"]["Fn::If"]
lam = schemes[1]["LambdaAuthorizer"]["x-amazon-apigateway-authorizer"]
# The identity sources: with DPoP required the proof too (a cached Allow is never reused with
# an old proof), and always the route; the cache off whenever DPoP is on.
sources = lam["identitySource"]["Fn::If"]
assert sources[0] == "DpopRequired" and "$request.header.DPoP" in sources[1], sources
assert all("$context.routeKey" in s and "$request.header.Authorization" in s for s in sources[1:]), sources
assert lam["authorizerResultTtlInSeconds"] == {"Fn::If": ["DpopOn", 0, 300]}, lam
assert lam["enableSimpleResponses"] is True and lam["authorizerPayloadFormatVersion"] == "2.0"

# The body CloudFormation hands to API Gateway, per mode, must be valid OpenAPI 3.0.
from openapi_spec_validator import validate  # noqa: E402

for mode in MODES:
    resolved = Evaluator(out, {"AuthorizerMode": mode, "Auth0Domain": "my-tenant.eu.auth0.com"}).value(body)
    try:
        validate(resolved)
    except Exception as error:  # the validator's errors name the JSON path
        where = getattr(error, "json_path", "")
        first = str(error).splitlines()[0][:300]
        sys.exit(f"template.yaml: the API body is not valid OpenAPI 3.0 with AuthorizerMode={mode}: at {where}: {first}")
print(
    f"template.yaml: HTTP API body checked ({len(operations)} routes, CORS from AllowedOrigins, "
    f"valid OpenAPI 3.0 in modes {', '.join(MODES)})"
)
