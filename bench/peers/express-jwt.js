// The seed sample's stack: express + express-jwt + jwks-rsa, RS256 tokens of the dev tenant,
// keys from its JWKS (cached by jwks-rsa), GET /contacts answering the same JSON as ours.
'use strict';

const express = require('express');
const { expressjwt } = require('express-jwt');
const jwksRsa = require('jwks-rsa');
const { issuer, audience, body, hasScope, listen } = require('./common');

const app = express();
app.disable('x-powered-by');

const checkJwt = expressjwt({
  secret: jwksRsa.expressJwtSecret({
    cache: true,
    rateLimit: true,
    jwksRequestsPerMinute: 5,
    jwksUri: `${issuer}.well-known/jwks.json`,
  }),
  audience,
  issuer,
  algorithms: ['RS256'],
});

app.get('/contacts', checkJwt, (req, res) => {
  if (!hasScope(req.auth.scope, 'read:contacts')) {
    res.status(403).json({ error: 'insufficient_scope' });
    return;
  }
  res.json(body);
});

app.use((err, req, res, next) => {
  if (err.name === 'UnauthorizedError') {
    res.status(401).json({ error: 'invalid_token' });
    return;
  }
  next(err);
});

listen(app, 'express + express-jwt + jwks-rsa');
