// Loads a GGUF file with llama.cpp (through node-llama-cpp, CPU only) and prints what
// llama.cpp and node-llama-cpp's own GGUF reader report about it, as JSON on stdout.
// Usage: node gguf_load.mjs MODEL.gguf [TEXT_TO_TOKENIZE]
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [modelPath, text] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const info = model.fileInfo;
const json = (value) =>
  JSON.parse(JSON.stringify(value, (key, v) => (typeof v === "bigint" ? Number(v) : v)));
const metadata = json(info.metadata);
// Token lists are long; report their lengths only.
if (metadata.tokenizer?.ggml) {
  for (const key of ["tokens", "token_type", "merges"]) {
    if (Array.isArray(metadata.tokenizer.ggml[key])) {
      metadata.tokenizer.ggml[key] = metadata.tokenizer.ggml[key].length;
    }
  }
}
const out = {
  architecture: model.architecture,
  tensorCount: Number(info.totalTensorCount),
  version: info.version,
  metadata,
  llamaCpp: {
    parameters: model._model.getTotalParameters(),
    sizeBytes: model.size,
    trainContextSize: model.trainContextSize,
    embeddingVectorSize: model.embeddingVectorSize,
    vocabularyType: model.vocabularyType,
    description: model.typeDescription,
    bos: model.tokens.bos,
    eos: model.tokens.eos,
  },
};
if (text !== undefined) out.tokens = Array.from(model.tokenize(text, false));
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out));
