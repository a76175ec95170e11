/**
 * RSS over V8's heap: when a Node process's resident memory is many times what
 * V8's heap holds, the growth is native (malloc'd by addons, Buffers, zlib, TLS, …)
 * and a JavaScript heap snapshot will not find it. Reads process.memoryUsage() and
 * /proc/self/status; does not need the addon.
 */
import { readFileSync } from 'node:fs';

export interface HeapRatio {
  /** rssBytes / heapTotalBytes. */
  ratio: number;
  /** RssAnon / heapTotalBytes: the same without file-backed pages (the node binary's code). NaN if unreadable. */
  anonRatio: number;
  /** Resident set size (process.memoryUsage().rss). */
  rssBytes: number;
  /** Anonymous resident memory (/proc/self/status RssAnon). NaN if unreadable. */
  rssAnonBytes: number;
  /** V8's heap, reserved and committed (process.memoryUsage().heapTotal). */
  heapTotalBytes: number;
  /** V8's heap in use. */
  heapUsedBytes: number;
  /** Memory of C++ objects bound to JavaScript objects that V8 knows of (Buffers' backing stores among them). */
  externalBytes: number;
  /** ArrayBuffers and SharedArrayBuffers (Buffers included), part of externalBytes. */
  arrayBuffersBytes: number;
  /** rssBytes - heapTotalBytes: resident memory outside V8's heap. */
  outsideHeapBytes: number;
}

const RSS_ANON = /^RssAnon:\s+(\d+)\s+kB$/m;

function rssAnon(): number {
  try {
    const match = RSS_ANON.exec(readFileSync('/proc/self/status', 'latin1'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** RSS / V8 heapTotal for this process, with the numbers behind it. */
export function rssToHeapRatio(): HeapRatio {
  const usage = process.memoryUsage();
  const rssAnonBytes = rssAnon();
  return {
    ratio: usage.rss / usage.heapTotal,
    anonRatio: rssAnonBytes / usage.heapTotal,
    rssBytes: usage.rss,
    rssAnonBytes,
    heapTotalBytes: usage.heapTotal,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    arrayBuffersBytes: usage.arrayBuffers,
    outsideHeapBytes: usage.rss - usage.heapTotal,
  };
}
