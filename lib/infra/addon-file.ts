/**
 * dlopen of an addon file, once per process: probe() and lib/infra/native.ts may both
 * load it, and a second load would run the addon's init again. process.dlopen, not
 * require: a file named by MALLOC_LAB_ADDON is a shared object whatever its extension.
 */
const loaded = new Map<string, unknown>();

export function loadAddonFile(path: string): unknown {
  if (!loaded.has(path)) {
    const module = { exports: {} };
    process.dlopen(module, path);
    loaded.set(path, module.exports);
  }
  return loaded.get(path);
}
