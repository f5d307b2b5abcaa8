// Knowledge-base documents: a Markdown article or call script parsed into passages (split at
// headings and blank lines, each with its heading path), optional front matter (title, tags,
// intents) and a "## Required steps" list for scripts. Parsing is strict and bounded: errors carry a
// stable code and "<source>:<line>: <reason>" in the message.
//
// Thread-safety: pure functions over values; Document is a value type.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::ai::knowledge {

struct Passage {
  std::string heading;  // heading path, e.g. "Card lost or stolen > Block the card"; "" before any heading
  std::string text;     // the paragraph (or list block) with lines joined by single spaces
  int line = 0;         // 1-based line of the passage's first line in the source
};

// A phrase the agent must say. `alternatives` are the '|'-separated key phrases of the item; the
// first one is also the display text. Id is the "[id]" prefix, else "step-<n>" (1-based).
struct RequiredStep {
  std::string id;
  std::string text;
  std::vector<std::string> alternatives;
  int line = 0;
};

struct Document {
  std::string id;  // file stem: [a-z0-9_-], 1..64 characters
  std::string title;
  std::vector<std::string> tags;
  std::vector<std::string> intents;
  std::vector<Passage> passages;
  std::vector<RequiredStep> required_steps;  // empty for plain articles
};

struct ParseLimits {
  std::size_t max_bytes = 256 * 1024;
  std::size_t max_line_bytes = 4096;
  std::size_t max_passages = 1000;
  std::size_t max_passage_bytes = 16 * 1024;
  std::size_t max_required_steps = 64;
  std::size_t max_tags = 32;  // per list (tags, intents)
};

// Error codes: knowledge_invalid_id, knowledge_too_large, knowledge_line_too_long,
// knowledge_invalid_utf8, knowledge_bad_front_matter, knowledge_missing_title,
// knowledge_bad_required_step, knowledge_bad_heading, knowledge_unterminated_code_block,
// knowledge_too_many_passages.
// `source` names the input in messages (a path, or the id when empty).
Result<Document> parse_markdown(std::string_view id, std::string_view text, std::string_view source = {},
                                const ParseLimits& limits = {});

// Reads and parses one file; the id is its stem. Extra code: knowledge_io_error.
Result<Document> load_markdown_file(const std::filesystem::path& path, const ParseLimits& limits = {});

// Every *.md file directly in `dir`, sorted by file name. Fails on the first bad file (strict: a
// knowledge base with a broken article is a configuration error).
Result<std::vector<Document>> load_directory(const std::filesystem::path& dir, const ParseLimits& limits = {});

// True for a valid document id.
bool is_valid_document_id(std::string_view id);

}  // namespace vontres::ai::knowledge
