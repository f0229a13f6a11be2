/**
 * Seeded random texts for comparing tokenizers with llama.cpp: strings of 1..25 pieces that
 * stress pre-tokenizers (every kind of space and line break, contractions in both cases,
 * digits of several scripts and lengths, letters with combining marks, case changes, CJK,
 * emoji sequences, punctuation and symbols, unassigned, private-use and control code points,
 * chameleon's sentinel and image markers).
 *
 * @module
 */

// One piece per kind of trouble; kept compact on purpose.
// deno-fmt-ignore
const PIECES = [
  " ", "  ", "   ", "    ", "\t", "\n", "\r\n", "\n\n", " \n", "\u00a0", "\u3000", "\u2009",
  "\u0085", "\ufeff", "\u200b", "\v", "\f", "\x1c", "a", "Z", "hello", "World", "HTTPServer",
  "camelCase", "I", "'s", "'S", "'t", "'re", "'VE", "'ll", "'d", "'m", "\u2019s", "'x", "ab'S",
  "0", "7", "12", "345", "6789", "1234567", "١٢٣", "１２", "²", "½", "Ⅻ", "é", "ß", "ǅa", "ÀB",
  "Ωμέγα", "Привет", "你好", "世界", "한국어", "日本語", "ｶﾀｶﾅ", "नमस्ते", "क़", "ไทย", "العربية",
  "שלום", "ǅ", "ꭰ", ".", ",", "!", "?", "...", "--", "==", "$", "+", "<", "=", ">", "^", "`",
  "|", "~", "(", ")", "[", "]", "{", "}", "@", "#", "%", "&", "*", "/", "\\", "_", '"', "'",
  ":", ";", "。", "，", "、", "～", "！", "‘", "“", "”", "…", "—", "·", "§", "©", "®", "°", "€",
  "£", "¥", "™", "🦙", "😀", "👍🏽", "🇫🇷", "😶‍🌫️", "🚀", "✅", "\u0301", "\u20dd", "\u{E000}",
  "\u{0378}", "\u{1D400}", "\x00", "\x7f", "<sentinel:12>", "IMGIMGABZ",
];

/**
 * Texts of 1..25 pieces drawn by a linear congruential generator, so a seed always gives the
 * same texts.
 *
 * @param count how many texts
 * @param seed the generator's seed
 * @returns the texts
 */
export function generateOracleTexts(count: number, seed: number): string[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() * 25);
    return Array.from({ length }, () => PIECES[Math.floor(next() * PIECES.length)]).join("");
  });
}
