// kinesalite (a local Kinesis server) for the tests, started by
// tests/aws/aws_servers. Uses kinesalite as a library rather than its CLI: the
// CLI treats --port 0 as its default port 4567, and the tests need a port no
// other run uses.
//
//   node kinesalite_server.mjs --port-file FILE [--port N] [--path DIR]
//
// Listens on 127.0.0.1:N (N = 0, the default: a free port the kernel picks),
// then writes the port it got to FILE (atomically: FILE.tmp, then rename).
// --path DIR keeps the streams in a LevelDB under DIR (they survive a kill and
// a restart); without it they live in memory and die with the process.
// Streams become ACTIVE at once (createStreamMs etc. 0) and a test may create
// up to 100 shards.
import { createRequire } from 'node:module';
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite');

const { values } = parseArgs({
  options: {
    'port-file': { type: 'string' },
    port: { type: 'string', default: '0' },
    path: { type: 'string' },
  },
});
if (!values['port-file']) {
  console.error('kinesalite_server: --port-file FILE is required');
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`kinesalite_server: bad --port ${values.port}`);
  process.exit(2);
}

const options = { createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 };
if (values.path) options.path = values.path;
const server = kinesalite(options);
server.on('error', (error) => {
  console.error(`kinesalite_server: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  const file = values['port-file'];
  writeFileSync(`${file}.tmp`, `${actual}\n`);
  renameSync(`${file}.tmp`, file);
  console.log(`kinesalite listening at http://127.0.0.1:${actual}${values.path ? ` (data in ${values.path})` : ' (in memory)'}`);
});

// A clean close flushes the LevelDB of --path; give up after 3 s (e.g. a
// client holding a connection open).
const shutdown = () => {
  setTimeout(() => process.exit(0), 3000).unref();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
