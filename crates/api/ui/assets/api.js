// The daemon's HTTP API (docs/API.md), same origin only. The browser is signed in by an
// HttpOnly cookie the daemon sets, so requests carry no token: a 401 means "not signed in".

/** An error answer of the API, or a failure to reach it. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const unauthorizedListeners = new Set();

/** Calls `fn` whenever a request is answered 401 (the page is not signed in). */
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
}

/** Reads the error of an answer: `{"error": "…", "code": "…"}` (also `{"error": {code, message}}`). */
async function errorOf(res) {
  let code = `http_${res.status}`;
  let message = `The daemon answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body && typeof body.error === 'string') {
      message = body.error;
      if (typeof body.code === 'string') code = body.code;
    } else if (body && body.error && typeof body.error === 'object') {
      if (typeof body.error.message === 'string') message = body.error.message;
      if (typeof body.error.code === 'string') code = body.error.code;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(res.status, code, message);
}

/**
 * One request. `opts.query`: an object of query parameters (null/undefined ones left out);
 * `opts.json`: a body sent as JSON; `opts.body`: a raw body (a Blob or File) sent as it is.
 * Resolves to the parsed JSON answer (or null for an empty one); rejects with an ApiError.
 */
export async function request(method, path, opts = {}) {
  let url = path;
  if (opts.query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (opts.json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    init.headers['Content-Type'] = opts.body.type || 'application/octet-stream';
    init.body = opts.body;
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the kith daemon. Is it still running?');
  }
  if (res.status === 401) {
    const err = await errorOf(res);
    for (const fn of unauthorizedListeners) fn(err);
    throw err;
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'invalid_answer', 'The daemon sent an answer that is not JSON.');
  }
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, json) => request('POST', path, { json });
export const put = (path, json) => request('PUT', path, { json });
export const del = (path) => request('DELETE', path);

const seg = encodeURIComponent;
// A did goes into a path as it is (docs/API.md: "neither needs escaping"); anything else is
// escaped, so that no text of a page's address can change the path.
const didSeg = (did) => (/^did:key:z[1-9A-HJ-NP-Za-km-z]+$/.test(did) ? did : seg(did));

// The routes the UI uses, one function each (docs/API.md).
export const identity = () => get('/api/v1/identity');
export const status = () => get('/api/v1/status');
export const peers = () => get('/api/v1/peers');

export const createPost = (text, opts = {}) => {
  const body = { text };
  if (opts.replyTo) body.reply_to = opts.replyTo;
  if (opts.anonymous) body.anonymous = true;
  // `followers`, `list:NAME` or comma-separated dids: sealed for them (docs/API.md).
  if (opts.audience) body.audience = opts.audience;
  return post('/api/v1/posts', body);
};
export const entry = (id) => get(`/api/v1/entries/${seg(id)}`);
export const deleteEntry = (id) => del(`/api/v1/entries/${seg(id)}`);
export const thread = (id) => get(`/api/v1/entries/${seg(id)}/thread`);
export const history = (id) => get(`/api/v1/entries/${seg(id)}/history`);
export const react = (id, reaction) => post(`/api/v1/entries/${seg(id)}/reactions`, { reaction });
export const repost = (id, text) =>
  post(`/api/v1/entries/${seg(id)}/reposts`, text === undefined ? {} : { text });
export const edit = (id, text) => post(`/api/v1/entries/${seg(id)}/edits`, { text });
export const resolve = (link) => get('/api/v1/resolve', { link });

export const home = (cursor) => get('/api/v1/timelines/home', { cursor });
export const feed = (did, before) => get(`/api/v1/feeds/${didSeg(did)}`, { before });
export const tagTimeline = (tag, cursor) => get(`/api/v1/tags/${seg(tag)}`, { cursor });
export const publicTimeline = (cursor) => get('/api/v1/public', { cursor });
export const publicSettings = () => get('/api/v1/public/settings');
export const setPublic = (enabled) => put('/api/v1/public/settings', { enabled });
export const notifications = (cursor, limit) => get('/api/v1/notifications', { cursor, limit });

export const following = () => get('/api/v1/follows');
export const follow = (did) => post('/api/v1/follows', { author: did });
export const unfollow = (did) => del(`/api/v1/follows/${didSeg(did)}`);
export const followedTags = () => get('/api/v1/tags');
export const followTag = (tag) => post('/api/v1/tags', { tag });
export const unfollowTag = (tag) => del(`/api/v1/tags/${seg(tag)}`);

export const profile = (did) => get(`/api/v1/profiles/${didSeg(did)}`);
export const setProfile = (fields) => post('/api/v1/profile', fields);
export const uploadBlob = (file) => request('POST', '/api/v1/blobs', { body: file });
export const blobUrl = (id) => `/api/v1/blobs/${seg(id)}`;

export const lists = () => get('/api/v1/lists');
export const createList = (name) => post('/api/v1/lists', { name });
export const deleteList = (name) => del(`/api/v1/lists/${seg(name)}`);
export const addListMember = (name, author) => post(`/api/v1/lists/${seg(name)}/members`, { author });
export const removeListMember = (name, did) => del(`/api/v1/lists/${seg(name)}/members/${didSeg(did)}`);
export const directMessages = (before) => get('/api/v1/dms', { before });
export const sendDirectMessage = (to, text) => post('/api/v1/dms', { to, text });

export const claimName = (name) => post('/api/v1/names', { name });
export const lookupName = (name) => get(`/api/v1/names/${seg(name)}`);
export const releaseName = (name) => del(`/api/v1/names/${seg(name)}`);
