#!/usr/bin/env node
// A solc-compatible command line over npm's solcjs, for py-solc-x.
//
// py-solc-x drives a compiler with `--version` and `--standard-json` (reading the JSON input on
// stdin). solcjs's own CLI breaks both contracts: it prints an SMT notice before the JSON and
// truncates output over 64 KiB when stdout is a pipe (it calls process.exit before the pipe
// drains). This wrapper loads the same compiler module, writes the JSON synchronously and lets
// node exit on its own. Every source must be inline in the input (scripts/compile_contracts.py
// resolves imports itself), so no import callback is offered.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require(path.join(__dirname, "node_modules", "solc"));

function writeAll(fd, text) {
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
    }
  }
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  writeAll(1, "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
} else if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  const missing = (p) => ({ error: "import not provided inline: " + p });
  writeAll(1, solc.compile(input, { import: missing }));
} else {
  writeAll(2, "usage: solc-wrapper.js --version | --standard-json < input.json\n");
  process.exitCode = 2;
}
