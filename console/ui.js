// What every view shares: DOM helpers, number and JSON formatting, and the
// error lines (per view, plus a banner for 401/403, which the API key fixes).

import {ApiError, getApiKey} from './api.js';

export const $ = (id) => document.getElementById(id);

export function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'class') node.className = value;
    else node[name] = value;
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// ---- formatting ----------------------------------------------------------------

export const integerFormat = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});
export const decimalFormat = new Intl.NumberFormat('en-US', {maximumFractionDigits: 2});

export function formatNumber(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? integerFormat.format(value) : decimalFormat.format(value);
}

export function formatBytes(bytes) {
  if (typeof bytes !== 'number') return formatNumber(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatMilliseconds(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms === 0) return '0';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatRate(value) {
  return value >= 1000 ? `${decimalFormat.format(value / 1000)}k` : decimalFormat.format(value);
}

// "2024-05-01T12:00:00.123456Z" -> "12:00:00.123" in local time.
export function formatClock(recordedAt) {
  const date = new Date(recordedAt);
  if (Number.isNaN(date.getTime())) return String(recordedAt ?? '');
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

// Pretty JSON with spans for keys, strings, numbers and literals (as text
// nodes: event data never becomes markup). Large documents stay plain.
export function jsonBlock(value) {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  const block = element('pre', {class: 'json'});
  if (text.length > 200_000) {
    block.textContent = text;
    return block;
  }
  const token = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const match of text.matchAll(token)) {
    if (match.index > last) block.append(text.slice(last, match.index));
    const kind = match[1] ? (match[2] ? 'key' : 'string') : match[3] ? 'literal' : 'number';
    block.append(element('span', {class: `json-${kind}`, textContent: match[1] ?? match[0]}));
    if (match[2]) block.append(match[2]);
    last = match.index + match[0].length;
  }
  block.append(text.slice(last));
  return block;
}

// The number at a dotted path ("appendLatency.p99"), or null.
export function pick(object, path) {
  let value = object;
  for (const part of path.split('.')) value = value?.[part];
  return typeof value === 'number' ? value : null;
}

// ---- errors ---------------------------------------------------------------------

// Problems by channel ("stats", "streams", "tail", ...): shown in the
// channel's own error line; 401/403 also in the banner under the header,
// since they are fixed with the API key field.
const problems = new Map();
const STORE_WIDE = new Set(['stats', 'projections']);

export function describe(error) {
  if (!(error instanceof ApiError)) return String(error?.message ?? error);
  if (error.status === 401) {
    return getApiKey()
      ? `401 Unauthorized: the server did not accept this API key (${error.message}).`
      : '401 Unauthorized: this server requires an API key. Enter one above.';
  }
  if (error.status === 403) return `403 Forbidden: this API key has no permission for this (${error.message}).`;
  if (error.status === 0) return `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`;
  return `${error.status} ${error.code}: ${error.message}`;
}

export function report(channel, error) {
  if (error) problems.set(channel, error);
  else problems.delete(channel);
  const line = $(`${channel}-error`);
  if (line) {
    line.hidden = !error;
    line.textContent = error ? describe(error) : '';
  }
  // A key restricted to stream prefixes may not see store-wide figures
  // (stats, projections): that 403 stays on the overview's own lines.
  const auth = [...problems.entries()]
    .filter(([name, problem]) => problem.status === 401 || (problem.status === 403 && !STORE_WIDE.has(name)))
    .map(([, problem]) => problem);
  const banner = $('auth-error');
  banner.hidden = auth.length === 0;
  banner.textContent = [...new Set(auth.map(describe))].join(' ');
  banner.dataset.status = auth.length ? String(auth[0].status) : '';
}

// Forgets every problem (after the API key changed: everything is asked again).
export function clearProblems() {
  for (const channel of [...problems.keys()]) report(channel, null);
}
