#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

/** Once a command has returned, its output, journal and reports are written. */
const EXIT_BACKSTOP_MS = 5000;

main(process.argv).then((code) => {
  process.exitCode = code;
  // Normally nothing is left and the process ends now. A socket to a peer that stopped
  // answering may still be open, though: it must not keep a finished run alive.
  setTimeout(() => process.exit(code), EXIT_BACKSTOP_MS).unref();
});
