// The rules between native/'s layers (ARCHITECTURE.md), checked on the sources: the
// core never sees N-API; the plain layer (plain*, program*) uses no C++ runtime and
// never throws, because it also builds the fresh host, which must link only libc;
// and native/malloc_lab.gypi (what every build reads) builds the fresh host from exactly that layer. (lib/'s layer rules
// are ESLint's: see eslint.config.js.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const core = join(root, 'native', 'core');
const coreFiles = readdirSync(core).filter((name) => /\.(h|cc)$/.test(name));
const isPlain = (name: string) => /^(plain|program)/.test(name);
const source = (name: string) => readFileSync(join(core, name), 'utf8');
/** The code without comments and string literals, so a word in either does not count. */
const code = (name: string) =>
  source(name)
    .replace(/\/\/.*$/gm, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
const includes = (name: string) => [...source(name).matchAll(/^#include\s+([<"][^>"]+[>"])/gm)].map((m) => m[1]!);

/** native/malloc_lab.gypi as data: a Python literal, so '#' comments go first (outside strings). Paths are relative to native/. */
function targetsGypi(): { variables: Record<string, string[]>; targets: { target_name: string; sources: string[] }[] } {
  const text = readFileSync(join(root, 'native', 'malloc_lab.gypi'), 'utf8');
  let json = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      json += c;
      if (c === '\\') json += text[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      json += c;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      json += '\n';
    } else {
      json += c;
    }
  }
  return new Function(`return (${json});`)();
}

function expand(list: string[], variables: Record<string, string[]>): string[] {
  return list.flatMap((item) => {
    const name = /^<@\((\w+)\)$/.exec(item)?.[1];
    return name === undefined ? [item] : expand(variables[name] ?? [], variables);
  });
}

describe('native layers', () => {
  it('the core never includes N-API or the addon skin', () => {
    const offenders = coreFiles.filter((name) => includes(name).some((header) => /napi|node_api|addon\//.test(header)));
    expect(offenders).toEqual([]);
  });

  it('the plain layer includes only C headers and other plain headers', () => {
    const plain = coreFiles.filter(isPlain);
    expect(plain.length).toBeGreaterThan(10);
    const offenders = plain.flatMap((name) =>
      includes(name)
        .filter((header) => !(/^<[\w/-]+\.h>$/.test(header) || /^"(plain|program)[\w]*\.h"$/.test(header)))
        .map((header) => `${name}: ${header}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the plain layer never throws, catches or news: it returns errnos and uses mmap', () => {
    const offenders = coreFiles
      .filter(isPlain)
      .flatMap((name) =>
        [...code(name).matchAll(/\b(throw|try|catch|new|delete|std::)\b/g)].map((m) => `${name}: ${m[1]}`),
      );
    expect(offenders).toEqual([]);
  });

  it('the gypi builds the fresh host from the plain layer, all of it, and nothing else but its main', () => {
    const gyp = targetsGypi();
    const fresh = gyp.targets.find((target) => target.target_name === 'malloc-lab-fresh')!;
    const sources = expand(fresh.sources, gyp.variables).sort();
    const plainSources = coreFiles
      .filter((name) => isPlain(name) && name.endsWith('.cc'))
      .map((name) => `core/${name}`);
    expect(sources).toEqual([...plainSources, 'fresh/main.cc'].sort());
  });

  it('the addon builds every .cc of the core, plain and checked alike', () => {
    const gyp = targetsGypi();
    const addon = gyp.targets.find((target) => target.target_name === 'malloc_lab')!;
    const sources = new Set(expand(addon.sources, gyp.variables));
    const missing = coreFiles.filter((name) => name.endsWith('.cc') && !sources.has(`core/${name}`));
    expect(missing).toEqual([]);
  });
});
