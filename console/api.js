// Access to the HTTP API v1 of the server that serves the console: JSON
// requests with the API key as bearer token, and Server-Sent Events read with
// fetch() (EventSource cannot send an Authorization header).

const KEY_STORAGE = 'evsrc.apiKey';

let apiKey = localStorage.getItem(KEY_STORAGE) || '';

export function getApiKey() {
  return apiKey;
}

// An empty key removes it: requests then go without Authorization.
export function setApiKey(key) {
  apiKey = key.trim();
  if (apiKey) localStorage.setItem(KEY_STORAGE, apiKey);
  else localStorage.removeItem(KEY_STORAGE);
}

// A failed request: `status` is the HTTP status (0 when the server did not
// answer), `code` the API's stable error code.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function requestHeaders(extra) {
  const headers = {Accept: 'application/json', ...extra};
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  return headers;
}

export async function errorFromResponse(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (e.g. a proxy's page): the status says enough.
  }
  const code = body && typeof body.error === 'string' ? body.error : `http_${response.status}`;
  const message = body && typeof body.message === 'string' ? body.message : response.statusText;
  return new ApiError(response.status, code, message);
}

async function request(path, options) {
  let response;
  try {
    response = await fetch(path, {...options, headers: requestHeaders(options.headers), cache: 'no-store'});
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'unreachable', 'the server does not answer');
  }
  if (!response.ok) throw await errorFromResponse(response);
  return response;
}

// GET (or another method with `options`) a JSON resource; throws ApiError.
export async function api(path, options = {}) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

// GET a text resource (/metrics); throws ApiError.
export async function apiText(path, options = {}) {
  return (await request(path, {...options, headers: {Accept: 'text/plain', ...options.headers}})).text();
}

// Builds "path?name=value&..." from the entries whose value is not empty.
export function withQuery(path, parameters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export function streamPath(stream) {
  return `/v1/streams/${encodeURIComponent(stream)}`;
}

// Reads a text/event-stream response until it ends, calling
// onMessage({type, data, id}) per dispatched message and onComment(text) per
// comment line (heartbeats). Follows the WHATWG parsing rules: lines end in
// CR, LF or CRLF; "field: value" with one optional space; blank line
// dispatches; data lines are joined with "\n".
export async function readEventStream(response, {onMessage, onComment}) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  let id = null;

  const dispatch = () => {
    if (data.length > 0) onMessage({type: type || 'message', data: data.join('\n'), id});
    type = '';
    data = [];
  };
  const handleLine = (line) => {
    if (line === '') return dispatch();
    if (line.startsWith(':')) return onComment?.(line.slice(1).trimStart());
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  };

  // Handles the complete lines of `buffer`. A CR at its very end may be the
  // first half of a CRLF, so it waits for more unless the stream ended.
  const consume = (ended) => {
    let start = 0;
    // Servers rarely send CR: remember where the next one is rather than
    // scan the rest of the buffer for it on every line.
    let cr = buffer.indexOf('\r');
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      if (cr >= 0 && cr < start) cr = buffer.indexOf('\r', start);
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) break;
      if (end === cr && cr === buffer.length - 1 && !ended) break;
      handleLine(buffer.slice(start, end));
      start = end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1);
    }
    buffer = buffer.slice(start);
  };

  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    consume(false);
  }
  // What is left without a blank line after it is an unfinished message.
  consume(true);
}
