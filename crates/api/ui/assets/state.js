// What the whole page shares: who we are, whom we follow, caches of profiles and entries,
// the messages shown to the user, and the one event stream (Server-Sent Events).

import * as api from './api.js';
import { h, icon } from './dom.js';

export const session = {
  /** GET /api/v1/identity: {author, peer_id, listen_addrs, version} */
  me: null,
  /** The authors followed (GET /api/v1/follows). */
  follows: new Set(),
};

export const isMe = (did) => session.me && did === session.me.author;

// ---- Messages ---------------------------------------------------------------------------

const MAX_ALERTS = 3;

/** Shows an error (an ApiError, an Error, or text) in the alert region. Never silent. */
export function showError(err, context) {
  if (err && err.status === 401) return; // the sign-in screen says it all
  const region = document.getElementById('alert');
  let text = typeof err === 'string' ? err : (err && err.message) || 'Something went wrong.';
  if (context) text = `${context}: ${text}`;
  const code = err && err.code && !String(err.code).startsWith('http_') ? err.code : null;
  const item = h('div', { class: 'toast toast-error' },
    h('p', { class: 'toast-text' }, text, code ? h('span', { class: 'toast-code', text: ` (${code})` }) : null),
    h('button', {
      type: 'button', class: 'icon-button toast-close', 'aria-label': 'Dismiss this message',
      on: { click: () => item.remove() },
    }, icon('close')));
  region.append(item);
  while (region.children.length > MAX_ALERTS) region.firstElementChild.remove();
  // Errors stay until dismissed or replaced, but not forever.
  setTimeout(() => item.remove(), 20000);
  if (!(err instanceof api.ApiError) && err instanceof Error) console.warn(err); // a bug of ours
}

/** Clears the alert region (after navigating, old errors no longer apply). */
export function clearErrors() {
  document.getElementById('alert').replaceChildren();
}

/** A short confirmation ("Posted"), read politely, gone after a few seconds. */
export function notice(content) {
  const region = document.getElementById('notice');
  const item = h('div', { class: 'toast toast-notice' }, h('p', { class: 'toast-text' }, content));
  region.replaceChildren(item);
  setTimeout(() => item.remove(), 5000);
}

/** Says something to screen readers only (new posts arriving). */
export function announce(text) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A fresh text node after a tick is announced even when the text repeats.
  setTimeout(() => { el.textContent = text; }, 50);
}

// ---- Profiles ---------------------------------------------------------------------------

const profiles = new Map(); // did -> Promise<profile|null>
const profileListeners = new Set();

/** The profile of `did` as this peer knows it, or null; cached. */
export function getProfile(did, { fresh = false } = {}) {
  if (fresh || !profiles.has(did)) {
    const p = api.profile(did).catch((err) => {
      if (err.code === 'profile_not_found' || err.status === 404) return null;
      if (err.status !== 401) console.warn(`profile of ${did}:`, err.message);
      profiles.delete(did);
      return null;
    });
    profiles.set(did, p);
  }
  return profiles.get(did);
}

/** Whether the profile of `did` was asked for already (and may be known). */
export const hasProfile = (did) => profiles.has(did);

/** Calls `fn(did, profile)` when a profile is read again (after a `profile` event). */
export function onProfile(fn) {
  profileListeners.add(fn);
  return () => profileListeners.delete(fn);
}

export async function refreshProfile(did) {
  const p = await getProfile(did, { fresh: true });
  for (const fn of profileListeners) fn(did, p);
  return p;
}

// ---- Entries ----------------------------------------------------------------------------

const entries = new Map(); // id -> Promise<entry|null> (the ones cards refer to: parents, repost targets)

/** An entry by id from this peer, or, if it is not held, from the network (resolve). */
export function getEntry(id, { network = false } = {}) {
  const key = `${id}|${network}`;
  if (!entries.has(key)) {
    const p = api.entry(id).catch(async (err) => {
      if (network && err.code === 'entry_not_found') return api.resolve(`kith:${id}`);
      throw err;
    }).catch((err) => {
      entries.delete(key);
      throw err;
    });
    entries.set(key, p);
  }
  return entries.get(key);
}

export function forgetEntry(id) {
  entries.delete(`${id}|false`);
  entries.delete(`${id}|true`);
}

// ---- The event stream -----------------------------------------------------------------------

const subscribers = new Set();
let source = null;
let lastEventId = null;
let retryDelay = 1000;
let retryTimer = null;
let liveState = 'connecting';
const liveListeners = new Set();

/** Calls `fn(name, data, raw)` for every event (`entry`, `notification`, `reset`, `open`). */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

function dispatch(name, data) {
  for (const fn of [...subscribers]) {
    try {
      fn(name, data);
    } catch (err) {
      console.error(err);
    }
  }
}

function setLive(state) {
  liveState = state;
  for (const fn of liveListeners) fn(state);
}

export function onLive(fn) {
  liveListeners.add(fn);
  fn(liveState);
}

/** Opens the event stream (once). The browser reconnects by itself after a network error;
 * if it gives up (the daemon answered with an error), we open it again after a pause,
 * resuming after the last event seen (`last_event_id`). */
export function connectEvents() {
  if (source) return;
  clearTimeout(retryTimer);
  const url = lastEventId ? `/api/v1/events?last_event_id=${encodeURIComponent(lastEventId)}` : '/api/v1/events';
  const es = new EventSource(url);
  source = es;
  setLive('connecting');
  es.addEventListener('open', () => {
    retryDelay = 1000;
    setLive('live');
    dispatch('open', null);
  });
  const handle = (name) => (ev) => {
    if (ev.lastEventId) lastEventId = ev.lastEventId;
    let data = null;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    dispatch(name, data);
  };
  es.addEventListener('entry', handle('entry'));
  es.addEventListener('notification', handle('notification'));
  es.addEventListener('reset', handle('reset'));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up: maybe the daemon restarted, or we are signed out. Ask.
      source = null;
      setLive('offline');
      api.identity().then(() => {
        retryTimer = setTimeout(connectEvents, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
      }, (err) => {
        if (err.status === 401) return; // the sign-in screen takes over
        setLive('reconnecting');
        retryTimer = setTimeout(connectEvents, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
      });
    } else {
      setLive('reconnecting');
    }
  });
}

export function disconnectEvents() {
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
  setLive('offline');
}

// ---- Unread notifications ---------------------------------------------------------------------
// The API keeps no "read" mark, so the page keeps one in this browser: the time of the newest
// notification seen on the Notifications screen.

let unread = 0;
const unreadListeners = new Set();
const seenKey = () => `kith.notifications.seen.${session.me ? session.me.author : ''}`;

function seenTs() {
  try {
    return Number(localStorage.getItem(seenKey()) || 0);
  } catch {
    return 0;
  }
}

function setUnread(n) {
  unread = n;
  for (const fn of unreadListeners) fn(unread);
  setTitle(baseTitle);
}

let baseTitle = 'kith';

/** The page's title: "(3) Home · kith" with 3 unread notifications. */
export function setTitle(title) {
  baseTitle = title;
  const count = unread >= 50 ? '50+' : String(unread);
  document.title = `${unread ? `(${count}) ` : ''}${title}${title === 'kith' ? '' : ' · kith'}`;
}

export function onUnread(fn) {
  unreadListeners.add(fn);
  fn(unread);
}

/** Counts the notifications newer than the mark (the newest 50 at most). */
export async function loadUnread() {
  try {
    const res = await api.notifications(null, 50);
    const seen = seenTs();
    setUnread(res.notifications.filter((n) => n.entry.ts > seen).length);
  } catch (err) {
    showError(err, 'Notifications');
  }
}

/** One more notification arrived (and is not on screen). */
export function bumpUnread(ts) {
  if (ts > seenTs()) setUnread(unread + 1);
}

/** Everything up to `ts` has been seen. */
export function markSeen(ts) {
  try {
    if (ts > seenTs()) localStorage.setItem(seenKey(), String(ts));
  } catch {
    // Storage refused (private mode): the count just starts at zero on the next load.
  }
  setUnread(0);
}
