// The pieces every screen uses: authors (name and avatar), entry cards with their actions,
// composers, and paged timelines that take live entries.

import * as api from './api.js';
import {
  h, append, replace, icon, srOnly, shortDid, hue, timeEl, tokenize, byteLength,
  MAX_TEXT_BYTES, onSubmitKey, uid, isDid,
} from './dom.js';
import {
  session, isMe, getProfile, hasProfile, onProfile, getEntry, forgetEntry, showError, notice,
  subscribe,
} from './state.js';

// ---- Authors -------------------------------------------------------------------------------

/** The name to show for an author: display name, else @username, else a short did. */
export function displayName(did, profile) {
  if (profile && profile.name) return profile.name;
  if (profile && profile.username) return `@${profile.username}`;
  return shortDid(did);
}

/**
 * Fills `el` now and whenever the author's profile changes (elements carry `data-did`).
 * This peer holds the profiles of the authors whose feeds it holds (its own and the ones it
 * follows): others are not asked for, they would only be answered 404.
 */
function bindProfile(el, did, fill) {
  el.dataset.did = did;
  el.kithFill = fill;
  if (isMe(did) || session.follows.has(did) || hasProfile(did)) {
    getProfile(did).then((p) => { if (p) fill(p); });
  }
}

onProfile((did, profile) => {
  for (const el of document.querySelectorAll(`[data-did="${CSS.escape(did)}"]`)) {
    if (el.kithFill) el.kithFill(profile);
  }
});

/** A round avatar: the image if this peer holds it, else the initial on a colour. */
export function avatar(did, size = 'md') {
  const el = h('span', { class: `avatar avatar-${size} av-${hue(did)}`, 'aria-hidden': 'true' });
  const initial = (name) => {
    const ch = (name || '').replace(/^@/, '').trim().slice(0, 1) || '?';
    replace(el, ch.toUpperCase());
  };
  initial(shortDid(did).replace(/^z6Mk/, '') || '?');
  bindProfile(el, did, (p) => {
    if (p && p.avatar && p.avatar_cached) {
      const img = h('img', { src: api.blobUrl(p.avatar), alt: '', loading: 'lazy', decoding: 'async' });
      img.addEventListener('error', () => initial(displayName(did, p)));
      replace(el, img);
    } else {
      initial(p && (p.name || p.username) ? displayName(did, p) : '');
    }
  });
  return el;
}

/** A link to an author's profile: display name and handle. */
export function authorLink(did, { handle = true, cls = '' } = {}) {
  const name = h('span', { class: 'author-name', text: shortDid(did) });
  const hand = handle ? h('span', { class: 'author-handle', text: '' }) : null;
  const link = h('a', { class: `author ${cls}`.trim(), href: `#/profile/${did}` }, name, hand);
  const fill = (p) => {
    name.textContent = displayName(did, p);
    if (hand) {
      if (p && p.name && p.username) hand.textContent = `@${p.username}`;
      else if (p && (p.name || p.username)) hand.textContent = shortDid(did);
      else hand.textContent = '';
    }
  };
  fill(null);
  bindProfile(link, did, fill);
  return link;
}

// ---- Text ----------------------------------------------------------------------------------

/** A post's text with links: URLs, hashtags, mentions (`@did:key:…`, `@username`). */
export function richText(text) {
  const out = [];
  for (const t of tokenize(text)) {
    if (t.type === 'text') out.push(t.text);
    else if (t.type === 'url') {
      out.push(h('a', { href: t.value, rel: 'noopener noreferrer nofollow', target: '_blank', class: 'text-link', text: t.text }));
    } else if (t.type === 'tag') {
      out.push(h('a', { href: `#/tags/${encodeURIComponent(t.value)}`, class: 'text-link tag-link', text: t.text }));
    } else if (t.type === 'did') {
      const link = h('a', { href: `#/profile/${t.value}`, class: 'text-link mention', title: t.value, text: `@${shortDid(t.value)}` });
      bindProfile(link, t.value, (p) => {
        link.textContent = p && p.username ? `@${p.username}` : p && p.name ? `@${p.name}` : `@${shortDid(t.value)}`;
      });
      out.push(link);
    } else if (t.type === 'name') {
      out.push(h('a', { href: `#/profile/${encodeURIComponent(t.value)}`, class: 'text-link mention', text: t.text }));
    }
  }
  return out;
}

// ---- Composer ----------------------------------------------------------------------------------

/**
 * A labelled textarea with a byte counter and a submit button; Ctrl/Cmd+Enter submits.
 * `onSubmit(text, form)` returns a promise; on success the text is cleared (or `keep`).
 */
export function composer({
  label, hideLabel = false, placeholder = '', submitText = 'Post', busyText = 'Posting…',
  initial = '', textTestId, submitTestId, onSubmit, onCancel, rows = 3, extra = null, cls = '',
  autofocus = false, allowEmpty = false,
}) {
  const id = uid('compose');
  const counterId = `${id}-count`;
  const textarea = h('textarea', {
    id, name: 'text', rows, placeholder, 'aria-describedby': counterId,
    'data-testid': textTestId, class: 'compose-text', spellcheck: 'true',
  });
  textarea.value = initial;
  const counter = h('span', { class: 'counter', id: counterId });
  const button = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': submitTestId, text: submitText });
  const cancel = onCancel
    ? h('button', { type: 'button', class: 'button button-ghost', text: 'Cancel', on: { click: () => onCancel() } })
    : null;
  const form = h('form', { class: `composer ${cls}`.trim(), novalidate: true },
    h('label', { for: id, class: hideLabel ? 'visually-hidden' : 'field-label', text: label }),
    textarea,
    h('div', { class: 'composer-bar' }, extra, h('span', { class: 'spacer' }), counter, cancel, button));
  let busy = false;
  const update = () => {
    const bytes = byteLength(textarea.value);
    counter.textContent = `${bytes.toLocaleString()} / ${MAX_TEXT_BYTES.toLocaleString()}`;
    counter.title = 'UTF-8 bytes used of the limit';
    counter.classList.toggle('near', bytes > MAX_TEXT_BYTES * 0.9);
    counter.classList.toggle('over', bytes > MAX_TEXT_BYTES);
    const empty = !allowEmpty && textarea.value.trim() === '';
    button.disabled = busy || empty || bytes > MAX_TEXT_BYTES;
    // Grow with the text, up to a limit (CSS caps the height).
    textarea.rows = Math.min(12, Math.max(rows, textarea.value.split('\n').length));
  };
  textarea.addEventListener('input', update);
  const submit = async () => {
    if (button.disabled) return;
    busy = true;
    button.textContent = busyText;
    form.setAttribute('aria-busy', 'true');
    update();
    try {
      const keep = await onSubmit(textarea.value, form);
      if (keep !== 'keep') textarea.value = '';
    } catch (err) {
      showError(err);
    } finally {
      busy = false;
      button.textContent = submitText;
      form.removeAttribute('aria-busy');
      update();
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  onSubmitKey(textarea, submit);
  textarea.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && onCancel) {
      ev.preventDefault();
      onCancel();
    }
  });
  update();
  form.kithFocus = () => {
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  };
  form.kithTextarea = textarea;
  if (autofocus) queueMicrotask(() => form.kithFocus());
  return form;
}

// ---- Entry cards ----------------------------------------------------------------------------

const HEARTS = new Set(['❤', '❤️', '♥', '♥️']);
const PICKER = ['👍', '❤', '😂', '🎉', '😮', '😢', '🔥', '🙏'];
const TIMELINE_KINDS = new Set(['post', 'reply', 'repost']);

/** The route of the thread an entry belongs to. */
export const threadHref = (entry) => `#/thread/${entry.root || entry.id}`;

/**
 * A card for one entry. Options: `onReply(newEntry)` (a reply was posted from this card),
 * `replyContext` (show "Replying to …", default true), `testid` (default `entry`).
 */
export function entryCard(entry, opts = {}) {
  const card = h('article', {
    class: 'entry', 'data-testid': opts.testid || 'entry',
    dataset: { id: entry.id, ts: String(entry.ts), author: entry.author, kind: entry.kind },
  });
  if (opts.isNew) card.classList.add('is-new');
  const plainRepost = entry.kind === 'repost' && entry.text == null && entry.target;

  if (plainRepost) {
    const ctx = h('p', { class: 'entry-context' }, icon('repost'), authorLink(entry.author, { handle: false }), ' reposted · ', timeEl(entry.ts));
    if (isMe(entry.author)) {
      ctx.append(' · ', h('button', {
        type: 'button', class: 'link-button', text: 'Undo repost',
        on: { click: () => deleteFlow(entry, card) },
      }));
    }
    card.append(ctx);
    const slot = h('div', { class: 'entry-slot' }, h('p', { class: 'muted pad-s', text: 'Loading the reposted entry…' }));
    card.append(slot);
    getEntry(entry.target, { network: true }).then(
      (target) => replace(slot, entryView(target, { ...opts, outer: card })),
      (err) => replace(slot, missingEntry(entry.target, err)),
    );
    return card;
  }
  if (entry.kind === 'reply' && entry.parent && opts.replyContext !== false) {
    const ctx = h('p', { class: 'entry-context' }, icon('reply'), 'Replying to ');
    const who = h('a', { href: threadHref(entry), text: 'a post' });
    ctx.append(who);
    card.append(ctx);
    getEntry(entry.parent).then((parent) => {
      const link = authorLink(parent.author, { handle: false });
      who.replaceWith(link);
      ctx.append(' · ', h('a', { href: threadHref(entry), class: 'muted-link', text: 'thread' }));
    }, () => {});
  }
  card.append(entryView(entry, { ...opts, outer: card }));
  return card;
}

/** "Not held here" in place of an entry, with the permalink page that fetches it. */
function missingEntry(id, err) {
  const gone = err && (err.code === 'entry_deleted' || err.status === 410);
  const text = gone ? 'This entry was deleted by its author.'
    : err && err.status === 404 ? 'This entry is not held on this peer, and no peer asked had it. '
      : `The entry could not be read: ${err ? err.message : 'unknown error'} `;
  return h('p', { class: 'muted pad-s entry-missing' }, text,
    gone ? null : h('a', { href: `/p/${id}`, target: '_blank', rel: 'noopener noreferrer', text: 'Try its permalink page' }));
}

/**
 * The body of a card: avatar, author, time, text, reactions and actions of `entry`.
 * Marked `.entry-view[data-entry=id]`; `el.kithUpdate(entry)` shows a newer state of it.
 */
export function entryView(entry, opts = {}) {
  const view = h('div', { class: 'entry-view', dataset: { entry: entry.id } });
  let current = entry;
  const mine = isMe(entry.author);
  const textEl = h('div', { class: 'entry-text' });
  const edited = h('button', {
    type: 'button', class: 'link-button edited-marker', hidden: true, 'aria-expanded': 'false',
    title: 'Show the edit history', text: 'edited',
  });
  const quoteSlot = h('div', { class: 'entry-quote-slot' });
  const chips = h('div', { class: 'reactions', hidden: true });
  const panel = h('div', { class: 'entry-panel', id: uid('panel'), hidden: true });
  const heartCount = h('span', { class: 'count' });
  const repostCount = h('span', { class: 'count' });

  const head = h('div', { class: 'entry-head' },
    authorLink(entry.author),
    h('span', { class: 'dot', 'aria-hidden': 'true', text: '·' }),
    h('a', { class: 'time-link', href: threadHref(entry) }, timeEl(entry.ts), srOnly(', open the thread')),
    edited);
  if (entry.sealed) {
    // End-to-end encrypted for an audience: say for whom when this identity can read it.
    const s = entry.sealed;
    const label = s.readable ? `sealed · ${s.audience === 'direct' && s.inner_kind === 'dm' ? 'message' : s.audience}` : 'sealed';
    head.append(h('span', { class: 'kind-badge', title: 'End-to-end encrypted for its audience', text: label }));
    if (s.readable && s.inner_kind === 'dm') {
      // Whom a message went to: everyone in the conversation but its author.
      const to = (s.members || []).filter((did) => did !== entry.author);
      const names = to.flatMap((did, i) => [i ? ', ' : null, isMe(did) ? 'you' : authorLink(did, { handle: false })]);
      head.append(h('span', { class: 'dm-members', 'data-testid': 'dm-members' }, 'to ', names));
    }
  } else if (entry.kind !== 'post' && entry.kind !== 'reply' && entry.kind !== 'repost') {
    head.append(h('span', { class: 'kind-badge', text: entry.kind }));
  }

  // Panels (reply, repost choice, reactions, edit, delete, history): one open at a time.
  let openName = null;
  const buttons = {};
  const closePanel = () => {
    panel.hidden = true;
    panel.replaceChildren();
    if (openName && buttons[openName]) buttons[openName].setAttribute('aria-expanded', 'false');
    const was = openName;
    openName = null;
    return was;
  };
  const openPanel = (name, content, focus) => {
    const was = closePanel();
    if (was === name) {
      buttons[name]?.focus();
      return;
    }
    openName = name;
    if (buttons[name]) buttons[name].setAttribute('aria-expanded', 'true');
    panel.append(content);
    panel.hidden = false;
    if (focus) focus();
  };
  const done = (name) => {
    closePanel();
    buttons[name]?.focus();
  };

  // An icon button named by its (visually hidden) label; a count, if any, is visible text
  // after it, so the name reads "Like 2".
  const actionButton = (name, iconName, label, onClick, count = null, expands = true) => {
    const b = h('button', {
      type: 'button', class: `action action-${name}`, title: label,
      'aria-controls': expands ? panel.id : null, 'aria-expanded': expands ? 'false' : null,
      on: { click: onClick },
    }, icon(iconName), srOnly(label), count ? ' ' : null, count);
    buttons[name] = b;
    return b;
  };

  const replyPanel = () => {
    const form = composer({
      label: `Reply to ${displayName(entry.author, null)}`, hideLabel: true,
      placeholder: 'Write your reply', submitText: 'Reply', busyText: 'Replying…',
      textTestId: 'reply-text', submitTestId: 'reply-submit', rows: 2, cls: 'composer-inline',
      onCancel: () => done('reply'),
      onSubmit: async (text) => {
        const reply = await api.createPost(text, { replyTo: entry.id });
        notice(reply.sealed ? 'Reply posted, end-to-end encrypted for the thread’s audience' : 'Reply posted');
        done('reply');
        if (opts.onReply) opts.onReply(reply);
      },
    });
    if (isMe(entry.author) || session.follows.has(entry.author) || hasProfile(entry.author)) {
      getProfile(entry.author).then((p) => {
        form.querySelector('label').textContent = `Reply to ${displayName(entry.author, p)}`;
      });
    }
    return form;
  };

  const repostPanel = () => {
    const quote = composer({
      label: 'Quote post', hideLabel: false, placeholder: 'Add your comment', submitText: 'Quote',
      busyText: 'Posting…', rows: 2, cls: 'composer-inline', onCancel: () => done('repost'),
      textTestId: 'quote-text', submitTestId: 'quote-submit',
      onSubmit: async (text) => {
        const made = await api.repost(entry.id, text);
        notice('Quote posted');
        done('repost');
        refreshEntry(entry.id);
        if (opts.onReply) opts.onReply(made);
      },
    });
    const plain = h('button', {
      type: 'button', class: 'button button-primary', text: 'Repost now',
      on: {
        click: async (ev) => {
          ev.currentTarget.disabled = true;
          try {
            const made = await api.repost(entry.id);
            notice('Reposted');
            done('repost');
            refreshEntry(entry.id);
            if (opts.onReply) opts.onReply(made);
          } catch (err) {
            ev.currentTarget.disabled = false;
            showError(err);
          }
        },
      },
    });
    return h('div', { class: 'repost-panel' },
      h('div', { class: 'row' }, plain, h('span', { class: 'muted', text: 'or quote it with a comment:' })),
      quote);
  };

  const react = async (reaction) => {
    try {
      await api.react(entry.id, reaction);
      notice(`Reacted ${reaction}`);
      refreshEntry(entry.id);
    } catch (err) {
      showError(err);
    }
  };

  const reactPanel = () => h('div', { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction' },
    PICKER.map((emoji) => h('button', {
      type: 'button', class: 'picker-emoji', 'aria-label': `React with ${emoji}`, text: emoji,
      on: { click: () => { done('react'); react(emoji); } },
    })));

  const editPanel = () => composer({
    label: 'Edit your post', placeholder: '', submitText: 'Save', busyText: 'Saving…',
    initial: current.text || '', rows: 3, cls: 'composer-inline', onCancel: () => done('edit'),
    textTestId: 'edit-text', submitTestId: 'edit-submit',
    onSubmit: async (text) => {
      await api.edit(entry.id, text);
      notice('Edited');
      done('edit');
      refreshEntry(entry.id);
    },
  });

  const deletePanel = () => h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm delete' },
    h('p', { text: 'Delete this entry? Peers that follow kith’s rules drop it; a delete cannot recall copies already shared.' }),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'button button-danger', text: 'Delete', on: { click: () => deleteFlow(entry, opts.outer) } }),
      h('button', { type: 'button', class: 'button button-ghost', text: 'Cancel', on: { click: () => done('delete') } })));

  const historyPanel = () => {
    const box = h('div', { class: 'history' }, h('p', { class: 'muted', text: 'Loading the history…' }));
    api.history(entry.id).then((res) => {
      const items = res.entries.map((e, i) => h('li', {},
        h('p', { class: 'history-meta' }, i === 0 ? 'Original · ' : `Edit ${i} · `, timeEl(e.ts)),
        h('div', { class: 'entry-text' }, richText(e.text || ''))));
      replace(box, h('h3', { class: 'panel-title', text: 'Edit history' }), h('ol', { class: 'history-list' }, items));
    }, (err) => {
      replace(box, h('p', { class: 'muted', text: 'The history could not be read.' }));
      showError(err);
    });
    return box;
  };
  edited.addEventListener('click', () => openPanel('history', historyPanel()));
  buttons.history = edited;
  edited.setAttribute('aria-controls', panel.id);

  const actions = h('div', { class: 'entry-actions', role: 'group', 'aria-label': 'Actions' });
  const timelineItem = TIMELINE_KINDS.has(entry.kind);
  // A sealed post or reply this identity reads can be answered: the reply is sealed for the
  // thread's audience by the daemon. Reposts and reactions are public entries, which would
  // tell everyone about a sealed one, so there are none.
  const sealedThreadItem = entry.kind === 'sealed' && entry.sealed?.readable && entry.sealed.inner_kind !== 'dm';
  if (sealedThreadItem) {
    actions.append(actionButton('reply', 'reply', 'Reply', () => {
      const form = replyPanel();
      openPanel('reply', form, () => form.kithFocus());
    }));
  }
  if (timelineItem) {
    actions.append(
      actionButton('reply', 'reply', 'Reply', () => {
        const form = replyPanel();
        openPanel('reply', form, () => form.kithFocus());
      }),
      actionButton('repost', 'repost', 'Repost', () => openPanel('repost', repostPanel()), repostCount),
      actionButton('like', 'heart', 'Like', () => react('❤'), heartCount, false),
      actionButton('react', 'smile', 'React', () => openPanel('react', reactPanel(), () => panel.querySelector('button')?.focus())),
    );
  }
  if (mine && timelineItem && !(entry.kind === 'repost' && entry.text == null)) {
    actions.append(actionButton('edit', 'edit', 'Edit', () => {
      const form = editPanel();
      openPanel('edit', form, () => form.kithFocus());
    }));
  }
  if (mine && entry.kind !== 'delete') {
    actions.append(actionButton('delete', 'trash', 'Delete', () => openPanel('delete', deletePanel(), () => panel.querySelector('button')?.focus())));
  }
  actions.append(h('span', { class: 'spacer' }),
    h('a', { class: 'action', href: `/p/${entry.id}`, target: '_blank', rel: 'noopener noreferrer', title: 'Permalink page', 'aria-label': 'Permalink page' }, icon('link')));

  const body = h('div', { class: 'entry-body' }, head, textEl, quoteSlot, chips, actions, panel);
  append(view, [h('a', { class: 'avatar-link', href: `#/profile/${entry.author}`, tabindex: '-1', 'aria-hidden': 'true' }, avatar(entry.author)), body]);

  // Whatever changes with reactions, reposts and edits.
  const render = (e) => {
    current = e;
    const unreadable = e.sealed && !e.sealed.readable;
    replace(textEl, e.text != null ? richText(e.text)
      : unreadable ? [h('span', { class: 'muted', text: e.sealed.error ? `Sealed, and altered: ${e.sealed.error}` : 'Sealed for its audience: this identity cannot read it.' })]
        : []);
    textEl.hidden = e.text == null && !unreadable;
    edited.hidden = !e.edited;
    const reactions = e.reactions || [];
    let hearts = 0;
    const others = [];
    for (const r of reactions) {
      if (HEARTS.has(r.reaction)) hearts += r.count;
      else others.push(r);
    }
    heartCount.textContent = hearts ? String(hearts) : '';
    repostCount.textContent = e.reposts ? String(e.reposts) : '';
    if (buttons.like) buttons.like.title = hearts ? `Like (${hearts} ${hearts === 1 ? 'like' : 'likes'})` : 'Like';
    if (buttons.repost) buttons.repost.title = e.reposts ? `Repost (${e.reposts} ${e.reposts === 1 ? 'repost' : 'reposts'})` : 'Repost';
    buttons.like?.classList.toggle('has-count', hearts > 0);
    replace(chips, others.map((r) => h('button', {
      type: 'button', class: 'chip', title: `React with ${r.reaction} (${r.count})`,
      on: { click: () => react(r.reaction) },
    }, srOnly('React with '), h('span', { class: 'chip-emoji', text: r.reaction }), ' ', h('span', { class: 'count', text: String(r.count) }))));
    chips.hidden = others.length === 0;
  };
  render(entry);

  if (entry.kind === 'repost' && entry.target) {
    const slot = quoteSlot;
    getEntry(entry.target, { network: true }).then(
      (target) => replace(slot, quoteEmbed(target)),
      (err) => replace(slot, h('div', { class: 'quote' }, missingEntry(entry.target, err))),
    );
  }
  view.kithUpdate = (e) => render(e);
  return view;
}

/** A compact, read-only card of a quoted entry. */
function quoteEmbed(entry) {
  return h('div', { class: 'quote', dataset: { quoted: entry.id } },
    h('div', { class: 'quote-head' }, avatar(entry.author, 'xs'), authorLink(entry.author),
      h('span', { class: 'dot', 'aria-hidden': 'true', text: '·' }),
      h('a', { class: 'time-link', href: threadHref(entry) }, timeEl(entry.ts), srOnly(', open the quoted post'))),
    entry.text != null ? h('div', { class: 'entry-text quote-text' }, richText(entry.text)) : null);
}

async function deleteFlow(entry, outer) {
  try {
    await api.deleteEntry(entry.id);
    notice(entry.kind === 'repost' && entry.text == null ? 'Repost undone' : 'Deleted');
    removeEntry(entry.id);
    if (outer && outer.isConnected) outer.remove();
  } catch (err) {
    showError(err);
  }
}

// ---- Live updates of the cards on the page ---------------------------------------------------

const pending = new Map();

/** Reads an entry again and shows its new state in every card that shows it. */
export function refreshEntry(id) {
  forgetEntry(id);
  clearTimeout(pending.get(id));
  pending.set(id, setTimeout(async () => {
    pending.delete(id);
    const views = document.querySelectorAll(`.entry-view[data-entry="${CSS.escape(id)}"]`);
    if (!views.length) return;
    try {
      const e = await api.entry(id);
      for (const v of views) v.kithUpdate?.(e);
    } catch (err) {
      if (err.code === 'entry_deleted' || err.code === 'entry_not_found') removeEntry(id);
      else showError(err);
    }
  }, 200));
}

/** Takes a deleted entry off the page. */
export function removeEntry(id) {
  forgetEntry(id);
  const sel = CSS.escape(id);
  for (const card of document.querySelectorAll(`article.entry[data-id="${sel}"]`)) {
    const list = card.parentElement;
    card.remove();
    list?.dispatchEvent(new CustomEvent('kith:removed'));
  }
  // Where it was shown inside another card (a repost, a quote): say it is gone.
  for (const el of document.querySelectorAll(`.entry-view[data-entry="${sel}"], .quote[data-quoted="${sel}"]`)) {
    el.replaceWith(h('div', { class: 'quote' }, h('p', { class: 'muted pad-s', text: 'This entry was deleted by its author.' })));
  }
}

/** Entry events that change other entries: reactions, reposts, edits, deletes, profiles. */
export function installLiveUpdates(refreshProfile) {
  subscribe((name, data) => {
    if (name !== 'entry' || !data) return;
    const e = data;
    if (e.kind === 'delete' && e.target) removeEntry(e.target);
    else if ((e.kind === 'react' || e.kind === 'repost' || e.kind === 'edit') && e.target) refreshEntry(e.target);
    else if (e.kind === 'profile') refreshProfile(e.author);
    else if (e.kind === 'follow' && isMe(e.author) && e.target == null) { /* follows are refreshed by the views */ }
  });
}

// ---- Timelines -----------------------------------------------------------------------------------

/**
 * A paged list. `load(cursor)` resolves to `{items, next}` (next: null at the end);
 * `render(item, {isNew})` makes an element carrying `data-id` and `data-ts`.
 * Returns `{el, list, insert(item), has(id), reload()}`.
 */
export function pagedList({ label, load, render, empty, testid = 'timeline', cls = '' }) {
  const list = h('div', { class: `timeline ${cls}`.trim(), 'data-testid': testid, role: 'feed', 'aria-label': label, 'aria-busy': 'true' });
  const status = h('p', { class: 'list-status muted', hidden: true });
  const more = h('button', { type: 'button', class: 'button button-secondary load-more', text: 'Load more', hidden: true });
  const footer = h('div', { class: 'list-footer' }, status, more);
  const el = h('div', { class: 'paged' }, list, footer);
  let next = null;
  let started = false;
  let loading = false;
  const ids = new Set();

  const wrap = (node) => node;

  // A feed holds articles: while the list is empty it is a labelled group (an empty `feed`
  // is invalid ARIA), and it becomes a feed with its first entry.
  const syncRole = () => list.setAttribute('role', list.children.length > 0 ? 'feed' : 'group');
  new MutationObserver(syncRole).observe(list, { childList: true });
  syncRole();

  const showEmpty = () => {
    const isEmpty = list.children.length === 0;
    status.hidden = !(isEmpty && !loading);
    if (isEmpty && !loading) status.replaceChildren(...[].concat(typeof empty === 'function' ? empty() : empty));
  };
  list.addEventListener('kith:removed', showEmpty);

  const page = async () => {
    if (loading) return;
    loading = true;
    list.setAttribute('aria-busy', 'true');
    more.disabled = true;
    more.textContent = 'Loading…';
    status.hidden = true;
    try {
      const res = await load(started ? next : null);
      started = true;
      for (const item of res.items) {
        if (ids.has(item.id)) continue;
        ids.add(item.id);
        list.append(wrap(render(item, {})));
      }
      next = res.next ?? null;
      more.hidden = next === null;
    } catch (err) {
      showError(err);
      status.hidden = false;
      status.replaceChildren(`Could not load: ${err.message} `,
        h('button', { type: 'button', class: 'link-button', text: 'Try again', on: { click: () => page() } }));
      loading = false;
      list.setAttribute('aria-busy', 'false');
      more.disabled = false;
      more.textContent = 'Load more';
      return;
    }
    loading = false;
    list.setAttribute('aria-busy', 'false');
    more.disabled = false;
    more.textContent = 'Load more';
    showEmpty();
  };
  more.addEventListener('click', page);

  return {
    el,
    list,
    has: (id) => ids.has(id),
    start: page,
    /** Loads the first page again (after the event stream said it missed events). */
    restart() {
      if (loading) return;
      ids.clear();
      list.replaceChildren();
      next = null;
      started = false;
      more.hidden = true;
      page();
    },
    /** Puts a live item in its place by time (newest first); older than the loaded pages: skipped. */
    insert(item) {
      if (ids.has(item.id)) return null;
      let before = null;
      for (const child of list.children) {
        if (Number(child.dataset.ts) < item.ts) {
          before = child;
          break;
        }
      }
      if (!before && next !== null && started) return null; // it belongs to a page not loaded yet
      ids.add(item.id);
      const node = wrap(render(item, { isNew: true }));
      list.insertBefore(node, before);
      showEmpty();
      return node;
    },
    remove(id) {
      ids.delete(id);
      list.querySelector(`[data-id="${CSS.escape(id)}"]`)?.remove();
      showEmpty();
    },
  };
}

export { isDid };
