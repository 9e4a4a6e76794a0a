#!/usr/bin/env node
// Follows one zkThreads thread from the chain alone (starknet.js): reads its record from the
// ThreadRegistry, fetches its SubBlockSettled / SubBlockSettledSummary events, decodes them with
// the registry's ABI (fetched from the node), reassembles each settlement's chunks and, for the
// accounts given, reports the balance each settlement left them on the thread's token.
//
//   node follow-thread.mjs --rpc-url URL --registry 0x.. --thread N [--accounts 0xa,0xb]
//                          [--token 0x..] [--from-block N]
//
// Prints one JSON document on stdout: felts as 0x hex strings, balances as decimal strings,
// counters (thread id, sequence, block, slot counts) as JSON numbers. On an error it prints
// {"error": "..."} on stdout, the same line on stderr, and exits 1 (2 for a usage error).
// The output has the same shape as examples/python/follow_thread.py's.

import { parseArgs } from 'node:util';
import { CallData, Contract, RpcError, RpcProvider, createAbiParser, events, hash, num } from 'starknet';

const USAGE =
  'usage: follow-thread.mjs --rpc-url URL --registry 0x.. --thread N [--accounts 0xa,0xb] [--token 0x..] [--from-block N]';

/** Events per starknet_getEvents page. */
const CHUNK_SIZE = 100;
/** Contract addresses are below 2^251 (Starknet's address bound). */
const ADDRESS_BOUND = 2n ** 251n;
const U64_MAX = 2n ** 64n - 1n;
/** How often to retry reading the thread when a block lands in the middle of the reads. */
const SNAPSHOT_ATTEMPTS = 5;
/** Views are read at the latest accepted block (see `atOneBlock`). */
const LATEST = { blockIdentifier: 'latest' };

class UsageError extends Error {}

/**
 * Parses and checks the command line.
 * @param {string[]} argv
 * @returns {{rpcUrl: string, registry: bigint, thread: bigint, accounts: bigint[], token: bigint | null, fromBlock: number}}
 */
function parseCommandLine(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'rpc-url': { type: 'string' },
        registry: { type: 'string' },
        thread: { type: 'string' },
        accounts: { type: 'string' },
        token: { type: 'string' },
        'from-block': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`${e.message}; ${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  for (const name of ['rpc-url', 'registry', 'thread']) {
    if (values[name] === undefined) throw new UsageError(`missing --${name}; ${USAGE}`);
  }
  if (!URL.canParse(values['rpc-url']) || !['http:', 'https:'].includes(new URL(values['rpc-url']).protocol)) {
    throw new UsageError(`--rpc-url: not an http(s) URL: ${JSON.stringify(values['rpc-url'])}`);
  }
  const thread = parseUint(values.thread, '--thread', U64_MAX);
  if (thread === 0n) throw new UsageError('--thread: thread ids start at 1');
  const accounts =
    values.accounts === undefined
      ? []
      : values.accounts.split(',').map((a) => parseAddress(a.trim(), '--accounts'));
  return {
    rpcUrl: values['rpc-url'],
    registry: parseAddress(values.registry, '--registry'),
    thread,
    accounts,
    token: values.token === undefined ? null : parseAddress(values.token, '--token'),
    fromBlock: values['from-block'] === undefined ? 0 : Number(parseUint(values['from-block'], '--from-block', 2n ** 53n - 1n)),
  };
}

/**
 * @param {string} text
 * @param {string} flag
 * @param {bigint} max
 * @returns {bigint}
 */
function parseUint(text, flag, max) {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${flag}: not a non-negative integer: ${JSON.stringify(text)}`);
  const value = BigInt(text);
  if (value > max) throw new UsageError(`${flag}: ${text} is too large`);
  return value;
}

/**
 * A contract address: 0x hex below 2^251.
 * @param {string} text
 * @param {string} flag
 * @returns {bigint}
 */
function parseAddress(text, flag) {
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(text)) throw new UsageError(`${flag}: not a 0x hex address: ${JSON.stringify(text)}`);
  const value = BigInt(text);
  if (value >= ADDRESS_BOUND) throw new UsageError(`${flag}: ${text} is not below 2^251`);
  return value;
}

/** @param {bigint | number | string} v a felt @returns {string} 0x hex, lowercase, no leading zeros */
const hex = (v) => num.toHex(v);

/** @param {bigint | number} v a u32 / u64 counter @returns {number} */
function counter(v) {
  const n = BigInt(v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`counter ${n} exceeds a JSON number`);
  return Number(n);
}

/**
 * The ABI of the contract deployed at `address`, from the node (`starknet_getClassAt`).
 * @param {RpcProvider} provider
 * @param {bigint} address
 * @returns {Promise<import('starknet').Abi>}
 */
async function abiAt(provider, address) {
  let contractClass;
  try {
    contractClass = await provider.getClassAt(hex(address), 'latest');
  } catch (e) {
    throw new Error(`no contract at ${hex(address)}: ${oneLine(e)}`);
  }
  if (!('sierra_program' in contractClass)) throw new Error(`${hex(address)} is a Cairo 0 contract, not a zkThreads contract`);
  return typeof contractClass.abi === 'string' ? JSON.parse(contractClass.abi) : contractClass.abi;
}

/**
 * Whether the ABI declares an external function `name` (in an interface or at top level).
 * @param {import('starknet').Abi} abi
 * @param {string} name
 */
function hasFunction(abi, name) {
  return abi.some(
    (entry) =>
      (entry.type === 'function' && entry.name === name) ||
      (entry.type === 'interface' && entry.items.some((item) => item.type === 'function' && item.name === name)),
  );
}

/**
 * The full ABI name of the event whose short name is `short` (e.g. `...::ThreadRegistry::SubBlockSettled`).
 * @param {import('starknet').Abi} abi
 * @param {string} short
 */
function eventName(abi, short) {
  const entry = abi.find((e) => e.type === 'event' && e.kind === 'struct' && e.name.endsWith(`::${short}`));
  if (!entry) throw new Error(`the registry's ABI has no event ${short}: not a ThreadRegistry`);
  return entry.name;
}

/**
 * Every event of `address` matching `keys` from `fromBlock` to `toBlock`, following the
 * node's continuation tokens, in the node's (chain) order.
 * @param {RpcProvider} provider
 * @param {{address: string, keys: string[][], fromBlock: number, toBlock: number}} filter
 */
async function fetchAllEvents(provider, { address, keys, fromBlock, toBlock }) {
  const all = [];
  let continuationToken;
  do {
    const page = await provider.getEvents({
      address,
      keys,
      from_block: { block_number: fromBlock },
      to_block: { block_number: toBlock },
      chunk_size: CHUNK_SIZE,
      ...(continuationToken === undefined ? {} : { continuation_token: continuationToken }),
    });
    all.push(...page.events);
    continuationToken = page.continuation_token;
  } while (continuationToken);
  return all;
}

/**
 * Runs `read` against the node's latest block until the block number is the same before and
 * after it, so every view it calls saw one block, and returns that block's number with the
 * result. (Reading at an explicit older block needs a node that keeps historical state, which
 * starknet-devnet does not by default.)
 * @template T
 * @param {RpcProvider} provider
 * @param {() => Promise<T>} read
 * @returns {Promise<{block: number, value: T}>}
 */
async function atOneBlock(provider, read) {
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const before = await provider.getBlockNumber();
    const value = await read();
    const after = await provider.getBlockNumber();
    if (before === after) return { block: after, value };
  }
  throw new Error(`the chain moved on during each of ${SNAPSHOT_ATTEMPTS} reads; try again`);
}

/**
 * @param {ReturnType<typeof parseCommandLine>} args
 */
async function followThread(args) {
  const provider = new RpcProvider({ nodeUrl: args.rpcUrl });
  try {
    await provider.getBlockNumber();
  } catch (e) {
    throw new Error(`cannot reach the node at ${args.rpcUrl}: ${oneLine(e)}`);
  }

  // The registry's record of the thread, its views and (for --accounts) the token's, all at
  // one block; the events are then read up to that block, so they agree with the record.
  const { block, value: state } = await atOneBlock(provider, () => readThread(provider, args));
  const { registryAbi, info, contracts, provers, nextSequence, token } = state;
  const settledName = eventName(registryAbi, 'SubBlockSettled');
  const summaryName = eventName(registryAbi, 'SubBlockSettledSummary');

  // The settlement events of this thread: key 0 is the event selector, key 1 the thread id.
  const raw = await fetchAllEvents(provider, {
    address: hex(args.registry),
    keys: [[hash.getSelectorFromName('SubBlockSettled'), hash.getSelectorFromName('SubBlockSettledSummary')], [hex(args.thread)]],
    fromBlock: args.fromBlock,
    toBlock: block,
  });
  const decoded = events.parseEvents(
    raw,
    events.getAbiEvents(registryAbi),
    CallData.getAbiStruct(registryAbi),
    CallData.getAbiEnum(registryAbi),
    createAbiParser(registryAbi),
  );
  if (decoded.length !== raw.length) throw new Error(`${raw.length - decoded.length} event(s) did not decode with the registry's ABI`);

  // Group by sequence: the chunks (by chunk index) and the summary of each settlement.
  /** @type {Map<bigint, {chunks: Map<bigint, any>, summary: any, txHash: string, block: number}>} */
  const bySequence = new Map();
  for (const ev of decoded) {
    const body = ev[settledName] ?? ev[summaryName];
    if (body === undefined || BigInt(body.thread_id) !== args.thread) continue;
    const sequence = BigInt(body.sequence);
    let entry = bySequence.get(sequence);
    if (entry === undefined) {
      entry = { chunks: new Map(), summary: null, txHash: ev.transaction_hash, block: ev.block_number };
      bySequence.set(sequence, entry);
    }
    if (ev.transaction_hash !== entry.txHash) {
      throw new Error(`sequence ${sequence} has events in two transactions (${entry.txHash}, ${ev.transaction_hash})`);
    }
    if (ev[settledName] !== undefined) {
      const chunk = BigInt(body.chunk);
      if (entry.chunks.has(chunk)) throw new Error(`sequence ${sequence}: chunk ${chunk} seen twice`);
      entry.chunks.set(chunk, body);
    } else {
      if (entry.summary !== null) throw new Error(`sequence ${sequence}: two summaries`);
      entry.summary = body;
    }
  }

  const settlements = [];
  for (const sequence of [...bySequence.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { chunks, summary, txHash, block: settledIn } = bySequence.get(sequence);
    if (summary === null) throw new Error(`sequence ${sequence}: SubBlockSettled without its SubBlockSettledSummary`);
    const nChunks = BigInt(summary.n_chunks);
    const outputs = [];
    for (let c = 0n; c < nChunks; c++) {
      const chunk = chunks.get(c);
      if (chunk === undefined) throw new Error(`sequence ${sequence}: chunk ${c} of ${nChunks} missing`);
      if (BigInt(chunk.n_chunks) !== nChunks) throw new Error(`sequence ${sequence}: chunk ${c} says ${chunk.n_chunks} chunks, the summary ${nChunks}`);
      for (const slot of chunk.outputs) outputs.push({ contract: hex(slot.contract), key: hex(slot.key), value: hex(slot.value) });
    }
    if (BigInt(chunks.size) !== nChunks) throw new Error(`sequence ${sequence}: ${chunks.size} chunks, the summary says ${nChunks}`);
    if (BigInt(outputs.length) !== BigInt(summary.n_outputs)) {
      throw new Error(`sequence ${sequence}: ${outputs.length} outputs in the chunks, the summary says ${summary.n_outputs}`);
    }
    // The balances this settlement wrote: an account whose balance slot is among the outputs.
    const balances = {};
    if (token !== null) {
      const written = new Map(outputs.filter((o) => o.contract === token.address).map((o) => [o.key, o.value]));
      for (const { account, slot } of token.accounts) {
        if (written.has(slot)) balances[account] = BigInt(written.get(slot)).toString(10);
      }
    }
    settlements.push({
      sequence: counter(sequence),
      tx_hash: hex(txHash),
      block: settledIn,
      prover: hex(summary.prover),
      n_inputs: counter(summary.n_inputs),
      n_outputs: counter(summary.n_outputs),
      n_chunks: counter(nChunks),
      n_transactions: counter(summary.n_transactions),
      transactions_commitment: hex(summary.transactions_commitment),
      public_input_hash: hex(summary.public_input_hash),
      outputs,
      balances,
    });
  }

  return {
    thread_id: counter(args.thread),
    registry: hex(args.registry),
    at_block: block,
    thread: {
      os_version: hex(info.os_version),
      program_hash: hex(info.program_hash),
      admin: hex(info.admin),
      active: Boolean(info.active),
      sequence: counter(info.sequence),
      contract_set_commitment: hex(info.contract_set_commitment),
      contract_count: counter(info.contract_count),
      allowlist_enabled: Boolean(info.allowlist_enabled),
    },
    contracts: contracts.map((c) => hex(c)),
    provers: provers.map((p) => hex(p)),
    next_sequence: counter(nextSequence),
    token: token === null ? null : token.address,
    balances_now: token === null ? {} : Object.fromEntries(token.accounts.map(({ account, now }) => [account, now])),
    settlements,
  };
}

/**
 * The registry's views of the thread and, with --accounts, each account's balance slot and
 * current balance on the thread's token. Reads at the latest block.
 * @param {RpcProvider} provider
 * @param {ReturnType<typeof parseCommandLine>} args
 */
async function readThread(provider, args) {
  const registryAbi = await abiAt(provider, args.registry);
  for (const f of ['thread', 'thread_count', 'thread_contracts', 'thread_provers', 'next_sequence']) {
    if (!hasFunction(registryAbi, f)) throw new Error(`${hex(args.registry)} has no view ${f}: not a ThreadRegistry`);
  }
  const registry = new Contract({ abi: registryAbi, address: hex(args.registry), providerOrAccount: provider });
  const threadCount = BigInt(await registry.call('thread_count', [], LATEST));
  if (args.thread > threadCount) {
    throw new Error(`thread ${args.thread} does not exist (the registry has ${threadCount} thread(s))`);
  }
  const [info, contracts, provers, nextSequence] = await Promise.all([
    registry.call('thread', [args.thread], LATEST),
    registry.call('thread_contracts', [args.thread], LATEST),
    registry.call('thread_provers', [args.thread], LATEST),
    registry.call('next_sequence', [args.thread], LATEST),
  ]);
  let token = null;
  if (args.accounts.length > 0) {
    const { address, abi } = await pickToken(provider, args.token, contracts);
    const tokenContract = new Contract({ abi, address: hex(address), providerOrAccount: provider });
    const accounts = await Promise.all(
      args.accounts.map(async (a) => {
        const slots = await tokenContract.call('thread_slots', [a], LATEST);
        const now = await tokenContract.call('balance_of', [a], LATEST); // u256, decoded by the ABI
        return { account: hex(a), slot: hex(slots.balance), now: BigInt(now).toString(10) };
      }),
    );
    token = { address: hex(address), accounts };
  }
  return { registryAbi, info, contracts, provers, nextSequence, token };
}

/**
 * The token whose balances are reported: `--token` if given (it must be one of the thread's
 * contracts), else the thread's only contract with a `thread_slots` view.
 * @param {RpcProvider} provider
 * @param {bigint | null} wanted
 * @param {bigint[]} contracts
 * @returns {Promise<{address: bigint, abi: import('starknet').Abi}>}
 */
async function pickToken(provider, wanted, contracts) {
  if (wanted !== null && !contracts.some((c) => BigInt(c) === wanted)) {
    throw new Error(`--token ${hex(wanted)} is not a contract of the thread`);
  }
  const candidates = wanted === null ? contracts.map((c) => BigInt(c)) : [wanted];
  const tokens = [];
  for (const address of candidates) {
    const abi = await abiAt(provider, address);
    if (hasFunction(abi, 'thread_slots') && hasFunction(abi, 'balance_of')) tokens.push({ address, abi });
  }
  if (tokens.length === 0) {
    throw new Error(wanted === null ? 'no contract of the thread has the thread_slots and balance_of views' : `--token ${hex(wanted)} has no thread_slots or balance_of view`);
  }
  if (tokens.length > 1) {
    throw new Error(`the thread has ${tokens.length} tokens (${tokens.map((t) => hex(t.address)).join(', ')}): pick one with --token`);
  }
  return tokens[0];
}

/** @param {unknown} e @returns {string} the error's message on one line */
function oneLine(e) {
  // A node's JSON-RPC error: its code and message, without the request starknet.js appends.
  const message =
    e instanceof RpcError ? `node error ${e.baseError.code}: ${e.baseError.message}` : e instanceof Error ? e.message : String(e);
  return message.replace(/\s+/g, ' ').trim();
}

function fail(message, code) {
  process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  process.stderr.write(`follow-thread: ${message}\n`);
  process.exitCode = code;
}

try {
  const args = parseCommandLine(process.argv.slice(2));
  const report = await followThread(args);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} catch (e) {
  fail(oneLine(e), e instanceof UsageError ? 2 : 1);
}
