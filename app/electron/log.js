'use strict';
// The shell's log: one file, a timestamp per line, and a copy on our own stdout for `npm start`.

const fs = require('node:fs');
const path = require('node:path');

const MAX_BYTES = 5 * 1024 * 1024; // one rotation keeps the last ~10 MB of history

function createLog(file, { echo = true } = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    if (fs.statSync(file).size > MAX_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
  const out = fs.createWriteStream(file, { flags: 'a' });
  return {
    file,
    line(text) {
      const stamped = `${new Date().toISOString()} ${text}`;
      out.write(`${stamped}\n`);
      if (echo) process.stdout.write(`${stamped}\n`);
    },
    close() {
      return new Promise((resolve) => out.end(resolve));
    },
  };
}

module.exports = { createLog };
