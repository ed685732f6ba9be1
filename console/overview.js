// The overview: store statistics and projection status from the API, polled
// each second, and charts drawn from those samples: append rate from counter
// deltas, append latency per second from the /metrics histogram's bucket
// deltas, projection lag.

import {api, apiText} from './api.js';
import {TimeChart} from './charts.js';
import {$, decimalFormat, element, formatBytes, formatMilliseconds, formatNumber, formatRate, pick, report} from './ui.js';

const POLL_MS = 1000;
const LATENCY_HISTOGRAM = 'evsrc_append_latency_seconds';

// GET /v1/stats, shown in this order. Members not listed (newer servers)
// follow under "Other".
const seconds = (value) => formatMilliseconds(value * 1000);
const STAT_GROUPS = [
  ['Store', [['events', 'Events'], ['streams', 'Streams'], ['bytes', 'Log size', formatBytes],
             ['segments', 'Log segments'], ['lastPosition', 'Last position']]],
  ['Appends', [['appends', 'Appends'], ['appendedEvents', 'Events appended'], ['appendedBytes', 'Data appended', formatBytes],
               ['appendConflicts', 'Conflicts (409)'], ['appendLatency.p50', 'Latency p50', seconds],
               ['appendLatency.p99', 'Latency p99', seconds]]],
  ['Reads', [['readEvents', 'Events read'], ['readLatency.p50', 'Latency p50', seconds],
             ['readLatency.p99', 'Latency p99', seconds]]],
  ['Server', [['requests', 'Requests'], ['responses4xx', '4xx responses'], ['responses5xx', '5xx responses'],
              ['connectionsOpen', 'Open connections'], ['connectionsTotal', 'Connections accepted'],
              ['subscriptionsOpen', 'Open subscriptions'], ['subscriptionsTotal', 'Subscriptions started'],
              ['subscriptionEvents', 'Events sent to subscribers'], ['subscriptionsDropped', 'Slow subscribers dropped']]],
];
const STAT_HIDDEN = new Set(['time', 'appendLatency.count', 'readLatency.count']);

function flatten(object, prefix = '', out = new Map()) {
  for (const [name, value] of Object.entries(object ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (value && typeof value === 'object' && !Array.isArray(value)) flatten(value, key, out);
    else out.set(key, value);
  }
  return out;
}

// The cumulative buckets [{le, count}] of a histogram in Prometheus text.
function histogramBuckets(text, name) {
  const buckets = [];
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const match = line.match(/le="([^"]+)"\}\s+(\S+)/);
    if (match) buckets.push({le: match[1] === '+Inf' ? Infinity : Number(match[1]), count: Number(match[2])});
  }
  return buckets;
}

// Quantile q of what was recorded between two readings of the same
// histogram, interpolated inside the bucket as Prometheus'
// histogram_quantile() does; null when nothing was recorded in between.
function quantileBetween(previous, current, q) {
  if (!previous || previous.length !== current.length || current.length === 0) return null;
  const counts = current.map((bucket, i) => bucket.count - previous[i].count);
  const total = counts[counts.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] < rank) continue;
    const lower = i === 0 ? 0 : current[i - 1].le;
    const upper = current[i].le;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : counts[i - 1];
    const inBucket = counts[i] - below;
    return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
  }
  return null;
}

export const overview = {
  rate: new TimeChart($('chart-rate'), {format: formatRate}),
  latency: new TimeChart($('chart-latency'), {format: formatMilliseconds}),
  lag: new TimeChart($('chart-lag'), {format: formatRate, emptyText: 'no projections'}),
  previous: null,  // {time, events, appends} of the last stats sample
  previousBuckets: null,  // of the append latency histogram, last sample
  statElements: new Map(),  // key -> {dd, format}

  async poll() {
    const now = Date.now();
    const [stats, projections, metrics] =
        await Promise.allSettled([api('/v1/stats'), api('/v1/projections'), apiText('/metrics')]);
    setConnection(stats.status === 'fulfilled' ? null : stats.reason);
    if (stats.status === 'fulfilled') {
      report('stats', null);
      this.showStats(stats.value, now);
    } else {
      report('stats', stats.reason);
      this.previous = null;
    }
    this.showLatency(metrics.status === 'fulfilled' ? metrics.value : null,
                     stats.status === 'fulfilled' ? stats.value : null, now);
    if (projections.status === 'fulfilled') {
      report('projections', null);
      this.showProjections(projections.value, now);
    } else {
      report('projections', projections.reason);
    }
    if (!$('view-overview').hidden) this.draw(now);
  },

  showStats(stats, now) {
    const values = flatten(stats);
    if (this.statElements.size === 0) this.buildStats(values);
    for (const [key, {dd, format}] of this.statElements) {
      const value = values.get(key);
      dd.textContent = typeof value === 'number' ? format(value) : value === null || value === undefined ? '–' : String(value);
      dd.title = value === undefined ? '' : String(value);
    }
    if (typeof stats.time === 'string') $('connection').title = `server time ${stats.time}`;

    const events = pick(stats, 'appendedEvents');
    const appends = pick(stats, 'appends');
    // The server's clock, when it gives one, times the interval: the
    // request's own delay does not distort the rate.
    const serverTime = Date.parse(stats.time);
    const time = Number.isNaN(serverTime) ? now : serverTime;
    if (this.previous && events !== null) {
      const elapsed = (time - this.previous.time) / 1000;
      const eventDelta = events - this.previous.events;
      const appendDelta = appends - this.previous.appends;
      // A negative delta is a restarted server: no rate for that interval.
      if (elapsed > 0 && eventDelta >= 0) {
        this.rate.add('events/s', now, eventDelta / elapsed);
        if (appends !== null && appendDelta >= 0) this.rate.add('appends/s', now, appendDelta / elapsed);
      }
    }
    this.previous = events === null ? null : {time, events, appends};
  },

  // The <dl>s of STAT_GROUPS, then "Other" for what the server added since.
  buildStats(values) {
    const container = $('stats');
    const listed = new Set();
    const groups = STAT_GROUPS.map(([title, items]) => [title, items.map(([key, label, format = formatNumber]) => {
      listed.add(key);
      return [key, label, format];
    })]);
    const others = [...values.keys()].filter((key) => !listed.has(key) && !STAT_HIDDEN.has(key));
    if (others.length) groups.push(['Other', others.map((key) => [key, key, formatNumber])]);
    for (const [title, items] of groups) {
      const dl = element('dl', {class: 'stats'});
      for (const [key, label, format] of items) {
        const dd = element('dd', {dataset: {key}});
        dl.append(element('dt', {textContent: label, title: key}), dd);
        this.statElements.set(key, {dd, format});
      }
      container.append(element('h3', {textContent: title}), dl);
    }
  },

  // Append latency over the last interval (not since the server started:
  // a spike must show). Falls back to the cumulative figures of /v1/stats
  // when /metrics has no such histogram.
  showLatency(metricsText, stats, now) {
    const buckets = metricsText === null ? [] : histogramBuckets(metricsText, LATENCY_HISTOGRAM);
    if (buckets.length > 0) {
      for (const [name, q] of [['p50', 0.5], ['p99', 0.99]]) {
        const value = quantileBetween(this.previousBuckets, buckets, q);
        this.latency.add(name, now, value === null ? null : value * 1000);
      }
      this.previousBuckets = buckets;
    } else if (stats) {
      this.previousBuckets = null;
      for (const name of ['p50', 'p99']) {
        const value = pick(stats, `appendLatency.${name}`);
        this.latency.add(name, now, value === null ? null : value * 1000);
      }
    }
  },

  showProjections(body, now) {
    const list = body?.projections ?? [];
    const tbody = $('projections').tBodies[0];
    const rows = list.map((projection) => {
      const lag = pick(projection, 'lagPositions');
      const lagSeconds = pick(projection, 'lagSeconds');
      const state = projection.state ?? '';
      const name = String(projection.name);
      this.lag.add(name, now, lag);
      return element('tr', {dataset: {name, state}, class: lag > 0 ? 'lagging' : ''},
        element('td', {textContent: name}),
        element('td', {textContent: state, class: `state state-${state}`}),
        element('td', {textContent: formatNumber(projection.position ?? null), class: 'number'}),
        element('td', {textContent: formatNumber(lag), class: 'number lag'}),
        element('td', {textContent: lagSeconds === null ? '–' : decimalFormat.format(lagSeconds), class: 'number'}),
        element('td', {textContent: formatNumber(pick(projection, 'eventsApplied')), class: 'number'}),
        element('td', {textContent: projection.error ?? '', class: 'error-text'}));
    });
    tbody.replaceChildren(...rows);
    $('projections-empty').hidden = list.length > 0;
    this.lag.keepOnly(new Set(list.map((projection) => String(projection.name))));
  },

  draw(now = Date.now()) {
    this.rate.draw(now);
    this.latency.draw(now);
    this.lag.draw(now);
  },

  async run() {
    for (;;) {
      const started = Date.now();
      if (!document.hidden) {
        try {
          await this.poll();
        } catch (error) {
          console.warn('overview poll', error);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, POLL_MS - (Date.now() - started))));
    }
  },
};

function setConnection(error) {
  const connection = $('connection');
  if (!error) {
    connection.dataset.state = 'connected';
    connection.textContent = `connected to ${location.host}`;
  } else if (error.status === 401 || error.status === 403) {
    connection.dataset.state = 'unauthorized';
    connection.textContent = `${error.status} ${error.status === 401 ? 'unauthorized' : 'forbidden'}`;
  } else {
    connection.dataset.state = 'down';
    connection.textContent = error.status === 0 ? 'server unreachable' : `error ${error.status}`;
  }
}
