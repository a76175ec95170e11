/** Where the JSON Schema of `malloc-lab compare --json` lives (shipped in the package's schema/). */
import { join } from 'node:path';

import { packageRoot } from '../probe.js';

export const COMPARE_RESULT_SCHEMA_PATH = join(packageRoot, 'schema', 'compare-result.schema.json');
