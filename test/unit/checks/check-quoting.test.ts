import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLookupScript } from '../../../src/checks/dns.js';
import { buildPortProbeCommand } from '../../../src/checks/ingress.js';

/**
 * The shell commands the checks build, run by a real `sh` with hostile names and addresses from
 * the cluster. Each hostile value tries to create `pwned` in the working directory; the tools
 * the commands call (`nc`, `docker`) are stand-ins that print the arguments they received.
 */

const HOSTILE = [
  '$(touch pwned)',
  '`touch pwned`',
  "';touch pwned;'",
  '"$(touch pwned)"',
  '10.0.0.1;touch pwned',
  "x'\\''$(touch pwned)",
  'a b\ntouch pwned',
  '$(touch${IFS}pwned)',
];

const root = mkdtempSync(join(tmpdir(), 'drydock-check-quoting-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A directory of stand-in tools, plus links to the real ones a command needs. */
function makeBin(name: string, scripts: Record<string, string>, links: string[]): string {
  const bin = join(root, name);
  mkdirSync(bin);
  for (const [tool, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, tool), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  for (const tool of links) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  return bin;
}

/** A stand-in tool: prints its arguments NUL-terminated, then \x01 to end the list. */
const PRINT_ARGS = `printf '%s\\0' "$@"; printf '\\001'`;
const readArgs = (text: string): string[] => (text.split('\x01')[0] ?? '').split('\0').slice(0, -1);

function runSh(command: string, bin: string): { stdout: string; status: number | null; pwned: boolean } {
  const cwd = mkdtempSync(join(root, 'run-'));
  const run = spawnSync('/bin/sh', ['-c', command], { cwd, encoding: 'utf8', env: { PATH: bin } });
  return { stdout: run.stdout, status: run.status, pwned: existsSync(join(cwd, 'pwned')) };
}

describe('published-ports probe from inside the cluster', () => {
  let withNc: string;
  let withoutNc: string;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    withNc = makeBin('with-nc', { nc: PRINT_ARGS }, []);
    withoutNc = makeBin('without-nc', {}, ['bash', 'timeout']);
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(HOSTILE)('hands %j to nc as one literal argument', (host) => {
    const { stdout, pwned } = runSh(buildPortProbeCommand(host, 8080, 2), withNc);
    expect({ args: readArgs(stdout), pwned }).toEqual({
      args: ['-z', '-w', '2', host, '8080'],
      pwned: false,
    });
  });

  it.each(HOSTILE)('keeps %j literal through the nested bash -c of the /dev/tcp fallback', (host) => {
    const { status, pwned } = runSh(buildPortProbeCommand(host, 8080, 2), withoutNc);
    expect({ failed: status !== 0, pwned }).toEqual({ failed: true, pwned: false });
  });

  it('still connects through the /dev/tcp fallback', () => {
    expect(runSh(buildPortProbeCommand('127.0.0.1', port, 2), withoutNc).status).toBe(0);
    expect(runSh(buildPortProbeCommand('127.0.0.1', port, 2), withNc).status).toBe(0);
  });
});

describe('overlay-dns lookup script', () => {
  it('quotes hostile service names everywhere and marks each answer with the literal name', () => {
    const bin = makeBin('with-docker', { docker: PRINT_ARGS }, []);
    const names = HOSTILE.map((name) => `tasks.${name}`);
    const { stdout, pwned } = runSh(buildLookupScript('c1$(touch pwned)', names), bin);
    expect(pwned).toBe(false);
    const blocks = stdout.split('@@DDX-DNS ').slice(1);
    expect(blocks).toHaveLength(names.length);
    blocks.forEach((block, n) => {
      const name = names[n] as string;
      expect(block.startsWith(`${name}\n`)).toBe(true);
      expect(readArgs(block.slice(name.length + 1))).toEqual(['exec', 'c1$(touch pwned)', 'nslookup', name]);
    });
  });
});
