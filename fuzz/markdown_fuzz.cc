// Feeds arbitrary bytes to the knowledge-base Markdown parser; anything it accepts is indexed and
// searched with its own title, and a script tracker is fed its first passage. Checks that accepted
// documents respect the parser's limits and that every search hit names the indexed document.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ai/knowledge/bm25.h"
#include "ai/knowledge/document.h"
#include "ai/knowledge/script_tracker.h"
#include "core/clock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace knowledge = vontres::ai::knowledge;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const knowledge::ParseLimits limits;
  auto parsed = knowledge::parse_markdown("fuzz", text, "fuzz.md", limits);
  if (!parsed.is_ok()) {
    if (parsed.status().code().substr(0, 10) != "knowledge_") std::abort();
    return 0;
  }
  const knowledge::Document& doc = *parsed;
  if (doc.title.empty() || doc.passages.size() > limits.max_passages ||
      doc.required_steps.size() > limits.max_required_steps) {
    std::abort();
  }
  knowledge::Bm25Index index;
  if (!index.add(doc).is_ok()) std::abort();
  for (const auto& hit : index.search(doc.title + " " + std::string(text.substr(0, 200)), 5)) {
    if (hit.document_id != "fuzz" || !(hit.score > 0)) std::abort();
  }
  vontres::ManualClock clock;
  auto tracker = knowledge::ScriptTracker::create(doc, clock);
  if (tracker.is_ok() && !doc.passages.empty()) (void)tracker->on_agent_utterance(doc.passages.front().text);
  if (!index.remove("fuzz").is_ok() || index.passage_count() != 0) std::abort();
  return 0;
}
