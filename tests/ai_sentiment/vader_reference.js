// Scores texts with the JS reference, npm vader-sentiment 1.1.3, for the parity tests.
// Usage: node vader_reference.js <package dir> <input file>
// The input file holds UTF-8 texts separated by NUL bytes (texts may contain newlines); the output
// has one line per text: JSON.stringify(SentimentIntensityAnalyzer.polarity_scores(text)).
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, inputFile] = process.argv.slice(2);
if (!packageDir || !inputFile) {
  process.stderr.write('usage: node vader_reference.js <package dir> <input file>\n');
  process.exit(2);
}
// `main` of the package: the webpack bundle that `require('vader-sentiment')` loads.
const vader = require(path.resolve(packageDir));
const texts = fs.readFileSync(inputFile, 'utf8').split('\0');
const out = [];
for (const text of texts) {
  out.push(JSON.stringify(vader.SentimentIntensityAnalyzer.polarity_scores(text)));
}
fs.writeSync(1, out.join('\n') + '\n');
