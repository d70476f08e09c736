// What the app knows of the services: only what config.json's `services` says (services.yaml's
// public part, built by the server). This module checks that list's shape and words it for
// people; no service is named anywhere in the app.

/** The field types of services.yaml: each has its own input and its own way to be shown. */
const KINDS = ['text', 'multiline', 'email', 'emails', 'time', 'date', 'boolean'];

const OIDC = ['openid', 'profile', 'email'];

const isText = (v) => typeof v === 'string' && v.length > 0;

/** config.json's `services`, checked: an error names the entry and what is wrong with it. */
export function readServices(value) {
  if (!Array.isArray(value) || value.length === 0) throw new Error('config.json has no "services".');
  const names = new Set();
  return value.map((s, i) => {
    const at = (what) => new Error(`config.json: services[${i}]: ${what}.`);
    if (!s || typeof s !== 'object') throw at('not an object');
    // The name is a path of the API and part of element ids: letters, digits, hyphens.
    if (!isText(s.name) || !/^[a-z0-9-]{1,64}$/.test(s.name) || names.has(s.name)) throw at('"name" is missing, repeated or not a-z, 0-9, -');
    names.add(s.name);
    for (const key of ['title', 'one', 'many']) if (!isText(s[key])) throw at(`"${key}" is missing`);
    if (!Number.isInteger(s.quota) || s.quota < 1) throw at('"quota" is not a positive integer');
    for (const kind of ['read', 'write']) {
      if (!s.scopes || !s.scopes[kind] || !isText(s.scopes[kind].name)) throw at(`"scopes.${kind}.name" is missing`);
    }
    if (!Array.isArray(s.fields) || s.fields.length === 0) throw at('"fields" is empty');
    const fields = s.fields.map((f, j) => {
      if (!f || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(f.name) || !isText(f.label)) throw at(`fields[${j}] has no name or label`);
      if (!KINDS.includes(f.type)) throw at(`fields[${j}]: unknown type ${JSON.stringify(f.type)}`);
      return {
        name: f.name,
        label: f.label,
        type: f.type,
        required: f.required === true,
        max: Number.isInteger(f.max) && f.max > 0 ? f.max : null,
        autocomplete: isText(f.autocomplete) ? f.autocomplete : null,
      };
    });
    const list = s.list && typeof s.list === 'object' ? s.list : {};
    const filters = (Array.isArray(list.filters) ? list.filters : [])
      .filter((f) => f && isText(f.name)
        && (f.type === 'time' || f.type === 'search' || (f.type === 'choice' && Array.isArray(f.values) && f.values.length)))
      .map((f) => ({
        name: f.name,
        type: f.type,
        values: Array.isArray(f.values) ? f.values.filter(isText) : [],
        default: isText(f.default) ? f.default : null,
        appDefault: isText(f.app_default) ? f.app_default : null,
        description: isText(f.description) ? f.description : '',
      }));
    return {
      name: s.name,
      title: s.title,
      one: s.one,
      many: s.many,
      quota: s.quota,
      scopes: { read: s.scopes.read.name, write: s.scopes.write.name },
      // What each scope lets the app do, in the API's words (services.yaml's descriptions).
      scopeWords: {
        [s.scopes.read.name]: isText(s.scopes.read.description) ? s.scopes.read.description : s.scopes.read.name,
        [s.scopes.write.name]: isText(s.scopes.write.description) ? s.scopes.write.description : s.scopes.write.name,
      },
      fields,
      list: { filters, empty: isText(list.empty) ? list.empty : null },
    };
  });
}

/** How sentences name a service: "your contacts", "the calendar service". */
export const what = (service) => service.title.toLocaleLowerCase('en');

/** "contacts and calendar", "contacts, calendar, and tasks". */
export function namesInWords(services, each = what) {
  return new Intl.ListFormat('en', { type: 'conjunction' }).format(services.map(each));
}

const COUNTS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** A small count in words, as in "two services". */
export const countInWords = (n) => COUNTS[n] || String(n);

/** What the sign-in scopes let the app know of the user, in words. */
const OIDC_WORDS = {
  openid: 'Know that it is you when you log in',
  profile: 'See your name',
  email: 'See your e-mail address',
  offline_access: 'Keep you logged in without asking again',
};

/** A granted scope as what it lets the app do; a scope nobody described stays as it is. */
export function scopeInWords(services, scope) {
  const described = services.find((s) => Object.hasOwn(s.scopeWords, scope));
  return described ? described.scopeWords[scope] : (OIDC_WORDS[scope] || scope);
}

/** The scope to ask for when config.json names none: every service's read and write scope. */
export function everyScope(services) {
  return [...OIDC, ...services.map((s) => s.scopes.read), ...services.map((s) => s.scopes.write)].join(' ');
}

/** The scope without the services' write scopes: what an older consent may still cover. */
export function withoutWriteScopes(scope, services) {
  const writes = new Set(services.map((s) => s.scopes.write));
  return scope.split(' ').filter((s) => s && !writes.has(s)).join(' ');
}

/** "5,000 contacts": the most one user may hold. */
export const quotaText = (service) => `${new Intl.NumberFormat().format(service.quota)} ${service.many}`;

/** The field that names an item: the first required text field (else the first text field). */
export function labelField(service) {
  return service.fields.find((f) => f.type === 'text' && f.required)
    || service.fields.find((f) => f.type === 'text')
    || null;
}

/** What an item is called in messages and button names. */
export function itemLabel(service, item) {
  const field = labelField(service);
  if (!field) return service.one;
  const value = item && typeof item[field.name] === 'string' ? item[field.name] : '';
  return value || `(no ${field.label.toLocaleLowerCase('en')})`;
}
