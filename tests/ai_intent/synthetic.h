// Small synthetic intent data sets where the right answer is known, shared by the tests.
#pragma once

#include <string>
#include <vector>

#include "ai/intent/labelled_csv.h"

namespace vontres::ai::intent::testdata {

struct IntentPhrases {
  std::string intent;
  std::vector<std::string> cores;
};

inline const std::vector<IntentPhrases>& phrases() {
  static const std::vector<IntentPhrases> all = {
      {"check_balance",
       {"what is my balance", "how much money do i have", "show my account balance", "tell me my current balance",
        "balance of my account", "how much is left in my account"}},
      {"lost_card",
       {"i lost my card", "my card was stolen", "i cannot find my card", "someone took my card",
        "my debit card is missing", "block my stolen card"}},
      {"transfer_money",
       {"send money to my friend", "transfer 50 dollars to john", "i want to make a transfer",
        "move money to my savings", "wire funds to another bank", "pay my landlord by transfer"}},
      {"talk_to_agent",
       {"let me speak to a person", "i want a human agent", "connect me to an operator", "can i talk to someone real",
        "representative please", "put me through to customer service"}},
  };
  return all;
}

// Every core phrase with a few politeness variations: 4 intents x 6 cores x 4 variants.
inline std::vector<LabelledExample> training_set() {
  static const std::vector<std::string> prefixes = {"", "hello ", "hi, ", "excuse me "};
  static const std::vector<std::string> suffixes = {"", " please", " now", " thanks"};
  std::vector<LabelledExample> examples;
  for (const IntentPhrases& p : phrases()) {
    for (size_t c = 0; c < p.cores.size(); ++c) {
      for (size_t v = 0; v < 4; ++v) {
        examples.push_back({prefixes[(c + v) % 4] + p.cores[c] + suffixes[v], p.intent});
      }
    }
  }
  return examples;
}

// Unseen wordings of the same intents.
inline std::vector<LabelledExample> test_set() {
  return {
      {"What's my balance right now?", "check_balance"},
      {"How much money is in my account", "check_balance"},
      {"My card got stolen yesterday", "lost_card"},
      {"I can't find my debit card anywhere", "lost_card"},
      {"Please transfer money to my savings account", "transfer_money"},
      {"I need to send 100 dollars to my friend", "transfer_money"},
      {"I'd like to speak to a real person", "talk_to_agent"},
      {"Agent! Connect me to customer service", "talk_to_agent"},
  };
}

}  // namespace vontres::ai::intent::testdata
