// What both peers share: configuration from the environment, the answer of GET /contacts
// (the same JSON the Rust API answered for the benchmark's token, read from a file), the
// whole-word scope check the Rust API applies, and start-up.
'use strict';

const fs = require('node:fs');

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`error: ${name} is not set (run scripts/bench-http.sh)`);
    process.exit(1);
  }
  return value;
}

const issuer = required('ISSUER'); // e.g. http://localhost:4000/ (with its slash, as in `iss`)
const audience = process.env.AUDIENCE || 'organize';
const port = Number(required('PORT'));
const body = JSON.parse(fs.readFileSync(required('CONTACTS_BODY'), 'utf8'));

// Scopes are whole words of `scope`, as in the Rust API (never a substring match).
function hasScope(scope, wanted) {
  return typeof scope === 'string' && scope.split(' ').includes(wanted);
}

function listen(app, name) {
  app.listen(port, '127.0.0.1', () => {
    console.log(`${name} listening on http://127.0.0.1:${port}`);
  });
}

module.exports = { issuer, audience, port, body, hasScope, listen };
