import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run'];

/**
 * Render a local HTML file in real headless Chromium (Debian's `chromium`): a PNG screenshot,
 * the console messages it logged, and the DOM after load.
 */
export async function renderInChromium(
  htmlPath: string,
  pngPath: string,
): Promise<{ consoleMessages: string[]; dom: string; pngBytes: number }> {
  const url = `file://${htmlPath}`;
  const shot = await run(
    'chromium',
    [...FLAGS, '--enable-logging=stderr', '--v=0', '--window-size=1280,1600', `--screenshot=${pngPath}`, url],
    { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 },
  );
  // Chromium logs page console output (errors included) as `:INFO:CONSOLE(line)] "…"`.
  const consoleMessages = `${shot.stdout}\n${shot.stderr}`
    .split('\n')
    .filter((l) => /CONSOLE\(\d+\)|Uncaught/.test(l));
  const dump = await run('chromium', [...FLAGS, '--dump-dom', url], {
    timeout: 120_000,
    maxBuffer: 32 * 1024 * 1024,
  });
  return { consoleMessages, dom: dump.stdout, pngBytes: statSync(pngPath).size };
}
