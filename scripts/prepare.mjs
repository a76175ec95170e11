// npm's prepare: after `npm install` in a checkout it builds the addon and the fresh host
// from source, then the TypeScript. Before `npm pack` and `npm publish` it does nothing:
// prepack has built what the tarball carries (dist/ and prebuilds/, no build of its own).
import { spawnSync } from 'node:child_process';

if (!['pack', 'publish'].includes(process.env.npm_command ?? '')) {
  for (const script of ['build:native', 'build:ts']) {
    const result = spawnSync('npm', ['run', script], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
