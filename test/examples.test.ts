// The examples a user copies (examples/*.test.ts) run as part of this suite, as
// written: they import 'malloc-lab' and 'malloc-lab/vitest' by the package's own name.
import '../examples/trim-gives-memory-back.test.js';
