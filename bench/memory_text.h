// Generated text for the memory benchmark: varied English and Japanese sentences whose words
// follow a Zipf distribution over hand-written vocabularies, and questions an agent would ask.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace llive::bench {

class MemoryText {
 public:
  explicit MemoryText(uint64_t seed) : random_(seed) {}

  // One event: 1 to 3 sentences; about `japanese_share` of events are Japanese.
  std::string Event(double japanese_share = 0.1) {
    const bool japanese = Uniform() < japanese_share;
    const int sentences = 1 + static_cast<int>(random_() % 3);
    std::string text;
    for (int i = 0; i < sentences; ++i) {
      if (!text.empty() && !japanese) text += " ";
      text += japanese ? JapaneseSentence() : EnglishSentence();
    }
    return text;
  }

  // A question about the content words of `event`, with the stop words of a real question.
  std::string QuestionAbout(const std::string& event) {
    std::vector<std::string> words;
    std::string word;
    for (char c : event + " ") {
      if (c == ' ' || c == '.' || c == ',' || c == '?' || c == '\'') {
        if (word.size() > 3) words.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    if (words.empty()) return "what happened " + event.substr(0, 30) + "?";  // Japanese
    std::shuffle(words.begin(), words.end(), random_);
    words.resize(std::min<size_t>(words.size(), 3));
    static const char* kFrames[] = {"what do you remember about the %s and the %s %s?",
                                    "did we ever talk about %s, %s or %s?",
                                    "can you tell me what happened with the %s %s near %s?",
                                    "is there anything in my notes about %s with %s and %s?",
                                    "when was the last time I mentioned the %s or %s %s?"};
    std::string frame = kFrames[random_() % 5];
    for (size_t i = 0; i < 3; ++i) {
      const size_t at = frame.find("%s");
      frame.replace(at, 2, i < words.size() ? words[i] : words[0]);
    }
    return frame;
  }

 private:
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(random_); }
  // Index into a list of n with probability proportional to 1 / (i + 1).
  size_t Zipf(size_t n) {
    const double harmonic = std::log(static_cast<double>(n)) + 0.5772;
    const double target = Uniform() * harmonic;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      sum += 1.0 / static_cast<double>(i + 1);
      if (sum >= target) return i;
    }
    return n - 1;
  }
  template <size_t N>
  const char* Pick(const char* const (&list)[N]) {
    return list[Zipf(N)];
  }

  std::string EnglishSentence();
  std::string JapaneseSentence();

  std::mt19937_64 random_;
};

}  // namespace llive::bench
