/**
 * Registers every backend of this build: importing it fills the registry in core/backend.ts.
 *
 * @module
 */

import "./native/mod.ts";
import "./reference/mod.ts";
