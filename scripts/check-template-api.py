"""Translates template.yaml with the SAM translator (offline) and checks what sam validate
cannot: that the HTTP API's OpenAPI body has every route of ROUTES with its integration and a
security choice per AuthorizerMode, that the Lambda authorizer's cache key includes the route,
that CORS origins still come from the AllowedOrigins parameter (SAM's CorsConfiguration property
would freeze the parameter's default at transform time), and that the body, resolved for each
AuthorizerMode, is a valid OpenAPI 3.0 document, so that API Gateway imports it without warnings
(the API has FailOnWarnings: true, so a warning fails the deployment)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cfn_eval import Evaluator, read_template, translate  # noqa: E402

# The API's routes: (method, path) -> (function that serves it, scope the JWT authorizer asks).
# A new route is one row here (and its path and method in template.yaml); the checks below then
# require its integration, its security in every AuthorizerMode, its method in CORS and an
# invoke permission that covers it.
ROUTES = {
    ("get", "/contacts"): ("ContactsFunction", "read:contacts"),
    ("get", "/contacts/{id}"): ("ContactsFunction", "read:contacts"),
    ("get", "/calendar"): ("CalendarFunction", "read:calendar"),
    ("get", "/calendar/{id}"): ("CalendarFunction", "read:calendar"),
}
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
operations = {(m, p) for p, item in body["paths"].items() for m in item if m != "parameters"}
assert operations == set(ROUTES), f"routes in the body {sorted(operations)} != ROUTES {sorted(ROUTES)}"
for (method, route), (function, scope) in ROUTES.items():
    op = body["paths"][route][method]
    assert method.upper() in cors["allowMethods"], (route, method, cors["allowMethods"])
    uri = json.dumps(op["x-amazon-apigateway-integration"]["uri"])
    assert f"${{{function}.Arn}}" in uri, (route, uri)
    assert op["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    assert op.get("responses"), f"{method} {route}: no responses (an import warning)"
    security = op["security"]["Fn::If"]
    assert security[0] == "UseLambdaAuthorizer" and security[1] == [{"LambdaAuthorizer": []}], (route, security)
    jwt = security[2]["Fn::If"]
    assert jwt == ["UseJwtAuthorizer", [{"JwtAuthorizer": [scope]}], []], (route, jwt)
    permissions = [
        r["Properties"]["SourceArn"]["Fn::Sub"]
        for r in out["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == {"Ref": function}
    ]
    prefix = route.split("{")[0].rstrip("/")
    assert any(arn.endswith(f"/*/*{prefix}*") for arn in permissions), (route, permissions)
schemes = body["components"]["securitySchemes"]["Fn::If"]
lam = schemes[1]["LambdaAuthorizer"]["x-amazon-apigateway-authorizer"]
assert "$context.routeKey" in lam["identitySource"], lam
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
    f"template.yaml: HTTP API body checked ({len(ROUTES)} routes, CORS from AllowedOrigins, "
    f"valid OpenAPI 3.0 in modes {', '.join(MODES)})"
)
