/**
 * Server-sent events in OpenAI's streaming shape: one `data: <json>` event per chunk, then
 * `data: [DONE]`. The body pulls chunks only as fast as the client reads them; when the client
 * goes away, the stream is cancelled and `onCancel` stops the generation behind it.
 *
 * @module
 */

import { errorResponse } from "./api_error.ts";

/**
 * A `text/event-stream` response over chunks.
 * @param chunks JSON-serializable chunks; an error thrown while iterating is sent as a last
 *   `data: {"error": …}` event (the status is already 200 by then), then `[DONE]`
 * @param onCancel called when the client disconnects before the end
 */
export function sseResponse(chunks: AsyncIterable<unknown>, onCancel: () => void): Response {
  const encoder = new TextEncoder();
  const iterator = chunks[Symbol.asyncIterator]();
  const event = (data: string) => encoder.encode(`data: ${data}\n\n`);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const step = await iterator.next();
        if (!step.done) return controller.enqueue(event(JSON.stringify(step.value)));
      } catch (error) {
        controller.enqueue(event(JSON.stringify(errorResponse(error).body)));
      }
      controller.enqueue(event("[DONE]"));
      controller.close();
    },
    async cancel() {
      onCancel();
      await iterator.return?.();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
  });
}
