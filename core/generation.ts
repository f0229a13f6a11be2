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
  /** The generated text. */
  readonly text: string;
  /** Generated token ids (the prompt excluded). */
  readonly tokens: readonly number[];
  /** Why generation stopped. */
  readonly finishReason: FinishReason;
  /** Prompt tokens, and how many of them were evaluated (the rest came from the cache). */
  readonly promptTokens: number;
  /** Prompt tokens evaluated (the others came from the cache). */
  readonly promptTokensEvaluated: number;
  /** The parsed value, when the request had a constraint (schema, grammar). */
  readonly value?: unknown;
}

/**
 * Text chunks as they are decoded; resolves to the full text, or to the parsed value when the
 * request was constrained by a schema (`T` is then the schema's type).
 */
export class Generation<T = string> implements AsyncIterable<string>, PromiseLike<T> {
  readonly #source: AsyncGenerator<string, GenerationResult>;
  readonly #finish: (result: GenerationResult) => T;
  #started = false;
  #result?: Promise<GenerationResult>;

  /**
   * Wraps a source of chunks; nothing runs until it is iterated or awaited.
   *
   * @param source yields text chunks and returns the result
   * @param finish what awaiting resolves to (default: the text)
   */
  constructor(
    source: AsyncGenerator<string, GenerationResult>,
    finish: (result: GenerationResult) => T = (r) => r.text as T,
  ) {
    this.#source = source;
    this.#finish = finish;
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

  /** Resolves to the whole text (or the parsed value of a constrained request). */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(this.#finish).then(onFulfilled, onRejected);
  }

  #claim(): void {
    if (this.#started) throw new TypeError("Cannot consume a generation twice");
    this.#started = true;
  }
}
