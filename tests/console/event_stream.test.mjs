// Unit test of the console's Server-Sent Events parser (console/api.js,
// readEventStream), in node: line endings, chunk boundaries anywhere,
// multi-line data, comments, ids.

import assert from 'node:assert/strict';
import {test} from 'node:test';

// api.js reads the saved API key when it loads.
globalThis.localStorage = {getItem: () => null, setItem() {}, removeItem() {}};
const {readEventStream} = await import('../../console/api.js');

// Feeds `text` to the parser cut into `chunks` pieces (byte-wise, so a cut
// can fall inside a UTF-8 sequence or a CRLF).
async function parse(text, cuts = []) {
  const bytes = new TextEncoder().encode(text);
  const points = [0, ...cuts, bytes.length];
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i + 1 < points.length; i++) controller.enqueue(bytes.slice(points[i], points[i + 1]));
      controller.close();
    },
  });
  const messages = [];
  const comments = [];
  await readEventStream(new Response(stream), {
    onMessage: (message) => messages.push(message),
    onComment: (comment) => comments.push(comment),
  });
  return {messages, comments};
}

const sample = ': heartbeat\n\nid: 7\nevent: OrderPlaced\ndata: {"a":"é"}\n\nid: 8\nevent: error\ndata: line 1\ndata: line 2\n\n';
const expected = [
  {type: 'OrderPlaced', data: '{"a":"é"}', id: '7'},
  {type: 'error', data: 'line 1\nline 2', id: '8'},
];

test('parses messages, multi-line data and comments', async () => {
  const {messages, comments} = await parse(sample);
  assert.deepEqual(messages, expected);
  assert.deepEqual(comments, ['heartbeat']);
});

test('gives the same messages whatever the chunk boundaries', async () => {
  const length = new TextEncoder().encode(sample).length;
  for (let cut = 1; cut < length; cut++) {
    assert.deepEqual((await parse(sample, [cut])).messages, expected, `cut at byte ${cut}`);
  }
  const everyByte = Array.from({length: length - 1}, (_, i) => i + 1);
  assert.deepEqual((await parse(sample, everyByte)).messages, expected);
});

test('accepts CRLF and CR line endings, also split across chunks', async () => {
  for (const newline of ['\r\n', '\r']) {
    const text = sample.replaceAll('\n', newline);
    const length = new TextEncoder().encode(text).length;
    for (let cut = 1; cut < length; cut++) {
      assert.deepEqual((await parse(text, [cut])).messages, expected, `${JSON.stringify(newline)} cut at ${cut}`);
    }
  }
});

test('follows the field rules: no space after the colon, unknown fields, no data, an unfinished message', async () => {
  const {messages} = await parse('data:x\nretry: 5\nfoo: bar\n\nevent: nothing\n\ndata\n\nid: 9\ndata: unfinished');
  assert.deepEqual(messages, [
    {type: 'message', data: 'x', id: null},
    {type: 'message', data: '', id: null},
  ]);
});
