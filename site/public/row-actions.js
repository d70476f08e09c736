// What a row of a list does without the form: Delete, asked first in the row, and the boxes of
// a service's boolean fields, ticked in place. Each writes the version the user is looking at
// (If-Match), and says so when it was changed elsewhere meanwhile. A panel is given as in
// editor.js.
import { answerOf, callApi, itemUrl } from './api.js';
import { button, h, text } from './dom.js';
import { writeProblem } from './editor.js';
import { fieldsOf } from './fields.js';
import { itemLabel, what } from './services.js';

/** Delete asks first, in the item's row; then deletes the version it showed (If-Match). */
export async function askDelete(panel, item, row) {
  const { service } = panel;
  const actions = row.querySelector('.item-actions');
  // One confirmation at a time: a second click (a double click, a key repeat) brings the
  // question already asked back into focus instead of stacking another.
  const asked = row.querySelector('[data-confirm="delete"]');
  if (asked) {
    asked.querySelector('button').focus();
    return;
  }
  panel.say('');
  let etag = null;
  const confirmRow = (message, label) => h('div', { class: 'confirm', role: 'alert', 'data-confirm': 'delete' },
    h('p', {}, message),
    button(label, () => doDelete(), { class: 'danger' }),
    button('Cancel', () => { confirm.remove(); actions.hidden = false; actions.querySelector('button').focus(); }));
  let confirm = confirmRow(`Delete “${itemLabel(service, item)}”? This cannot be undone.`, 'Delete');
  actions.hidden = true;
  row.append(confirm);
  confirm.querySelector('button').focus();
  // The version to delete: the one the user is looking at (fetched now, for its ETag).
  callApi(itemUrl(service, item.id))
    .then((r) => { if (r.ok) etag = r.headers.get('etag'); })
    .catch(() => {});

  async function doDelete() {
    for (const b of confirm.querySelectorAll('button')) b.disabled = true;
    let response;
    try {
      response = await callApi(itemUrl(service, item.id), { method: 'DELETE', headers: etag ? { 'If-Match': etag } : {} });
    } catch (err) {
      if (err && err.signedOut) return;
      for (const b of confirm.querySelectorAll('button')) b.disabled = false;
      panel.say(`Could not reach the ${what(service)} service: nothing was deleted.`, { keep: true });
      return;
    }
    const answer = await answerOf(response);
    const label = itemLabel(service, item);
    if (response.status === 204 || response.status === 404) {
      // Gone from the list now, as the message says; the reload then fills the page.
      row.remove();
      panel.say(response.status === 204 ? `Deleted “${label}”.` : `“${label}” was already deleted elsewhere.`);
      panel.reload({ focus: true });
      return;
    }
    if (response.status === 412 && answer && answer.current) {
      etag = response.headers.get('etag');
      const replacement = confirmRow(`Changed elsewhere: it is now “${itemLabel(service, answer.current)}”. Delete it anyway?`, 'Delete anyway');
      confirm.replaceWith(replacement);
      confirm = replacement;
      confirm.querySelector('button').focus();
      return;
    }
    panel.say(writeProblem(panel, {}, response.status, text(answer && answer.error)).text, { keep: true });
    confirm.remove();
    actions.hidden = false;
  }
}

/**
 * A box of the row ticked or cleared: the item as the service has it now (GET, for its ETag),
 * saved whole with this field changed (PUT, If-Match). When it changed between the two, the
 * row shows it as it is now and says so; nothing is saved. `redraw(item)` replaces the row.
 */
export async function toggle(panel, item, field, box, redraw) {
  const { service } = panel;
  const wanted = box.checked;
  const label = itemLabel(service, item);
  const undo = (message) => {
    box.checked = !wanted;
    box.disabled = false;
    panel.say(message, { keep: true });
  };
  box.disabled = true;
  try {
    const read = await callApi(itemUrl(service, item.id));
    const current = await answerOf(read);
    if (read.status === 404) {
      panel.say(`“${label}” no longer exists: it was deleted elsewhere.`);
      panel.reload();
      return;
    }
    if (!read.ok || !current || typeof current !== 'object') {
      undo(`Could not change “${label}” (HTTP ${read.status}). Try again.`);
      return;
    }
    const etag = read.headers.get('etag');
    const response = await callApi(itemUrl(service, item.id), {
      method: 'PUT',
      body: { ...fieldsOf(service, current), [field.name]: wanted },
      headers: etag ? { 'If-Match': etag } : {},
    });
    const answer = await answerOf(response);
    if (response.ok && answer && typeof answer === 'object') {
      redraw(answer);
      panel.say(`Saved “${itemLabel(service, answer)}”: ${wanted ? '' : 'not '}${field.label.toLocaleLowerCase('en')}.`);
      return;
    }
    if (response.status === 412) {
      // Changed between the read and the write: show it as it is now; the user decides again.
      if (answer && answer.current && typeof answer.current === 'object') redraw(answer.current);
      else panel.reload();
      panel.say(`“${label}” was changed elsewhere meanwhile: it is shown as it is now, and nothing was changed.`);
      return;
    }
    if (response.status === 404) {
      panel.say(`“${label}” no longer exists: it was deleted elsewhere.`);
      panel.reload();
      return;
    }
    undo(writeProblem(panel, {}, response.status, text(answer && answer.error)).text);
  } catch (err) {
    if (err && err.signedOut) return;
    undo(`Could not reach the ${what(service)} service: nothing was changed.`);
  }
}
