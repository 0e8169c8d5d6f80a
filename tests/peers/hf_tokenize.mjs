// Tokenizes documents with Hugging Face's JavaScript tokenizers (@huggingface/tokenizers),
// the independent implementation llive's byte-level BPE is checked against.
// Usage: node hf_tokenize.mjs TOKENIZER.json DOCUMENTS.json OUT.json
//   DOCUMENTS.json: a JSON array of strings; OUT.json: a JSON array of id arrays.
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const [tokenizerPath, documentsPath, outPath] = process.argv.slice(2);
const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")), {});
const documents = JSON.parse(readFileSync(documentsPath, "utf8"));
const ids = documents.map((text) => tokenizer.encode(text, { add_special_tokens: false }).ids);
writeFileSync(outPath, JSON.stringify(ids));
