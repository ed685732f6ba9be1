// The DynamoDB server of the tests, started by tests/aws/aws_servers:
// dynalite (a DynamoDB implementation in node) plus TransactWriteItems and
// TransactGetItems, which dynalite lacks, implemented here in front of it.
//
//   node dynamodb_server.mjs --port-file FILE [--port N] [--path DIR]
//
// Runs dynalite in-process on 127.0.0.1:<a free port> (the INTERNAL server)
// and listens on 127.0.0.1:N (N = 0, the default: a free port the kernel
// picks; this is the endpoint the clients use), then writes the port it got to
// FILE (atomically: FILE.tmp, then rename). --path DIR keeps the tables in a
// LevelDB under DIR (they survive a kill and a restart, and a transaction a
// kill interrupted is undone at the next start: see journalFile); without it
// they live in memory and die with the process. Tables become ACTIVE at once.
//
// How requests are handled:
//   - Every request goes through ONE queue: the server handles one request at
//     a time, to its end, before it starts the next. That is what makes the
//     transactions below atomic and isolated: nothing interleaves with one.
//   - Everything but the two transaction actions passes through to dynalite
//     unchanged (method, path, headers, body; status, headers, body).
//   - TransactWriteItems (DynamoDB_20120810.TransactWriteItems) is done here,
//     as single-item requests to dynalite (which evaluates the conditions and
//     expressions and enforces the 400 KB item size):
//       1. validation as DynamoDB does it: 1..100 TransactItems, each exactly
//          one of Put, Update, Delete, ConditionCheck with its required
//          members; at most one operation per item ("Transaction request
//          cannot include multiple operations on one item"); at most 4 MB;
//          the tables exist (DescribeTable; key schemas cached per table);
//       2. ClientRequestToken: a token seen in the last 10 minutes with the
//          same request answers the remembered success and does nothing
//          again; with a different request, IdempotentParameterMismatchException;
//       3. the old state of every item (consistent BatchGetItem);
//       4. every operation as the equivalent single-item request WITH its
//          condition: Put -> PutItem, Update -> UpdateItem, Delete ->
//          DeleteItem, ConditionCheck -> DeleteItem with its condition, whose
//          item is then put back (PutItem of the old item) when it existed;
//       5. when any operation failed: every operation that took effect is
//          undone (PutItem of the old item, or DeleteItem when there was
//          none), and the answer is
//            - ValidationException (dynalite's message) when one was invalid
//              (bad expression, item too large, wrong key, ...): like
//              DynamoDB, invalid input beats a failed condition;
//            - else TransactionCanceledException with one CancellationReason
//              per operation: ConditionalCheckFailed for each operation whose
//              condition is false (DynamoDB reports all of them; with
//              ReturnValuesOnConditionCheckFailure ALL_OLD, with the old
//              item), None for the others;
//          success answers {}.
//     Since the operations touch distinct items, running them at once and
//     undoing the ones that took effect evaluates every condition against the
//     state before the transaction, as DynamoDB does.
//   - TransactGetItems: 1..100 Gets (TableName, Key, ProjectionExpression,
//     ExpressionAttributeNames), each a consistent GetItem; within the queue,
//     so a consistent snapshot.
//
// Weaker than DynamoDB, deliberately: everything is serialized, so there is
// never a TransactionConflictException, TransactionInProgressException or
// throttling; ConsumedCapacity and ItemCollectionMetrics are never returned;
// the 4 MB limit is checked on the request body, not on the items' DynamoDB
// sizes; ClientRequestTokens are remembered in memory (a restart forgets
// them) and only for successful transactions; no SigV4 signature is checked
// (dynalite only checks that an Authorization header is there).
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { crc32 } from 'node:zlib';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');

const { values: args } = parseArgs({
  options: {
    'port-file': { type: 'string' },
    port: { type: 'string', default: '0' },
    path: { type: 'string' },
  },
});
if (!args['port-file']) {
  console.error('dynamodb_server: --port-file FILE is required');
  process.exit(2);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`dynamodb_server: bad --port ${args.port}`);
  process.exit(2);
}

const MAX_TRANSACT_ITEMS = 100;
const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
const TOKEN_TTL_MS = 10 * 60 * 1000;
const TARGET_PREFIX = 'DynamoDB_20120810.';
const JSON_1_0 = 'application/x-amz-json-1.0';

// ---------------------------------------------------------------------------
// The internal dynalite server, and requests to it.

const dynaliteOptions = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
if (args.path) dynaliteOptions.path = args.path;
const internal = dynalite(dynaliteOptions);
internal.keepAliveTimeout = 0;  // no idle timeout: our agent reuses its connections
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
let internalPort = 0;

// Forwards a request as it came; resolves to { status, headers, body (Buffer) }.
function forward(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: internalPort, method, path, headers, agent },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
    request.on('error', reject);
    request.end(body);
  });
}

// One DynamoDB action on dynalite; resolves to { status, data (parsed JSON) }.
// The Authorization header is a well-formed dummy (dynalite checks no
// signature).
async function call(action, payload) {
  const body = Buffer.from(JSON.stringify(payload));
  const response = await forward('POST', '/', {
    'Content-Type': JSON_1_0,
    'Content-Length': body.length,
    'X-Amz-Target': TARGET_PREFIX + action,
    'X-Amz-Date': '20200101T000000Z',
    Authorization: 'AWS4-HMAC-SHA256 Credential=internal/20200101/us-east-1/dynamodb/aws4_request, ' +
      'SignedHeaders=host, Signature=0',
  }, body);
  let data = {};
  try {
    if (response.body.length) data = JSON.parse(response.body.toString());
  } catch {
    data = { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: response.body.toString() };
  }
  return { status: response.status, data };
}

function errorType(data) { return String(data.__type || '').split('#').pop(); }

// An error answer, as DynamoDB (and dynalite) format them.
class DynamoError extends Error {
  constructor(type, message, extra = {}) {
    super(message);
    this.body = { __type: type, ...(message === undefined ? {} : { message }), ...extra };
  }
}
const validation = (message) => new DynamoError('com.amazon.coral.validate#ValidationException', message);
// Raised with dynalite's own error answer.
const fromDynalite = (data) => Object.assign(new DynamoError('', ''), { body: data });

// ---------------------------------------------------------------------------
// Key schemas (DescribeTable), cached per table; CreateTable and DeleteTable
// passing through clear the cache.

const keySchemas = new Map();  // table name -> [key attribute names]

async function keySchemaOf(table) {
  if (!keySchemas.has(table)) {
    const { status, data } = await call('DescribeTable', { TableName: table });
    if (status !== 200) throw fromDynalite(data);
    keySchemas.set(table, data.Table.KeySchema.map((element) => element.AttributeName));
  }
  return keySchemas.get(table);
}

// The item's identity within the transaction: table and key values (the key's
// attribute names in a fixed order).
function itemId(table, key) {
  const names = Object.keys(key).sort();
  return JSON.stringify([table, ...names.map((name) => [name, key[name]])]);
}

// ---------------------------------------------------------------------------
// Validation of TransactWriteItems / TransactGetItems requests.

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const lowerFirst = (name) => name[0].toLowerCase() + name.slice(1);

// DynamoDB's "N validation errors detected: ..." message, or nothing.
function throwConstraintErrors(errors) {
  if (!errors.length) return;
  throw validation(`${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`);
}

function checkItemCount(items, errors) {
  if (items === undefined || items === null) {
    errors.push("Value null at 'transactItems' failed to satisfy constraint: Member must not be null");
  } else if (!Array.isArray(items)) {
    throw new DynamoError('com.amazon.coral.service#SerializationException', 'Unexpected value type in payload');
  } else if (items.length < 1) {
    errors.push("Value '[]' at 'transactItems' failed to satisfy constraint: " +
      'Member must have length greater than or equal to 1');
  } else if (items.length > MAX_TRANSACT_ITEMS) {
    errors.push(`Value '[${items.length} items]' at 'transactItems' failed to satisfy constraint: ` +
      `Member must have length less than or equal to ${MAX_TRANSACT_ITEMS}`);
  }
}

// The members each operation requires, and those it may have.
const WRITE_OPERATIONS = {
  Put: { required: ['TableName', 'Item'] },
  Update: { required: ['TableName', 'Key', 'UpdateExpression'] },
  Delete: { required: ['TableName', 'Key'] },
  ConditionCheck: { required: ['TableName', 'Key', 'ConditionExpression'] },
};

// Returns [{ kind, op }] for the TransactItems of a TransactWriteItems.
function parseWriteItems(request) {
  const errors = [];
  const items = request.TransactItems;
  checkItemCount(items, errors);
  const token = request.ClientRequestToken;
  if (token !== undefined && (typeof token !== 'string' || token.length < 1 || token.length > 36)) {
    errors.push(`Value '${token}' at 'clientRequestToken' failed to satisfy constraint: ` +
      'Member must have length less than or equal to 36');
  }
  throwConstraintErrors(errors);
  const operations = items.map((entry) => {
    const kinds = isObject(entry) ? Object.keys(entry).filter((kind) => entry[kind] != null) : [];
    if (kinds.length !== 1 || !(kinds[0] in WRITE_OPERATIONS) || !isObject(entry[kinds[0]])) {
      throw validation('TransactItems can only contain one of Check, Put, Update or Delete');
    }
    return { kind: kinds[0], op: entry[kinds[0]] };
  });
  operations.forEach(({ kind, op }, i) => {
    for (const member of WRITE_OPERATIONS[kind].required) {
      if (op[member] == null) {
        errors.push(`Value null at 'transactItems.${i + 1}.member.${lowerFirst(kind)}.${lowerFirst(member)}' ` +
          'failed to satisfy constraint: Member must not be null');
      }
    }
  });
  throwConstraintErrors(errors);
  return operations;
}

// ---------------------------------------------------------------------------
// TransactWriteItems.

// ClientRequestToken -> { hash of the request body, expiry }; successes only.
const tokens = new Map();

function forgetExpiredTokens(now) {
  for (const [token, entry] of tokens) if (entry.expires <= now) tokens.delete(token);
}

// The single-item request for operation { kind, op } (its condition included).
function singleItemRequest({ kind, op }, key) {
  const common = { TableName: op.TableName };
  for (const member of ['ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues']) {
    if (op[member] !== undefined) common[member] = op[member];
  }
  switch (kind) {
    case 'Put': return ['PutItem', { ...common, Item: op.Item }];
    case 'Update': return ['UpdateItem', { ...common, Key: key, UpdateExpression: op.UpdateExpression }];
    // The condition, on an item it then deletes; put back afterwards.
    case 'Delete': case 'ConditionCheck': return ['DeleteItem', { ...common, Key: key }];
  }
  throw new Error(`unknown operation ${kind}`);
}

// With --path, the undo journal of the transaction under way: a kill in the
// middle of one would leave its operations half done in the LevelDB. The
// journal (the keys and old items, written before the first operation and
// removed after the last one or after its undo) lets the next start undo
// them, so that a transaction is all or nothing across a kill too, as on
// DynamoDB.
const journalFile = args.path ? `${args.path}.transaction-journal.json` : undefined;

function writeJournal(operations) {
  if (!journalFile) return;
  const entries = operations.map(({ op, key, oldItem }) => ({ table: op.TableName, key, oldItem: oldItem ?? null }));
  writeFileSync(`${journalFile}.tmp`, JSON.stringify(entries));
  renameSync(`${journalFile}.tmp`, journalFile);
}

function clearJournal() {
  if (journalFile) rmSync(journalFile, { force: true });
}

// At start: undoes the transaction a kill interrupted, if any.
async function undoInterruptedTransaction() {
  if (!journalFile || !existsSync(journalFile)) return;
  const entries = JSON.parse(readFileSync(journalFile, 'utf8'));
  for (const { table, key, oldItem } of [...entries].reverse()) await restore(table, key, oldItem ?? undefined);
  clearJournal();
  console.log(`dynamodb_server: undid a transaction of ${entries.length} operations that a kill interrupted`);
}

// Puts an item back the way it was before the transaction.
async function restore(table, key, oldItem) {
  const { status, data } = oldItem
    ? await call('PutItem', { TableName: table, Item: oldItem })
    : await call('DeleteItem', { TableName: table, Key: key });
  if (status !== 200) {
    // dynalite accepted these very items a moment ago; this should not happen.
    console.error(`dynamodb_server: CANNOT UNDO an operation on ${table} ${JSON.stringify(key)}: ` +
      JSON.stringify(data));
    throw new DynamoError('com.amazonaws.dynamodb.v20120810#InternalServerError',
      'dynamodb_server: a failed transaction could not be undone; the tables are inconsistent');
  }
}

// Sets operation.oldItem for every operation (undefined: no such item), with
// consistent BatchGetItems (one request instead of one GetItem per item).
async function readOldItems(operations) {
  const pending = new Map();  // itemId -> operation
  let unmatched = false;
  for (const operation of operations) pending.set(itemId(operation.op.TableName, operation.key), operation);
  let requestItems = {};
  for (const { op, key } of operations) {
    requestItems[op.TableName] ??= { Keys: [], ConsistentRead: true };
    requestItems[op.TableName].Keys.push(key);
  }
  while (Object.keys(requestItems).length) {
    const { status, data } = await call('BatchGetItem', { RequestItems: requestItems });
    if (status !== 200) throw fromDynalite(data);
    for (const [table, items] of Object.entries(data.Responses || {})) {
      const schema = await keySchemaOf(table);
      for (const item of items) {
        const key = Object.fromEntries(schema.map((name) => [name, item[name]]));
        const operation = pending.get(itemId(table, key));
        if (operation) operation.oldItem = item;
        else unmatched = true;
      }
    }
    requestItems = data.UnprocessedKeys || {};  // dynalite answers at most ~1 MB at once
  }
  // A key written differently from the stored one (a number such as 1.0 for
  // 1): one GetItem per item instead.
  if (unmatched) {
    await Promise.all(operations.map(async (operation) => {
      const { status, data } = await call('GetItem',
        { TableName: operation.op.TableName, Key: operation.key, ConsistentRead: true });
      if (status !== 200) throw fromDynalite(data);
      operation.oldItem = data.Item;
    }));
  }
}

async function transactWriteItems(request, rawBody) {
  const operations = parseWriteItems(request);
  if (rawBody.length > MAX_TRANSACTION_BYTES) {
    throw validation('Transaction request cannot be larger than 4 MB');
  }

  const now = Date.now();
  forgetExpiredTokens(now);
  const token = request.ClientRequestToken;
  const hash = createHash('sha256').update(rawBody).digest('hex');
  if (token !== undefined && tokens.has(token)) {
    if (tokens.get(token).hash !== hash) {
      throw new DynamoError('com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException',
        'Request parameters do not match the original request for this ClientRequestToken');
    }
    return {};  // the remembered success; nothing is done again
  }

  // The key of every operation (for Put: the table's key attributes of
  // Item); at most one operation per item.
  const seen = new Set();
  for (const operation of operations) {
    const { kind, op } = operation;
    if (kind === 'Put') {
      const schema = await keySchemaOf(op.TableName);
      operation.key = {};
      for (const name of schema) {
        if (!isObject(op.Item) || op.Item[name] === undefined) {
          throw validation(`One or more parameter values were invalid: Missing the key ${name} in the item`);
        }
        operation.key[name] = op.Item[name];
      }
    } else {
      if (!isObject(op.Key)) throw validation('The provided key element does not match the schema');
      await keySchemaOf(op.TableName);  // ResourceNotFoundException for a missing table
      operation.key = op.Key;
    }
    const id = itemId(op.TableName, operation.key);
    if (seen.has(id)) throw validation('Transaction request cannot include multiple operations on one item');
    seen.add(id);
  }

  // The items as they are before the transaction.
  await readOldItems(operations);
  writeJournal(operations);

  // Every operation, with its condition; a ConditionCheck's item goes back
  // at once (it must not change). Operations on distinct items commute, so
  // they run at once.
  await Promise.all(operations.map(async (operation) => {
    const [action, payload] = singleItemRequest(operation, operation.key);
    const { status, data } = await call(action, payload);
    if (status === 200) {
      operation.applied = operation.kind !== 'ConditionCheck';
      if (operation.kind === 'ConditionCheck' && operation.oldItem) {
        await restore(operation.op.TableName, operation.key, operation.oldItem);
      }
    } else if (errorType(data) === 'ConditionalCheckFailedException') {
      operation.conditionFailed = true;
    } else {
      operation.error = data;
    }
  }));

  const failed = operations.some((operation) => operation.conditionFailed || operation.error);
  if (!failed) {
    clearJournal();
    if (token !== undefined) tokens.set(token, { hash, expires: now + TOKEN_TTL_MS });
    return {};
  }

  // Undo what took effect (in reverse order, one at a time).
  for (const operation of [...operations].reverse()) {
    if (operation.applied) await restore(operation.op.TableName, operation.key, operation.oldItem);
  }
  clearJournal();
  const invalid = operations.find((operation) => operation.error);
  if (invalid) throw fromDynalite(invalid.error);
  const reasons = operations.map((operation) => {
    if (!operation.conditionFailed) return { Code: 'None' };
    const reason = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
    if (operation.op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && operation.oldItem) {
      reason.Item = operation.oldItem;
    }
    return reason;
  });
  throw new DynamoError('com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    'Transaction cancelled, please refer cancellation reasons for specific reasons ' +
    `[${reasons.map((reason) => reason.Code).join(', ')}]`,
    { CancellationReasons: reasons });
}

// ---------------------------------------------------------------------------
// TransactGetItems.

async function transactGetItems(request) {
  const errors = [];
  const items = request.TransactItems;
  checkItemCount(items, errors);
  throwConstraintErrors(errors);
  const gets = items.map((entry, i) => {
    if (!isObject(entry) || !isObject(entry.Get) || Object.keys(entry).length !== 1) {
      throw validation('TransactItems can only contain Get');
    }
    for (const member of ['TableName', 'Key']) {
      if (entry.Get[member] == null) {
        errors.push(`Value null at 'transactItems.${i + 1}.member.get.${lowerFirst(member)}' ` +
          'failed to satisfy constraint: Member must not be null');
      }
    }
    return entry.Get;
  });
  throwConstraintErrors(errors);
  const seen = new Set();
  for (const get of gets) {
    await keySchemaOf(get.TableName);
    const id = itemId(get.TableName, get.Key);
    if (seen.has(id)) throw validation('Transaction request cannot include multiple operations on one item');
    seen.add(id);
  }
  const responses = await Promise.all(gets.map(async (get) => {
    const payload = { TableName: get.TableName, Key: get.Key, ConsistentRead: true };
    if (get.ProjectionExpression !== undefined) payload.ProjectionExpression = get.ProjectionExpression;
    if (get.ExpressionAttributeNames !== undefined) payload.ExpressionAttributeNames = get.ExpressionAttributeNames;
    const { status, data } = await call('GetItem', payload);
    if (status !== 200) throw fromDynalite(data);
    return data.Item ? { Item: data.Item } : {};
  }));
  return { Responses: responses };
}

// ---------------------------------------------------------------------------
// The outer server: one request at a time.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);
const withoutHopByHop = (headers) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));

function sendJson(res, status, data, contentType) {
  const body = Buffer.from(JSON.stringify(data));
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': body.length,
    'x-amz-crc32': String(crc32(body)),
    'x-amzn-RequestId': createHash('sha256').update(`${Date.now()}${Math.random()}`).digest('hex')
      .slice(0, 52).toUpperCase(),
  });
  res.end(body);
}

// The transaction actions, done here: like dynalite, a request without an
// AWS4 Authorization header (or with a body that is no JSON) is refused first.
async function handleTransaction(action, req, body, res) {
  const contentType = (req.headers['content-type'] || '').split(';')[0].trim() === JSON_1_0
    ? JSON_1_0 : 'application/json';
  try {
    const auth = req.headers.authorization;
    if (!auth || auth.trim().slice(0, 5) !== 'AWS4-') {
      throw new DynamoError('com.amazon.coral.service#MissingAuthenticationTokenException',
        'Request is missing Authentication Token');
    }
    let request;
    try {
      request = JSON.parse(body.toString());
    } catch {
      throw new DynamoError('com.amazon.coral.service#SerializationException', undefined);
    }
    if (!isObject(request)) throw new DynamoError('com.amazon.coral.service#SerializationException', undefined);
    const result = action === 'TransactWriteItems'
      ? await transactWriteItems(request, body)
      : await transactGetItems(request);
    sendJson(res, 200, result, contentType);
  } catch (error) {
    if (error instanceof DynamoError) {
      const status = errorType(error.body) === 'InternalServerError' ? 500 : 400;
      sendJson(res, status, error.body, contentType);
    } else {
      console.error(`dynamodb_server: ${action}: ${error.stack || error}`);
      sendJson(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: String(error.message || error) }, contentType);
    }
  }
}

async function handle(req, body, res) {
  const target = String(req.headers['x-amz-target'] || '');
  const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  if (req.method === 'POST' && (action === 'TransactWriteItems' || action === 'TransactGetItems')) {
    return handleTransaction(action, req, body, res);
  }
  if (action === 'CreateTable' || action === 'DeleteTable') keySchemas.clear();
  const response = await forward(req.method, req.url, withoutHopByHop(req.headers), body);
  res.writeHead(response.status, withoutHopByHop(response.headers));
  res.end(response.body);
}

let queue = Promise.resolve();
const outer = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('error', () => {});
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    queue = queue.then(() => handle(req, body, res)).catch((error) => {
      console.error(`dynamodb_server: ${error.stack || error}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': JSON_1_0 });
        res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: String(error.message || error) }));
      } else {
        res.destroy();
      }
    });
  });
});
// Clients keep connections open between requests: an idle timeout longer than
// theirs, so that the server does not close one just as a client reuses it.
outer.keepAliveTimeout = 120_000;
outer.headersTimeout = 125_000;

function fatal(error) {
  console.error(`dynamodb_server: ${error.message}`);
  process.exit(1);
}
internal.on('error', fatal);
outer.on('error', fatal);

internal.listen(0, '127.0.0.1', async () => {
  internalPort = internal.address().port;
  try {
    await undoInterruptedTransaction();
  } catch (error) {
    fatal(error);
  }
  outer.listen(port, '127.0.0.1', () => {
    const actual = outer.address().port;
    const file = args['port-file'];
    writeFileSync(`${file}.tmp`, `${actual}\n`);
    renameSync(`${file}.tmp`, file);
    console.log(`dynamodb_server: DynamoDB (dynalite + transactions) at http://127.0.0.1:${actual}` +
      `${args.path ? ` (data in ${args.path})` : ' (in memory)'}; dynalite itself on 127.0.0.1:${internalPort}`);
  });
});

// A clean close flushes the LevelDB of --path; give up after 3 s.
const shutdown = () => {
  setTimeout(() => process.exit(0), 3000).unref();
  outer.close(() => {
    agent.destroy();
    internal.close(() => process.exit(0));
  });
  outer.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
