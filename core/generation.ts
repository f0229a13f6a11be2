/**
 * A running generation: an async iterator of text chunks that is also a promise of the whole
 * text, so `for await (const chunk of session.generate(p))` streams and
 * `await session.generate(p)` waits for everything.
 *
 * @module
 */

/** Why a generation ended. */
export type FinishReason = "stop" | "length" | "abort" | "eog";

/** What a finished generation produced. */
export interface GenerationResult {
  readonly text: string;
  /** Generated token ids (the prompt excluded). */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  /** Prompt tokens, and how many of them were evaluated (the rest came from the cache). */
  readonly promptTokens: number;
  readonly promptTokensEvaluated: number;
}

/** Text chunks as they are decoded; resolves to the full text. */
export class Generation implements AsyncIterable<string>, PromiseLike<string> {
  readonly #source: AsyncGenerator<string, GenerationResult>;
  #started = false;
  #result?: Promise<GenerationResult>;

  /** @param source yields text chunks and returns the result */
  constructor(source: AsyncGenerator<string, GenerationResult>) {
    this.#source = source;
  }

  /** Streams the chunks. A generation can be consumed once, either way. */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    this.#claim();
    let resolve!: (r: GenerationResult) => void;
    let reject!: (e: unknown) => void;
    this.#result = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#result.catch(() => {});
    let settled = false;
    try {
      while (true) {
        const step = await this.#source.next();
        if (step.done) {
          settled = true;
          resolve(step.value);
          return;
        }
        yield step.value;
      }
    } catch (error) {
      settled = true;
      reject(error);
      throw error;
    } finally {
      // A consumer that breaks out early ends the generation (the session becomes free).
      if (!settled) {
        await this.#source.return(undefined as never);
        reject(new TypeError("Cannot read the result: the stream was closed before the end"));
      }
    }
  }

  /** The result with token ids and the finish reason; consumes the stream if nobody did. */
  result(): Promise<GenerationResult> {
    if (this.#result !== undefined) return this.#result;
    this.#claim();
    this.#result = (async () => {
      while (true) {
        const step = await this.#source.next();
        if (step.done) return step.value;
      }
    })();
    return this.#result;
  }

  /** Resolves to the whole text. */
  then<A = string, B = never>(
    onFulfilled?: ((text: string) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then((r) => r.text).then(onFulfilled, onRejected);
  }

  #claim(): void {
    if (this.#started) throw new TypeError("Cannot consume a generation twice");
    this.#started = true;
  }
}
