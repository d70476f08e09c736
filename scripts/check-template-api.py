"""Translates template.yaml with the SAM translator (offline) and checks what sam validate
cannot: that the HTTP API's OpenAPI body has every route with its integration and a security
choice per AuthorizerMode, that the Lambda authorizer's cache key includes the route, and that
CORS origins still come from the AllowedOrigins parameter (SAM's CorsConfiguration property
would freeze the parameter's default at transform time)."""
import json
import os
import re
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Local CodeUris are uploaded by sam deploy; the translator wants an S3 location.
text = re.sub(r"CodeUri: \S+", "CodeUri: s3://bucket/function.zip", open(sys.argv[1]).read())


class Policies:
    def load(self):
        return {}


out = transform(yaml_parse(text), {}, Policies())
api = out["Resources"]["Api"]
assert api["Type"] == "AWS::ApiGatewayV2::Api", api["Type"]
body = api["Properties"]["Body"]
cors = body["x-amazon-apigateway-cors"]
assert cors["allowOrigins"] == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]}, cors
routes = {
    "/contacts": ("ContactsFunction", "read:contacts"),
    "/contacts/{id}": ("ContactsFunction", "read:contacts"),
    "/calendar": ("CalendarFunction", "read:calendar"),
    "/calendar/{id}": ("CalendarFunction", "read:calendar"),
}
assert set(body["paths"]) == set(routes), sorted(body["paths"])
for path, (function, scope) in routes.items():
    op = body["paths"][path]["get"]
    uri = json.dumps(op["x-amazon-apigateway-integration"]["uri"])
    assert f"${{{function}.Arn}}" in uri, (path, uri)
    assert op["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    security = op["security"]["Fn::If"]
    assert security[0] == "UseLambdaAuthorizer" and security[1] == [{"LambdaAuthorizer": []}], (path, security)
    jwt = security[2]["Fn::If"]
    assert jwt == ["UseJwtAuthorizer", [{"JwtAuthorizer": [scope]}], []], (path, jwt)
schemes = body["components"]["securitySchemes"]["Fn::If"]
lam = schemes[1]["LambdaAuthorizer"]["x-amazon-apigateway-authorizer"]
assert "$context.routeKey" in lam["identitySource"], lam
assert lam["enableSimpleResponses"] is True and lam["authorizerPayloadFormatVersion"] == "2.0"
print(f"template.yaml: HTTP API body checked ({len(routes)} routes, CORS from AllowedOrigins)")
