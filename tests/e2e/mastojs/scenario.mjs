// A masto.js client against a running Tusk at TUSK_BASE_URL, as a person's client would use it:
// alice and bob (tusk run's demo accounts) log in with the password grant; bob follows alice and
// listens on his user stream; alice uploads a PNG and posts with it; bob reads his home timeline page
// by page, sees the post arrive on the stream and favourites it; alice reads the notification.
// Prints one JSON line per step, {step, ok, error?}; a step whose prerequisite failed fails with the reason.
// Always exits 0 once the steps ran: tests/e2e/test_mastojs.py judges the lines.

import { deflateSync } from "node:zlib";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const BASE_URL = process.env.TUSK_BASE_URL ?? "http://127.0.0.1:8080";
const STEP_MS = 15_000; // a step that takes longer has failed
const SCOPES = "read write follow";
const OOB = "urn:ietf:wg:oauth:2.0:oob";

const state = {};

async function step(name, needs, run) {
  const missing = needs.filter((key) => state[key] === undefined);
  let line;
  if (missing.length > 0) {
    line = { step: name, ok: false, error: `skipped: needs ${missing.join(", ")} from an earlier step` };
  } else {
    try {
      await withTimeout(run(), STEP_MS, name);
      line = { step: name, ok: true };
    } catch (error) {
      line = { step: name, ok: false, error: describe(error) };
    }
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function withTimeout(promise, ms, name) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error) {
  const status = error?.statusCode ? `HTTP ${error.statusCode}: ` : "";
  return `${status}${error?.message ?? String(error)}`.slice(0, 500);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// A valid 4x4 RGB PNG, built here so the scenario needs no fixture file.
function tinyPng() {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = table[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(4, 0);
  header.writeUInt32BE(4, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = Buffer.concat(Array.from({ length: 4 }, () => Buffer.from([0, ...Array(12).fill(0x7f)])));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

async function logIn(username) {
  const anonymous = createRestAPIClient({ url: BASE_URL });
  const app = await anonymous.v1.apps.create({ clientName: "tusk-mastojs", redirectUris: OOB, scopes: SCOPES });
  const oauth = createOAuthAPIClient({ url: BASE_URL });
  const token = await oauth.token.create({
    grantType: "password",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: OOB,
    scope: SCOPES,
    username,
    password: username,
  });
  const rest = createRestAPIClient({ url: BASE_URL, accessToken: token.accessToken });
  const me = await rest.v1.accounts.verifyCredentials();
  check(me.username === username, `verify_credentials answered ${me.username}`);
  return { rest, token: token.accessToken, account: me };
}

async function homePages(rest, limit, maxPages) {
  const pages = [];
  for await (const page of rest.v1.timelines.home.list({ limit })) {
    pages.push(page);
    if (pages.length >= maxPages) break;
  }
  return pages;
}

// Reads the stream in the background from now on, so no event is missed while other steps run.
function collectUpdates(subscription) {
  const collected = { subscription, statuses: [], error: undefined };
  (async () => {
    for await (const event of subscription) {
      if (event.event === "update") collected.statuses.push(event.payload);
    }
  })().catch((error) => {
    collected.error = error;
  });
  return collected;
}

async function streamed(updates, statusId) {
  for (;;) {
    const found = updates.statuses.find((status) => status.id === statusId);
    if (found) return found;
    if (updates.error) throw updates.error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main() {
  await step("login", [], async () => {
    state.alice = await logIn("alice");
    state.bob = await logIn("bob");
  });

  await step("follow", ["alice", "bob"], async () => {
    const target = await state.bob.rest.v1.accounts.lookup({ acct: "alice" });
    check(target.id === state.alice.account.id, "lookup found another account");
    const unfollowed = await state.bob.rest.v1.accounts.$select(target.id).unfollow();
    check(!unfollowed.following, "still following after unfollow");
    const followed = await state.bob.rest.v1.accounts.$select(target.id).follow();
    check(followed.following, "not following after follow");
    state.followed = true;
  });

  await step("stream_subscribe", ["bob"], async () => {
    const instance = await state.bob.rest.v2.instance.fetch();
    const streaming = createStreamingAPIClient({
      streamingApiUrl: instance.configuration.urls.streaming,
      accessToken: state.bob.token,
      retry: 2,
    });
    state.streaming = streaming;
    await streaming.prepare(); // the socket is open (or this throws) before alice posts
    state.updates = collectUpdates(streaming.user.subscribe());
  });

  await step("upload_media", ["alice"], async () => {
    const file = new Blob([tinyPng()], { type: "image/png" });
    const media = await state.alice.rest.v2.media.create({ file, description: "a grey square" });
    check(media.type === "image", `media type ${media.type}`);
    state.media = media;
  });

  await step("post_with_media", ["alice", "media"], async () => {
    const status = await state.alice.rest.v1.statuses.create({
      status: "A grey square, posted by masto.js",
      mediaIds: [state.media.id],
    });
    check(status.mediaAttachments.length === 1, "the status has no attachment");
    state.post = status;
  });

  await step("post", ["alice"], async () => {
    // Without media when the upload failed, so the later steps still have a post to work with.
    state.post ??= await state.alice.rest.v1.statuses.create({ status: "Hello from masto.js" });
    check(state.post.account.id === state.alice.account.id, "the post is not alice's");
  });

  await step("home_timeline_paginated", ["bob", "post", "followed"], async () => {
    let pages = [];
    for (let attempt = 0; attempt < 50; attempt += 1) {
      // Fanout to bob's home is asynchronous: read again until the post is there (bounded).
      pages = await homePages(state.bob.rest, 2, 10);
      if (pages.flat().some((status) => status.id === state.post.id)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ids = pages.flat().map((status) => status.id);
    check(ids.includes(state.post.id), `alice's post is not in bob's home timeline (${ids.length} statuses)`);
    check(pages.length >= 2, `expected at least 2 pages of 2, got ${pages.length}`);
    check(pages.every((page) => page.length <= 2), "a page is longer than the limit");
    check(new Set(ids).size === ids.length, "pages overlap");
    const ordered = ids.every((id, n) => n === 0 || BigInt(ids[n - 1]) > BigInt(id));
    check(ordered, "the timeline is not newest first across pages");
  });

  await step("stream_update", ["updates", "post"], async () => {
    const arrived = await streamed(state.updates, state.post.id);
    check(arrived.content.includes("masto.js"), "the streamed status has other content");
  });
  state.updates?.subscription.unsubscribe();
  state.streaming?.close();

  await step("favourite", ["bob", "post"], async () => {
    const favourited = await state.bob.rest.v1.statuses.$select(state.post.id).favourite();
    check(favourited.favourited === true, "favourited is not true");
    check(favourited.favouritesCount >= 1, "favourites_count did not count it");
    state.favourited = true;
  });

  await step("notification", ["alice", "post", "favourited"], async () => {
    const notifications = await state.alice.rest.v1.notifications.list({ limit: 20 });
    const found = notifications.find(
      (n) => n.type === "favourite" && n.account.id === state.bob.account.id && n.status?.id === state.post.id,
    );
    check(found, `no favourite notification from bob among ${notifications.length}`);
  });
}

await main();
process.exit(0); // open sockets or timers of a failed step must not hold the process
