/**
 * The error a chat template raises: a Jinja syntax or runtime error, a message the template
 * rejects (`raise_exception`), or a role or turn order a built-in format cannot express.
 *
 * @module
 */

import { ZenoError } from "../errors.ts";

/** A chat template could not be parsed or could not render the given messages. */
export class ChatTemplateError extends ZenoError {}
