#!/usr/bin/env node
// A zkThreads wallet in JavaScript (starknet.js): creates a thread key file, registers its key
// in a token's key slot, and signs a transfer and submits it to a `zkthread serve` (on a thread
// of the list program, one signed list of every --to/--amount pair given). The
// one-time signatures are made by the same Rust code as the `zkthread` CLI's, compiled to
// WebAssembly (harness/sig-wasm; scripts/setup-examples.sh builds examples/wasm/zkthread_sig.wasm)
// and run by Node's built-in WebAssembly: nothing of the signature scheme is re-implemented here.
//
//   node submit-transfer.mjs key-new --key-file F
//   node submit-transfer.mjs key-register --key-file F --token 0x..              (+ account options)
//   node submit-transfer.mjs submit --key-file F --server URL --registry 0x.. --thread N
//                                   --token 0x.. --to 0x.. --amount N [--to 0x.. --amount N ...]
//                                   [--wait]                                    (+ account options)
//   node submit-transfer.mjs resend --key-file F [--server URL]
//   node submit-transfer.mjs --self-check [--vectors PATH]
//
// Account options (or their environment variables, as for the zkthread CLI): --rpc-url
// (ZKTHREAD_RPC_URL), --account-address (ZKTHREAD_ACCOUNT_ADDRESS), --private-key
// (ZKTHREAD_PRIVATE_KEY; key-register only), --registry (ZKTHREAD_REGISTRY). --wasm PATH loads
// another build of the signer.
//
// Key files have exactly the format of `zkthread key new` (interchangeable with the CLI): JSON
// {version, scheme, seed: [8 M31 words], next_index}, mode 0600. A key index signs once: the
// advanced next_index is written (temporary file, fsync, rename, fsync of the directory) under an
// exclusive flock(2) of `<file>.lock` — the lock the Rust keystore takes, held here through
// util-linux flock(1) since Node has no flock — before the signature is computed.
//
// A signed request is written to `<key file>.unsent.json` before it is posted, removed once the
// server stored it, and moved to `<key file>.refused.json` if the server refuses it for good. A
// post whose answer is lost (no answer, a 5xx, a 408 or 429) leaves it there: its key index is
// spent, so `submit` refuses to sign until `resend` has posted it again (a copy of a message the
// server stored already is answered 200 as that message, a duplicate: set aside as accepted).
//
// Prints one JSON document on stdout; on an error {"error": "..."} on stdout, the same line on
// stderr, exit 1 (2 for a usage error). Same options and output bytes as
// examples/python/submit_transfer.py.

import { spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap, parseArgs } from 'node:util';
import { Account, RpcError, RpcProvider, config, num } from 'starknet';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_WASM = path.join(HERE, '..', 'wasm', 'zkthread_sig.wasm');
const DEFAULT_VECTORS = path.join(HERE, '..', 'vectors', 'sign.json');
const USAGE =
  'usage: submit-transfer.mjs key-new --key-file F | key-register --key-file F --token 0x.. | ' +
  'submit --key-file F --server URL --registry 0x.. --thread N --token 0x.. --to 0x.. --amount N [--to 0x.. --amount N ...] [--wait] | ' +
  'resend --key-file F [--server URL] | ' +
  '--self-check [--vectors PATH]; account: --rpc-url URL --account-address 0x.. [--private-key 0x..]; [--wasm PATH]';

/** The key file zkthread_sig::keystore writes. */
const KEY_FILE_VERSION = 1;
const KEY_FILE_SCHEME = 'zkthread-ts-wots-poseidon2-m31/v1';
const KEY_FILE_FIELDS = ['version', 'scheme', 'seed', 'next_index'];
/** M31 = 2^31 - 1: seed words, key words and indices are below it. */
const MODULUS = 2 ** 31 - 1;
/** Key indices are M31 elements; the last one has no next key to rotate to. */
const MAX_KEY_INDEX = MODULUS - 1;
const ADDRESS_BOUND = 2n ** 251n;
const FELT_PRIME = 2n ** 251n + 17n * 2n ** 192n + 1n;
const U128_BOUND = 2n ** 128n;
/** Thread ids go to the signer as JSON numbers: keep them exact in a double. */
const MAX_THREAD_ID = 2n ** 53n - 1n;
/** --wait: how often and how long to ask the server about the transfer. */
const POLL_MS = 500;
/** How often to ask the node for a receipt (starknet.js waits 5 s by default). */
const RECEIPT_POLL_MS = 250;
const WAIT_LIMIT_MS = 600_000;
const SERVER_TIMEOUT_MS = 60_000; // how long a request waits for the server's answer (as the Python wallet)
/** Slots one settlement carries (the engine's MAX_SLOTS_WITHIN_CALLDATA). */
const MAX_SLOTS_PER_SETTLEMENT = 147;
/** The largest request body the service reads (its MAX_BODY_BYTES). */
const MAX_BODY_BYTES = 64 * 1024;
/** Messages one sender may have queued at the service (the engine's MAX_QUEUED_PER_SENDER). */
const MAX_QUEUED_PER_SENDER = 64;
/** Transfers one sender may have queued in lists (the engine's MAX_QUEUED_TRANSFERS_PER_SENDER). */
const MAX_QUEUED_TRANSFERS_PER_SENDER = 1024;
// A listed amount is four 30-bit elements (zkthread_sig::transfer_list): below 2^120.
const LIST_AMOUNT_LIMIT = 2n ** 120n;
/** Words of a signature: rho, pp, then the 64 chains. */
const SIGNATURE_WORDS = 263;

class UsageError extends Error {}

// ---- Command line ----

function parseCommandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'key-file': { type: 'string' },
        token: { type: 'string' },
        to: { type: 'string', multiple: true },
        amount: { type: 'string', multiple: true },
        server: { type: 'string' },
        registry: { type: 'string' },
        thread: { type: 'string' },
        wait: { type: 'boolean' },
        'rpc-url': { type: 'string' },
        'account-address': { type: 'string' },
        'private-key': { type: 'string' },
        wasm: { type: 'string' },
        'self-check': { type: 'boolean' },
        vectors: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError(`${e.message}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const env = (name, variable) => values[name] ?? process.env[variable];
  const command = values['self-check'] ? 'self-check' : positionals[0];
  if (positionals.length > (values['self-check'] ? 0 : 1)) throw new UsageError(`unexpected argument ${JSON.stringify(positionals.at(-1))}; ${USAGE}`);
  const need = (name, value = values[name]) => {
    if (value === undefined) throw new UsageError(`${command} needs --${name}; ${USAGE}`);
    return value;
  };
  const args = { command, wasm: values.wasm ?? DEFAULT_WASM };
  switch (command) {
    case 'self-check':
      return { ...args, vectors: values.vectors ?? DEFAULT_VECTORS };
    case 'key-new':
      return { ...args, keyFile: need('key-file') };
    case 'resend':
      return {
        ...args,
        keyFile: need('key-file'),
        server: values.server === undefined ? undefined : parseUrl(values.server, '--server').replace(/\/+$/, ''),
      };
    case 'key-register':
      return {
        ...args,
        keyFile: need('key-file'),
        token: parseAddress(need('token'), '--token'),
        rpcUrl: parseUrl(need('rpc-url', env('rpc-url', 'ZKTHREAD_RPC_URL')), '--rpc-url'),
        account: parseAddress(need('account-address', env('account-address', 'ZKTHREAD_ACCOUNT_ADDRESS')), '--account-address'),
        privateKey: parseFelt(need('private-key', env('private-key', 'ZKTHREAD_PRIVATE_KEY')), '--private-key'),
      };
    case 'submit': {
      const from = parseAddress(need('account-address', env('account-address', 'ZKTHREAD_ACCOUNT_ADDRESS')), '--account-address');
      const transfers = parsePairs(from, need('to'), need('amount'));
      const thread = parseUint(need('thread'), '--thread', MAX_THREAD_ID);
      if (thread === 0n) throw new UsageError('--thread: thread ids start at 1');
      return {
        ...args,
        keyFile: need('key-file'),
        server: parseUrl(need('server'), '--server').replace(/\/+$/, ''),
        registry: parseAddress(need('registry', env('registry', 'ZKTHREAD_REGISTRY')), '--registry'),
        thread,
        token: parseAddress(need('token'), '--token'),
        from,
        transfers,
        rpcUrl: parseUrl(need('rpc-url', env('rpc-url', 'ZKTHREAD_RPC_URL')), '--rpc-url'),
        wait: values.wait === true,
      };
    }
    case undefined:
      throw new UsageError(`no command; ${USAGE}`);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; ${USAGE}`);
  }
}

function parseUrl(text, flag) {
  if (!URL.canParse(text) || !['http:', 'https:'].includes(new URL(text).protocol)) {
    throw new UsageError(`${flag}: not an http(s) URL: ${JSON.stringify(text)}`);
  }
  return text;
}

function parseUint(text, flag, max) {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${flag}: not a non-negative integer: ${JSON.stringify(text)}`);
  const value = BigInt(text);
  if (value > max) throw new UsageError(`${flag}: ${text} is too large`);
  return value;
}

/** A contract address: 0x hex below 2^251. */
function parseAddress(text, flag) {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(text)) throw new UsageError(`${flag}: not a 0x hex address: ${JSON.stringify(text)}`);
  const value = BigInt(text);
  if (value >= ADDRESS_BOUND) throw new UsageError(`${flag}: ${text} is not below 2^251`);
  return value;
}

/** A felt: 0x hex below the field prime. */
function parseFelt(text, flag) {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(text) || BigInt(text) >= FELT_PRIME) {
    throw new UsageError(`${flag}: not a 0x hex felt`); // the value may be a secret: not echoed
  }
  return BigInt(text);
}

/** A token amount: a whole number above zero and below 2^128 (the thread's balances). */
function parseAmount(text) {
  if (!/^[0-9]+$/.test(text) || BigInt(text) >= U128_BOUND) {
    throw new UsageError(`--amount: ${JSON.stringify(text)} is not a whole number below 2^128`);
  }
  if (BigInt(text) === 0n) throw new UsageError('--amount must be above zero');
  return BigInt(text);
}

/**
 * The transfers of `--to`/`--amount` pairs, in order: each receiver is not the sender and each
 * amount is above zero (what the service refuses a list item for).
 */
function parsePairs(from, tos, amounts) {
  if (tos.length !== amounts.length) {
    throw new UsageError(`--to and --amount come in pairs: ${tos.length} --to, ${amounts.length} --amount`);
  }
  return tos.map((text, i) => {
    const to = parseAddress(text, '--to');
    if (to === from) throw new UsageError(`--to is the sender ${hex(from)}: a self-transfer changes nothing`);
    return { to, amount: parseAmount(amounts[i]) };
  });
}

/**
 * An operating-system error as the C library words it ("no such file or directory"), so both
 * clients print the same line; anything else as its message.
 */
function osReason(e) {
  // fetch and starknet.js wrap the socket's error: look down the chain of causes.
  for (let cause = e, depth = 0; cause && depth < 5; cause = cause.cause, depth++) {
    const known = typeof cause.errno === 'number' ? getSystemErrorMap().get(cause.errno) : undefined;
    if (known !== undefined) return known[1];
  }
  return oneLine(e);
}

/** Why a request to the server failed, worded as the Python wallet words it. */
function serverReason(e) {
  if (e?.name === 'TimeoutError') return `no answer within ${SERVER_TIMEOUT_MS / 1000} s`;
  return osReason(e.cause ?? e);
}

/** @returns {string} 0x hex, lowercase, no leading zeros */
const hex = (v) => num.toHex(v);

// ---- The signer (WebAssembly) ----

/**
 * harness/sig-wasm's module: JSON requests in linear memory, answers framed as
 * [length u32 LE][JSON]; every buffer is handed back with dealloc (which zeroes it: requests
 * carry the seed).
 */
class Signer {
  constructor(file) {
    let bytes;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw new Error(`cannot load the signer ${file}: ${osReason(e)} (scripts/setup-examples.sh builds it)`);
    }
    this.exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
  }

  /** Sends `request` (a JSON text) to the exported function `name`; returns the answer's text. */
  callText(name, request) {
    const x = this.exports;
    const input = new TextEncoder().encode(request);
    const ptr = x.alloc(input.length) >>> 0;
    new Uint8Array(x.memory.buffer, ptr, input.length).set(input);
    const answer = x[name](ptr, input.length) >>> 0;
    input.fill(0);
    x.dealloc(ptr, input.length);
    const len = new DataView(x.memory.buffer).getUint32(answer, true);
    const text = new TextDecoder().decode(new Uint8Array(x.memory.buffer, answer + 4, len));
    x.dealloc(answer, 4 + len);
    return text;
  }

  /** Like callText with objects; the signer's {"error"} becomes an exception. */
  call(name, request) {
    const answer = JSON.parse(this.callText(name, JSON.stringify(request)));
    if (typeof answer.error === 'string') throw new Error(answer.error);
    return answer;
  }

  /** The key commitment of (seed, index): {index, key: [4 words], packed: "0x.."}. */
  key(seed, index) {
    return this.call('zkthread_key', { seed, index });
  }

  /** (key words, nonce) of a key-slot value. */
  unpackSlot(slot) {
    return this.call('zkthread_unpack_key_slot', { slot: hex(slot) });
  }
}

// ---- The key file (zkthread_sig::keystore's format and rules) ----

/** 8 uniform M31 words from the OS CSPRNG: 31-bit draws, the one non-canonical value redrawn. */
function freshSeed() {
  const seed = [];
  const word = new Uint32Array(1);
  while (seed.length < 8) {
    webcrypto.getRandomValues(word);
    const v = word[0] & 0x7fffffff;
    if (v < MODULUS) seed.push(v);
  }
  word.fill(0);
  return seed;
}

const sibling = (file, suffix) => `${file}${suffix}`;

/** Runs `body` holding the exclusive flock of `<file>.lock` (created 0600, as the keystore does). */
async function withLock(file, body) {
  const lockPath = sibling(file, '.lock');
  try {
    fs.closeSync(fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600));
  } catch (e) {
    throw new Error(`${lockPath}: ${osReason(e)}`);
  }
  const holder = spawn('flock', ['--exclusive', lockPath, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const locked = await new Promise((resolve) => {
    holder.on('error', (e) => resolve(e));
    holder.on('exit', (code) => resolve(new Error(`flock exited with ${code}`)));
    holder.stdout.once('data', () => resolve(null));
  });
  if (locked !== null) throw new Error(`cannot lock ${lockPath}: ${locked.message} (needs util-linux flock)`);
  try {
    return await body();
  } finally {
    // Closing its stdin ends `cat`, and the lock with it (also if this process dies).
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.stdin.end();
    await exited;
  }
}

/** Reads and checks a key file: {seed, nextIndex}. Permissions are checked on the open handle. */
function readKeyFile(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new Error(`${file}: ${osReason(e)}`);
  }
  let text;
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${file}: not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new Error(`${file}: mode ${(stat.mode & 0o7777).toString(8)} lets group or others access the seed (chmod 600 it)`);
    }
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  let kf;
  try {
    kf = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not a thread key file`);
  }
  const isWord = (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32;
  const keys = kf !== null && typeof kf === 'object' && !Array.isArray(kf) ? Object.keys(kf) : [];
  if (
    keys.length !== KEY_FILE_FIELDS.length ||
    !KEY_FILE_FIELDS.every((k) => keys.includes(k)) ||
    !isWord(kf.version) ||
    typeof kf.scheme !== 'string' ||
    !Array.isArray(kf.seed) ||
    kf.seed.length !== 8 ||
    !kf.seed.every(isWord) ||
    !isWord(kf.next_index)
  ) {
    throw new Error(`${file}: not a thread key file`);
  }
  if (kf.version !== KEY_FILE_VERSION || kf.scheme !== KEY_FILE_SCHEME) {
    throw new Error(`${file}: unsupported key file version ${kf.version} / scheme ${JSON.stringify(kf.scheme)}`);
  }
  if (!kf.seed.every((w) => w < MODULUS)) throw new Error(`${file}: invalid seed`);
  if (kf.next_index > MAX_KEY_INDEX) throw new Error(`${file}: next_index ${kf.next_index} out of range (max ${MAX_KEY_INDEX})`);
  return { seed: kf.seed, nextIndex: kf.next_index };
}

/**
 * Writes the key file as the keystore does: `<file>.tmp` (created 0600, fsynced), then a hard
 * link for a new file (fails instead of replacing a seed) or a rename, then an fsync of the
 * directory so the rename survives a crash. Callers hold the lock.
 */
function writeKeyFile(file, seed, nextIndex, create) {
  try {
    writeKeyFileOrThrow(file, seed, nextIndex, create);
  } catch (e) {
    throw typeof e?.errno === 'number' ? new Error(`${file}: ${osReason(e)}`) : e;
  }
}

function writeKeyFileOrThrow(file, seed, nextIndex, create) {
  const text = `${JSON.stringify({ version: KEY_FILE_VERSION, scheme: KEY_FILE_SCHEME, seed, next_index: nextIndex }, null, 2)}\n`;
  const tmp = sibling(file, '.tmp');
  // A stale temporary file is from a writer that crashed (we hold the lock): never the key file.
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (create) {
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if (e.code === 'EEXIST') throw new Error(`${file}: a key file already exists (refusing to overwrite a seed)`);
      throw new Error(`${file}: ${osReason(e)}`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  } else {
    fs.renameSync(tmp, file);
  }
  const dir = fs.openSync(path.dirname(path.resolve(file)), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/**
 * Spends one key index (the keystore's reserve_index): under the lock, re-reads the file, checks
 * it is the seed we read and that its index did not go backwards, and persists index + 1.
 * Returns the index, which no other signature will ever use.
 */
async function reserveIndex(file, opened) {
  return withLock(file, () => {
    const now = readKeyFile(file);
    if (now.seed.some((w, k) => w !== opened.seed[k])) throw new Error(`${file}: the file now holds another seed than the one this wallet opened`);
    if (now.nextIndex < opened.nextIndex) {
      throw new Error(`${file}: next_index went backwards (${now.nextIndex} < ${opened.nextIndex}): restored or edited key file; refusing to sign`);
    }
    if (now.nextIndex >= MAX_KEY_INDEX) throw new Error('all key indices of this seed are used: generate a new seed');
    writeKeyFile(file, now.seed, now.nextIndex + 1, false);
    return now.nextIndex;
  });
}

/** The `zkthread key` report of a key file: its next index and that index's packed key. */
function keyReport(signer, file, { seed, nextIndex }) {
  return { file, next_index: nextIndex, commitment: signer.key(seed, nextIndex).packed };
}

// ---- Commands ----

async function keyNew(signer, args) {
  const seed = freshSeed();
  try {
    fs.mkdirSync(path.dirname(path.resolve(args.keyFile)), { recursive: true });
  } catch (e) {
    throw new Error(`${args.keyFile}: ${osReason(e)}`);
  }
  await withLock(args.keyFile, () => writeKeyFile(args.keyFile, seed, 0, true));
  return keyReport(signer, args.keyFile, { seed, nextIndex: 0 });
}

/**
 * `set_thread_key(K)` from the account itself, K the key of the file's next unused index (a key
 * that never signed); then the slot is read back and must hold K.
 */
async function keyRegister(signer, args) {
  const opened = readKeyFile(args.keyFile);
  const report = keyReport(signer, args.keyFile, opened);
  const provider = await connect(args.rpcUrl);
  const account = new Account({ provider, address: hex(args.account), signer: hex(args.privateKey) });
  const sent = await account.execute([{ contractAddress: hex(args.token), entrypoint: 'set_thread_key', calldata: [report.commitment] }]);
  const receipt = await provider.waitForTransaction(sent.transaction_hash, { retryInterval: RECEIPT_POLL_MS });
  if (receipt.execution_status !== 'SUCCEEDED') {
    throw new Error(`set_thread_key reverted: ${oneLine(receipt.revert_reason ?? receipt.execution_status)}`);
  }
  const slot = await readKeySlot(signer, provider, args.token, args.account);
  if (slot.key.some((w, k) => w !== signer.key(opened.seed, opened.nextIndex).key[k])) {
    throw new Error(`the key slot of ${hex(args.account)} holds another key after set_thread_key`);
  }
  return { ...report, registered_in: hex(args.token), transaction: hex(sent.transaction_hash) };
}

/**
 * Signs a transfer with the key file's next index and posts it to the server; on a thread of
 * the list program, one list of every pair given (one signature, one nonce). The chain id and
 * the sender's key slot come from our own node; the server only says which queued nonce (and
 * key) comes next and which program the thread runs, so a lying server can make a signature
 * useless, never valid for anything but these transfers.
 */
async function submit(signer, args) {
  const opened = readKeyFile(args.keyFile);
  // Before anything is signed: a request no server took holds the key file's last index.
  if (fs.existsSync(unsentPath(args.keyFile))) {
    throw new Error(
      `a signed request of this key file is kept in ${unsentPath(args.keyFile)} (no server took it yet): run resend --key-file ${args.keyFile} first, or move the file away to abandon it`,
    );
  }
  const provider = await connect(args.rpcUrl);
  const chainId = BigInt(await provider.getChainId());
  const onChain = await readKeySlot(signer, provider, args.token, args.from);
  if (onChain.key.every((w) => w === 0)) {
    throw new Error(`sender ${hex(args.from)} has no thread key in token ${hex(args.token)}: run key-register from that account first`);
  }
  pruneAccepted(args.keyFile, onChain.nonce);
  const thread = await serverGet(args.server, '/thread');
  if (BigInt(thread.registry) !== args.registry || BigInt(thread.thread_id) !== args.thread || BigInt(thread.chain_id) !== chainId) {
    throw new Error(
      `the server batches thread ${thread.thread_id} of registry ${thread.registry} on chain ${thread.chain_id}, not thread ${args.thread} of ${hex(args.registry)} on ${hex(chainId)}`,
    );
  }
  // An own property only: `PROGRAMS.toString` is no program.
  const program = typeof thread.program === 'string' && Object.hasOwn(PROGRAMS, thread.program) ? PROGRAMS[thread.program] : undefined;
  if (program === undefined) {
    throw new Error(`the server's thread runs a program this wallet does not know: ${JSON.stringify(thread.program ?? null)}`);
  }
  if (program.name === 'signed' && args.transfers.length > 1) {
    throw new Error(`thread ${args.thread} runs the signed program (one transfer per signature): give one --to/--amount pair`);
  }
  const next = await serverGet(args.server, `/senders/${hex(args.token)}/${hex(args.from)}`);
  // Checked before an index is spent (the wallet's rule): a nonce the signer would refuse.
  if (!Number.isInteger(next.nonce) || next.nonce < 0 || next.nonce >= MODULUS) {
    throw new Error(`the server's next nonce ${JSON.stringify(next.nonce)} is not an M31 element`);
  }
  if (next.nonce < onChain.nonce) {
    throw new Error(`the server says nonce ${next.nonce} comes next, but the sender's key slot on-chain is already at ${onChain.nonce}`);
  }
  if (next.nonce === onChain.nonce && next.key.some((w, k) => w !== onChain.key[k])) {
    throw new Error(`the server's key for nonce ${next.nonce} is not the key in the sender's slot on-chain`);
  }
  const fileKey = signer.key(opened.seed, opened.nextIndex).key;
  if (fileKey.some((w, k) => w !== next.key[k])) {
    throw new Error(
      `the key file's next key (index ${opened.nextIndex}) is not the sender's current thread key at nonce ${next.nonce}: ` +
        'a transfer signed with this file was lost or refused, or another file signs for this account; ' +
        `register the file's next key with key-register --token ${hex(args.token)}`,
    );
  }
  // The message as signed, posted and reported (in this key order in all three).
  const message = program.message(args, next.nonce);
  program.check(message);
  checkQueue(next, program, message);
  // The index is spent on disk before any signature exists.
  const index = await reserveIndex(args.keyFile, opened);
  if (index !== opened.nextIndex) {
    throw new Error(`${args.keyFile}: another process signed with index ${opened.nextIndex} meanwhile; index ${index} is skipped unused`);
  }
  const threadId = Number(args.thread);
  const signed = signer.call(program.signer, {
    seed: opened.seed,
    index,
    chain_id: hex(chainId),
    registry: hex(args.registry),
    thread_id: threadId,
    ...message,
  });
  const accepted = await deliver(args.keyFile, args.server, program.route, { registry: hex(args.registry), thread_id: threadId }, {
    ...message,
    key: signed.key,
    next_key: signed.next_key,
    signature: signed.signature,
  });
  const report = {
    id: accepted.id,
    status: accepted.status,
    program: program.name,
    thread_id: threadId,
    ...message,
    key_index: index,
    pending: accepted.pending,
  };
  if (!args.wait) return report;
  const began = Date.now();
  for (;;) {
    const status = await serverGet(args.server, `${program.route}/${accepted.id}`);
    if (status.status === 'rejected') throw new Error(`${program.noun} ${accepted.id} was rejected: ${status.reason}`);
    if (status.status === 'settled') return { ...report, status: 'settled', sequence: status.sequence, tx_hash: status.tx_hash, block: status.block };
    if (Date.now() - began > WAIT_LIMIT_MS) {
      throw new Error(`${program.noun} ${accepted.id} not settled after ${WAIT_LIMIT_MS / 1000} s (status ${status.status})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The two token programs a thread runs (the `program` of the server's GET /thread): what a
 * sender signs for each, where it is posted, and what is checked before a key index is spent.
 */
const PROGRAMS = {
  signed: {
    name: 'signed',
    noun: 'transfer',
    signer: 'zkthread_sign_transfer',
    route: '/transfers',
    message: (args, nonce) => {
      const [{ to, amount }] = args.transfers;
      return { token: hex(args.token), from: hex(args.from), to: hex(to), amount: amount.toString(10), nonce };
    },
    check: () => {},
  },
  list: {
    name: 'list',
    noun: 'list',
    signer: 'zkthread_sign_transfer_list',
    route: '/lists',
    message: (args, nonce) => ({
      token: hex(args.token),
      from: hex(args.from),
      transfers: args.transfers.map(({ to, amount }) => ({ to: hex(to), amount: amount.toString(10) })),
      nonce,
    }),
    check: checkList,
  },
};

/**
 * What the service would refuse a list for by its size alone: more transfers than one sender
 * may have queued, more slots than one settlement carries (the sender's balance and key slot, and each receiver's balance), or a request body
 * over its limit with the widest signature words.
 */
function checkList(message) {
  message.transfers.forEach(({ amount }, item) => {
    if (BigInt(amount) >= LIST_AMOUNT_LIMIT) {
      throw new Error(`list item ${item}: amount ${amount} is 2^120 or more, which a list cannot carry: send it as a single transfer`);
    }
  });
  const count = message.transfers.length;
  if (count > MAX_QUEUED_TRANSFERS_PER_SENDER) {
    throw new Error(`a list of ${count} transfers is longer than one sender may have queued here (at most ${MAX_QUEUED_TRANSFERS_PER_SENDER}): split it`);
  }
  const receivers = new Set(message.transfers.map(({ to }) => to)).size;
  const slots = receivers + 2;
  if (slots > MAX_SLOTS_PER_SETTLEMENT) {
    throw new Error(`the list pays ${receivers} accounts: ${slots} slots, and one settlement carries at most ${MAX_SLOTS_PER_SETTLEMENT}; split it`);
  }
  const word = 2 ** 32 - 1;
  const widest = { ...message, nonce: word, key: Array(4).fill(word), next_key: Array(4).fill(word), signature: Array(SIGNATURE_WORDS).fill(word) };
  const bytes = Buffer.byteLength(JSON.stringify(widest));
  if (bytes > MAX_BODY_BYTES) throw new Error(`the list's request would be up to ${bytes} bytes, over the service's ${MAX_BODY_BYTES}: split it`);
}

/**
 * What the service would refuse for the sender's queue there (GET /senders): a full message
 * queue, or, on a list thread, more transfers queued in lists than it takes from one sender.
 */
function checkQueue(next, program, message) {
  // `queued_transfers` counts only on a list thread: a signed one caps messages, not transfers.
  const fields = program.name === 'list' ? ['queued', 'queued_transfers'] : ['queued'];
  for (const field of fields) {
    if (!Number.isInteger(next[field]) || next[field] < 0) {
      throw new Error(`the server's ${field} ${JSON.stringify(next[field] ?? null)} is not a count`);
    }
  }
  if (next.queued >= MAX_QUEUED_PER_SENDER) {
    throw new Error(`the sender already has ${next.queued} transfers queued here (at most ${MAX_QUEUED_PER_SENDER}): post again after the next settlement`);
  }
  const adding = message.transfers?.length ?? 1;
  if (program.name === 'list' && next.queued_transfers + adding > MAX_QUEUED_TRANSFERS_PER_SENDER) {
    throw new Error(
      `the sender already has ${next.queued_transfers} transfers queued here in lists; with these ${adding} it would pass ${MAX_QUEUED_TRANSFERS_PER_SENDER}: post again after the next settlement`,
    );
  }
}

/** Sends every request of the vector file and compares the answers' bytes. */
function selfCheck(signer, args) {
  const vectors = JSON.parse(fs.readFileSync(args.vectors, 'utf8'));
  let checked = 0;
  for (const name of ['zkthread_key', 'zkthread_sign_transfer', 'zkthread_sign_transfer_list', 'zkthread_unpack_key_slot']) {
    for (const [n, { request, answer }] of vectors[name].entries()) {
      const got = signer.callText(name, JSON.stringify(request));
      if (got !== JSON.stringify(answer)) throw new Error(`${name} vector ${n}: the signer answers ${got.slice(0, 120)}...`);
      checked += 1;
    }
  }
  return { self_check: 'ok', vectors: checked };
}

// ---- Node and server ----

async function connect(rpcUrl) {
  // A plain request first: starknet.js reports an unreachable node as "fetch failed" only,
  // without the socket's error.
  try {
    const probe = { jsonrpc: '2.0', id: 0, method: 'starknet_blockNumber' };
    await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(probe) });
  } catch (e) {
    throw new Error(`cannot reach the node at ${rpcUrl}: ${osReason(e)}`);
  }
  return new RpcProvider({ nodeUrl: rpcUrl });
}

/** The (key words, nonce) in `account`'s key slot of `token` (its `thread_key` view). */
async function readKeySlot(signer, provider, token, account) {
  const [slot] = await provider.callContract({ contractAddress: hex(token), entrypoint: 'thread_key', calldata: [hex(account)] }, 'latest');
  return signer.unpackSlot(BigInt(slot));
}

async function serverAnswer(server, route, init) {
  let response;
  try {
    response = await fetch(`${server}${route}`, { ...init, signal: AbortSignal.timeout(SERVER_TIMEOUT_MS) });
  } catch (e) {
    throw new Error(`cannot reach the server ${server}: ${serverReason(e)}`);
  }
  let text;
  try {
    text = await response.text();
  } catch (e) {
    throw new Error(`cannot reach the server ${server}: ${serverReason(e)}`);
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`unexpected answer from the server ${server} (${response.status})`);
  }
  if (!response.ok) throw new Error(`the server refused it (${response.status}): ${body.error ?? 'no reason given'}`);
  return body;
}

const serverGet = (server, route) => serverAnswer(server, route, { method: 'GET' });

// ---- Signed requests no server has taken yet ----

const unsentPath = (keyFile) => sibling(keyFile, '.unsent.json');
/** Where a request goes once the server answered for it: `accepted` or `refused`, by nonce. */
const asidePath = (keyFile, fate, nonce) => sibling(keyFile, `.${fate}-${nonce}.json`);

/**
 * Keeps the signed request (temporary file, fsync, rename) with the thread it is for, then posts
 * it ([postKept]). If it cannot be kept, it is not posted: the error carries it.
 */
async function deliver(keyFile, server, route, thread, request) {
  const file = unsentPath(keyFile);
  const tmp = sibling(file, '.tmp');
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify({ server, route, ...thread, request }, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    throw new Error(`${file}: ${osReason(e)}; the signed request was not posted, here it is: ${JSON.stringify(request)}`);
  }
  return postKept(keyFile, server, route, request);
}

/** The server's reason as one line of at most 300 characters. */
function reasonOf(body) {
  const error = body !== null && typeof body === 'object' && typeof body.error === 'string' ? body.error : 'no reason given';
  return [...error.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')].slice(0, 300).join('').trim();
}

/** Whether `body` is the service's 202 answer (or 200, for a duplicate). */
const isAccepted = (body) =>
  body !== null && typeof body === 'object' && Number.isSafeInteger(body.id) && body.id >= 0 &&
  typeof body.status === 'string' && Number.isSafeInteger(body.pending) && body.pending >= 0;

/**
 * Posts the request kept for `keyFile`: the service's 202 (200 for a duplicate) sets it aside as accepted; refused for
 * good (400, 409, 413, 422) as refused (`<key file>.accepted-<nonce>.json`,
 * `.refused-<nonce>.json`); anything else keeps it.
 */
async function postKept(keyFile, server, route, request) {
  const file = unsentPath(keyFile);
  const kept = (why) => new Error(`${why}; the signed request is kept in ${file}: resend --key-file ${keyFile} posts it again`);
  let response;
  let text;
  try {
    response = await fetch(`${server}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      redirect: 'manual',
      signal: AbortSignal.timeout(SERVER_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (e) {
    throw kept(`cannot reach the server ${server}: ${serverReason(e)}: the message may be queued`);
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const status = response.status;
  // 200 answers a duplicate: the same signed request, stored by an earlier post whose answer
  // was lost.
  const duplicate = status === 200 && body !== null && body.duplicate === true && body.status !== 'rejected';
  if ((status === 202 || duplicate) && isAccepted(body)) {
    fs.renameSync(file, asidePath(keyFile, 'accepted', request.nonce));
    return body;
  }
  if (body === null || status === 202) {
    throw kept(`unexpected answer from the server ${server} (${status}): the message may be queued`);
  }
  if ([400, 409, 413, 422].includes(status)) {
    const aside = asidePath(keyFile, 'refused', request.nonce);
    fs.renameSync(file, aside);
    throw new Error(`the server refused it (${status}): ${reasonOf(body)} (the signed request is set aside in ${aside})`);
  }
  if (status === 408 || status === 429) throw kept(`the server refused it for now (${status}): ${reasonOf(body)}`);
  throw kept(`the server answered ${status}: ${reasonOf(body)}: the message may be queued`);
}

/** Removes the key file's accepted requests whose nonce the key slot on chain is past. */
function pruneAccepted(keyFile, nonce) {
  const dir = path.dirname(keyFile);
  const prefix = `${path.basename(keyFile)}.accepted-`;
  for (const name of fs.readdirSync(dir)) {
    const match = name.startsWith(prefix) && /^([0-9]+)\.json$/.exec(name.slice(prefix.length));
    if (match && Number(match[1]) < nonce) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Posts again the request kept for the key file (to --server, or where it was first posted),
 * once the server says it batches the request's thread.
 */
async function resend(_signer, args) {
  const file = unsentPath(args.keyFile);
  let kept;
  try {
    kept = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error(`no signed request is kept in ${file}`);
    throw new Error(`${file}: ${e instanceof SyntaxError ? 'not a kept signed request' : osReason(e)}`);
  }
  const server = args.server ?? kept.server;
  const thread = await serverGet(server, '/thread');
  if (thread.registry !== kept.registry || thread.thread_id !== kept.thread_id) {
    throw new Error(
      `the server ${server} batches thread ${thread.thread_id} of registry ${thread.registry}, not this request's thread ${kept.thread_id} of ${kept.registry}`,
    );
  }
  const accepted = await postKept(args.keyFile, server, kept.route, kept.request);
  return { id: accepted.id, status: accepted.status, route: kept.route, server, nonce: kept.request.nonce, pending: accepted.pending };
}

function oneLine(e) {
  const message =
    e instanceof RpcError ? `node error ${e.baseError.code}: ${e.baseError.message}` : e instanceof Error ? e.message : String(e);
  return message.replace(/\s+/g, ' ').trim();
}

function fail(message, code) {
  process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  process.stderr.write(`submit-transfer: ${message}\n`);
  process.exitCode = code;
}

// starknet.js warns on stderr when few recent blocks carry tips (a quiet devnet); stderr is for
// this script's own one-line error.
config.set('logLevel', 'ERROR');

try {
  const args = parseCommandLine(process.argv.slice(2));
  const signer = new Signer(args.wasm);
  const run = { 'self-check': selfCheck, 'key-new': keyNew, 'key-register': keyRegister, submit, resend }[args.command];
  const report = await run(signer, args);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} catch (e) {
  fail(oneLine(e), e instanceof UsageError ? 2 : 1);
}
