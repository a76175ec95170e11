// npm run prebuild [-- --arch x64|arm64] [-- --force]
//
// Builds the published binaries — the addon (one Node-API build serves every Node ≥ 20)
// and the fresh host — for linux-x64 and linux-arm64 from native/malloc_lab.gypi in its
// portable mode (glibc 2.28 floor), into prebuilds/linux-<arch>/, checks each against
// the floor (scripts/elf-requirements.mjs) and writes prebuilds/manifest.json (platform,
// arch, libc, floor, checksums), which the loader reads. A target another CPU's is built
// with Debian's cross compiler (g++-aarch64-linux-gnu on x64). Targets whose inputs did
// not change since the manifest was written are left as they are.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The loader's file names, so the binaries land under the names it looks for.
import { ADDON_FILE, FRESH_FILE } from '../dist/infra/binaries.js';
import { elfInfo, GLIBC_FLOOR, highestRequired, requirementProblems } from './elf-requirements.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const prebuildsDir = join(root, 'prebuilds');
const manifestPath = join(prebuildsDir, 'manifest.json');

/** The published targets: Node's arch name, the GNU triple of its cross tools, Debian's cross package. */
export const TARGETS = [
  { arch: 'x64', triple: 'x86_64-linux-gnu', machine: 'x86-64', apt: 'g++-x86-64-linux-gnu' },
  { arch: 'arm64', triple: 'aarch64-linux-gnu', machine: 'aarch64', apt: 'g++-aarch64-linux-gnu' },
];

const FILES = { addon: ADDON_FILE, fresh: FRESH_FILE };

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v "${command}"`], { encoding: 'utf8' }).status === 0;
}

/** The compilers and strip for target: the system's own for this machine's arch, else the cross ones. */
export function toolchain(target) {
  const native = target.arch === process.arch;
  const tools = native
    ? { CC: process.env.CC ?? 'gcc', CXX: process.env.CXX ?? 'g++', strip: 'strip' }
    : { CC: `${target.triple}-gcc`, CXX: `${target.triple}-g++`, strip: `${target.triple}-strip` };
  const missing = [tools.CXX, tools.strip].filter((command) => !onPath(command));
  return { ...tools, missing };
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const npm = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  return join(dirname(npm), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(cc|h|gypi)$/.test(entry.name))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

/** Everything a target's binaries are made from: the sources, this script, node-addon-api, the compiler. */
function inputsHash(target, compilerVersion) {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(join(root, 'native')), fileURLToPath(import.meta.url)]) {
    hash.update(relative(root, file)).update(readFileSync(file));
  }
  hash.update(JSON.parse(readFileSync(join(root, 'node_modules', 'node-addon-api', 'package.json'), 'utf8')).version);
  hash.update(compilerVersion);
  hash.update(target.arch);
  return hash.digest('hex');
}

function readManifest() {
  return existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined;
}

/** Whether every file the manifest entry lists is there with its checksum. */
function filesIntact(entry) {
  return Object.values(entry.files).every((file) => {
    const path = join(prebuildsDir, file.path);
    return existsSync(path) && sha256(readFileSync(path)) === file.sha256;
  });
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed (${result.error ?? `exit ${result.status}`}):\n${output}`);
  }
}

/** Builds one target in build-prebuild/linux-<arch>/ and copies the stripped, checked binaries into prebuilds/. */
function buildTarget(target, tools, compilerVersion, inputs, log) {
  const name = `linux-${target.arch}`;
  const stage = join(root, 'build-prebuild', name);
  mkdirSync(stage, { recursive: true });
  // A binding.gyp of its own, so this build's build/ is not the checkout's.
  writeFileSync(
    join(stage, 'binding.gyp'),
    `{ "includes": [${JSON.stringify(relative(stage, join(root, 'native', 'malloc_lab.gypi')))}] }\n`,
  );
  const dir = nodeDir();
  log(`prebuild: ${name}: building with ${tools.CXX} (portable: glibc ${GLIBC_FLOOR} floor)`);
  run(
    process.execPath,
    [
      nodeGyp(),
      'rebuild',
      `--directory=${stage}`,
      `--arch=${target.arch}`,
      '--portable=1',
      '--jobs=max',
      ...(dir === undefined ? [] : [`--nodedir=${dir}`]),
    ],
    { env: { ...process.env, CC: tools.CC, CXX: tools.CXX } },
  );
  const outDir = join(prebuildsDir, name);
  mkdirSync(outDir, { recursive: true });
  const files = {};
  for (const [kind, file] of Object.entries(FILES)) {
    const built = join(stage, 'build', 'Release', file);
    const shipped = join(outDir, file);
    copyFileSync(built, shipped);
    run(tools.strip, ['--strip-unneeded', shipped]);
    const info = elfInfo(shipped);
    if (info.machine !== target.machine) throw new Error(`${shipped} is for ${info.machine}, not ${target.machine}`);
    const problems = requirementProblems(info);
    if (problems.length > 0) {
      throw new Error(`${relative(root, shipped)} would not load on glibc ${GLIBC_FLOOR}: ${problems.join('; ')}`);
    }
    const bytes = readFileSync(shipped);
    files[kind] = {
      path: `${name}/${file}`,
      bytes: bytes.length,
      sha256: sha256(bytes),
      machine: info.machine,
      needed: info.needed,
      requires: highestRequired(info),
    };
  }
  const compiler = compilerVersion.split('\n')[0];
  return { platform: 'linux', arch: target.arch, libc: 'glibc', glibcFloor: GLIBC_FLOOR, compiler, inputs, files };
}

/** Builds the targets asked for (default all), keeps up-to-date ones, and rewrites the manifest. */
export function prebuild({ arches = TARGETS.map((t) => t.arch), force = false, log = console.log } = {}) {
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const previous = readManifest();
  // Previous targets whose files are intact: kept unless rebuilt this time.
  const intact = Object.fromEntries(Object.entries(previous?.targets ?? {}).filter(([, entry]) => filesIntact(entry)));
  const targets = { ...intact };
  for (const arch of arches) {
    const target = TARGETS.find((t) => t.arch === arch);
    if (target === undefined)
      throw new Error(`prebuild: unknown arch ${arch} (known: ${TARGETS.map((t) => t.arch).join(', ')})`);
    const tools = toolchain(target);
    if (tools.missing.length > 0) {
      throw new Error(
        `prebuild: linux-${arch} needs ${tools.missing.join(' and ')}, which ${tools.missing.length > 1 ? 'are' : 'is'} not installed; apt-get install ${target.apt}`,
      );
    }
    const name = `linux-${arch}`;
    const compilerVersion = execFileSync(tools.CXX, ['--version'], { encoding: 'utf8' });
    const inputs = inputsHash(target, compilerVersion);
    if (!force && intact[name]?.inputs === inputs) {
      log(`prebuild: ${name}: up to date`);
      targets[name] = intact[name];
      continue;
    }
    targets[name] = buildTarget(target, tools, compilerVersion, inputs, log);
  }
  const manifest = {
    name: packageJson.name,
    version: packageJson.version,
    napi: packageJson.binary.napi_versions[0],
    libc: 'glibc',
    glibcFloor: GLIBC_FLOOR,
    targets: Object.fromEntries(Object.entries(targets).sort(([a], [b]) => a.localeCompare(b))),
  };
  mkdirSync(prebuildsDir, { recursive: true });
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [name, entry] of Object.entries(manifest.targets)) {
    for (const file of Object.values(entry.files)) {
      const requires = Object.entries(file.requires)
        .map(([family, version]) => `${family}_${version}`)
        .join(' ');
      log(`prebuild: ${name}: ${file.path} ${file.bytes} bytes, needs ${requires}`);
    }
  }
  return manifest;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--arch');
  try {
    prebuild({
      ...(at >= 0 ? { arches: args[at + 1]?.split(',') ?? [] } : {}),
      force: args.includes('--force'),
    });
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}
