import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec, labUp, readLab } from '../lab/lab.js';
import { eventsOf, explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';
import { resetLab } from '../support/lab-reset.js';

/**
 * A hostile value from the operator's environment, put inside the template's own quotes, runs
 * on a real node's shell (over the real SSH transport) and comes out literally: nothing in it
 * runs. Before quoting by place, `echo "${v}"` became `echo "'$(touch …)'"` and ran the touch.
 */
let dir: string;
const MARK = '/tmp/drydock-quoting-pwned';
// No backslash: dash's echo would interpret one, which is echo's business, not quoting's.
const HOSTILE = `it's "$(touch ${MARK}-a)" \`touch ${MARK}-b\` '; touch ${MARK}-c; ' !x $HOME`;

beforeAll(async () => {
  await labUp({ nodes: 3, managers: 1 });
  await resetLab();
  dir = tempDir('drydock-quoting-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quotingRunbook(target: string): string {
  const lab = readLab();
  const manager = lab.nodes.find((n) => n.role === 'manager')!;
  return `version: 1
name: quoting
variables:
  v: { env: DRYDOCK_TEST_HOSTILE }
targets: { names: [${target}] }
connection:
  ssh: { user: root, identityFile: ${lab.sshKey}, knownHosts: ${lab.knownHosts}, sshConfig: false, connectTimeout: 5s }
  docker: { via: ssh, managers: [${manager.ip}] }
checks:
  preflight: [node-ready]
  between: []
  afterNode: [node-ready]
stages:
  - kind: run
    name: quoted
    timeout: 30s
    commands:
      - ${JSON.stringify('echo "${v}"')}
      - ${JSON.stringify("echo '${v}'")}
      - ${JSON.stringify('echo ${v}')}
      - ${JSON.stringify(`echo pwned=$(ls -d ${MARK}* 2>/dev/null | wc -l)`)}
`;
}

describe('templates on a real node', () => {
  it('prints a hostile env value literally from inside double quotes, single quotes and bare', async () => {
    const lab = readLab();
    const worker = lab.nodes.find((n) => n.role === 'worker')!;
    await labExec(worker.name, `rm -f ${MARK}*`);
    const runbook = writeRunbook(dir, 'quoting.yaml', quotingRunbook(worker.name));
    const result = await runDrydock(['run', runbook, '--json', '--journal-dir', `${dir}/runs`], {
      env: { DRYDOCK_TEST_HOSTILE: HOSTILE },
    });
    expect(result.exitCode, explain(result)).toBe(0);
    const lines = eventsOf(result.events, 'output')
      .filter((e) => e.node === worker.name && e.stream === 'stdout')
      .map((e) => e.line);
    expect(lines).toEqual([HOSTILE, HOSTILE, HOSTILE, 'pwned=0']);
    const left = await labExec(worker.name, `ls -d ${MARK}* 2>/dev/null | wc -l`);
    expect(left.stdout.trim()).toBe('0');
  });
});
