// End-to-end test of the web console: starts evsrcd on a fresh store and a
// free loopback port, opens /console/ in headless Chromium (Debian's, driven
// by playwright-core; no browser download) and checks what a user sees.
//
//   EVSRCD=build/default/evsrcd node --test tests/console/console.test.mjs
//
// Environment: EVSRCD (required) the server binary; EVSRC the CLI, to create
// API keys (default: the evsrc beside EVSRCD); CHROMIUM the browser (default
// /usr/bin/chromium). A missing one fails the test, never skips it.

import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {accessSync, constants, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {chromium} from 'playwright-core';

const EVSRCD = process.env.EVSRCD;
const EVSRC = process.env.EVSRC || (EVSRCD && path.join(path.dirname(EVSRCD), 'evsrc'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STARTUP_TIMEOUT_MS = 20_000;
const UI_TIMEOUT_MS = 10_000;

function requireExecutable(file, what) {
  assert.ok(file, `${what}: not set`);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    assert.fail(`${what}: ${file} is not an executable file`);
  }
}

// Creates an API key with `evsrc keys add` in the key file of a file: store
// (where evsrcd looks by default) and returns it ("evk_...").
function addApiKey(directory, role, prefixes = []) {
  requireExecutable(EVSRC, 'EVSRC (the evsrc CLI)');
  const output = execFileSync(EVSRC, ['keys', 'add', '--keys-file', path.join(directory, 'api-keys.json'),
                                      '--role', role, '--name', `console test ${role}`,
                                      ...prefixes.flatMap((prefix) => ['--prefix', prefix])], {encoding: 'utf8'});
  return JSON.parse(output).key;
}

// A running evsrcd on a new store: `url` is where it listens; `output()` what
// it printed. `prepare(directory)` runs before it starts.
async function startServer({extraArguments = [], prepare = () => {}} = {}) {
  requireExecutable(EVSRCD, 'EVSRCD (the evsrcd binary)');
  const directory = mkdtempSync(path.join(tmpdir(), 'evsrc-console-'));
  let child = null;
  let exited = Promise.resolve();
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(directory, {recursive: true, force: true});
  };

  let stdout = '';
  let stderr = '';
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  try {
    prepare(directory);
    child = spawn(EVSRCD, ['--store', `file:${directory}`, '--listen', '127.0.0.1:0', ...extraArguments], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`evsrcd did not start in time\n${output()}`)), STARTUP_TIMEOUT_MS);
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = stdout.match(/^evsrcd listening on (http:\/\/\S+)/m);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      exited.then(({code, signal}) => {
        clearTimeout(timer);
        reject(new Error(`evsrcd exited (code ${code}, signal ${signal}) before listening\n${output()}`));
      });
    });
    return {url, output, stop};
  } catch (error) {
    await stop();
    throw error;
  }
}

async function launchBrowser() {
  requireExecutable(CHROMIUM, 'CHROMIUM (Debian package chromium)');
  return chromium.launch({executablePath: CHROMIUM, headless: true, args: ['--no-sandbox']});
}

// Opens a page that records script errors (a console that throws is broken
// even when it looks right).
async function openPage(browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const errors = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) {
      errors.push(`console error: ${message.text()}`);
    }
  });
  return {page, errors};
}

async function append(server, stream, events) {
  const response = await fetch(`${server.url}/v1/streams/${encodeURIComponent(stream)}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(events),
  });
  const body = await response.json();
  assert.equal(response.status, 201, `append to ${stream}: ${JSON.stringify(body)}`);
  return body;
}

async function readStream(server, stream) {
  const response = await fetch(`${server.url}/v1/streams/${encodeURIComponent(stream)}?from=0&limit=1000`);
  assert.equal(response.status, 200);
  return (await response.json()).events;
}

describe('web console', () => {
  let server;
  let browser;
  let page;
  let errors;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ({page, errors} = await openPage(browser));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('loads from /console/ and reaches the API', async () => {
    const response = await page.goto(`${server.url}/console/`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-type'], /text\/html/);
    await page.locator('#connection[data-state="connected"]').waitFor();
    assert.equal(await page.locator('#auth-error').isHidden(), true);
    assert.deepEqual(errors, []);
  });

  test('appended events appear in the live tail', async () => {
    await page.click('#tab-tail');
    await page.locator('#tail-status[data-state="live"]').waitFor();

    const first = [
      {type: 'OrderPlaced', data: {order: 'o-1', total: 42.5}},
      {type: 'OrderPaid', data: {order: 'o-1', method: 'card'}},
      {type: 'OrderShipped', data: {order: 'o-1', carrier: 'post'}},
    ];
    const result = await append(server, 'order-1', first);
    assert.equal(result.lastRevision, 2);
    const recorded = await readStream(server, 'order-1');
    assert.equal(recorded.at(-1).position, result.position);
    for (const event of recorded) {
      const row = page.locator(`#live-tail tr[data-position="${event.position}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute('data-stream'), 'order-1');
      assert.equal(await row.getAttribute('data-type'), event.type);
      assert.match(await row.innerText(), new RegExp(event.type));
    }
    // Newest first.
    assert.equal(await page.locator('#live-tail tr[data-position]').first().getAttribute('data-position'),
                 String(result.position));

    // Still live for a later append, to another stream.
    const later = await append(server, 'customer-7', {type: 'CustomerRenamed', data: {name: 'Ada'}});
    const row = page.locator(`#live-tail tr[data-position="${later.position}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-stream'), 'customer-7');
    assert.match(await row.innerText(), /"name":"Ada"/);
    assert.equal(await page.locator('#tail-count').innerText(), '4');

    // A row opens the whole recorded event as JSON.
    await row.click();
    const details = page.locator('#live-tail tr.details pre.json');
    await details.waitFor();
    const shown = JSON.parse(await details.innerText());
    assert.equal(shown.stream, 'customer-7');
    assert.equal(shown.position, later.position);
    assert.deepEqual(shown.data, {name: 'Ada'});
    assert.deepEqual(errors, []);
  });

  test('the streams list shows the streams and searches by prefix', async () => {
    await page.click('#tab-streams');
    await page.locator('#stream-list tr[data-stream="order-1"]').waitFor();
    await page.locator('#stream-list tr[data-stream="customer-7"]').waitFor();
    assert.match(await page.locator('#stream-list tr[data-stream="order-1"]').innerText(), /\b2\b/);

    await page.fill('#stream-prefix', 'order-');
    await page.locator('#stream-list tr[data-stream="customer-7"]').waitFor({state: 'detached'});
    assert.equal(await page.locator('#stream-list tr[data-stream]').count(), 1);

    await page.fill('#stream-prefix', 'nothing-here');
    await page.locator('#streams-empty').waitFor();
    assert.equal(await page.locator('#stream-list tr[data-stream]').count(), 0);
    await page.fill('#stream-prefix', '');
    await page.locator('#stream-list tr[data-stream="customer-7"]').waitFor();
    assert.deepEqual(errors, []);
  });

  test("a stream's events show their JSON", async () => {
    await page.click('#stream-list tr[data-stream="order-1"] a');
    await page.locator('#stream-name', {hasText: 'order-1'}).waitFor();
    const events = page.locator('#stream-events article.event');
    await events.nth(2).waitFor();
    assert.equal(await events.count(), 3);
    const card = page.locator('#stream-events article[data-revision="0"]');
    assert.match(await card.locator('header').innerText(), /OrderPlaced/);
    assert.deepEqual(JSON.parse(await card.locator('pre.json').first().innerText()), {order: 'o-1', total: 42.5});

    // Pages of 20 over 25 events: next, previous, newest first.
    // (Each wait names something only the expected page shows: a page is
    // replaced at once, but the previous one may still be there.)
    await append(server, 'bulk-1', Array.from({length: 25}, (_, i) => ({type: 'Tick', data: {i}})));
    await page.selectOption('#stream-limit', '20');
    await page.evaluate(() => (location.hash = 'stream/bulk-1'));
    const cards = page.locator('#stream-events article.event');
    await page.locator('#stream-events article[data-revision="19"]').waitFor();
    assert.equal(await cards.count(), 20);
    await page.click('#stream-next');
    await page.locator('#stream-events article[data-revision="24"]').waitFor();
    assert.equal(await cards.count(), 5);
    assert.equal(await cards.first().getAttribute('data-revision'), '20');
    assert.equal(await page.isDisabled('#stream-next'), true);
    await page.click('#stream-previous');
    await page.locator('#stream-events article[data-revision="0"]').waitFor();
    await page.click('#stream-newest');
    await page.locator('#stream-events article:first-child[data-revision="24"]').waitFor();
    assert.equal(await cards.count(), 20);
    assert.equal(await cards.last().getAttribute('data-revision'), '5');
    assert.deepEqual(JSON.parse(await cards.first().locator('pre.json').innerText()), {i: 24});
    assert.deepEqual(errors, []);
  });

  test('the overview shows store statistics, projections and live charts', async () => {
    await page.click('#tab-overview');
    // Polled each second: wait for a sample taken after the appends.
    await page.locator('#stats dd[data-key="events"]', {hasText: /^29$/}).waitFor();
    assert.equal(await page.locator('#stats dd[data-key="streams"]').innerText(), '3');
    assert.match(await page.locator('#stats dd[data-key="appendLatency.p99"]').innerText(), /^[\d.]+ (µs|ms|s)$/);
    // The built-in projections' status.
    await page.locator('#projections tbody tr[data-name]').first().waitFor();
    // Charts are drawn from samples taken each second.
    await page.waitForFunction(() => Number(document.getElementById('chart-rate').dataset.samples) >= 2);
    await page.waitForFunction(() => Number(document.getElementById('chart-latency').dataset.samples) >= 2);
    const size = await page.locator('#chart-rate').evaluate((canvas) => [canvas.width, canvas.height]);
    assert.ok(size[0] > 100 && size[1] > 50, `chart canvas size ${size}`);
    assert.deepEqual(errors, []);
  });
});

describe('web console with authentication required', () => {
  let server;
  let browser;
  const keys = {};

  before(async () => {
    server = await startServer({
      extraArguments: ['--require-auth'],
      prepare: (directory) => {
        keys.writer = addApiKey(directory, 'writer');
        keys.orderReader = addApiKey(directory, 'reader', ['order-']);
      },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('401 and 403 are shown, and the API key is sent as the bearer token', async () => {
    const {page, errors} = await openPage(browser);
    await page.goto(`${server.url}/console/`);
    const banner = page.locator('#auth-error');
    await banner.waitFor();
    assert.match(await banner.innerText(), /401/);
    assert.match(await banner.innerText(), /requires an API key/);
    assert.equal(await page.locator('#connection').getAttribute('data-state'), 'unauthorized');

    // A wrong key: sent, refused, said so.
    const sent = page.waitForRequest((request) => request.url().endsWith('/v1/stats') &&
                                                  request.headers().authorization === 'Bearer evk_not_a_key');
    await page.fill('#api-key', 'evk_not_a_key');
    await page.click('#api-key-save');
    await sent;
    await page.locator('#auth-error', {hasText: 'did not accept this API key'}).waitFor();

    // A good key: the banner goes, the console works, the key is remembered.
    await page.fill('#api-key', keys.writer);
    await page.click('#api-key-save');
    await page.locator('#connection[data-state="connected"]').waitFor();
    await banner.waitFor({state: 'hidden'});
    await page.locator('#stats dd').first().waitFor();
    await page.reload();
    assert.equal(await page.inputValue('#api-key'), keys.writer);
    await page.locator('#connection[data-state="connected"]').waitFor();

    // A reader limited to order-*: listing every stream is forbidden (403),
    // listing order-* is not.
    await page.fill('#api-key', keys.orderReader);
    await page.click('#api-key-save');
    await page.click('#tab-streams');
    await page.locator('#streams-error', {hasText: '403'}).waitFor();
    await page.locator('#auth-error', {hasText: '403 Forbidden'}).waitFor();
    await page.fill('#stream-prefix', 'order-');
    await page.locator('#streams-error').waitFor({state: 'hidden'});
    await banner.waitFor({state: 'hidden'});

    await page.click('#api-key-clear');
    assert.equal(await page.evaluate(() => localStorage.getItem('evsrc.apiKey')), null);
    assert.deepEqual(errors, []);
  });
});
