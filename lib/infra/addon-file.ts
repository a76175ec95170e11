/**
 * Loads an addon file, once per process: probe() and lib/infra/native.ts may both load
 * it, and a second load would run the addon's init again. A `.node` file goes through
 * require (whose cache anything else requiring the same file shares); a file named
 * otherwise (MALLOC_LAB_ADDON may name any shared object) through process.dlopen.
 */
import { createRequire } from 'node:module';

const loaded = new Map<string, unknown>();

export function loadAddonFile(path: string): unknown {
  if (!loaded.has(path)) {
    if (path.endsWith('.node')) {
      loaded.set(path, createRequire(import.meta.url)(path));
    } else {
      const module = { exports: {} };
      process.dlopen(module, path);
      loaded.set(path, module.exports);
    }
  }
  return loaded.get(path);
}
