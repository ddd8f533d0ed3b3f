// The screens. Each takes a `scope` (its lifetime: `scope.subscribe` listens to the event
// stream until the user leaves, `scope.onDispose` cleans up) and returns
// `{title, el}`; the router in app.js puts `el` into <main>.

import * as api from './api.js';
import {
  h, replace, icon, shortDid, timeEl, duration, isDid, normalizeTag, tagsIn,
  copyText, uid, byteLength,
} from './dom.js';
import {
  session, isMe, getProfile, refreshProfile, onProfile, showError, notice, announce,
  markSeen, getEntry, setTitle,
} from './state.js';
import {
  avatar, authorLink, displayName, richText, composer, entryCard, pagedList, threadHref,
} from './cards.js';

const TIMELINE_KINDS = new Set(['post', 'reply', 'repost']);

/** A sealed post or reply this identity reads: a timeline item too (a message is not). */
const readableSealedPost = (e) => e.kind === 'sealed' && e.sealed?.readable && e.sealed.inner_kind !== 'dm';
/** A reply, public or sealed and readable (its `parent` and `root` are then the inner entry's). */
const isReply = (e) => e.kind === 'reply' || (readableSealedPost(e) && e.sealed.inner_kind === 'reply');

// ---- Shared pieces ------------------------------------------------------------------------------

function viewHead(title, { sub = null, actions = null, icon: iconName = null } = {}) {
  const h1 = h('h1', { class: 'view-title', tabindex: '-1' }, iconName ? icon(iconName) : null, title);
  return h('div', { class: 'view-head' },
    h('div', { class: 'view-head-text' }, h1, sub ? h('p', { class: 'view-sub' }, sub) : null),
    actions ? h('div', { class: 'view-head-actions' }, actions) : null);
}

function errorState(err, retry) {
  return h('div', { class: 'panel empty-state' },
    h('p', { class: 'empty-title', text: 'This could not be loaded.' }),
    h('p', { class: 'muted', text: err.message }),
    retry ? h('button', { type: 'button', class: 'button button-secondary', text: 'Try again', on: { click: retry } }) : null);
}

/** Announces new live entries, a few at a time. */
function liveAnnouncer() {
  let count = 0;
  let timer = null;
  let who = '';
  return (entry) => {
    count += 1;
    who = shortDid(entry.author);
    if (isMe(entry.author) || session.follows.has(entry.author)) {
      getProfile(entry.author).then((p) => { who = displayName(entry.author, p); });
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      announce(count === 1 ? `New post${who ? ` from ${who}` : ''}` : `${count} new posts`);
      count = 0;
    }, 800);
  };
}

/** The follow box: a username, a DID or a #hashtag. */
export function followBox() {
  const id = uid('follow');
  const input = h('input', {
    id, type: 'text', name: 'follow', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'follow-input',
    placeholder: 'alice or did:key:z6Mk…', 'aria-describedby': `${id}-hint`,
  });
  const button = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'follow-submit', text: 'Follow' });
  const result = h('p', { class: 'follow-result muted', id: `${id}-hint`, text: 'A username, a did:key, or a #hashtag.' });
  const form = h('form', { class: 'panel follow-box', novalidate: true },
    h('label', { for: id, class: 'field-label', text: 'Follow a username or DID' }),
    h('div', { class: 'input-row' }, input, button),
    result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const raw = input.value.trim();
    if (!raw) {
      showError('Type a username (like alice), a did:key:z6Mk… identity or a #hashtag to follow.');
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Following…';
    try {
      if (raw.startsWith('#')) {
        const tag = normalizeTag(raw);
        if (!tag) throw new api.ApiError(400, 'invalid_tag', `${raw} is not a hashtag: letters, digits and _ only.`);
        await api.followTag(tag);
        replace(result, 'Following ', h('a', { href: `#/tags/${encodeURIComponent(tag)}`, text: `#${tag}` }), '.');
        notice(`Following #${tag}`);
      } else {
        let did = raw;
        if (!isDid(raw)) {
          const name = raw.replace(/^@/, '');
          replace(result, `Looking up @${name} on the network…`);
          const claim = await api.lookupName(name);
          did = claim.owner;
        }
        // Known as followed before the answer: their entries start arriving at once.
        const had = session.follows.has(did);
        session.follows.add(did);
        try {
          await api.follow(did);
        } catch (err) {
          if (!had) session.follows.delete(did);
          throw err;
        }
        replace(result, 'Following ', authorLink(did), '. Their posts arrive in your timeline as they are fetched.');
        notice('Followed');
      }
      input.value = '';
    } catch (err) {
      replace(result, 'A username, a did:key, or a #hashtag.');
      showError(err);
    } finally {
      button.disabled = false;
      button.textContent = 'Follow';
    }
  });
  return form;
}

/** A timeline screen's live part: inserts the entries `accept` lets through. */
function liveInto(scope, tl, accept) {
  const say = liveAnnouncer();
  scope.subscribe((name, data) => {
    if (name === 'reset') {
      tl.restart();
      return;
    }
    if (name !== 'entry' || !data || !accept(data)) return;
    if (tl.insert(data) && !data.local) say(data);
  });
}

/**
 * Who a new post is for: everyone, followers only, or one of this peer's lists (sealed for
 * them, docs/API.md "Sealed entries"). `select.value` is the API's `audience` ('' = public).
 */
function audiencePicker(scope) {
  const id = uid('audience');
  const select = h('select', { id, class: 'audience-select', 'data-testid': 'compose-audience' },
    h('option', { value: '', text: 'Everyone' }),
    h('option', { value: 'followers', text: 'Followers only' }));
  const lists = h('optgroup', { label: 'Lists' });
  const mark = h('span', { class: 'audience-mark' });
  const el = h('span', { class: 'audience-box' },
    h('span', { class: 'audience' }, h('label', { for: id, class: 'visually-hidden', text: 'Audience' }), mark, select),
    h('a', { href: '#/lists', class: 'small', text: 'Lists' }));
  const sync = () => {
    el.firstElementChild.classList.toggle('sealed', select.value !== '');
    replace(mark, icon(select.value === '' ? 'globe' : 'lock'));
    select.title = select.value === ''
      ? 'Public: anyone can read it'
      : 'End-to-end encrypted: only this audience (and you) can read it; peers relay it unreadable';
  };
  select.addEventListener('change', sync);
  sync();
  api.lists().then((res) => {
    if (!scope.alive || res.lists.length === 0) return;
    for (const list of res.lists) {
      const n = list.members.length;
      lists.append(h('option', { value: `list:${list.name}`, text: `${list.name} (${n} ${n === 1 ? 'person' : 'people'})` }));
    }
    select.append(lists);
  }, (err) => showError(err, 'Loading your lists'));
  return {
    el,
    select,
    describe: () => (select.value === 'followers' ? 'your followers'
      : select.value.startsWith('list:') ? `the list ${select.value.slice(5)}` : 'everyone'),
  };
}

// ---- Home ----------------------------------------------------------------------------------------------

export function homeView(scope) {
  const me = session.me.author;
  const tl = pagedList({
    label: 'Home timeline',
    load: async (cursor) => {
      const res = await api.home(cursor);
      return { items: res.entries, next: res.next };
    },
    render: (e, o) => entryCard(e, { ...o, onReply: (r) => tl.insert(r) }),
    empty: () => [
      h('strong', { text: 'Your timeline is empty. ' }),
      'Write a post above, or follow someone: their posts show here as they arrive. ',
      h('a', { href: '#/public', text: 'See the public timeline' }), '.',
    ],
  });

  const anonId = uid('anon');
  const anon = h('input', { type: 'checkbox', id: anonId, class: 'checkbox' });
  const anonBox = h('span', { class: 'check' }, anon,
    h('label', { for: anonId, text: 'Anonymous', title: 'Sign with a one-time key: readers do not learn it is you (your peers can still tell). It cannot be edited or deleted.' }));
  const audience = audiencePicker(scope);
  // An anonymous post is public by nature: the two choices exclude each other.
  const syncChoices = () => {
    audience.select.disabled = anon.checked;
    anon.disabled = audience.select.value !== '';
  };
  anon.addEventListener('change', syncChoices);
  audience.select.addEventListener('change', syncChoices);
  const form = composer({
    label: 'New post', hideLabel: true, placeholder: 'What’s on your mind?', submitText: 'Post',
    textTestId: 'compose-text', submitTestId: 'compose-submit', rows: 3, extra: [audience.el, anonBox],
    onSubmit: async (text) => {
      const anonymous = anon.checked;
      // The audience stays chosen for the next post: a post meant to be private must never
      // go out public because the choice was reset.
      const sealedFor = anonymous ? '' : audience.select.value;
      const entry = await api.createPost(text, { anonymous, audience: sealedFor || undefined });
      if (anonymous) {
        anon.checked = false;
        syncChoices();
        notice(['Posted anonymously. ', h('a', { href: `/p/${entry.id}`, target: '_blank', rel: 'noopener noreferrer', text: 'Open its permalink' })]);
      } else {
        tl.insert(entry);
        notice(sealedFor ? `Posted, end-to-end encrypted for ${audience.describe()}` : 'Posted');
      }
    },
  });
  const compose = h('section', { class: 'panel compose-card', 'aria-label': 'Write a post' },
    h('div', { class: 'compose-grid' }, avatar(me), form));

  liveInto(scope, tl, (e) => (TIMELINE_KINDS.has(e.kind) || readableSealedPost(e))
    && (e.author === me || session.follows.has(e.author)));
  tl.start();
  return {
    title: 'Home',
    el: h('div', { class: 'stack' }, viewHead('Home'), compose, followBox(), h('div', { class: 'panel list-panel' }, tl.el)),
  };
}

// ---- Thread ---------------------------------------------------------------------------------------------

export function threadView(scope, id) {
  const container = h('div', { class: 'thread', 'data-testid': 'thread', 'aria-busy': 'true' });
  const note = h('div', { class: 'thread-note', hidden: true });
  const el = h('div', { class: 'stack' }, viewHead('Thread'), note, h('div', { class: 'panel thread-panel' }, container));
  const nodes = new Map(); // id -> children container
  const MAX_DEPTH = 5;

  const place = (entry, depth, parentBox) => {
    const card = entryCard(entry, { replyContext: false, onReply: (r) => addReply(r, true), isNew: depth < 0 });
    const children = h('div', { class: 'thread-children' });
    const node = h('div', { class: `thread-node${depth === 0 ? ' thread-root' : ''}`, dataset: { id: entry.id, ts: String(entry.ts) } }, card, children);
    parentBox.append(node);
    // Deep threads stop indenting: replies past MAX_DEPTH line up with their parent.
    nodes.set(entry.id, { box: depth >= MAX_DEPTH ? parentBox : children, depth });
    return card;
  };

  const addReply = (entry, live) => {
    if (!isReply(entry) || nodes.has(entry.id)) return;
    const parent = nodes.get(entry.parent);
    if (!parent) return;
    const card = place(entry, parent.depth + 1, parent.box);
    if (live) {
      card.classList.add('is-new');
      if (!entry.local) announce('New reply in this thread');
    }
  };

  const load = async () => {
    container.setAttribute('aria-busy', 'true');
    try {
      const res = await api.thread(id);
      nodes.clear();
      container.replaceChildren();
      const list = res.entries;
      const first = list[0];
      note.hidden = true;
      if (first && first.id === id && isReply(first) && first.root && first.root !== id) {
        note.hidden = false;
        replace(note, h('a', { class: 'button button-secondary', href: `#/thread/${first.root}`, text: '↑ Show the whole thread' }));
      } else if (!first || first.id !== id) {
        note.hidden = false;
        replace(note, h('p', { class: 'muted', text: 'The entry itself is not held on this peer (or its author is muted); these are the replies to it that are.' }));
      }
      for (const e of list) {
        if (nodes.has(e.parent)) addReply(e, false);
        else place(e, 0, container);
      }
    } catch (err) {
      showError(err);
      replace(container, errorState(err, load));
    } finally {
      container.setAttribute('aria-busy', 'false');
    }
  };
  scope.subscribe((name, data) => {
    if (name === 'reset') load();
    else if (name === 'entry' && data) addReply(data, true);
  });
  load();
  return { title: 'Thread', el };
}

// ---- Profile ---------------------------------------------------------------------------------------------------

export function profileView(scope, param) {
  const el = h('div', { class: 'stack' });
  if (isDid(param)) {
    renderProfile(scope, el, param);
  } else {
    const name = param.replace(/^@/, '').toLowerCase();
    el.append(viewHead(`@${name}`), h('p', { class: 'panel pad muted', 'aria-busy': 'true', text: `Looking up @${name} on the network…` }));
    api.lookupName(name).then((claim) => {
      if (!scope.alive) return;
      el.replaceChildren();
      renderProfile(scope, el, claim.owner);
    }, (err) => {
      showError(err);
      el.replaceChildren(viewHead(`@${name}`), errorState(err, () => { location.hash = `#/profile/${name}`; scope.reload(); }));
    });
  }
  return { title: isDid(param) ? 'Profile' : `@${param}`, el };
}

function renderProfile(scope, el, did) {
  const mine = isMe(did);
  const title = h('h1', { class: 'view-title profile-name', tabindex: '-1', text: shortDid(did) });
  const handle = h('p', { class: 'profile-handle' });
  const bio = h('div', { class: 'profile-bio' });
  const didLine = h('p', { class: 'profile-did' },
    h('code', { class: 'mono', text: did }),
    h('button', {
      type: 'button', class: 'icon-button', 'aria-label': 'Copy the DID', title: 'Copy the DID',
      on: { click: async () => notice((await copyText(did)) ? 'DID copied' : 'Copy failed: select the DID by hand') },
    }, icon('copy')));
  const actions = h('div', { class: 'profile-actions' });
  const editSlot = h('div', { class: 'profile-edit-slot' });
  const big = avatar(did, 'xl');
  const card = h('section', { class: 'panel profile-card', 'aria-label': 'Profile' },
    h('div', { class: 'profile-top' }, big, h('div', { class: 'profile-ident' }, title, handle)),
    bio, didLine, actions, editSlot);

  const fill = (p) => {
    title.textContent = displayName(did, p);
    setTitle(displayName(did, p));
    replace(handle,
      p && p.username ? h('span', { class: 'username', text: `@${p.username}` }) : null,
      p && p.username ? h('span', { class: 'verify muted', text: '' }) : null,
      mine ? h('span', { class: 'you-badge', text: 'you' }) : null);
    if (p && p.username) verifyName(p.username, did, handle.querySelector('.verify'));
    replace(bio, p && p.bio ? richText(p.bio) : []);
    bio.hidden = !(p && p.bio);
  };
  fill(null);
  getProfile(did).then((p) => { if (scope.alive) fill(p); });
  scope.onDispose(onProfile((d, p) => { if (d === did && scope.alive) fill(p); }));

  // Follow / unfollow.
  if (!mine) {
    const follow = h('button', { type: 'button', class: 'button button-primary', text: 'Follow' });
    const show = () => {
      const on = session.follows.has(did);
      follow.textContent = on ? 'Unfollow' : 'Follow';
      follow.className = on ? 'button button-secondary' : 'button button-primary';
    };
    show();
    api.following().then((res) => {
      session.follows = new Set(res.following);
      show();
    }, showError);
    follow.addEventListener('click', async () => {
      follow.disabled = true;
      try {
        if (session.follows.has(did)) {
          await api.unfollow(did);
          session.follows.delete(did);
          notice('Unfollowed');
        } else {
          session.follows.add(did);
          try {
            await api.follow(did);
          } catch (err) {
            session.follows.delete(did);
            throw err;
          }
          notice('Following: their feed is being fetched');
        }
      } catch (err) {
        showError(err);
      } finally {
        follow.disabled = false;
        show();
      }
    });
    actions.append(follow);
  }
  actions.append(h('a', { class: 'button button-ghost', href: `/feeds/${did}.atom`, type: 'application/atom+xml' }, icon('feed'), 'Atom feed'));

  if (mine) {
    const toggle = h('button', { type: 'button', class: 'button button-secondary', 'aria-expanded': 'false', text: 'Edit profile' });
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', String(!open));
      if (open) editSlot.replaceChildren();
      else getProfile(did).then((p) => {
        const form = profileForm(p, () => {
          toggle.setAttribute('aria-expanded', 'false');
          editSlot.replaceChildren();
          toggle.focus();
        });
        editSlot.replaceChildren(form);
        form.querySelector('input')?.focus();
      });
    });
    actions.prepend(toggle);
  }

  const tl = pagedList({
    label: 'Posts',
    load: async (before) => {
      const res = await api.feed(did, before);
      return { items: res.entries, next: res.next };
    },
    render: (e, o) => entryCard(e, { ...o, onReply: () => {} }),
    empty: () => (mine || session.follows.has(did)
      ? 'No posts yet.'
      : ['This peer holds no posts of this author yet. Follow them to fetch their feed.']),
  });
  liveInto(scope, tl, (e) => e.author === did && TIMELINE_KINDS.has(e.kind));
  tl.start();
  el.append(card, h('div', { class: 'panel list-panel' }, h('h2', { class: 'list-title', text: 'Posts' }), tl.el));
}

/** Marks a username as confirmed by the registry (or not), quietly: a lookup can be slow. */
function verifyName(name, did, el) {
  if (!el) return;
  el.textContent = '';
  api.lookupName(name).then((claim) => {
    if (claim.owner === did) {
      el.textContent = ' ✓ confirmed';
      el.title = 'The name registry says this name belongs to this identity';
      el.classList.add('ok');
    } else {
      el.textContent = ' ⚠ not confirmed';
      el.title = 'The name registry gives this name to another identity';
    }
  }, () => {
    el.title = 'The name registry could not be asked';
  });
}

function profileForm(p, close) {
  const nameId = uid('pname');
  const bioId = uid('pbio');
  const fileId = uid('pfile');
  const name = h('input', { id: nameId, type: 'text', name: 'name', autocomplete: 'nickname', maxlength: '128' });
  name.value = (p && p.name) || '';
  const bio = h('textarea', { id: bioId, name: 'bio', rows: 4 });
  bio.value = (p && p.bio) || '';
  const file = h('input', { id: fileId, type: 'file', name: 'avatar', accept: 'image/png,image/jpeg,image/gif,image/webp', class: 'file-input' });
  const preview = h('span', { class: 'avatar avatar-lg avatar-preview', hidden: true, 'aria-hidden': 'true' });
  let previewUrl = null;
  file.addEventListener('change', () => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    const f = file.files[0];
    if (!f) {
      preview.hidden = true;
      return;
    }
    previewUrl = URL.createObjectURL(f);
    replace(preview, h('img', { src: previewUrl, alt: '' }));
    preview.hidden = false;
  });
  const save = h('button', { type: 'submit', class: 'button button-primary', text: 'Save profile' });
  const form = h('form', { class: 'profile-form', novalidate: true },
    h('h2', { class: 'panel-title', text: 'Edit your profile' }),
    h('div', { class: 'field' }, h('label', { for: nameId, class: 'field-label', text: 'Display name' }), name),
    h('div', { class: 'field' }, h('label', { for: bioId, class: 'field-label', text: 'Bio' }), bio),
    h('div', { class: 'field' }, h('label', { for: fileId, class: 'field-label', text: 'Avatar (PNG, JPEG, GIF or WebP, up to 4 MiB)' }),
      h('div', { class: 'row' }, preview, file)),
    h('p', { class: 'muted small', text: 'Fields cannot be cleared, only replaced. Your profile is published to your followers like a post.' }),
    h('div', { class: 'row' }, save, h('button', { type: 'button', class: 'button button-ghost', text: 'Cancel', on: { click: close } })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fields = {};
    const n = name.value.trim();
    const b = bio.value.trim();
    if (n && n !== ((p && p.name) || '')) fields.name = n;
    if (b && b !== ((p && p.bio) || '')) fields.bio = b;
    if (n && byteLength(n) > 128) return showError('The display name is too long: at most 128 bytes.');
    if (b && byteLength(b) > 4096) return showError('The bio is too long: at most 4096 bytes.');
    const f = file.files[0];
    if (f && f.size > 4 * 1024 * 1024) return showError('The image is too large: at most 4 MiB.');
    if (!f && Object.keys(fields).length === 0) return showError('Nothing changed: change the name, the bio or the avatar first.');
    save.disabled = true;
    save.textContent = f ? 'Uploading…' : 'Saving…';
    try {
      if (f) {
        const blob = await api.uploadBlob(f);
        fields.avatar = blob.id;
        save.textContent = 'Saving…';
      }
      await api.setProfile(fields);
      await refreshProfile(session.me.author);
      notice('Profile saved');
      close();
    } catch (err) {
      showError(err);
    } finally {
      save.disabled = false;
      save.textContent = 'Save profile';
    }
  });
  return form;
}

// ---- Notifications -----------------------------------------------------------------------------------------------------

const NOTE = {
  reply: ['reply', 'replied to your post'],
  reaction: ['heart', 'reacted to your post'],
  repost: ['repost', 'reposted your post'],
  follow: ['follow', 'followed you'],
  mention: ['at', 'mentioned you'],
  message: ['message', 'sent you a message'],
};

function notificationItem(n, opts) {
  const e = n.entry;
  const [iconName, verb] = NOTE[n.kind] || ['smile', n.kind];
  let what = verb;
  if (n.kind === 'reaction' && e.reaction) what = `reacted ${e.reaction} to your post`;
  if (n.kind === 'repost' && e.text != null) what = 'quoted your post';
  const item = h('article', {
    class: `notification note-${n.kind}${opts.isNew ? ' is-new' : ''}`, 'data-testid': 'notification',
    dataset: { id: e.id, ts: String(e.ts), kind: n.kind },
  });
  const line = h('div', { class: 'note-line' },
    h('span', { class: `note-icon note-icon-${n.kind}` }, icon(iconName)),
    h('p', { class: 'note-text' }, avatar(e.author, 'sm'), ' ', authorLink(e.author, { handle: false }), ` ${what} `,
      h('span', { class: 'dot', 'aria-hidden': 'true', text: '·' }), ' ', timeEl(e.ts)));
  item.append(line);
  if (n.kind === 'reply' || n.kind === 'mention' || n.kind === 'message' || (n.kind === 'repost' && e.text != null)) {
    item.append(entryCard(e, { replyContext: false }));
  } else if ((n.kind === 'reaction' || n.kind === 'repost') && e.target) {
    const slot = h('div', { class: 'note-target' });
    item.append(slot);
    getEntry(e.target).then((t) => replace(slot,
      h('a', { class: 'note-excerpt', href: threadHref(t) }, (t.text || '').slice(0, 280) || 'your post')), () => {});
  } else if (n.kind === 'follow' && !session.follows.has(e.author)) {
    const back = h('button', { type: 'button', class: 'button button-secondary button-small', text: 'Follow back' });
    back.addEventListener('click', async () => {
      back.disabled = true;
      try {
        await api.follow(e.author);
        session.follows.add(e.author);
        back.textContent = 'Following';
        notice('Followed');
      } catch (err) {
        back.disabled = false;
        showError(err);
      }
    });
    item.append(h('div', { class: 'note-target' }, back));
  }
  return item;
}

export function notificationsView(scope) {
  let newest = 0;
  const seen = (ts) => {
    newest = Math.max(newest, ts);
    markSeen(newest);
  };
  const tl = pagedList({
    label: 'Notifications',
    testid: 'notifications',
    load: async (cursor) => {
      const res = await api.notifications(cursor);
      for (const n of res.notifications) seen(n.entry.ts);
      return { items: res.notifications.map((n) => ({ id: n.entry.id, ts: n.entry.ts, n })), next: res.next };
    },
    render: (item, o) => notificationItem(item.n, o),
    empty: 'No notifications yet. Replies, reactions, reposts, mentions and new followers show here.',
  });
  scope.subscribe((name, data) => {
    if (name === 'reset') tl.restart();
    if (name !== 'notification' || !data || !data.entry) return;
    if (tl.insert({ id: data.entry.id, ts: data.entry.ts, n: data })) {
      announce(`New notification: ${data.kind}`);
    }
    seen(data.entry.ts);
  });
  markSeen(Date.now());
  tl.start();
  return {
    title: 'Notifications',
    el: h('div', { class: 'stack' }, viewHead('Notifications'), h('div', { class: 'panel list-panel' }, tl.el)),
  };
}

// ---- Tags -------------------------------------------------------------------------------------------------------------------------

export function tagView(scope, raw) {
  const tag = normalizeTag(raw);
  if (!tag) {
    const err = new api.ApiError(400, 'invalid_tag', `“${raw}” is not a hashtag: letters, digits and _ only, not only digits.`);
    showError(err);
    return { title: 'Hashtag', el: h('div', { class: 'stack' }, viewHead('Hashtag'), errorState(err)) };
  }
  const btn = h('button', { type: 'button', class: 'button button-primary', text: 'Follow #' + tag, disabled: true });
  let followed = false;
  const show = () => {
    btn.textContent = followed ? `Unfollow #${tag}` : `Follow #${tag}`;
    btn.className = followed ? 'button button-secondary' : 'button button-primary';
  };
  api.followedTags().then((res) => {
    followed = res.tags.includes(tag);
    btn.disabled = false;
    show();
  }, showError);
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const res = followed ? await api.unfollowTag(tag) : await api.followTag(tag);
      followed = res.tags.includes(tag);
      notice(followed ? `Following #${tag}: its posts reach this peer from anyone` : `No longer following #${tag}`);
    } catch (err) {
      showError(err);
    } finally {
      btn.disabled = false;
      show();
    }
  });
  const tl = pagedList({
    label: `Posts tagged #${tag}`,
    load: async (cursor) => {
      const res = await api.tagTimeline(tag, cursor);
      return { items: res.entries, next: res.next };
    },
    render: (e, o) => entryCard(e, o),
    empty: `No posts with #${tag} on this peer yet. Follow the hashtag to receive them from anyone.`,
  });
  liveInto(scope, tl, (e) => TIMELINE_KINDS.has(e.kind) && e.text != null && !(e.local && !isMe(e.author))
    && tagsIn(e.text).includes(tag));
  tl.start();
  return {
    title: `#${tag}`,
    el: h('div', { class: 'stack' },
      viewHead(`#${tag}`, { sub: 'Posts with this hashtag that reached this peer.', actions: btn }),
      h('div', { class: 'panel list-panel' }, tl.el)),
  };
}

// ---- Public --------------------------------------------------------------------------------------------------------------------------

export function publicView(scope) {
  const body = h('div', { class: 'stack' }, h('p', { class: 'panel pad muted', text: 'Loading…' }));
  const toggle = h('button', { type: 'button', class: 'button button-ghost', hidden: true, text: 'Stop listening' });
  const el = h('div', { class: 'stack' },
    viewHead('Public', { sub: 'Top-level posts from anyone, as they reach this peer.', actions: toggle }), body);

  const set = async (enabled) => {
    try {
      await api.setPublic(enabled);
      notice(enabled ? 'Listening to the public stream' : 'No longer listening to the public stream');
      scope.reload();
    } catch (err) {
      showError(err);
    }
  };
  toggle.addEventListener('click', () => set(false));

  const off = () => {
    toggle.hidden = true;
    replace(body, h('div', { class: 'panel empty-state' },
      h('p', { class: 'empty-title', text: 'The public timeline is off.' }),
      h('p', { class: 'muted', text: 'When it is on, this peer listens to the network’s public stream and keeps the posts it carries, from anyone. Your own posts go to the public stream either way.' }),
      h('button', { type: 'button', class: 'button button-primary', text: 'Turn on the public timeline', on: { click: () => set(true) } })));
  };

  const on = () => {
    toggle.hidden = false;
    const tl = pagedList({
      label: 'Public timeline',
      load: async (cursor) => {
        const res = await api.publicTimeline(cursor);
        return { items: res.entries, next: res.next };
      },
      render: (e, o) => entryCard(e, o),
      empty: 'Nothing here yet: posts appear as peers publish them.',
    });
    // An anonymous post made here is in no timeline of this peer (docs/API.md).
    liveInto(scope, tl, (e) => e.kind === 'post' && !(e.local && !isMe(e.author)));
    replace(body, h('div', { class: 'panel list-panel' }, tl.el));
    tl.start();
  };

  api.publicSettings().then((s) => (s.enabled ? on() : off()), (err) => {
    showError(err);
    replace(body, errorState(err, () => scope.reload()));
  });
  return { title: 'Public', el };
}

// ---- Names ----------------------------------------------------------------------------------------------------------------------------

export function namesView(scope) {
  const me = session.me.author;
  const mineBox = h('div', { class: 'my-name' }, h('p', { class: 'muted', text: 'Loading…' }));

  const showMine = async (fresh) => {
    const p = await (fresh ? refreshProfile(me) : getProfile(me));
    if (!scope.alive) return;
    if (p && p.username) {
      const name = p.username;
      const release = h('button', { type: 'button', class: 'button button-ghost', text: `Release @${name}` });
      release.addEventListener('click', () => {
        const confirm = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm release' },
          h('p', { text: `Release @${name}? Anyone can claim it afterwards.` }),
          h('div', { class: 'row' },
            h('button', {
              type: 'button', class: 'button button-danger', text: 'Release',
              on: {
                click: async (ev) => {
                  ev.currentTarget.disabled = true;
                  try {
                    const res = await api.releaseName(name);
                    notice(`Released @${res.name}`);
                    await showMine(true);
                  } catch (err) {
                    ev.currentTarget.disabled = false;
                    showError(err);
                  }
                },
              },
            }),
            h('button', { type: 'button', class: 'button button-ghost', text: 'Cancel', on: { click: () => showMine(false) } })));
        mineBox.append(confirm);
        confirm.querySelector('button').focus();
        release.disabled = true;
      });
      replace(mineBox,
        h('p', { class: 'my-name-line' }, 'Your username is ', h('strong', { class: 'username', text: `@${name}` }), '.'),
        h('p', { class: 'muted small' }, 'Others can follow you as ', h('code', { text: name }), ' and reach your posts at ', h('code', { text: `/${name}/<slug>` }), '.'),
        h('div', { class: 'row' }, release));
    } else {
      replace(mineBox, h('p', { class: 'muted', text: 'You have no username yet: claim one below.' }));
    }
  };
  showMine(false);

  // Claim.
  const claimId = uid('claim');
  const claimInput = h('input', { id: claimId, type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'name-input', 'aria-describedby': `${claimId}-hint`, placeholder: 'alice' });
  const claimBtn = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'name-claim', text: 'Claim' });
  const claimResult = h('div', { class: 'name-result', 'aria-live': 'polite' });
  const claimForm = h('form', { class: 'name-form', novalidate: true },
    h('h2', { class: 'panel-title', id: 'names-claim', text: 'Claim a username' }),
    h('label', { for: claimId, class: 'field-label', text: 'Username to claim' }),
    h('div', { class: 'input-row' }, claimInput, claimBtn),
    h('p', { class: 'muted small', id: `${claimId}-hint`, text: '3 to 32 characters: a–z, 0–9, _ and -, starting with a letter. A claim asks the name’s replicas on the network; it can take a few seconds.' }),
    claimResult);
  claimForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = claimInput.value.trim().replace(/^@/, '');
    if (!name) {
      showError('Type the username to claim.');
      claimInput.focus();
      return;
    }
    claimBtn.disabled = true;
    claimBtn.textContent = 'Claiming…';
    replace(claimResult);
    try {
      const res = await api.claimName(name);
      replace(claimResult, h('p', { class: 'success' }, 'You are now ', h('strong', { text: `@${res.name}` }),
        res.accepted != null ? ` (accepted by ${res.accepted} of ${res.replicas} replicas).` : '.'));
      notice(`Claimed @${res.name}`);
      claimInput.value = '';
      await showMine(true);
    } catch (err) {
      showError(err);
      replace(claimResult, h('p', { class: 'error-text', text: err.message }));
    } finally {
      claimBtn.disabled = false;
      claimBtn.textContent = 'Claim';
    }
  });

  // Look up.
  const lookId = uid('look');
  const lookInput = h('input', { id: lookId, type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'alice', 'data-testid': 'name-lookup-input' });
  const lookBtn = h('button', { type: 'submit', class: 'button button-secondary', text: 'Look up', 'data-testid': 'name-lookup' });
  const lookResult = h('div', { class: 'name-result', 'aria-live': 'polite' });
  const lookForm = h('form', { class: 'name-form', novalidate: true },
    h('h2', { class: 'panel-title', id: 'names-lookup', text: 'Look up a username' }),
    h('label', { for: lookId, class: 'field-label', text: 'Username to look up' }),
    h('div', { class: 'input-row' }, lookInput, lookBtn),
    lookResult);
  lookForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = lookInput.value.trim().replace(/^@/, '');
    if (!name) {
      showError('Type the username to look up.');
      lookInput.focus();
      return;
    }
    lookBtn.disabled = true;
    lookBtn.textContent = 'Looking up…';
    replace(lookResult);
    try {
      const res = await api.lookupName(name);
      replace(lookResult, h('div', { class: 'lookup-card' },
        avatar(res.owner, 'md'),
        h('div', {},
          h('p', {}, h('strong', { text: `@${res.name}` }), ' belongs to ', authorLink(res.owner)),
          h('p', { class: 'muted small' }, 'Claimed ', timeEl(res.ts), isMe(res.owner) ? ' · that is you' : '')),
        h('a', { class: 'button button-secondary button-small', href: `#/profile/${res.owner}`, text: 'View profile' })));
    } catch (err) {
      showError(err);
      replace(lookResult, h('p', { class: 'error-text', text: err.code === 'name_not_found' ? `No one holds @${name}.` : err.message }));
    } finally {
      lookBtn.disabled = false;
      lookBtn.textContent = 'Look up';
    }
  });

  return {
    title: 'Names',
    el: h('div', { class: 'stack' },
      viewHead('Names', { sub: 'Unique usernames, held by a quorum of peers on the network.' }),
      h('section', { class: 'panel pad', 'aria-labelledby': 'names-mine' }, h('h2', { class: 'panel-title', id: 'names-mine', text: 'Your username' }), mineBox),
      h('section', { class: 'panel pad', 'aria-labelledby': 'names-claim' }, claimForm),
      h('section', { class: 'panel pad', 'aria-labelledby': 'names-lookup' }, lookForm)),
  };
}

// ---- Peers & status -------------------------------------------------------------------------------------------------------------------------

export function peersView(scope) {
  const statusBox = h('div', { class: 'status-grid' }, h('p', { class: 'muted', text: 'Loading…' }));
  const addrBox = h('div', {});
  const peersBox = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const refresh = h('button', { type: 'button', class: 'button button-ghost' }, icon('refresh'), 'Refresh');
  const stamp = h('p', { class: 'muted small refreshed', 'aria-live': 'off' });

  const stat = (label, value, hint) => h('div', { class: 'stat', title: hint || null },
    h('dt', { text: label }), h('dd', {}, value));
  const copyable = (text) => h('span', { class: 'copyable' }, h('code', { class: 'mono', text }),
    h('button', {
      type: 'button', class: 'icon-button', 'aria-label': `Copy ${text}`, title: 'Copy',
      on: { click: async () => notice((await copyText(text)) ? 'Copied' : 'Copy failed: select it by hand') },
    }, icon('copy')));

  let busy = false;
  const load = async (manual) => {
    if (busy) return;
    busy = true;
    refresh.disabled = true;
    try {
      const [st, pr, id] = await Promise.all([api.status(), api.peers(), api.identity()]);
      if (!scope.alive) return;
      const reach = st.reachability ?? { status: 'unknown', external_addrs: [], relay_addrs: [] };
      const reachText = { public: 'Directly', private: reach.relay_addrs.length ? 'Through a relay' : 'Not yet (behind NAT)' }[reach.status] ?? 'Not known yet';
      const reachTip = {
        public: 'A peer dialled this node back: others reach it directly.',
        private: 'Behind a NAT or firewall: others reach this node through relays, and hole punching makes direct connections where the NAT allows.',
      }[reach.status] ?? 'No peer has dialled this node back yet.';
      replace(statusBox, h('dl', { class: 'stats' },
        stat('Reachable', reachText, reachTip),
        stat('Peers', String(st.peers), 'Connected peers'),
        stat('Entries', st.entries.toLocaleString(), 'Entries stored, all feeds'),
        stat('Following', String(st.following), 'Authors followed'),
        stat('Uptime', duration(st.uptime_s)),
        stat('Syncing', String(st.syncing), 'Feeds being caught up right now'),
        stat('Waiting', String(st.pending), 'Entries received out of order, waiting for a predecessor'),
        stat('Fetch requests', st.fetch_requests.toLocaleString(), 'Fetch requests sent to peers since start'),
        stat('Store revision', st.revision.toLocaleString()),
        stat('Gossip rejected', String(st.gossip_rejected), 'Gossip messages refused as invalid since start'),
        stat('Gossip ignored', String(st.gossip_ignored ?? 0), 'Gossip messages dropped unjudged since start'),
        stat('Fetch rejected', String(st.fetch_rejected), 'Entries in fetch answers refused as invalid since start'),
        stat('Denied peers', String(st.denied_peers ?? 0), 'Peers on the deny list'),
        stat('Denied connections', String(st.denied_connections ?? 0), 'Connections with denied peers refused since start'),
        stat('Version', st.version)));
      replace(addrBox, h('dl', { class: 'ident' },
        h('dt', { text: 'Identity' }), h('dd', {}, authorLink(st.author), ' ', copyable(st.author)),
        h('dt', { text: 'Peer id' }), h('dd', {}, copyable(st.peer_id)),
        h('dt', { text: 'Listening on' }), h('dd', {}, id.listen_addrs.length
          ? h('ul', { class: 'plain-list' }, id.listen_addrs.map((a) => h('li', {}, copyable(a))))
          : h('span', { class: 'muted', text: 'nowhere' })),
        h('dt', { text: 'Reached at' }), h('dd', {}, [...reach.external_addrs, ...reach.relay_addrs].length
          ? h('ul', { class: 'plain-list' }, [...reach.external_addrs, ...reach.relay_addrs].map((a) => h('li', {}, copyable(a))))
          : h('span', { class: 'muted', text: 'no confirmed address yet' }))));
      if (pr.peers.length === 0) {
        replace(peersBox, h('p', { class: 'muted', text: 'No peers connected. Start a daemon with --bootstrap and one of the addresses above.' }));
      } else {
        replace(peersBox, h('table', { class: 'peers-table' },
          h('caption', { class: 'visually-hidden', text: 'Connected peers' }),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Peer id' }), h('th', { scope: 'col', text: 'Addresses' }))),
          h('tbody', {}, pr.peers.map((p) => h('tr', {},
            h('td', { 'data-label': 'Peer id' }, h('code', { class: 'mono', title: p.peer_id, text: p.peer_id })),
            h('td', { 'data-label': 'Addresses' }, p.addrs.length
              ? h('ul', { class: 'plain-list' }, p.addrs.map((a) => h('li', {}, h('code', { class: 'mono', text: a }))))
              : h('span', { class: 'muted', text: '—' }),
              p.relayed ? h('span', { class: 'muted', text: ' (relayed)', title: 'Every connection to this peer goes through a relay' }) : null))))));
      }
      stamp.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (manual) notice('Refreshed');
    } catch (err) {
      showError(err);
    } finally {
      busy = false;
      refresh.disabled = false;
    }
  };
  refresh.addEventListener('click', () => load(true));
  const timer = setInterval(() => load(false), 5000);
  scope.onDispose(() => clearInterval(timer));
  load(false);
  return {
    title: 'Peers',
    el: h('div', { class: 'stack' },
      viewHead('Peers & status', { sub: 'This node and the network as it sees it.', actions: refresh }),
      h('section', { class: 'panel pad', 'aria-labelledby': 'st-node' }, h('h2', { class: 'panel-title', id: 'st-node', text: 'Node' }), statusBox, stamp),
      h('section', { class: 'panel pad', 'aria-labelledby': 'st-id' }, h('h2', { class: 'panel-title', id: 'st-id', text: 'Identity and addresses' }), addrBox),
      h('section', { class: 'panel pad', 'aria-labelledby': 'st-peers' }, h('h2', { class: 'panel-title', id: 'st-peers', text: 'Connected peers' }), peersBox)),
  };
}

// ---- Messages ------------------------------------------------------------------------------------------------------

const isDirectMessage = (e) => e.kind === 'sealed' && e.sealed?.readable && e.sealed.inner_kind === 'dm';

export function messagesView(scope) {
  const toId = uid('dm-to');
  const to = h('input', {
    id: toId, type: 'text', name: 'to', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'dm-to',
    placeholder: 'alice, did:key:z6Mk…', 'aria-describedby': `${toId}-hint`,
  });
  const tl = pagedList({
    label: 'Direct messages',
    testid: 'messages',
    load: async (cursor) => {
      const res = await api.directMessages(cursor);
      return { items: res.messages, next: res.next };
    },
    render: (e, o) => {
      const card = entryCard(e, o);
      // Writing back goes to the whole conversation: everyone in it but me.
      const others = (e.sealed?.members || []).filter((did) => !isMe(did));
      if (others.length > 0) {
        card.querySelector('.entry-actions')?.prepend(h('button', {
          type: 'button', class: 'button button-ghost button-small', text: 'Write back',
          dataset: { replyAll: others.join(', ') },
        }));
      }
      return card;
    },
    empty: 'No messages yet. A message is end-to-end encrypted: only the people you write to, and you, can read it.',
  });
  const form = composer({
    label: 'Message', placeholder: 'Write a message…', submitText: 'Send', busyText: 'Sending…',
    textTestId: 'dm-text', submitTestId: 'dm-submit', rows: 2,
    onSubmit: async (text) => {
      const recipients = [...new Set(to.value.split(',').map((s) => s.trim()).filter(Boolean))];
      if (recipients.length === 0) {
        to.focus();
        throw new Error('Say whom the message is for: a username or a did:key, several separated by commas.');
      }
      const entry = await api.sendDirectMessage(recipients, text);
      tl.insert(entry);
      notice('Sent, end-to-end encrypted');
    },
  });
  // Answering a message: its conversation (everyone but me) goes into the To field.
  tl.list.addEventListener('click', (ev) => {
    const button = ev.target.closest?.('[data-reply-all]');
    if (!button) return;
    to.value = button.dataset.replyAll;
    form.querySelector('textarea')?.focus();
  });
  liveInto(scope, tl, isDirectMessage);
  tl.start();
  return {
    title: 'Messages',
    el: h('div', { class: 'stack' },
      viewHead('Messages', { sub: 'Direct messages, end-to-end encrypted. They reach people who do not follow you.' }),
      h('section', { class: 'panel pad compose-dm', 'aria-label': 'Write a message' },
        h('div', { class: 'field' },
          h('label', { for: toId, class: 'field-label', text: 'To' }), to,
          h('p', { class: 'muted small', id: `${toId}-hint`, text: 'Usernames or did:keys, separated by commas (at most 64).' })),
        form),
      h('div', { class: 'panel list-panel' }, tl.el)),
  };
}

// ---- Lists ------------------------------------------------------------------------------------------------------------

export function listsView(scope) {
  const body = h('div', { class: 'stack', 'data-testid': 'lists' }, h('p', { class: 'panel pad muted', text: 'Loading…' }));
  const nameId = uid('list-name');
  const nameInput = h('input', { id: nameId, type: 'text', name: 'list', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'list-name', placeholder: 'close-friends' });
  const create = h('form', { class: 'panel pad field', novalidate: true },
    h('label', { for: nameId, class: 'field-label', text: 'New list' }),
    h('div', { class: 'input-row' }, nameInput, h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'list-create', text: 'Create' })),
    h('p', { class: 'muted small', text: '1 to 32 of a–z, 0–9, _ and -, starting with a letter. Lists are private to this peer: nobody learns who is on them.' }));

  const show = (res) => {
    if (!scope.alive) return;
    if (res.lists.length === 0) {
      replace(body, h('div', { class: 'panel empty-state' },
        h('p', { class: 'empty-title', text: 'No lists yet.' }),
        h('p', { class: 'muted', text: 'A list is an audience: a post for a list is end-to-end encrypted for its members at that moment.' })));
      return;
    }
    replace(body, res.lists.map(listPanel));
  };
  const act = async (fn, done) => {
    try {
      show(await fn());
      if (done) notice(done);
    } catch (err) {
      showError(err);
    }
  };
  const listPanel = (list) => {
    const titleId = uid('list');
    const addId = uid('list-add');
    const add = h('input', { id: addId, type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'list-member-input', placeholder: 'alice or did:key:z6Mk…' });
    const members = list.members.length === 0
      ? h('p', { class: 'muted', text: 'Nobody on it yet.' })
      : h('ul', { class: 'member-list' }, list.members.map((did) => h('li', { class: 'member' },
        authorLink(did),
        h('button', {
          type: 'button', class: 'button button-ghost button-small', text: 'Remove',
          'aria-label': `Remove ${shortDid(did)} from ${list.name}`,
          on: { click: () => act(async () => { await api.removeListMember(list.name, did); return api.lists(); }, 'Removed') },
        }))));
    const addForm = h('form', { class: 'field', novalidate: true },
      h('label', { for: addId, class: 'field-label', text: 'Add someone' }),
      h('div', { class: 'input-row' }, add, h('button', { type: 'submit', class: 'button button-secondary', 'data-testid': 'list-member-add', text: 'Add' })));
    addForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const who = add.value.trim();
      if (!who) return;
      act(async () => { await api.addListMember(list.name, who); return api.lists(); }, 'Added');
    });
    const remove = h('button', {
      type: 'button', class: 'button button-ghost button-small', text: 'Delete list',
      on: { click: () => act(() => api.deleteList(list.name), `Deleted ${list.name}`) },
    });
    return h('section', { class: 'panel pad stack-s', 'aria-labelledby': titleId, 'data-testid': 'list' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', id: titleId, text: list.name }), remove),
      members, addForm);
  };
  create.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    act(async () => {
      const res = await api.createList(name);
      nameInput.value = '';
      return res;
    }, `Created ${name}`);
  });
  api.lists().then(show, (err) => {
    showError(err);
    replace(body, errorState(err, () => scope.reload()));
  });
  return {
    title: 'Lists',
    el: h('div', { class: 'stack' },
      viewHead('Lists', { sub: 'Audiences for posts only their members can read.' }), create, body),
  };
}

// ---- Not found / signed out ---------------------------------------------------------------------------------------------------

export function notFoundView() {
  return {
    title: 'Not found',
    el: h('div', { class: 'stack' }, viewHead('Not found'),
      h('div', { class: 'panel empty-state' }, h('p', { text: 'There is no such page here.' }), h('a', { class: 'button button-primary', href: '#/home', text: 'Go home' }))),
  };
}

export function signInView() {
  return {
    title: 'Sign in',
    el: h('div', { class: 'stack signin' },
      h('div', { class: 'panel signin-card' },
        h('img', { class: 'signin-mark', src: '/assets/icon.svg', alt: '', width: '56', height: '56' }),
        h('h1', { class: 'view-title', tabindex: '-1', text: 'Sign in to kith' }),
        h('p', { 'data-testid': 'signin-message' }, 'This page is not signed in. Run ', h('code', { text: 'kith ui' }),
          ' on the machine running the daemon and open the link it prints.'),
        h('button', { type: 'button', class: 'button button-secondary', text: 'Try again', on: { click: () => location.reload() } }))),
  };
}
