/** Where the JSON Schema of `malloc-lab run --json` lives (shipped in the package's schema/). */
import { join } from 'node:path';

import { packageRoot } from '../../infra/binaries.js';

export const EXPERIMENT_RUN_SCHEMA_PATH = join(packageRoot, 'schema', 'experiment-run.schema.json');
