/** Where the JSON Schema of `malloc-lab explain --json` lives (shipped in the package's schema/). */
import { join } from 'node:path';

import { packageRoot } from '../../probe.js';

export const EXPLAIN_REPORT_SCHEMA_PATH = join(packageRoot, 'schema', 'explain-report.schema.json');
