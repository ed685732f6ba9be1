// The evsrc web console: one page with three views (overview, streams, live
// tail) chosen by the URL fragment. Everything it shows comes from the HTTP
// API v1 (docs/api/openapi.yaml) of the server that serves it.

import {getApiKey, setApiKey} from './api.js';
import {overview} from './overview.js';
import {streamList, streamView, wireStreams} from './streams.js';
import {tail, wireTail} from './tail.js';
import {$, clearProblems} from './ui.js';

const views = ['overview', 'streams', 'stream', 'tail'];

function route() {
  const fragment = location.hash.slice(1);
  let view = 'overview';
  if (fragment === 'streams') view = 'streams';
  else if (fragment.startsWith('stream/')) view = 'stream';
  else if (fragment === 'tail') view = 'tail';
  for (const name of views) $(`view-${name}`).hidden = name !== view;
  const tab = view === 'stream' ? 'streams' : view;
  for (const name of ['overview', 'streams', 'tail']) {
    if (name === tab) $(`tab-${name}`).setAttribute('aria-current', 'page');
    else $(`tab-${name}`).removeAttribute('aria-current');
  }
  if (view === 'overview') overview.draw();
  if (view === 'streams') streamList.show();
  if (view === 'stream') streamView.open(decodeURIComponent(fragment.slice('stream/'.length)));
  if (view === 'tail' && !tail.started) tail.start();
}

function useApiKey(key) {
  setApiKey(key);
  clearProblems();
  route();
  if (tail.started && !tail.paused) tail.restart();
  overview.poll();
}

$('api-key').value = getApiKey();
$('api-key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  useApiKey($('api-key').value);
});
$('api-key-clear').addEventListener('click', () => {
  $('api-key').value = '';
  useApiKey('');
});
wireStreams();
wireTail();
window.addEventListener('hashchange', route);
route();
overview.run();
