// Auth0's express-oauth2-jwt-bearer: RS256 tokens of the dev tenant, keys from its JWKS,
// GET /contacts answering the same JSON as ours.
'use strict';

const express = require('express');
const { auth, requiredScopes } = require('express-oauth2-jwt-bearer');
const { issuer, audience, body, listen } = require('./common');

const app = express();
app.disable('x-powered-by');

app.use(
  auth({
    issuer,
    audience,
    jwksUri: `${issuer}.well-known/jwks.json`,
    tokenSigningAlg: 'RS256',
  }),
);

app.get('/contacts', requiredScopes('read:contacts'), (req, res) => {
  res.json(body);
});

listen(app, 'express + express-oauth2-jwt-bearer');
