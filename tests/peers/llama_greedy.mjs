// Greedy continuations and decoding speed from llama.cpp (node-llama-cpp) for a GGUF file, so
// that llive's tests and benchmarks can compare against it on the same file.
//
// Usage: node llama_greedy.mjs REQUEST.json
//   REQUEST: {"model": "m.gguf", "prompts": [[ids...], ...], "texts": ["...", ...],
//             "steps": 64, "threads": 2}
// Prints one JSON object: {"continuations": [[ids...], ...] (steps greedy tokens per prompt),
//   "tokenized": [[ids...], ...] (llama.cpp's tokenization of each text),
//   "prefill_tokens_per_second": x, "decode_tokens_per_second": y}
import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const steps = request.steps ?? 64;
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: request.model });

const continuations = [];
let prefillTokens = 0, prefillMs = 0, decodeTokens = 0, decodeMs = 0;
for (const prompt of request.prompts ?? []) {
  // A fresh context per prompt: each continuation starts from the empty recurrent state.
  const context = await model.createContext({
    contextSize: Math.max(256, prompt.length + steps + 8),
    batchSize: Math.max(64, prompt.length),
    threads: request.threads ?? 2,
    sequences: 1,
  });
  const sequence = context.getSequence();
  const out = [];
  let start = performance.now();
  let last = start;
  for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    const now = performance.now();
    if (out.length === 0) {
      prefillTokens += prompt.length;
      prefillMs += now - start;
    } else {
      decodeTokens += 1;
      decodeMs += now - last;
    }
    last = now;
    out.push(token);
    if (out.length >= steps) break;
  }
  continuations.push(out);
  await context.dispose();
}
const tokenized = (request.texts ?? []).map((text) => Array.from(model.tokenize(text)));
await model.dispose();
console.log(JSON.stringify({
  continuations,
  tokenized,
  prefill_tokens_per_second: prefillMs > 0 ? (prefillTokens * 1000) / prefillMs : 0,
  decode_tokens_per_second: decodeMs > 0 ? (decodeTokens * 1000) / decodeMs : 0,
}));
