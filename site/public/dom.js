// The page, drawn: elements built from data and filled with text. Every other module draws, and
// none needs to know more of the DOM than this. Nothing given here is ever parsed as HTML:
// children become text nodes, attributes are set one by one.

/** An element: `attrs` are attributes, `on…` keys listeners; children are nodes or text. */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'value') node.value = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces a node's children, leaving out the null/false/undefined of optional parts (given
 * to replaceChildren as such, they become the text "null"). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** A value from outside as text: a string, or nothing. */
export const text = (value) => (typeof value === 'string' ? value : '');

export const button = (label, onclick, extra = {}) => h('button', { type: 'button', onclick, ...extra }, label);

export const main = () => document.getElementById('app');
export const account = () => document.getElementById('account');

const TITLES = { loading: 'Organizer', error: 'Organizer: error', 'signed-out': 'Organizer: logged out', 'signed-in': 'Organizer' };

export function setState(state) {
  document.body.dataset.state = state;
  document.title = TITLES[state] || 'Organizer';
  main().setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
}

/** Bumped whenever the page is redrawn: answers that arrive for an older view are dropped. */
let generation = 0;

/** A new view of the page in `state`; what was drawn before is no longer current. */
export function newView(state) {
  generation += 1;
  setState(state);
  return { generation };
}

export const isCurrent = (view) => view.generation === generation;
