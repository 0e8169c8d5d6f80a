// Tokenizers on real vocabularies (GPT-NeoX-20B tokenizer.json, RWKV World) and on
// vocabularies written by the test: raw bytes round trips, greedy longest match, GGUF-
// embedded vocabularies, and broken files refused clearly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backends/native/byte_level_bpe_tokenizer.h"
#include "backends/native/checkpoint.h"
#include "backends/native/gguf_tokenizer_metadata.h"
#include "backends/native/gguf_writer.h"
#include "backends/native/rwkv_world_tokenizer.h"
#include "backends/native/tokenizer_factory.h"
#include "nlohmann/json.hpp"
#include "tests/testing/temp_dir.h"
#include "tests/testing/tokenizer_corpus.h"

namespace llive::backends::native {
namespace {

using ::llive::testing::CorpusRandom;
using ::llive::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFixtures = std::string(LLIVE_SOURCE_DIR) + "/tests/fixtures/tokenizers/";
const std::string kNeoX = kFixtures + "gpt-neox-20b-tokenizer.json";
const std::string kRwkv = kFixtures + "rwkv_vocab_v20230424.txt";

std::string ReadAll(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path, std::ios::binary).rdbuf();
  return text.str();
}

std::unique_ptr<Tokenizer> Load(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizer(path);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

// Random byte strings: mostly invalid UTF-8, code points cut in half, lone continuation
// bytes, and valid pieces, all from `allowed` bytes.
std::vector<std::string> RandomByteStrings(const std::vector<uint8_t>& allowed, int count) {
  CorpusRandom random(7);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s;
    size_t length = 1 + random.Below(64);
    while (s.size() < length) {
      switch (random.Below(4)) {
        case 0:
          s += static_cast<char>(allowed[random.Below(allowed.size())]);
          break;
        case 1:
          s += std::string("\xe6\x97\xa5").substr(0, 1 + random.Below(3));  // a cut "日"
          break;
        case 2:
          s += "\xf0\x9f\x98\x80 a";  // a whole emoji
          break;
        default:
          s += static_cast<char>(0x80 + random.Below(0x40));  // a lone continuation byte
          break;
      }
    }
    out.push_back(s);
  }
  return out;
}

TEST(TokenizerTest, NeoXKnownIdsAndSpecialTokens) {
  std::unique_ptr<Tokenizer> neox = Load(kNeoX);
  ASSERT_NE(neox, nullptr);
  EXPECT_EQ(neox->vocab_size(), 50277);
  EXPECT_EQ(neox->eos_id(), 0);
  // Ids from @huggingface/tokenizers for the same strings.
  EXPECT_THAT(*neox->Encode("Hello world, it's me!"),
              ElementsAre(12092, 1533, 13, 352, 434, 479, 2));
  // "e" + COMBINING ACUTE is normalized (NFC) to "é" before BPE; the three spaces are an
  // added token; "<|endoftext|>" is the special token 0.
  EXPECT_THAT(*neox->Encode("e\xcc\x81 cafe\xcc\x81 <|endoftext|>   y"),
              ElementsAre(860, 36241, 209, 0, 50275, 90));
  EXPECT_EQ(neox->TokenBytes(0), "<|endoftext|>");
  EXPECT_EQ(neox->TokenBytes(50275), "   ");
  EXPECT_EQ(neox->TokenBytes(-1), "");
  EXPECT_EQ(neox->TokenBytes(1 << 30), "");
}

TEST(TokenizerTest, RawBytesRoundTripExactly) {
  std::unique_ptr<Tokenizer> neox = Load(kNeoX);
  std::unique_ptr<Tokenizer> rwkv = Load(kRwkv);
  ASSERT_NE(neox, nullptr);
  ASSERT_NE(rwkv, nullptr);
  std::vector<uint8_t> all_bytes, utf8_bytes;
  for (int b = 0; b < 256; ++b) {
    all_bytes.push_back(static_cast<uint8_t>(b));
    if (b != 0xc0 && b != 0xc1 && b < 0xf5) utf8_bytes.push_back(static_cast<uint8_t>(b));
  }
  for (const std::string& s : RandomByteStrings(utf8_bytes, 400)) {
    absl::StatusOr<std::vector<int32_t>> ids = neox->Encode(s);
    ASSERT_TRUE(ids.ok()) << ids.status();
    ASSERT_EQ(neox->Decode(*ids), s);
    // Decoding token by token and concatenating gives the same bytes, even where a token
    // ends inside a code point.
    std::string joined;
    for (int32_t id : *ids) joined += neox->TokenBytes(id);
    ASSERT_EQ(joined, s);
  }
  for (const std::string& s : RandomByteStrings(all_bytes, 400)) {
    ASSERT_EQ(rwkv->Decode(*rwkv->Encode(s)), s);
  }
  // GPT-NeoX has no token for 0xFF: refused, naming the byte and where it is.
  absl::Status refused = neox->Encode("ok \xff").status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("byte 0xff at offset 3"));
}

// A byte-level BPE spec whose vocabulary is the 256 bytes (id = byte), leaving out `without`.
ByteLevelBpeSpec SpecOfBytes(int without = -1) {
  ByteLevelBpeSpec spec;
  for (int b = 0; b < 256; ++b) {
    if (b != without) {
      spec.vocab.emplace_back(EncodeByteLevel(std::string(1, static_cast<char>(b))), b);
    }
  }
  return spec;
}

TEST(TokenizerTest, ByteLevelBpeWithAllBytesRoundTripsAnything) {
  // A vocabulary of the 256 bytes and two merges, built from the spec directly.
  ByteLevelBpeSpec spec = SpecOfBytes();
  spec.vocab.emplace_back(EncodeByteLevel("\xff\xfe"), 256);
  spec.vocab.emplace_back(EncodeByteLevel(" a"), 257);
  spec.merges = {{EncodeByteLevel("\xff"), EncodeByteLevel("\xfe")},
                 {EncodeByteLevel(" "), EncodeByteLevel("a")}};
  absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> tokenizer =
      ByteLevelBpeTokenizer::Create(spec, "test");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  // The invalid run "\xff\xfe" is its own piece and still merges.
  EXPECT_THAT(*(*tokenizer)->Encode("x\xff\xfe a"), ElementsAre('x', 256, 257));
  std::vector<uint8_t> all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<uint8_t>(b));
  for (const std::string& s : RandomByteStrings(all_bytes, 300)) {
    ASSERT_EQ((*tokenizer)->Decode(*(*tokenizer)->Encode(s)), s);
  }
}

// A Split pattern that does not cover every character (here only digits) isolates its
// matches and keeps the text between them as words of their own, as Hugging Face's
// "Isolated" behaviour does: nothing is dropped, and no merge crosses a word's edge.
TEST(TokenizerTest, SplitPatternKeepsTheTextBetweenMatches) {
  ByteLevelBpeSpec spec = SpecOfBytes();
  spec.vocab.emplace_back(EncodeByteLevel("ab"), 256);
  spec.vocab.emplace_back(EncodeByteLevel("b1"), 257);
  spec.merges = {{EncodeByteLevel("a"), EncodeByteLevel("b")},
                 {EncodeByteLevel("b"), EncodeByteLevel("1")}};
  spec.pattern = "\\d";
  absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> tokenizer =
      ByteLevelBpeTokenizer::Create(spec, "test");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_THAT(*(*tokenizer)->Encode("ab12c"), ElementsAre(256, '1', '2', 'c'));
  EXPECT_THAT(*(*tokenizer)->Encode("b1"), ElementsAre('b', '1'));
  EXPECT_THAT(*(*tokenizer)->Encode("xyz"), ElementsAre('x', 'y', 'z'));
  for (const std::string text : {"", "7", "a1b2c3", " 12 ab "}) {
    EXPECT_EQ((*tokenizer)->Decode(*(*tokenizer)->Encode(text)), text);
  }
}

// A pattern that backtracks past PCRE2's match limit is an error naming the problem, not a
// tokenization that silently stops where the matching gave up.
TEST(TokenizerTest, APatternPastTheMatchLimitIsAnError) {
  ByteLevelBpeSpec spec = SpecOfBytes();
  spec.pattern = "(a+)+b";
  absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> tokenizer =
      ByteLevelBpeTokenizer::Create(spec, "test");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_THAT(*(*tokenizer)->Encode("aab"), ElementsAre('a', 'a', 'b'));
  absl::Status refused = (*tokenizer)->Encode(std::string(40, 'a') + "cb").status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("pre-tokenizer pattern could not be matched"));
}

// A vocabulary may lack bytes (known ones are checked in the input), but NFC composes new
// bytes: "e" + U+0301 becomes 0xC3 0xA9. Without 0xC3 that is an error, not an id of -1.
TEST(TokenizerTest, NormalizationToAByteWithoutATokenIsRefused) {
  ByteLevelBpeSpec spec = SpecOfBytes(/*without=*/0xc3);
  spec.nfc = true;
  absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> tokenizer =
      ByteLevelBpeTokenizer::Create(spec, "test");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_THAT(*(*tokenizer)->Encode("e\xcc"), ElementsAre('e', 0xcc));
  absl::Status refused = (*tokenizer)->Encode("e\xcc\x81").status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("NFC normalization"));
}

TEST(TokenizerTest, RwkvWorldIsGreedyLongestMatch) {
  std::unique_ptr<Tokenizer> rwkv = Load(kRwkv);
  ASSERT_NE(rwkv, nullptr);
  EXPECT_EQ(rwkv->vocab_size(), 65530);
  EXPECT_EQ(rwkv->eos_id(), 0);
  EXPECT_EQ(rwkv->TokenBytes(0), "");
  EXPECT_EQ(rwkv->TokenBytes(256), "\xff");
  EXPECT_EQ(rwkv->TokenBytes(257), "\t\t");
  // "Hello" is one token, 33155, in the RWKV World vocabulary.
  EXPECT_THAT(*rwkv->Encode("Hello"), ElementsAre(33155));
  // Check the greedy property independently: each token is the longest vocabulary entry
  // that prefixes the rest of the text.
  std::map<std::string, int32_t> vocabulary;
  for (int32_t id = 1; id < rwkv->vocab_size(); ++id) vocabulary[rwkv->TokenBytes(id)] = id;
  size_t longest = 0;
  for (const auto& [bytes, id] : vocabulary) longest = std::max(longest, bytes.size());
  std::vector<std::string> corpus = llive::testing::GenerateTokenizerCorpus(30000, 3);
  for (const std::string& doc : corpus) {
    std::vector<int32_t> ids = *rwkv->Encode(doc);
    size_t position = 0;
    for (int32_t id : ids) {
      size_t best = 0;
      for (size_t length = std::min(longest, doc.size() - position); length > 0; --length) {
        if (vocabulary.count(doc.substr(position, length)) != 0) {
          best = length;
          break;
        }
      }
      ASSERT_EQ(rwkv->TokenBytes(id).size(), best) << "at byte " << position;
      position += best;
    }
    ASSERT_EQ(position, doc.size());
  }
}

TEST(TokenizerTest, GgufEmbeddedVocabulariesMatchTheirSources) {
  TempDir dir;
  // GPT-NeoX as tokenizer.ggml.* (model "gpt2"): tokens in the byte-level alphabet,
  // added tokens as CONTROL (special) or USER_DEFINED.
  nlohmann::json json = nlohmann::json::parse(ReadAll(kNeoX));
  std::vector<std::string> tokens(50277);
  std::vector<int32_t> types(tokens.size(), 1);
  for (const auto& [text, id] : json["model"]["vocab"].items()) tokens[id.get<int>()] = text;
  for (const nlohmann::json& added : json["added_tokens"]) {
    tokens[added["id"].get<int>()] = added["content"].get<std::string>();
    types[added["id"].get<int>()] = added["special"].get<bool>() ? 3 : 4;
  }
  std::vector<std::string> merges;
  for (const nlohmann::json& merge : json["model"]["merges"]) merges.push_back(merge);
  GgufWriter neox;
  neox.Set("general.architecture", GgufValue::String("mamba"));
  neox.Set("tokenizer.ggml.model", GgufValue::String("gpt2"));
  neox.Set("tokenizer.ggml.pre", GgufValue::String("olmo"));
  neox.Set("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  neox.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(types));
  neox.Set("tokenizer.ggml.merges", GgufValue::StringArray(merges));
  neox.Set("tokenizer.ggml.bos_token_id", GgufValue::Uint32(0));
  neox.Set("tokenizer.ggml.eos_token_id", GgufValue::Uint32(0));
  ASSERT_TRUE(neox.WriteFile(dir.File("neox.gguf")).ok());

  // RWKV World as llama.cpp writes it: id 0 "<s>" (CONTROL), then escaped byte strings.
  std::unique_ptr<Tokenizer> rwkv_text = Load(kRwkv);
  ASSERT_NE(rwkv_text, nullptr);
  std::vector<std::string> rwkv_tokens = {"<s>"};
  std::vector<int32_t> rwkv_types = {3};
  for (int32_t id = 1; id < rwkv_text->vocab_size(); ++id) {
    rwkv_tokens.push_back(EscapeRwkvGgufToken(rwkv_text->TokenBytes(id)));
    rwkv_types.push_back(1);
  }
  GgufWriter rwkv;
  rwkv.Set("general.architecture", GgufValue::String("rwkv7"));
  rwkv.Set("tokenizer.ggml.model", GgufValue::String("rwkv"));
  rwkv.Set("tokenizer.ggml.tokens", GgufValue::StringArray(rwkv_tokens));
  rwkv.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(rwkv_types));
  ASSERT_TRUE(rwkv.WriteFile(dir.File("rwkv.gguf")).ok());

  std::unique_ptr<Tokenizer> neox_json = Load(kNeoX);
  std::unique_ptr<Tokenizer> neox_gguf = Load(dir.File("neox.gguf"));
  std::unique_ptr<Tokenizer> rwkv_gguf = Load(dir.File("rwkv.gguf"));
  ASSERT_NE(neox_gguf, nullptr);
  ASSERT_NE(rwkv_gguf, nullptr);
  EXPECT_EQ(neox_gguf->vocab_size(), neox_json->vocab_size());
  EXPECT_EQ(neox_gguf->eos_id(), 0);
  // llama.cpp does not normalize, so compare on text that NFC leaves unchanged.
  std::vector<std::string> corpus = llive::testing::GenerateTokenizerCorpus(100000, 5);
  for (size_t d = 0; d < corpus.size(); ++d) {
    if (d % 6 == 4 || d % 6 == 5) continue;  // the combining-mark and random documents
    ASSERT_EQ(*neox_gguf->Encode(corpus[d]), *neox_json->Encode(corpus[d])) << "document " << d;
  }
  for (const std::string& doc : corpus) {
    ASSERT_EQ(*rwkv_gguf->Encode(doc), *rwkv_text->Encode(doc));
  }
  // The same vocabulary through Checkpoint::LoadTokenizer.
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.File("rwkv.gguf"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  absl::StatusOr<std::unique_ptr<Tokenizer>> from_checkpoint = (*checkpoint)->LoadTokenizer();
  ASSERT_TRUE(from_checkpoint.ok()) << from_checkpoint.status();
  EXPECT_THAT(*(*from_checkpoint)->Encode("Hello"), ElementsAre(33155));
}

TEST(TokenizerTest, AddTokenizerToGgufWritesWhatTheLoaderReads) {
  TempDir dir;
  std::filesystem::create_directories(dir.File("rwkv"));
  std::filesystem::copy_file(kRwkv, dir.File("rwkv/rwkv_vocab_v20230424.txt"));
  GgufWriter writer;
  GgufTokenizerOptions options;
  options.vocab_rows = 65536;
  ASSERT_TRUE(AddTokenizerToGguf(dir.File("rwkv"), options, writer).ok());
  ASSERT_TRUE(writer.WriteFile(dir.File("rwkv.gguf")).ok());
  std::unique_ptr<Tokenizer> from_gguf = Load(dir.File("rwkv.gguf"));
  std::unique_ptr<Tokenizer> from_text = Load(kRwkv);
  ASSERT_NE(from_gguf, nullptr);
  EXPECT_EQ(from_gguf->vocab_size(), 65536);    // padded with unused tokens
  EXPECT_EQ(from_gguf->TokenBytes(65535), "");  // ... that never match
  for (const std::string& doc : llive::testing::GenerateTokenizerCorpus(50000, 9)) {
    ASSERT_EQ(*from_gguf->Encode(doc), *from_text->Encode(doc));
  }
  options.vocab_rows = 100;
  EXPECT_EQ(AddTokenizerToGguf(dir.File("rwkv"), options, writer).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AddTokenizerToGguf(dir.path().string(), {}, writer).code(),
            absl::StatusCode::kNotFound);
}

TEST(TokenizerTest, EscapedRwkvTokensRoundTrip) {
  for (std::string bytes : {std::string("a'b"), std::string("a'\"b"), std::string("\\\n\t\r"),
                            std::string("\x00\x7f\xff", 3), std::string("\xe6\x97\xa5")}) {
    absl::StatusOr<std::string> back = UnescapeRwkvGgufToken(EscapeRwkvGgufToken(bytes));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(EscapeRwkvGgufToken("\xff"), "\\xff");
  EXPECT_EQ(EscapeRwkvGgufToken("it's"), "it's");  // Python would pick double quotes
  EXPECT_FALSE(UnescapeRwkvGgufToken("\\q").ok());
  EXPECT_FALSE(UnescapeRwkvGgufToken("\\x4").ok());
}

TEST(TokenizerTest, BrokenTokenizerJsonIsRefusedClearly) {
  std::string good = ReadAll(kNeoX);
  nlohmann::json json = nlohmann::json::parse(good);
  json["model"]["merges"][5] = "Ġ zzzunknown";
  absl::Status unknown = ByteLevelBpeTokenizer::FromTokenizerJson(json.dump(), "t.json").status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(unknown.message(), HasSubstr("merge 5"));
  EXPECT_THAT(unknown.message(), HasSubstr("\"zzzunknown\", which is not in the vocabulary"));

  nlohmann::json unigram = json;
  unigram["model"]["type"] = "Unigram";
  absl::Status kind = ByteLevelBpeTokenizer::FromTokenizerJson(unigram.dump(), "t.json").status();
  EXPECT_EQ(kind.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(kind.message(), HasSubstr("model type \"Unigram\""));

  nlohmann::json metaspace = json;
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_THAT(
      ByteLevelBpeTokenizer::FromTokenizerJson(metaspace.dump(), "t.json").status().message(),
      HasSubstr("\"Metaspace\""));
  absl::Status truncated =
      ByteLevelBpeTokenizer::FromTokenizerJson(good.substr(0, 1000), "t.json").status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(truncated.message(), HasSubstr("t.json"));
}

TEST(TokenizerTest, BrokenRwkvVocabularyIsRefusedClearly) {
  struct Case {
    std::string text;
    std::string message;
  };
  std::string bytes;
  for (int b = 0; b < 256; ++b) {
    bytes += absl::StrCat(b + 1, " b'\\x", absl::Hex(b, absl::kZeroPad2), "' 1\n");
  }
  ASSERT_TRUE(RwkvWorldTokenizer::FromVocabularyText(bytes, "v.txt").ok());
  std::vector<Case> cases = {
      {bytes + "300 'ab' 3\n", "line 257: the token is 2 bytes but LEN says 3"},
      {bytes + "300 ab 2\n", "line 257: the token is not a quoted Python literal"},
      {bytes + "300 'a\\qb' 3\n", "unknown escape \\q"},
      {bytes + "5 'zz' 2\n", "id 5 appears twice"},
      {bytes + "x 'zz' 2\n", "not a number"},
      {"1 'a' 1\n", "no token for byte 0x0"},
  };
  for (const Case& c : cases) {
    absl::Status status = RwkvWorldTokenizer::FromVocabularyText(c.text, "v.txt").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
    EXPECT_THAT(std::string(status.message()), HasSubstr("v.txt"));
  }
}

TEST(TokenizerTest, FactoryFindsTokenizersInFolders) {
  TempDir dir;
  EXPECT_EQ(LoadTokenizer(dir.File("missing.json")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadTokenizerFromFolder(dir.path().string()).status().code(),
            absl::StatusCode::kNotFound);
  std::ofstream(dir.File("rwkv_vocab_v20230424.txt"), std::ios::binary) << ReadAll(kRwkv);
  std::unique_ptr<Tokenizer> rwkv = Load(dir.path().string());
  ASSERT_NE(rwkv, nullptr);
  EXPECT_EQ(rwkv->vocab_size(), 65530);
}

}  // namespace
}  // namespace llive::backends::native
