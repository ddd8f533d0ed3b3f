// DOM helpers. Everything is built with createElement and textContent: no HTML string ever
// holds data (posts, names and bios are untrusted text), and nothing sets inline styles
// (the page's Content-Security-Policy forbids them): looks are CSS classes only.

/**
 * Makes an element. `attrs`: `class`, `text`, `on` (an object of event listeners), `dataset`,
 * booleans (`hidden`, `disabled`, … set when true), everything else as an attribute.
 * Children: nodes, strings (text nodes), arrays of them; null/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    else if (k === 'style') throw new Error('inline styles are not allowed');
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const SVG = 'http://www.w3.org/2000/svg';

// Stroke icons on a 24×24 grid, drawn for this UI.
const ICONS = {
  reply: ['M4 5.5h16v10.5H10l-4.5 3.5V16H4z'],
  repost: ['M5 10V8.5A2.5 2.5 0 0 1 7.5 6H18', 'M15 3l3 3-3 3', 'M19 14v1.5a2.5 2.5 0 0 1-2.5 2.5H6', 'M9 21l-3-3 3-3'],
  quote: ['M5 11h4v6H4v-5c0-3 1.5-5 4-6', 'M15 11h4v6h-5v-5c0-3 1.5-5 4-6'],
  heart: ['M12 20s-7.5-4.6-7.5-10A4.3 4.3 0 0 1 12 7.4 4.3 4.3 0 0 1 19.5 10c0 5.4-7.5 10-7.5 10z'],
  edit: ['M4 20h4L19 9l-4-4L4 16z', 'M13.5 6.5l4 4'],
  trash: ['M4.5 7h15', 'M9.5 7V4.5h5V7', 'M6.5 7l1 13h9l1-13', 'M10 11v5.5M14 11v5.5'],
  link: ['M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1.2 1.2', 'M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1.2-1.2'],
  smile: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M8.5 14.5a4.5 4.5 0 0 0 7 0', 'M9 9.5h.01M15 9.5h.01'],
  feed: ['M5 5a14 14 0 0 1 14 14', 'M5 11a8 8 0 0 1 8 8', 'M6 19h.01'],
  copy: ['M9 9h10v11H9z', 'M5 15V4h10'],
  close: ['M6 6l12 12M18 6L6 18'],
  refresh: ['M20 11a8 8 0 1 0-2.3 5.7', 'M20 5v6h-6'],
  at: ['M12 15.8a3.8 3.8 0 1 0 0-7.6 3.8 3.8 0 0 0 0 7.6z', 'M15.8 8.5v4.6a2.7 2.7 0 0 0 5.4 0V12a9.2 9.2 0 1 0-3.6 7.3'],
  follow: ['M10 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M3 21c0-4 3.1-7 7-7s7 3 7 7', 'M19 8v6M16 11h6'],
  globe: ['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M3 12h18', 'M12 3c2.4 2.6 3.7 5.6 3.7 9s-1.3 6.4-3.7 9c-2.4-2.6-3.7-5.6-3.7-9S9.6 5.6 12 3z'],
  lock: ['M6 11h12v9H6z', 'M8.5 11V8a3.5 3.5 0 0 1 7 0v3'],
  message: ['M3.5 6h17v12h-17z', 'M3.5 6.5l8.5 6.5 8.5-6.5'],
};

/** An icon (decorative: hidden from assistive technology; label the control instead). */
export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/** Text only screen readers read. */
export const srOnly = (text) => h('span', { class: 'visually-hidden', text });

// ---- Authors --------------------------------------------------------------------------

export const DID_RE = /^did:key:z[1-9A-HJ-NP-Za-km-z]+$/;
export const isDid = (s) => DID_RE.test(s);

/** `did:key:z6MkpT…x7Qa` */
export function shortDid(did) {
  if (!did) return '';
  const key = did.startsWith('did:key:') ? did.slice(8) : did;
  return key.length > 14 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key;
}

/** A small stable number from a string (picks an avatar colour class). */
export function hue(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) n = (n * 31 + s.charCodeAt(i)) >>> 0;
  return n % 8;
}

// ---- Time -----------------------------------------------------------------------------

const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const yearFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

export function relativeTime(ts, now = Date.now()) {
  const s = Math.round((now - ts) / 1000);
  if (s < 45) return s < -60 ? dayFormat.format(ts) : 'now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const hrs = Math.round(m / 60);
  if (hrs < 24) return `${hrs}h`;
  const d = Math.round(hrs / 24);
  if (d < 7) return `${d}d`;
  const date = new Date(ts);
  return date.getFullYear() === new Date(now).getFullYear() ? dayFormat.format(date) : yearFormat.format(date);
}

export const fullTime = (ts) => fullFormat.format(new Date(ts));

/** `<time>` with the relative time, the exact one in `datetime` and the title; kept fresh. */
export function timeEl(ts) {
  const el = h('time', { datetime: new Date(ts).toISOString(), title: fullTime(ts), dataset: { ts: String(ts) } });
  el.textContent = relativeTime(ts);
  return el;
}

/** Refreshes every relative time on the page. */
export function refreshTimes() {
  const now = Date.now();
  for (const el of document.querySelectorAll('time[data-ts]')) {
    const text = relativeTime(Number(el.dataset.ts), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

export function duration(seconds) {
  const d = Math.floor(seconds / 86400);
  const hr = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

// ---- Text -----------------------------------------------------------------------------

export const MAX_TEXT_BYTES = 16384; // kith_proto::limits::MAX_TEXT_BYTES
const encoder = new TextEncoder();
export const byteLength = (s) => encoder.encode(s).length;

const TAG_CHAR = /[\p{L}\p{N}\p{M}_]/u;

/** A hashtag as typed (`#Rust`, `rust`) normalized: lower case, no `#`; null if not a tag. */
export function normalizeTag(tag) {
  const t = tag.startsWith('#') ? tag.slice(1) : tag;
  if (!t || byteLength(t) > 64 || /^[0-9]+$/.test(t)) return null;
  for (const c of t) if (!TAG_CHAR.test(c)) return null;
  return t.toLowerCase();
}

// One pass over a text finds, in order: URLs, did mentions, @usernames and #hashtags.
const TOKEN = /(https?:\/\/[^\s<>"]+)|(@?did:key:z[1-9A-HJ-NP-Za-km-z]{8,})|(@[A-Za-z][A-Za-z0-9_-]{2,31})|(#[\p{L}\p{N}\p{M}_]+)/gu;

/** Cuts trailing punctuation off a URL (and a `)` with no `(` in it). */
function trimUrl(url) {
  let u = url;
  for (;;) {
    const last = u.at(-1);
    if (/[.,;:!?'"*]/.test(last)) u = u.slice(0, -1);
    else if (last === ')' && (u.match(/\(/g) || []).length < (u.match(/\)/g) || []).length) u = u.slice(0, -1);
    else if (last === ']' && !u.includes('[')) u = u.slice(0, -1);
    else return u;
  }
}

/**
 * The tokens of a post's text: `{type: 'text'|'url'|'did'|'name'|'tag', text, value}`.
 * Hashtags follow the daemon's rule (docs/API.md, kith_proto::text::tags): a `#` at the
 * start or after a character that cannot be part of a tag (nor `#` or `/`).
 */
export function tokenize(text) {
  const out = [];
  let last = 0;
  const push = (type, s, value) => {
    if (!s) return;
    const prev = out.at(-1);
    if (type === 'text' && prev && prev.type === 'text') prev.text += s;
    else out.push({ type, text: s, value });
  };
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index;
    const before = at > 0 ? text[at - 1] : '';
    let token = m[0];
    let type = null;
    let value = null;
    if (m[1]) {
      token = trimUrl(token);
      type = 'url';
      value = token;
    } else if (m[2]) {
      type = 'did';
      value = token.replace(/^@/, '');
    } else if (m[3]) {
      if (!before || !/[\p{L}\p{N}_@./:-]/u.test(before)) {
        type = 'name';
        value = token.slice(1).toLowerCase();
      }
    } else if (m[4]) {
      const tag = normalizeTag(token);
      if (tag && (!before || (!TAG_CHAR.test(before) && before !== '#' && before !== '/'))) {
        type = 'tag';
        value = tag;
      }
    }
    if (!type) continue;
    push('text', text.slice(last, at));
    push(type, token, value);
    last = at + token.length;
  }
  push('text', text.slice(last));
  return out;
}

/** The distinct hashtags of a text, normalized. */
export const tagsIn = (text) => [...new Set(tokenize(text || '').filter((t) => t.type === 'tag').map((t) => t.value))];

// ---- Small pieces -----------------------------------------------------------------------

/** Copies text to the clipboard; resolves to whether it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Calls `fn` on Ctrl+Enter / Cmd+Enter in `el`. */
export function onSubmitKey(el, fn) {
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      fn();
    }
  });
}

let idCounter = 0;
export const uid = (prefix = 'k') => `${prefix}-${++idCounter}`;
