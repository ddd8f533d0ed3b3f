// kith's web interface: start-up, the router (`#/home`, `#/thread/<id>`, `#/profile/<did>`,
// `#/notifications`, `#/tags/<tag>`, `#/public`, `#/names`, `#/messages`, `#/lists`, `#/peers`),
// the header (live status, unread count) and the sign-in screen.

import * as api from './api.js';
import { refreshTimes } from './dom.js';
import {
  session, subscribe, connectEvents, disconnectEvents, onLive, refreshProfile, clearErrors,
  showError, loadUnread, onUnread, bumpUnread, setTitle,
} from './state.js';
import { installLiveUpdates } from './cards.js';
import * as views from './views.js';

const viewEl = document.getElementById('view');
const nav = document.getElementById('site-nav');
let current = null; // {scope}
let signedOut = false;
let firstRoute = true;

/** The screen's lifetime: event subscriptions and clean-ups end when the user leaves it. */
function makeScope() {
  const disposers = [];
  const scope = {
    alive: true,
    subscribe(fn) {
      disposers.push(subscribe(fn));
    },
    onDispose(fn) {
      disposers.push(fn);
    },
    reload() {
      if (scope.alive) route();
    },
    dispose() {
      scope.alive = false;
      for (const fn of disposers.splice(0)) {
        try {
          fn();
        } catch (err) {
          console.error(err);
        }
      }
    },
  };
  return scope;
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parses `#/name/rest…`. */
function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = hash.split('/');
  return { name: name || 'home', param: decode(rest.join('/')) };
}

const ROUTES = {
  home: (scope) => views.homeView(scope),
  thread: (scope, p) => (p ? views.threadView(scope, p) : views.notFoundView()),
  profile: (scope, p) => views.profileView(scope, p || session.me.author),
  notifications: (scope) => views.notificationsView(scope),
  tags: (scope, p) => (p ? views.tagView(scope, p) : views.notFoundView()),
  public: (scope) => views.publicView(scope),
  names: (scope) => views.namesView(scope),
  messages: (scope) => views.messagesView(scope),
  lists: (scope) => views.listsView(scope),
  peers: (scope) => views.peersView(scope),
};

function route() {
  if (signedOut || !session.me) return;
  const { name, param } = parseHash();
  if (current) current.scope.dispose();
  clearErrors();
  const scope = makeScope();
  const make = ROUTES[name] || views.notFoundView;
  let view;
  try {
    view = make(scope, param);
  } catch (err) {
    showError(err);
    view = views.notFoundView();
  }
  current = { scope };
  viewEl.replaceChildren(view.el);
  setTitle(view.title);
  // The nav shows where we are.
  const active = name === 'profile' && (param === session.me.author || !param) ? 'me' : name;
  for (const a of nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route === active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!firstRoute) {
    window.scrollTo(0, 0);
    viewEl.querySelector('h1')?.focus({ preventScroll: true });
  }
  firstRoute = false;
}

function signIn() {
  if (signedOut) return;
  signedOut = true;
  if (current) current.scope.dispose();
  current = null;
  disconnectEvents();
  nav.hidden = true;
  clearErrors();
  const view = views.signInView();
  viewEl.replaceChildren(view.el);
  setTitle('Sign in');
  setLiveText('offline');
}

const live = document.getElementById('live-status');
function setLiveText(state) {
  live.dataset.state = state;
  live.textContent = state === 'live' ? 'live' : state === 'offline' ? 'offline' : state === 'connecting' ? 'connecting' : 'reconnecting';
  live.title = state === 'live'
    ? 'Connected to the daemon’s event stream: new posts appear as they arrive'
    : 'Not connected to the daemon’s event stream; new posts appear once it reconnects';
}

function startupError(err) {
  setLiveText('offline');
  viewEl.replaceChildren();
  const retry = document.createElement('button');
  retry.type = 'button';
  retry.className = 'button button-primary';
  retry.textContent = 'Try again';
  retry.addEventListener('click', () => location.reload());
  const box = document.createElement('div');
  box.className = 'panel empty-state';
  const h1 = document.createElement('h1');
  h1.className = 'view-title';
  h1.textContent = 'Cannot reach the daemon';
  const p = document.createElement('p');
  p.className = 'muted';
  p.textContent = err.message;
  box.append(h1, p, retry);
  viewEl.append(box);
  showError(err);
}

async function boot() {
  api.onUnauthorized(signIn);
  try {
    session.me = await api.identity();
  } catch (err) {
    if (err.status === 401) signIn();
    else startupError(err);
    return;
  }
  nav.hidden = false;
  document.getElementById('nav-me').href = `#/profile/${session.me.author}`;
  try {
    session.follows = new Set((await api.following()).following);
  } catch (err) {
    showError(err);
  }

  onLive(setLiveText);
  const badge = document.getElementById('unread-badge');
  onUnread((n) => {
    badge.hidden = n === 0;
    badge.textContent = n >= 50 ? '50+' : String(n);
    const sr = document.createElement('span');
    sr.className = 'visually-hidden';
    sr.textContent = ' unread';
    badge.append(sr);
  });
  installLiveUpdates(refreshProfile);
  subscribe((name, data) => {
    if (name === 'notification' && data && data.entry && parseHash().name !== 'notifications') {
      bumpUnread(data.entry.ts);
    }
    // Follows made elsewhere (the CLI, another tab): read the list again.
    if (name === 'entry' && data && data.local && (data.kind === 'follow' || data.kind === 'unfollow')) {
      api.following().then((res) => { session.follows = new Set(res.following); }, () => {});
    }
    if (name === 'reset') loadUnread();
  });
  connectEvents();
  loadUnread();
  window.addEventListener('hashchange', route);
  route();
  setInterval(refreshTimes, 30000);
}

boot();
