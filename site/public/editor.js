// The add and edit form of a panel: one input per field of the service (its type picks the
// input, services.yaml its limits), saving with an Idempotency-Key or If-Match, the field the
// service refused marked from its structured answer, and a change made elsewhere shown for the
// user to apply their edit to or drop. A panel (panels.js) is given as
// { service, node(), say(text), reload(options) }.
import { answerOf, callApi, errorCode, itemUrl, listUrl } from './api.js';
import { button, fill, h, text } from './dom.js';
import { bodyOf, emptyValues, valueInWords, valuesOf } from './fields.js';
import { itemLabel, quotaText, what } from './services.js';
import { allowEditing, permitted } from './session.js';

/** The input each field type gets (a text field whose autocomplete is `tel` gets a phone keypad). */
const INPUT_TYPES = { text: 'text', email: 'email', emails: 'text', time: 'datetime-local', date: 'date' };
const HINTS = { emails: 'E-mail addresses, separated by commas' };

/**
 * Opens the form. `state`: { mode: 'add' | 'edit', id, etag, values }. A create's
 * Idempotency-Key is made here, once, and kept for every retry until the create succeeds or the
 * user gives up, so that a retry after a lost answer never adds twice.
 */
export function openEditor(panel, state) {
  const node = panel.node();
  if (!node) return;
  const values = state.values || emptyValues(panel.service);
  const editor = {
    mode: state.mode,
    id: state.id || null,
    etag: state.etag || null,
    values: { ...values },
    // What the form showed when opened: a conflict re-applies only what the user changed.
    original: { ...values },
    key: state.mode === 'add' ? crypto.randomUUID() : null,
    busy: false,
  };
  // A new action: what the panel said about the last one is no longer news.
  panel.say('');
  renderEditor(panel, editor, {});
  node.querySelector('.editor-slot input, .editor-slot textarea').focus();
}

function closeEditor(panel, message) {
  const node = panel.node();
  if (!node) return;
  const slot = node.querySelector('.editor-slot');
  // Focus was in the form: keep it in the panel, on the button that opens a form again.
  const hadFocus = slot.contains(document.activeElement);
  fill(slot);
  if (hadFocus) (node.querySelector('[data-action="add"]') || node.querySelector('h2')).focus();
  if (message !== undefined) panel.say(message);
}

function input(field, id, value, attrs) {
  if (field.type === 'multiline') {
    return h('textarea', { ...attrs, id, name: field.name, rows: 3, maxlength: field.max, autocomplete: field.autocomplete || 'off', value });
  }
  if (field.type === 'boolean') return h('input', { ...attrs, id, name: field.name, type: 'checkbox', checked: value === true });
  const type = field.type === 'text' && field.autocomplete === 'tel' ? 'tel' : INPUT_TYPES[field.type];
  return h('input', {
    ...attrs, id, name: field.name, type, value,
    // An `emails` field's max counts addresses, not characters.
    maxlength: field.type === 'emails' ? null : field.max,
    autocomplete: field.autocomplete || 'off',
  });
}

function renderEditor(panel, editor, { errors = {}, problem = null, conflict = null }) {
  const node = panel.node();
  if (!node) return;
  const { service } = panel;
  const title = editor.mode === 'add' ? `New ${service.one}` : `Edit ${service.one}`;
  const formId = `editor-${service.name}`;
  const inputs = service.fields.map((f) => {
    const id = `${formId}-${f.name}`;
    const error = errors[f.name];
    const hint = HINTS[f.type];
    const control = input(f, id, editor.values[f.name], {
      required: f.required,
      'aria-invalid': error ? 'true' : undefined,
      'aria-describedby': [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined,
    });
    const label = h('label', { for: id }, f.label, f.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null);
    return h('div', { class: `field${f.type === 'boolean' ? ' check' : ''}${error ? ' invalid' : ''}` },
      f.type === 'boolean' ? [control, label] : [label, control],
      hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
      error ? h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': f.name }, error) : null);
  });
  const form = h('form', {
    class: 'editor', id: formId, novalidate: true, 'aria-label': title,
    onsubmit: (ev) => { ev.preventDefault(); save(panel, editor); },
  },
  h('h3', {}, title),
  problem ? h('div', { class: `problem ${problem.kind || 'error'}`, role: 'alert', 'data-problem': problem.code },
    h('p', {}, problem.text), problem.actions ? h('div', { class: 'actions' }, problem.actions) : null) : null,
  conflict,
  h('div', { class: 'fields' }, inputs),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'primary', disabled: editor.busy }, editor.busy ? 'Saving…' : 'Save'),
    button('Cancel', () => closeEditor(panel, ''))));
  // Keep what the user types in the editor's state: a redraw never loses it.
  const keep = (ev) => {
    if (!(ev.target.name in editor.values)) return;
    editor.values[ev.target.name] = ev.target.type === 'checkbox' ? ev.target.checked : ev.target.value;
  };
  form.addEventListener('input', keep);
  form.addEventListener('change', keep);
  // Escape closes the form, as Cancel does (a save under way finishes on its own).
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !editor.busy) {
      ev.preventDefault();
      closeEditor(panel, '');
    }
  });
  fill(node.querySelector('.editor-slot'), form);
}

function focusFirstError(panel) {
  const node = panel.node();
  const control = node && node.querySelector('.editor-slot .field.invalid :is(input, textarea)');
  if (control) control.focus();
}

const sentence = (s) => (s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s);

/**
 * The words next to a field the service refused (400 with `field`, maybe `index`, `rule`): the
 * rules every field of a type has, in the form's words; a service's own rule in its words.
 * The entry of a list is named by its number, as the user counts.
 */
function refusal(field, answer, sent) {
  const index = Number.isInteger(answer.index) && answer.index >= 0 ? answer.index : null;
  const value = sent[field.name];
  const entry = index !== null && Array.isArray(value) && typeof value[index] === 'string' ? value[index] : null;
  const which = index === null ? null : `Entry ${index + 1}${entry ? ` (“${entry}”)` : ''}`;
  const rule = text(answer.rule);
  if (rule === 'email') return which ? `${which} is not an e-mail address.` : `“${text(value)}” is not an e-mail address.`;
  if (rule === 'duplicate' && which) return `${which} is listed twice.`;
  if (rule === 'required' || rule === 'empty') return `${field.label} is required.`;
  if (rule === 'too_long' && !which && field.max) return `${field.label} is longer than ${field.max} characters.`;
  if (rule === 'too_many' && field.max) return `${field.label}: at most ${field.max} entries.`;
  const description = sentence(text(answer.error_description)) || 'Not accepted.';
  return which ? `${which}: ${description}` : description;
}

async function save(panel, editor, { overEtag } = {}) {
  if (editor.busy) return;
  const { service } = panel;
  const { body, errors } = bodyOf(service, editor.values);
  if (Object.keys(errors).length) {
    renderEditor(panel, editor, { errors });
    focusFirstError(panel);
    return;
  }
  editor.busy = true;
  renderEditor(panel, editor, {});
  const adding = editor.mode === 'add';
  const etag = overEtag || editor.etag;
  let response;
  try {
    response = await callApi(adding ? listUrl(service) : itemUrl(service, editor.id), {
      method: adding ? 'POST' : 'PUT',
      body,
      headers: adding ? { 'Idempotency-Key': editor.key } : (etag ? { 'If-Match': etag } : {}),
    });
  } catch (err) {
    editor.busy = false;
    if (err && err.signedOut) return;
    renderEditor(panel, editor, { problem: { code: 'unreachable', text: adding
      ? `Could not reach the ${what(service)} service, so Organizer cannot tell whether the ${service.one} was added. Save again: it will not be added twice.`
      : `Could not reach the ${what(service)} service: nothing was changed. Save again when you are back online.` } });
    return;
  }
  editor.busy = false;
  const answer = await answerOf(response);
  if (response.ok) {
    const saved = answer && typeof answer === 'object' ? answer : null;
    closeEditor(panel);
    // Said once the list shows it: "Added" never stands above a list without the item.
    await panel.reload({ focus: true, saved });
    panel.say(`${adding ? 'Added' : 'Saved'} “${itemLabel(service, saved || body)}”.`);
    return;
  }
  const code = text(answer && answer.error);
  if (response.status === 400 && code === 'invalid_request') {
    // The field comes from the answer's `field`, never from its words.
    const field = service.fields.find((f) => f.name === text(answer.field));
    if (field) {
      renderEditor(panel, editor, { errors: { [field.name]: refusal(field, answer, body) } });
      focusFirstError(panel);
    } else {
      const description = sentence(text(answer.error_description)) || 'Invalid request.';
      renderEditor(panel, editor, { problem: { code, text: `The ${what(service)} service refused it: ${description}` } });
    }
    return;
  }
  if (response.status === 412 && answer && answer.current && typeof answer.current === 'object') {
    showConflict(panel, editor, answer.current, response.headers.get('etag'));
    return;
  }
  renderEditor(panel, editor, { problem: writeProblem(panel, editor, response.status, code) });
}

/** What a refused write means, in words, with what the user can do about it. */
export function writeProblem(panel, editor, status, code) {
  const { service } = panel;
  if (status === 409 && code === 'quota_exceeded') {
    return { code, text: `You have reached the limit of ${quotaText(service)}. Delete some ${service.many} to make room.` };
  }
  if (status === 403) {
    return { code: 'forbidden', text: `Organizer is not allowed to change your ${what(service)}: this sign-in does not grant ${service.scopes.write}.`,
      actions: permitted(service.scopes.write) ? [button('Allow editing', () => allowEditing())] : null };
  }
  if (status === 404) {
    return { code: 'not_found', text: `This ${service.one} no longer exists: it was deleted elsewhere.`,
      actions: editor.mode ? [button(`Add it as a new ${service.one}`, () => {
        Object.assign(editor, { mode: 'add', id: null, etag: null, key: crypto.randomUUID() });
        save(panel, editor);
      })] : null };
  }
  if (status === 422 && code === 'idempotency_key_reused') {
    return { code, text: `An earlier try of this form was saved after all, with the values it had then. Close the form to see it, or add these values as another ${service.one}.`,
      actions: [button(`Add as another ${service.one}`, () => {
        editor.key = crypto.randomUUID();
        save(panel, editor);
      })] };
  }
  if (status === 413) return { code: 'payload_too_large', text: 'That is more than Organizer can save at once. Shorten some fields.' };
  return { code: code || 'error', text: `The ${what(service)} service answered with an error (HTTP ${status}${code ? `: ${code}` : ''}). Nothing was changed; try again in a moment.` };
}

/** 412: someone saved this item after the form was opened. Show theirs; the user chooses. */
function showConflict(panel, editor, current, etag) {
  const { service } = panel;
  const theirs = h('div', { class: 'conflict', role: 'alert', 'data-problem': 'changed_elsewhere' },
    h('p', {}, h('strong', {}, 'Changed elsewhere. '),
      `This ${service.one} was changed in another tab or application after you opened it. It is now as below; `
      + 'your changes can be applied to this version, or discarded.'),
    h('dl', { class: 'current' }, service.fields.flatMap((f) => [
      h('dt', {}, f.label), h('dd', {}, valueInWords(f, current[f.name]) || '—')])),
    h('div', { class: 'actions' },
      button('Apply my changes to it', () => {
        // Their version, with the fields this form changed set to this form's values.
        const now = valuesOf(service, current);
        const merged = { ...now };
        for (const f of service.fields) {
          if (editor.values[f.name] !== editor.original[f.name]) merged[f.name] = editor.values[f.name];
        }
        Object.assign(editor, { values: merged, original: now, etag });
        save(panel, editor);
      }, { class: 'primary' }),
      button('Discard my changes', () => {
        closeEditor(panel, 'Your changes were discarded.');
        panel.reload({ focus: true });
      })));
  renderEditor(panel, editor, { conflict: theirs });
  const node = panel.node();
  if (node) node.querySelector('.conflict button').focus();
}

/** Edit: the item as it is now (and its ETag) from the service, not from the list. */
export async function editItem(panel, id, trigger) {
  const { service } = panel;
  trigger.disabled = true;
  let response;
  try {
    response = await callApi(itemUrl(service, id));
  } catch (err) {
    trigger.disabled = false;
    if (!(err && err.signedOut)) panel.say(`Could not reach the ${what(service)} service to open it. Try again.`, { keep: true });
    return;
  }
  trigger.disabled = false;
  const item = await answerOf(response);
  if (response.status === 404) {
    panel.say(`That ${service.one} no longer exists: it was deleted elsewhere.`);
    panel.reload();
    return;
  }
  if (!response.ok || !item || typeof item !== 'object') {
    panel.say(`Could not open it (HTTP ${response.status}${errorCode(item)}). Try again.`, { keep: true });
    return;
  }
  openEditor(panel, { mode: 'edit', id, etag: response.headers.get('etag'), values: valuesOf(service, item) });
}
