'use strict';
// The shell's log file: stamped lines appended, an oversized file rotated at open.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const { createLog } = require('../log');

test('lines are appended with a timestamp; a large log is rotated when the shell starts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-log-'));
  const file = path.join(dir, 'logs', 'chatstats.log');
  const first = createLog(file, { echo: false });
  first.line('[backend] api | started');
  await first.close();
  const second = createLog(file, { echo: false });
  second.line('[shell] backend ready');
  await second.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[backend\] api \| started$/);
  assert.match(lines[1], / \[shell\] backend ready$/);

  fs.writeFileSync(file, 'x'.repeat(6 * 1024 * 1024));
  const third = createLog(file, { echo: false });
  third.line('after rotation');
  await third.close();
  assert.equal(fs.statSync(`${file}.1`).size, 6 * 1024 * 1024);
  assert.match(fs.readFileSync(file, 'utf8'), /after rotation\n$/);
});
