// Tokenizer encoding speed, one thread: MB of text per CPU second for the vocabularies llive
// ships tests for, on the multilingual test corpus and on English prose alone.
// Usage: tokenizer_bench [SOURCE_DIR] (default: the source tree it was built from)
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/native/tokenizer_factory.h"
#include "tests/testing/tokenizer_corpus.h"

namespace {

// CPU time of this thread, so that other processes on a shared machine do not count.
double ThreadSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

struct Result {
  double megabytes_per_second;
  double bytes_per_token;
};

Result Measure(const llive::backends::native::Tokenizer& tokenizer,
               const std::vector<std::string>& documents) {
  size_t bytes = 0, tokens = 0;
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {  // best of three, to skip warm-up and noise
    tokens = 0;
    bytes = 0;
    double start = ThreadSeconds();
    for (const std::string& doc : documents) {
      tokens += tokenizer.Encode(doc)->size();
      bytes += doc.size();
    }
    best = std::min(best, ThreadSeconds() - start);
  }
  return {static_cast<double>(bytes) / 1e6 / best, static_cast<double>(bytes) / tokens};
}

}  // namespace

int main(int argc, char** argv) {
  std::string source = argc > 1 ? argv[1] : LLIVE_SOURCE_DIR;
  std::vector<std::string> mixed = llive::testing::GenerateTokenizerCorpus(4 << 20);
  std::vector<std::string> english;
  for (size_t d = 0; d < mixed.size(); d += 6) english.push_back(mixed[d]);
  size_t mixed_bytes = 0, english_bytes = 0;
  for (const std::string& doc : mixed) mixed_bytes += doc.size();
  for (const std::string& doc : english) english_bytes += doc.size();

  std::printf("corpus: mixed %.1f MB (%zu documents), English %.1f MB\n\n", mixed_bytes / 1e6,
              mixed.size(), english_bytes / 1e6);
  std::printf(
      "| tokenizer | text | MB/s per core (thread CPU time) | bytes/token |\n|---|---|---|---|\n");
  for (const char* name : {"gpt-neox-20b-tokenizer.json", "rwkv_vocab_v20230424.txt"}) {
    auto tokenizer =
        llive::backends::native::LoadTokenizer(source + "/tests/fixtures/tokenizers/" + name);
    if (!tokenizer.ok()) {
      std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
      return 1;
    }
    for (const auto& [label, documents] :
         {std::pair<const char*, const std::vector<std::string>*>{"mixed", &mixed},
          {"English", &english}}) {
      Result result = Measure(**tokenizer, *documents);
      std::printf("| %s | %s | %.1f | %.2f |\n", name, label, result.megabytes_per_second,
                  result.bytes_per_token);
    }
  }
  return 0;
}
