// The kith web UI in a real headless Chromium, against real daemons.
//
// Started by `cargo test -p kith --test ui` (bin/kith/tests/ui.rs), which runs three daemons
// and passes, in KITH_UI_PEERS, two of them with a one-time sign-in link each:
// [{name, did, api, login_url, data_dir}]. KITH_CHROMIUM is the browser (Debian's), and
// KITH_SCREENSHOTS the directory for a screenshot of every screen.
//
// What it checks, as a person would see it: signing in by the link; a name claimed on one
// page and followed by name on the other; a post composed on one page appearing live on the
// other's home timeline; a reply showing in the thread on both; every screen rendering at
// desktop and phone width, without sideways scrolling on a phone and without a WCAG 2.1 A/AA
// violation axe-core can find; and no request to any host but the daemon, no script error.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

// axe-core, the accessibility rules engine, run inside the page on every screen.
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const PEERS = JSON.parse(process.env.KITH_UI_PEERS ?? '[]');
const SHOTS = process.env.KITH_SCREENSHOTS;
// Deliveries cross real daemons on a shared CI machine: give them room.
const DEADLINE_MS = 30_000;

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

let browser;
/** name → {page, peer, origin} */
const users = {};
/** Requests to anything but the daemon's own origin. */
const foreign = [];
/** Uncaught script errors and console errors, by page. */
const scriptErrors = [];
/** Answers of 400 and more the page did not expect. */
const failedLoads = [];

/** The failures that are answers, not faults: a 404 for a profile nobody set yet (the page
 * then shows the DID), and the 401 of the page that is not signed in. */
function expectedFailure(response) {
  const url = new URL(response.url());
  return (response.status() === 404 && url.pathname.startsWith('/api/v1/profiles/'))
    || response.status() === 401;
}

/** Accessibility problems axe-core finds on the current screen (WCAG 2.1 A and AA). */
async function accessibilityViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    // Evaluated through the debugging protocol, which the page's Content-Security-Policy
    // does not govern (an injected <script> would be refused, as it should).
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  return violations;
}

async function shoot(user, screen) {
  const { page } = users[user];
  // Every screen is checked for accessibility where it is photographed (the permalink page
  // is the daemon's plain HTML, checked too).
  const violations = await accessibilityViolations(page);
  assert.deepEqual(violations, [], `accessibility of ${screen} on ${user}'s page`);
  for (const [label, size] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 812 }]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SHOTS, `${user}-${screen}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // At phone width nothing may scroll sideways.
  await page.setViewportSize({ width: 375, height: 812 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.ok(overflow <= 1, `${screen} on ${user}'s page scrolls sideways by ${overflow}px at 375px`);
}

async function go(user, hash) {
  const { page, origin } = users[user];
  await page.goto(`${origin}/${hash}`);
  await page.locator('main').waitFor();
}

/** The entry card showing `text` on `user`'s page. */
function card(user, text) {
  return users[user].page.getByTestId('entry').filter({ hasText: text }).first();
}

/** Polls `fn` on `user`'s page until it returns true, or fails with `what` at the deadline. */
async function pageUntil(user, what, fn, arg) {
  const { page } = users[user];
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const last = await page.evaluate(fn, arg);
    if (last === true) return;
    assert.ok(Date.now() < deadline, `${what} (${user}): ${JSON.stringify(last)}`);
    await page.waitForTimeout(200);
  }
}

before(async () => {
  assert.equal(PEERS.length, 2, 'KITH_UI_PEERS must name two signed-in peers');
  browser = await chromium.launch({ executablePath: process.env.KITH_CHROMIUM, args: CHROMIUM_ARGS });
  for (const peer of PEERS) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const origin = new URL(peer.api).origin;
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin) {
        foreign.push(`${peer.name}: ${request.url()}`);
      }
    });
    page.on('pageerror', (error) => scriptErrors.push(`${peer.name}: ${error.message}`));
    page.on('console', (message) => {
      // A failed load is reported with its URL by the response handler below.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        scriptErrors.push(`${peer.name} console: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.status() >= 400 && !expectedFailure(response)) {
        failedLoads.push(`${peer.name}: ${response.status()} ${response.request().method()} ${response.url()}`);
      }
    });
    users[peer.name] = { page, peer, origin };
  }
});

after(async () => {
  await browser?.close();
});

test('a page that is not signed in says how to sign in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(users.alice.origin + '/');
  const message = page.getByTestId('signin-message');
  await message.waitFor({ timeout: DEADLINE_MS });
  assert.match(await message.innerText(), /kith ui/);
  await context.close();
});

test('the one-time link signs each browser in, and the page is live', async () => {
  for (const name of ['alice', 'bob']) {
    const { page, peer, origin } = users[name];
    await page.goto(peer.login_url);
    // Redirected to the page, signed in by the cookie: no token in the URL any more.
    assert.equal(new URL(page.url()).origin, origin);
    assert.ok(!page.url().includes('code='), page.url());
    await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor({ timeout: DEADLINE_MS });
    await page.getByTestId('compose-text').waitFor();
  }
  await shoot('alice', 'home-empty');
});

test('a name claimed on one page is followed by name from the other', async () => {
  await go('alice', '#/names');
  const alice = users.alice.page;
  await alice.getByTestId('name-input').fill('Alice');
  await alice.getByTestId('name-claim').click();
  // The claim needs a write quorum of the three daemons; the page shows the name held.
  await alice.locator('main').getByText('alice', { exact: true }).first().waitFor({ timeout: DEADLINE_MS });
  await shoot('alice', 'names');

  await go('bob', '#/home');
  const bob = users.bob.page;
  await bob.getByTestId('follow-input').fill('alice');
  await bob.getByTestId('follow-submit').click();
  await pageUntil('bob', 'bob follows alice', async (did) => {
    const follows = await (await fetch('/api/v1/follows')).text();
    return follows.includes(did) || follows;
  }, users.alice.peer.did);
});

test('a post composed on one page appears live on the follower\'s home timeline', async () => {
  await go('alice', '#/home');
  await go('bob', '#/home');
  await users.bob.page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor({ timeout: DEADLINE_MS });
  const text = `Hello from the browser ${Date.now()} #kith`;
  const alice = users.alice.page;
  await alice.getByTestId('compose-text').fill(text);
  await alice.getByTestId('compose-submit').click();
  await card('alice', text).waitFor({ timeout: DEADLINE_MS });
  // No reload on bob's page: the entry arrives over the event stream.
  await card('bob', text).waitFor({ timeout: DEADLINE_MS });
  users.post = { text, id: await card('bob', text).getAttribute('data-id') };
  assert.ok(users.post.id?.startsWith('b'), `entry card without data-id: ${users.post.id}`);
  await shoot('alice', 'home');
  await shoot('bob', 'home');
});

test('a reply shows in the thread on both pages', async () => {
  const { id, text } = users.post;
  await go('alice', `#/thread/${id}`);
  await users.alice.page.getByTestId('thread').getByText(text).first().waitFor({ timeout: DEADLINE_MS });
  await go('bob', `#/thread/${id}`);
  const bob = users.bob.page;
  const root = bob.getByTestId('thread').getByTestId('entry').filter({ hasText: text }).first();
  await root.waitFor({ timeout: DEADLINE_MS });
  await root.getByRole('button', { name: 'Reply' }).click();
  const reply = `A reply from bob ${Date.now()}`;
  await root.getByTestId('reply-text').fill(reply);
  await root.getByTestId('reply-submit').click();
  await bob.getByTestId('thread').getByText(reply).first().waitFor({ timeout: DEADLINE_MS });
  // Alice's thread view was open all along: the reply reaches it live.
  await users.alice.page.getByTestId('thread').getByText(reply).first().waitFor({ timeout: DEADLINE_MS });
  await shoot('alice', 'thread');
  await shoot('bob', 'thread');
});

test('a followers-only post composed on one page is read on the follower\'s page, live', async () => {
  // Alice seals for the authors she has seen follow her: bob's follow (made by name above)
  // must have reached her inbox first.
  await pageUntil('alice', 'bob\'s follow reached alice', async (bobDid) => {
    const res = await (await fetch('/api/v1/notifications')).json();
    return res.notifications.some((n) => n.kind === 'follow' && n.entry.author === bobDid) || res;
  }, users.bob.peer.did);
  await go('alice', '#/home');
  await go('bob', '#/home');
  await users.bob.page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor({ timeout: DEADLINE_MS });
  const alice = users.alice.page;
  await alice.getByTestId('compose-audience').selectOption('followers');
  const text = `Only for my followers ${Date.now()}`;
  await alice.getByTestId('compose-text').fill(text);
  await alice.getByTestId('compose-submit').click();
  await card('alice', text).waitFor({ timeout: DEADLINE_MS });
  assert.match(await card('alice', text).innerText(), /sealed · followers/);
  // Bob's page opens it: the event stream reveals what this identity can read.
  await card('bob', text).waitFor({ timeout: DEADLINE_MS });
  assert.match(await card('bob', text).innerText(), /sealed · followers/);
  // The choice stays for the next post, so nothing meant to be private goes out public.
  assert.equal(await alice.getByTestId('compose-audience').inputValue(), 'followers');
  await shoot('alice', 'home-sealed');
  await alice.getByTestId('compose-audience').selectOption('');

  // Bob answers it; the daemon seals the reply for the thread, and alice's open thread shows it.
  const id = await card('bob', text).getAttribute('data-id');
  await go('alice', `#/thread/${id}`);
  await users.alice.page.getByTestId('thread').getByText(text).first().waitFor({ timeout: DEADLINE_MS });
  const bobCard = card('bob', text);
  await bobCard.getByRole('button', { name: 'Reply' }).click();
  const reply = `A sealed answer ${Date.now()}`;
  await bobCard.getByTestId('reply-text').fill(reply);
  await bobCard.getByTestId('reply-submit').click();
  const answer = users.alice.page.getByTestId('thread').getByTestId('entry').filter({ hasText: reply }).first();
  await answer.waitFor({ timeout: DEADLINE_MS });
  assert.match(await answer.innerText(), /sealed · thread/);
  await shoot('alice', 'thread-sealed');
});

test('a list made on one page is an audience in its composer', async () => {
  await go('alice', '#/lists');
  const alice = users.alice.page;
  await alice.getByTestId('list-name').fill('friends');
  await alice.getByTestId('list-create').click();
  const list = alice.getByTestId('list').filter({ hasText: 'friends' });
  await list.waitFor({ timeout: DEADLINE_MS });
  await list.getByTestId('list-member-input').fill(users.bob.peer.did);
  await list.getByTestId('list-member-add').click();
  await list.getByRole('button', { name: /^Remove / }).waitFor({ timeout: DEADLINE_MS });
  await shoot('alice', 'lists');
  await go('alice', '#/home');
  const option = alice.getByTestId('compose-audience').locator('option[value="list:friends"]');
  await option.waitFor({ state: 'attached', timeout: DEADLINE_MS });
  assert.match(await option.innerText(), /friends \(1 person\)/);
});

test('a direct message by username reaches the other page live, and is answered', async () => {
  await go('alice', '#/messages');
  await go('bob', '#/messages');
  await users.alice.page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor({ timeout: DEADLINE_MS });
  const bob = users.bob.page;
  const message = `A message for alice ${Date.now()}`;
  await bob.getByTestId('dm-to').fill('alice');
  await bob.getByTestId('dm-text').fill(message);
  await bob.getByTestId('dm-submit').click();
  await card('bob', message).waitFor({ timeout: DEADLINE_MS });
  // Alice follows nobody: the message reaches her inbox, and her open page, all the same.
  await card('alice', message).waitFor({ timeout: DEADLINE_MS });
  assert.match(await card('alice', message).getByTestId('dm-members').innerText(), /^to you$/);
  assert.match(await card('alice', message).innerText(), /sealed · message/);
  // Writing back addresses the whole conversation: bob.
  const alice = users.alice.page;
  await card('alice', message).getByRole('button', { name: 'Write back' }).click();
  assert.equal(await alice.getByTestId('dm-to').inputValue(), users.bob.peer.did);
  const answer = `And one for bob ${Date.now()}`;
  await alice.getByTestId('dm-text').fill(answer);
  await alice.getByTestId('dm-submit').click();
  await card('bob', answer).waitFor({ timeout: DEADLINE_MS });
  await shoot('alice', 'messages');
  await shoot('bob', 'messages');
});

test('every screen renders, at desktop and phone width', async () => {
  const aliceDid = users.alice.peer.did;
  const screens = [
    ['profile', `#/profile/${aliceDid}`],
    ['notifications', '#/notifications'],
    ['tag', '#/tags/kith'],
    ['public', '#/public'],
    ['peers', '#/peers'],
  ];
  for (const [screen, hash] of screens) {
    await go('alice', hash);
    await users.alice.page.locator('main h1, main h2').first().waitFor({ timeout: DEADLINE_MS });
    await shoot('alice', screen);
  }
  // The status page loads the node's figures, reachability among them (a test peer that no
  // one has dialled back yet, or that a peer has: either way a verdict is shown).
  await go('alice', '#/peers');
  await users.alice.page.getByText('Reachable', { exact: true }).waitFor({ timeout: DEADLINE_MS });
  assert.match(await users.alice.page.locator('main').innerText(), /Reached at/);
  // Bob's notifications are empty; alice's list the reply.
  await go('alice', '#/notifications');
  await users.alice.page.getByTestId('notification').first().waitFor({ timeout: DEADLINE_MS });
  // Bob's message to her is one too, shown with its text.
  await users.alice.page.getByTestId('notification').filter({ hasText: 'sent you a message' })
    .filter({ hasText: 'A message for alice' }).first().waitFor({ timeout: DEADLINE_MS });
  // The permalink page of the post, served by the daemon without the token.
  const { page, origin } = users.bob;
  await page.goto(`${origin}/p/${users.post.id}`);
  assert.match(await page.locator('main').innerText(), /Hello from the browser/);
  await shoot('bob', 'permalink');
});

test('no request left the machine, and nothing failed', () => {
  assert.deepEqual(foreign, [], 'requests to other hosts');
  assert.deepEqual(scriptErrors, [], 'script errors');
  assert.deepEqual(failedLoads, [], 'failed requests');
});
