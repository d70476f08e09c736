// The field types of services.yaml in the app: how a value of each type is shown in a list, put
// in a form and sent back to the API. Only types, never a field's name: a service's new field
// of a known type needs nothing here.
import { h, text } from './dom.js';
import { labelField } from './services.js';

const pad = (n) => String(n).padStart(2, '0');
const lower = (label) => label.toLocaleLowerCase('en');

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
// A date has no time of day: shown as written, whatever the browser's time zone.
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

function formatTime(value) {
  const date = new Date(text(value));
  return Number.isNaN(date.getTime()) ? text(value) : when.format(date);
}

const hour = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const sameDay = (a, b) => a.toDateString() === b.toDateString();

/**
 * "Nov 27, 2026, 11:00 AM – 12:30 PM": the date once when both ends share it; under that day's
 * heading (`underDay`), "11:00 AM – 12:30 PM".
 */
function formatRange(start, end, underDay) {
  const a = new Date(text(start));
  const b = new Date(text(end));
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime()) || b < a) {
    return [formatTime(start), formatTime(end)].filter(Boolean).join(' – ');
  }
  return (underDay && sameDay(a, b) ? hour : when).formatRange(a, b);
}

const isDate = (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(new Date(`${value}T00:00:00Z`).getTime());

function formatDate(value) {
  return isDate(text(value)) ? day.format(new Date(`${value}T00:00:00Z`)) : text(value);
}

/** An RFC 3339 time as the value of a datetime-local input, in the browser's time zone. */
function toLocalInput(value) {
  const d = new Date(text(value));
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value as RFC 3339 with the browser's offset at that moment. */
function fromLocalInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return null;
  const minutes = -d.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const seconds = value.length === 16 ? ':00' : '';
  return `${value}${seconds}${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

const addresses = (value) => (Array.isArray(value) ? value.filter((a) => typeof a === 'string') : []);

/** The entries of an `emails` field as typed: what the body sends, in that order. */
const entriesOf = (raw) => String(raw).split(/[\s,;]+/).filter(Boolean);

/** A new item's form: empty text, unchecked boxes. */
export function emptyValues(service) {
  return Object.fromEntries(service.fields.map((f) => [f.name, f.type === 'boolean' ? false : '']));
}

/** An item as the form's values. */
export function valuesOf(service, item) {
  const values = {};
  for (const f of service.fields) {
    const v = item[f.name];
    if (f.type === 'time') values[f.name] = toLocalInput(v);
    else if (f.type === 'date') values[f.name] = isDate(text(v)) ? v : '';
    else if (f.type === 'emails') values[f.name] = addresses(v).join(', ');
    else if (f.type === 'boolean') values[f.name] = v === true;
    else values[f.name] = text(v);
  }
  return values;
}

/**
 * The form's values as the API's body, or the errors found before sending. Only what any field
 * of its type needs (required, a date and a time that parse): rules between fields are the
 * service's, and its answer names the field.
 */
export function bodyOf(service, values) {
  const body = {};
  const errors = {};
  for (const f of service.fields) {
    if (f.type === 'boolean') {
      body[f.name] = values[f.name] === true;
      continue;
    }
    const raw = String(values[f.name] ?? '').trim();
    if (f.required && !raw) {
      errors[f.name] = `${f.label} is required.`;
      continue;
    }
    if (!raw) continue;
    if (f.type === 'time') {
      const time = fromLocalInput(raw);
      if (time) body[f.name] = time;
      else errors[f.name] = `${f.label}: enter a date and a time.`;
    } else if (f.type === 'date') {
      if (isDate(raw)) body[f.name] = raw;
      else errors[f.name] = `${f.label}: enter a date.`;
    } else if (f.type === 'emails') {
      body[f.name] = entriesOf(raw);
    } else {
      body[f.name] = raw;
    }
  }
  return { body, errors };
}

/** An item's fields as a PUT sends them back: the manifest's fields only, as the API has them. */
export function fieldsOf(service, item) {
  const body = {};
  for (const f of service.fields) {
    const v = item[f.name];
    if (f.type === 'boolean') body[f.name] = v === true;
    else if (f.type === 'emails') body[f.name] = addresses(v);
    else if (typeof v === 'string' && v) body[f.name] = v;
  }
  return body;
}

/** A value in words, as the "it is now" list of a conflict shows it. */
export function valueInWords(field, value) {
  if (field.type === 'time') return formatTime(value);
  if (field.type === 'date') return formatDate(value);
  if (field.type === 'emails') return addresses(value).join(', ');
  if (field.type === 'boolean') return value === true ? 'Yes' : 'No';
  return text(value);
}

/**
 * The line under an item's name: its other fields, in the manifest's order. Two time fields in
 * a row are one range; a lone time or a date is named ("due Dec 5, 2026"); addresses are "with
 * …"; long text shows its first line; a box is words ("done", "not done") unless `toggles`
 * shows it as a checkbox of its own. Under a day's heading (`underDay`) a range on that day is
 * its hours only. Given as text and elements, for h().
 */
export function metaOf(service, item, { toggles = false, underDay = false } = {}) {
  const label = labelField(service);
  const fields = service.fields.filter((f) => f !== label && !(toggles && f.type === 'boolean'));
  const parts = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = item[f.name];
    if (f.type === 'time' && fields[i + 1] && fields[i + 1].type === 'time') {
      if (text(v) || text(item[fields[i + 1].name])) parts.push(formatRange(v, item[fields[i + 1].name], underDay));
      i += 1;
    } else if (f.type === 'time' || f.type === 'date') {
      if (text(v)) parts.push(`${lower(f.label)} ${f.type === 'time' ? formatTime(v) : formatDate(v)}`);
    } else if (f.type === 'emails') {
      if (addresses(v).length) parts.push(`with ${addresses(v).join(', ')}`);
    } else if (f.type === 'multiline') {
      parts.push(text(v).trim().split('\n')[0]);
    } else if (f.type === 'boolean') {
      parts.push(v === true ? lower(f.label) : `not ${lower(f.label)}`);
    } else if (f.autocomplete === 'tel' && text(v)) {
      // A phone number is read as one: it never breaks across lines.
      parts.push(h('span', { class: 'whole' }, text(v)));
    } else {
      parts.push(text(v));
    }
  }
  return parts.filter(Boolean).flatMap((part, i) => (i ? [' · ', part] : [part]));
}
