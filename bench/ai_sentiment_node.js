// Times the JS reference (npm vader-sentiment 1.1.3) on a corpus, for bench/ai_sentiment_node.sh.
// Usage: node ai_sentiment_node.js <package dir> <corpus file (NUL-separated texts)> [min seconds]
// Prints {"sentences":N,"cpu_seconds":S,"sentences_per_second":R} after a warm-up pass (JIT). Time is
// the process's CPU time (user + system), like Google Benchmark's default, so a busy machine skews
// both sides alike.
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, corpusFile, minSecondsArg] = process.argv.slice(2);
const minSeconds = Number(minSecondsArg || 3);
const vader = require(path.resolve(packageDir));
const texts = fs.readFileSync(corpusFile, 'utf8').split('\0');
let sink = 0;
for (const text of texts) sink += vader.SentimentIntensityAnalyzer.polarity_scores(text).compound;

const cpuSeconds = since => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};
let sentences = 0;
const start = process.cpuUsage();
let elapsed = 0;
while (elapsed < minSeconds) {
  for (const text of texts) sink += vader.SentimentIntensityAnalyzer.polarity_scores(text).compound;
  sentences += texts.length;
  elapsed = cpuSeconds(start);
}
console.log(JSON.stringify({sentences, cpu_seconds: elapsed, sentences_per_second: sentences / elapsed, sink}));
