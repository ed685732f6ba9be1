// The live tail of $all: a Server-Sent Events subscription read with fetch()
// (so that the API key can be sent), newest event first, the last
// TAIL_MAX_ROWS kept, drawn at most once per animation frame.

import {ApiError, errorFromResponse, getApiKey, readEventStream, withQuery} from './api.js';
import {$, element, formatClock, formatRate, integerFormat, jsonBlock, report} from './ui.js';

const TAIL_MAX_ROWS = 500;
const TAIL_RETRY_MS = [500, 1000, 2000, 5000, 10000];

export const tail = {
  started: false,
  paused: false,
  controller: null,
  lastPosition: null,  // of the last event received: reconnects resume after it
  failures: 0,
  received: 0,
  pending: [],  // data of the events received, not yet drawn
  drawScheduled: false,
  eventsByRow: new WeakMap(),
  rateSamples: [],  // [time, received] over the last seconds

  setStatus(state, text = state) {
    $('tail-status').dataset.state = state;
    $('tail-status').textContent = text;
  },

  start() {
    this.started = true;
    this.paused = false;
    $('tail-pause').textContent = 'Pause';
    this.lastPosition = null;
    this.connect();
  },

  stop() {
    this.controller?.abort();
    this.controller = null;
  },

  restart() {
    this.stop();
    this.start();
  },

  async connect() {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    this.setStatus('connecting', 'connecting…');
    try {
      // First connection: from what is committed now on ("end"); a
      // reconnection: right after the last event received.
      const from = this.lastPosition === null ? 'end' : this.lastPosition + 1;
      const url = withQuery('/v1/subscriptions/all', {from, prefix: $('tail-prefix').value, type: $('tail-type').value});
      const headers = {Accept: 'text/event-stream'};
      if (getApiKey()) headers.Authorization = `Bearer ${getApiKey()}`;
      const response = await fetch(url, {headers, signal: controller.signal, cache: 'no-store'});
      if (!response.ok) throw await errorFromResponse(response);
      report('tail', null);
      this.failures = 0;
      this.setStatus('live', 'live');
      await readEventStream(response, {
        onMessage: (message) => this.onMessage(message),
        onComment: () => {},
      });
      throw new Error('the server ended the subscription');
    } catch (error) {
      if (controller.signal.aborted) return;
      report('tail', error instanceof ApiError ? error : new ApiError(0, 'disconnected', error.message));
      const delay = TAIL_RETRY_MS[Math.min(this.failures++, TAIL_RETRY_MS.length - 1)];
      this.setStatus('reconnecting', `reconnecting in ${delay / 1000}s`);
      setTimeout(() => {
        if (this.controller === controller) this.connect();
      }, delay);
    }
  },

  // Only the events drawn are parsed (at most TAIL_MAX_ROWS per frame): under
  // a heavy load most are counted and dropped unparsed. The SSE id of an
  // event of $all is its position.
  onMessage(message) {
    if (message.type === 'error' && this.onServerError(message.data)) return;
    const position = Number(message.id);
    if (!Number.isSafeInteger(position)) return;
    this.lastPosition = position;
    this.received++;
    this.pending.push(message.data);
    // A hidden tab does not draw: keep what can still be shown.
    if (this.pending.length > 2 * TAIL_MAX_ROWS) this.pending.splice(0, this.pending.length - TAIL_MAX_ROWS);
    this.scheduleDraw();
  },

  // The server's final message before it drops the subscription (an event
  // of type "error" is told apart by having no position). True if it was.
  onServerError(data) {
    let payload;
    try {
      payload = JSON.parse(data);
    } catch {
      return false;
    }
    if (typeof payload?.error !== 'string' || 'position' in payload) return false;
    report('tail', new ApiError(0, payload.error, `subscription ended: ${payload.message ?? payload.error}`));
    // Too slow to keep up: go on from the head rather than catch up.
    if (payload.error === 'slow_consumer') this.lastPosition = null;
    return true;
  },

  scheduleDraw() {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => this.draw());
  },

  draw() {
    this.drawScheduled = false;
    const events = this.pending.slice(-TAIL_MAX_ROWS);
    this.pending = [];
    const fragment = document.createDocumentFragment();
    for (let i = events.length - 1; i >= 0; i--) {
      let event;
      try {
        event = JSON.parse(events[i]);
      } catch {
        continue;
      }
      fragment.append(this.row(event));
    }
    const tbody = $('live-tail');
    tbody.prepend(fragment);
    while (tbody.rows.length > TAIL_MAX_ROWS) tbody.lastElementChild.remove();
    $('tail-count').textContent = integerFormat.format(this.received);
  },

  row(event) {
    const data = JSON.stringify(event.data) ?? '';
    const row = element('tr', {dataset: {position: event.position, stream: event.stream, type: event.type}},
      element('td', {textContent: String(event.position), class: 'number'}),
      element('td', {}, element('a', {href: `#stream/${encodeURIComponent(event.stream)}`, textContent: event.stream})),
      element('td', {textContent: String(event.revision), class: 'number'}),
      element('td', {textContent: event.type}),
      element('td', {textContent: formatClock(event.recordedAt), title: event.recordedAt ?? ''}),
      element('td', {class: 'data', textContent: data.length > 240 ? `${data.slice(0, 240)}…` : data}));
    this.eventsByRow.set(row, event);
    return row;
  },

  // Click on a row: its whole recorded event as JSON, below it.
  toggleDetails(row) {
    const next = row.nextElementSibling;
    if (next?.classList.contains('details')) {
      next.remove();
      return;
    }
    const event = this.eventsByRow.get(row);
    if (!event) return;
    row.after(element('tr', {class: 'details'}, element('td', {colSpan: 6}, jsonBlock(event))));
  },

  sampleRate() {
    const now = Date.now();
    this.rateSamples.push([now, this.received]);
    while (this.rateSamples.length > 0 && this.rateSamples[0][0] < now - 5000) this.rateSamples.shift();
    const [firstTime, firstCount] = this.rateSamples[0];
    const seconds = (now - firstTime) / 1000;
    $('tail-rate').textContent = seconds > 0 ? formatRate((this.received - firstCount) / seconds) : '0';
  },
};

export function wireTail() {
  $('tail-controls').addEventListener('submit', (event) => {
    event.preventDefault();
    tail.restart();
  });
  $('tail-pause').addEventListener('click', () => {
    if (tail.paused) {
      tail.start();  // resumes at the head: a tail is about now
    } else {
      tail.paused = true;
      tail.stop();
      tail.setStatus('paused', 'paused');
      $('tail-pause').textContent = 'Resume';
    }
  });
  $('tail-clear').addEventListener('click', () => {
    $('live-tail').replaceChildren();
    tail.pending = [];
    tail.received = 0;
    tail.rateSamples = [];
    $('tail-count').textContent = '0';
  });
  $('live-tail').addEventListener('click', (event) => {
    if (event.target.closest('a')) return;
    const row = event.target.closest('tr[data-position]');
    if (row) tail.toggleDetails(row);
  });
  setInterval(() => tail.sampleRate(), 1000);
}
