// A service listed by time (services.yaml: two `time` filters, its lower and upper bound, as the
// calendar's `from` and `to`) is shown as a calendar: what is coming up, or one week at a time,
// moving back and forth, under a heading per day ("Today", "Tomorrow", "Monday, December 7").
// Days are the browser's: a week starts on Monday at midnight, local time.
import { h, text } from './dom.js';

/** The service's lower and upper time bounds, when it has both: else it is a plain list. */
export function rangeOf(service) {
  const times = service.list.filters.filter((f) => f.type === 'time');
  return times.length >= 2 ? { lower: times[0].name, upper: times[1].name } : null;
}

/** The field items are placed in days by: the service's first time field. */
export const timeField = (service) => service.fields.find((f) => f.type === 'time') || null;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Midnight of `date`'s day, local time. */
function midnight(date) {
  const d = new Date(date);
  d.setHours(0, 0, 0, 0);
  return d;
}

/** `date` moved by whole days, at local midnight (days of 23 or 25 hours included). */
function addDays(date, days) {
  const d = new Date(date);
  d.setDate(d.getDate() + days);
  return midnight(d);
}

/** The Monday of `date`'s week, at midnight. */
function weekOf(date) {
  const d = midnight(date);
  return addDays(d, -((d.getDay() + 6) % 7));
}

const pad = (n) => String(n).padStart(2, '0');
/** A local day as YYYY-MM-DD: the key a day's items are grouped by. */
const dayKey = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const weekDays = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', year: 'numeric' });
const longDay = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const longDayYear = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });

/** What a panel shows of a time-listed service: `upcoming` (from today on) or one `week`. */
export class RangeState {
  constructor(bounds) {
    this.bounds = bounds;
    this.mode = 'upcoming';
    this.week = weekOf(new Date());
  }

  /** Shows `mode`; a week view opens on this week. */
  show(mode) {
    this.mode = mode;
    this.week = weekOf(new Date());
  }

  /** Moves by `weeks` (0: back to this week). */
  step(weeks) {
    this.week = weeks === 0 ? weekOf(new Date()) : addDays(this.week, 7 * weeks);
  }

  isThisWeek() {
    return dayKey(this.week) === dayKey(weekOf(new Date()));
  }

  /** "Nov 30 – Dec 6, 2026". */
  label() {
    return weekDays.formatRange(this.week, addDays(this.week, 6));
  }

  /** The days a week view lists, each even when nothing is on it. */
  days() {
    return this.mode === 'week' ? [0, 1, 2, 3, 4, 5, 6].map((i) => addDays(this.week, i)) : [];
  }
}

/** The list's time bounds: from today on, or the week's seven days. */
export function rangeQuery(range) {
  const { lower, upper } = range.bounds;
  if (range.mode === 'week') return { [lower]: iso(range.week), [upper]: iso(addDays(range.week, 7)) };
  return { [lower]: iso(midnight(new Date())) };
}

/** "Today", "Tomorrow", "Yesterday" or nothing: how people call the days next to today. */
function nearName(day) {
  const days = Math.round((midnight(day) - midnight(new Date())) / DAY_MS);
  return { 0: 'Today', 1: 'Tomorrow', [-1]: 'Yesterday' }[days] || null;
}

function dayHeading(day) {
  const long = (day.getFullYear() === new Date().getFullYear() ? longDay : longDayYear).format(day);
  const near = nearName(day);
  return h('h3', { class: 'day-title' }, near ? [h('span', { class: 'near' }, near), ' ', h('span', { class: 'date' }, long)] : long);
}

/**
 * The items under a heading per day, in the order the API listed them (by start). A week view
 * lists its seven days, an empty one as such; the upcoming view only days with something on.
 * `row(item)` draws an item's row.
 */
export function groupByDay(range, field, items, row) {
  const groups = new Map(range.days().map((d) => [dayKey(d), { day: d, items: [] }]));
  const undated = [];
  for (const item of items) {
    const at = field ? new Date(text(item[field.name])) : new Date(NaN);
    if (Number.isNaN(at.getTime())) {
      undated.push(item);
      continue;
    }
    const key = dayKey(at);
    if (!groups.has(key)) groups.set(key, { day: midnight(at), items: [] });
    groups.get(key).items.push(item);
  }
  const sections = [...groups.values()].map(({ day, items: those }) => h('section', {
    class: `day${nearName(day) === 'Today' ? ' today' : ''}`, 'data-day': dayKey(day),
  },
  dayHeading(day),
  those.length ? h('ul', { class: 'items' }, those.map(row)) : h('p', { class: 'free' }, 'Nothing planned.')));
  if (undated.length) sections.push(h('section', { class: 'day' }, h('h3', { class: 'day-title' }, 'No date'), h('ul', { class: 'items' }, undated.map(row))));
  return h('div', { class: 'days' }, sections);
}
