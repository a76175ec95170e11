/**
 * Parser for the XML that glibc's malloc_info(0, fp) writes (format of glibc 2.36's
 * __malloc_info in malloc/malloc.c). Pure: takes the text, returns plain numbers.
 *
 * Things glibc does that show up in the numbers, reported as-is:
 * - Fast-bin entries give a range `from = size - 15`, `to = size`; small/large/unsorted
 *   entries give the smallest and largest chunk seen, read with chunksize_nomask, so they
 *   usually carry the PREV_INUSE bit (a free 112-byte chunk shows up as from="113").
 * - "rest" counts and sizes include the arena's top chunk, so an arena with an empty
 *   <sizes> list still reports rest.count >= 1.
 * - The process-wide system/aspace totals are the sums of the per-arena values.
 */
import { ErrorCodes, MallocLabError } from '../infra/errors.js';

export interface MallocInfoBin {
  from: number;
  to: number;
  total: number;
  count: number;
  /** Present (true) for the single <unsorted> entry. */
  unsorted?: true;
}

export interface MallocInfoCount {
  count: number;
  bytes: number;
}

export interface MallocInfoArena {
  /** The heap's nr attribute; 0 is the main arena. */
  index: number;
  main: boolean;
  sizes: MallocInfoBin[];
  /** Free chunks in fast bins. */
  fast: MallocInfoCount;
  /** Free chunks in all other bins, plus the top chunk. */
  rest: MallocInfoCount;
  systemCurrent: number;
  systemMax: number;
  aspaceTotal: number;
  aspaceMprotect: number;
  /** Number of mmap'd sub-heaps (non-main arenas only; 0 for the main arena). */
  subheaps: number;
  /** fast.bytes + rest.bytes */
  freeBytes: number;
}

export interface MallocInfo {
  version: number;
  arenas: MallocInfoArena[];
  totals: {
    fast: MallocInfoCount;
    rest: MallocInfoCount;
    mmap: MallocInfoCount;
    systemCurrent: number;
    systemMax: number;
    aspaceTotal: number;
    aspaceMprotect: number;
  };
  /** The text that was parsed. */
  xml: string;
}

const CODE = ErrorCodes.BAD_MALLOC_INFO;

function fail(expected: string, got: string): never {
  throw new MallocLabError(`malloc_info: expected ${expected}, got ${got}`, CODE);
}

function preview(text: string): string {
  if (text.length === 0) return 'an empty string';
  const head = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return JSON.stringify(head);
}

type Attrs = Record<string, string>;

interface Element {
  tag: string;
  attrs: Attrs;
}

/** Every self-closing element (<tag a="1" …/>) in `text`, in order. */
function elements(text: string): Element[] {
  const out: Element[] = [];
  for (const m of text.matchAll(/<(\w+)((?:\s+\w+="[^"]*")*)\s*\/>/g)) {
    const attrs: Attrs = {};
    for (const a of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    out.push({ tag: m[1]!, attrs });
  }
  return out;
}

function num(el: Element, name: string, where: string): number {
  const raw = el.attrs[name];
  if (raw === undefined || !/^\d+$/.test(raw)) {
    fail(`a decimal ${name}="…" on <${el.tag}> in ${where}`, raw === undefined ? 'none' : JSON.stringify(raw));
  }
  return Number(raw);
}

/** The one element with this tag and type="…", or a clear error. */
function typed(els: Element[], tag: string, type: string, where: string, required: true): Element;
function typed(els: Element[], tag: string, type: string, where: string, required: false): Element | undefined;
function typed(els: Element[], tag: string, type: string, where: string, required: boolean): Element | undefined {
  const el = els.find((e) => e.tag === tag && e.attrs['type'] === type);
  if (el === undefined && required) fail(`<${tag} type="${type}" …/> in ${where}`, 'none');
  return el;
}

function countOf(els: Element[], type: string, where: string): MallocInfoCount {
  const el = typed(els, 'total', type, where, true);
  return { count: num(el, 'count', where), bytes: num(el, 'size', where) };
}

function sizeOf(els: Element[], tag: string, type: string, where: string): number {
  return num(typed(els, tag, type, where, true), 'size', where);
}

function parseArena(index: number, body: string): MallocInfoArena {
  const where = `<heap nr="${index}">`;
  const sizesBlock = /<sizes>([\s\S]*?)<\/sizes>/.exec(body);
  if (sizesBlock === null) fail(`<sizes>…</sizes> in ${where}`, preview(body.trim()));

  const sizes: MallocInfoBin[] = [];
  for (const el of elements(sizesBlock[1] ?? '')) {
    if (el.tag !== 'size' && el.tag !== 'unsorted') fail(`<size/> or <unsorted/> in ${where} <sizes>`, `<${el.tag}>`);
    const bin: MallocInfoBin = {
      from: num(el, 'from', where),
      to: num(el, 'to', where),
      total: num(el, 'total', where),
      count: num(el, 'count', where),
    };
    if (el.tag === 'unsorted') bin.unsorted = true;
    sizes.push(bin);
  }

  const rest = elements(body.slice(sizesBlock.index + sizesBlock[0].length));
  const fast = countOf(rest, 'fast', where);
  const restCount = countOf(rest, 'rest', where);
  const subheaps = typed(rest, 'aspace', 'subheaps', where, false);
  return {
    index,
    main: index === 0,
    sizes,
    fast,
    rest: restCount,
    systemCurrent: sizeOf(rest, 'system', 'current', where),
    systemMax: sizeOf(rest, 'system', 'max', where),
    aspaceTotal: sizeOf(rest, 'aspace', 'total', where),
    aspaceMprotect: sizeOf(rest, 'aspace', 'mprotect', where),
    subheaps: subheaps === undefined ? 0 : num(subheaps, 'size', where),
    freeBytes: fast.bytes + restCount.bytes,
  };
}

/** Parse malloc_info(0, …) XML. Throws MallocLabError ERR_BAD_MALLOC_INFO if it is not that. */
export function parseMallocInfo(xml: string): MallocInfo {
  if (typeof xml !== 'string') fail('a string of malloc_info XML', typeof xml);
  const text = xml.trim();
  const open = /^<malloc version="(\d+)">/.exec(text);
  if (open === null) fail('malloc_info XML starting with <malloc version="N">', preview(text));
  if (!text.endsWith('</malloc>')) fail('malloc_info XML ending with </malloc>', preview(text.slice(-60)));
  const inner = text.slice(open[0].length, -'</malloc>'.length);

  const arenas: MallocInfoArena[] = [];
  let tailStart = 0;
  for (const m of inner.matchAll(/<heap nr="(\d+)">([\s\S]*?)<\/heap>/g)) {
    const index = Number(m[1]);
    if (index !== arenas.length) fail(`<heap nr="${arenas.length}">`, `<heap nr="${m[1]}">`);
    arenas.push(parseArena(index, m[2] ?? ''));
    tailStart = m.index + m[0].length;
  }
  if (arenas.length === 0) fail('at least one <heap nr="0"> (the main arena)', preview(inner.trim()));

  const where = 'the process-wide totals after the last </heap>';
  const tail = elements(inner.slice(tailStart));
  return {
    version: Number(open[1]),
    arenas,
    totals: {
      fast: countOf(tail, 'fast', where),
      rest: countOf(tail, 'rest', where),
      mmap: countOf(tail, 'mmap', where),
      systemCurrent: sizeOf(tail, 'system', 'current', where),
      systemMax: sizeOf(tail, 'system', 'max', where),
      aspaceTotal: sizeOf(tail, 'aspace', 'total', where),
      aspaceMprotect: sizeOf(tail, 'aspace', 'mprotect', where),
    },
    xml,
  };
}
