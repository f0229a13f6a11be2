/**
 * The reference backend: every op in plain TypeScript, the oracle for native backends.
 * Importing this module registers it (score 0: used only when asked for or nothing else runs).
 *
 * @module
 */

import { registerBackend } from "../../core/backend.ts";
import { createReferenceBackend } from "./backend.ts";

export { createReferenceBackend } from "./backend.ts";

registerBackend({
  name: "reference",
  score: 0,
  available: () => true,
  create: () => createReferenceBackend(),
});
