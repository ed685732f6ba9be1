// The streams list (search by prefix, paged with `after`) and one stream's
// events with their JSON (paged with `from`/`next`, either direction).

import {api, streamPath, withQuery} from './api.js';
import {$, element, formatNumber, jsonBlock, pick, report} from './ui.js';

const STREAMS_PAGE = 50;

export const streamList = {
  afters: [''],  // `after` of each page visited; the last is the current page
  next: null,
  request: 0,

  show() {
    this.load();
  },

  search() {
    this.afters = [''];
    this.load();
  },

  async load() {
    const request = ++this.request;
    const after = this.afters[this.afters.length - 1];
    let body;
    try {
      body = await api(withQuery('/v1/streams', {prefix: $('stream-prefix').value, after, limit: STREAMS_PAGE}));
    } catch (error) {
      if (request === this.request) report('streams', error);
      return;
    }
    if (request !== this.request) return;  // a newer search answered first
    report('streams', null);
    const streams = body?.streams ?? [];
    const rows = streams.map((entry) => {
      const name = entry.stream;
      const revision = pick(entry, 'lastRevision');
      return element('tr', {dataset: {stream: name}},
        element('td', {}, element('a', {href: `#stream/${encodeURIComponent(name)}`, textContent: name})),
        element('td', {textContent: formatNumber(revision), class: 'number'}));
    });
    $('stream-list').tBodies[0].replaceChildren(...rows);
    $('streams-empty').hidden = rows.length > 0;
    this.next = body?.next ?? null;
    $('streams-next').disabled = this.next === null;
    $('streams-previous').disabled = this.afters.length <= 1;
    $('streams-first').disabled = this.afters.length <= 1;
  },
};

// ---- one stream's events ---------------------------------------------------------------

export const streamView = {
  name: null,
  froms: [],  // `from` of each page visited (null: the start in `direction`)
  direction: 'forward',
  next: null,
  request: 0,

  open(name) {
    if (name === this.name) {
      this.load();
      return;
    }
    this.name = name;
    this.direction = 'forward';
    this.froms = [null];
    $('stream-name').textContent = name;
    $('stream-events').replaceChildren();
    this.load();
  },

  async load() {
    const request = ++this.request;
    const name = this.name;
    const from = this.froms[this.froms.length - 1];
    const limit = Number($('stream-limit').value);
    let body;
    try {
      body = await api(withQuery(streamPath(name), {from, limit, direction: this.direction}));
    } catch (error) {
      if (request !== this.request) return;
      report('stream', error);
      $('stream-events').replaceChildren();
      $('stream-empty').hidden = true;
      return;
    }
    if (request !== this.request) return;  // a newer page answered first
    report('stream', null);
    const events = body?.events ?? [];
    $('stream-events').replaceChildren(...events.map((event) => this.eventCard(event)));
    $('stream-empty').hidden = events.length > 0;
    this.next = body?.next ?? null;
    $('stream-next').disabled = this.next === null;
    $('stream-previous').disabled = this.froms.length <= 1;
    $('stream-from').value = events.length ? String(events[0].revision) : '';
  },

  eventCard(event) {
    const metadata = event.metadata && Object.keys(event.metadata).length ? event.metadata : null;
    return element('article', {class: 'event', dataset: {revision: event.revision, position: event.position}},
      element('header', {},
        element('span', {class: 'revision', textContent: `#${event.revision}`}),
        element('span', {class: 'type', textContent: event.type}),
        element('span', {class: 'muted', textContent: `position ${event.position}`}),
        element('time', {class: 'muted', dateTime: event.recordedAt ?? '', textContent: event.recordedAt ?? ''}),
        element('span', {class: 'muted id', textContent: event.id ?? ''})),
      jsonBlock(event.data),
      metadata ? element('div', {class: 'metadata'}, element('span', {class: 'muted', textContent: 'metadata'}), jsonBlock(metadata)) : null);
  },

  page(from, direction = this.direction, reset = false) {
    this.direction = direction;
    if (reset) this.froms = [from];
    else this.froms.push(from);
    this.load();
  },
};

export function wireStreams() {
  let searchTimer = 0;
  $('stream-prefix').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => streamList.search(), 200);
  });
  $('stream-search').addEventListener('submit', (event) => {
    event.preventDefault();
    streamList.search();
  });
  $('streams-first').addEventListener('click', () => streamList.search());
  $('streams-previous').addEventListener('click', () => {
    if (streamList.afters.length > 1) streamList.afters.pop();
    streamList.load();
  });
  $('streams-next').addEventListener('click', () => {
    if (streamList.next === null) return;
    streamList.afters.push(streamList.next);
    streamList.load();
  });

  $('stream-oldest').addEventListener('click', () => streamView.page(null, 'forward', true));
  $('stream-newest').addEventListener('click', () => streamView.page(null, 'backward', true));
  $('stream-next').addEventListener('click', () => {
    if (streamView.next !== null) streamView.page(streamView.next);
  });
  $('stream-previous').addEventListener('click', () => {
    if (streamView.froms.length > 1) streamView.froms.pop();
    streamView.load();
  });
  $('stream-limit').addEventListener('change', () => streamView.load());
  $('stream-paging').addEventListener('submit', (event) => {
    event.preventDefault();
    const from = $('stream-from').value;
    streamView.page(from === '' ? null : Number(from), 'forward', true);
  });
}
