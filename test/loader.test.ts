// The loader: one clear sentence instead of a dlopen stack, and a probe that never throws.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { probe, supported } from '../lib/probe.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist', 'index.js');

function importInChild(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const script = `import(${JSON.stringify(dist)}).then(
    (lab) => console.log(JSON.stringify({ ok: true, version: lab.gnu_get_libc_version() })),
    (error) => console.log(JSON.stringify({ ok: false, code: error.code, message: error.message })))`;
  const child = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe('loader', () => {
  it('the built package (dist/) imports and reaches glibc', () => {
    expect(existsSync(dist)).toBe(true);
    const result = JSON.parse(importInChild({}).stdout);
    expect(result).toEqual({ ok: true, version: expect.stringMatching(/^2\.\d+$/) });
  });

  it('without a built addon, importing fails with one sentence that says what to do', () => {
    const result = JSON.parse(importInChild({ MALLOC_LAB_ADDON: '/nonexistent/malloc_lab.node' }).stdout);
    expect(result.ok).toBe(false);
    expect(result.code).toBe('ERR_ADDON_NOT_BUILT');
    expect(result.message).toMatch(/not built.*npm install/);
    expect(result.message.split('\n')).toHaveLength(1);
  });

  it('a file that is not an addon gives one sentence, not a dlopen stack', () => {
    const result = JSON.parse(importInChild({ MALLOC_LAB_ADDON: join(root, 'package.json') }).stdout);
    expect(result.code).toBe('ERR_ADDON_NOT_BUILT');
    expect(result.message).toMatch(/could not be loaded.*npm run build:native/);
    expect(result.message.split('\n')).toHaveLength(1);
  });

  it('supported() and probe() answer here without throwing', () => {
    expect(supported()).toBe(true);
    expect(probe()).toMatchObject({ supported: true, reason: '' });
  });
});
