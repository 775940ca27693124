// connection.docker via: tcp from the runbook: endpoint templates, TLS paths relative to the runbook,
// TLS files checked (exit 2, naming field and file) before anything connects.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectWith } from '../../../src/cli/commands/connect.js';
import { validateCommand } from '../../../src/cli/commands/validate.js';
import {
  applyConnectionFlags,
  assertTlsFilesReadable,
  describeDockerEndpoint,
} from '../../../src/cli/connection-options.js';
import type { CliIo } from '../../../src/cli/io.js';
import { ExitCode, UsageError } from '../../../src/errors.js';
import { parseRunbookText } from '../../../src/runbook/parse.js';
import { connectCluster } from '../../../src/transport/cluster.js';
import type { DockerEndpoint } from '../../../src/transport/docker.js';
import { FakeSwarm, info, manager } from '../../support/fake-swarm.js';
import { buildRunbookYaml, expectProblems } from '../runbook/helpers.js';

const tcpRunbook = (docker: string, file = '/etc/drydock/rb.yaml') =>
  parseRunbookText(buildRunbookYaml(`connection:\n  docker: ${docker}\n`), file, { env: {} });

function unusedIo(): CliIo {
  return { env: {}, stdout: () => undefined, stderr: () => undefined } as unknown as CliIo;
}

describe('docker via tcp from the runbook', () => {
  it('reads TLS paths relative to the runbook folder; ~ and absolute paths stay as written', () => {
    const runbook = tcpRunbook(
      '{via: tcp, host: "tcp://m1:2376", tls: {ca: certs/ca.pem, cert: ~/c.pem, key: /k/key.pem}}',
    );
    expect(runbook.connection.docker.tls).toEqual({
      ca: '/etc/drydock/certs/ca.pem',
      cert: '~/c.pem',
      key: '/k/key.pem',
      verify: true,
    });
  });

  it('accepts a per-node template with managers, refuses one without or with another variable', () => {
    expect(() =>
      tcpRunbook('{via: tcp, host: "tcp://${node.addr}:2375", managers: [10.0.0.1]}'),
    ).not.toThrow();
    const bare = expectProblems(
      buildRunbookYaml('connection:\n  docker: {via: tcp, host: "tcp://${node.addr}:2375"}\n'),
    );
    expect(bare[0]).toMatchObject({
      path: 'connection.docker.host',
      message: expect.stringMatching(/needs managers/),
    });
    const other = expectProblems(
      buildRunbookYaml('connection:\n  docker: {via: tcp, host: "tcp://${env.X}:2375", managers: [m1]}\n'),
    );
    expect(other[0]?.message).toMatch(/`\$\{env.X\}` cannot be used/);
    const scheme = expectProblems(buildRunbookYaml('connection:\n  docker: {via: tcp, host: "ssh://m1"}\n'));
    expect(scheme[0]?.message).toMatch(/not a tcp:\/\/ endpoint/);
  });

  it('connects through the runbook endpoint without --docker-host, one engine per manager address', async () => {
    const runbook = tcpRunbook('{via: tcp, host: "tcp://${node.addr}:2375", managers: [10.0.0.9, 10.0.0.1]}');
    const opened: DockerEndpoint[] = [];
    const swarm = new FakeSwarm([manager('m1', true, { address: '10.0.0.1' })]);
    swarm.engineInfo = info({ hostname: 'm1' });
    const cluster = await connectCluster(runbook.connection, {
      shells: { connect: () => Promise.reject(new Error('no ssh in this test')) },
      openApi: (endpoint) => {
        opened.push(endpoint);
        if (endpoint.kind === 'tcp' && endpoint.host === '10.0.0.9') {
          const down = new FakeSwarm();
          down.fail = new Error('connect ECONNREFUSED');
          return down;
        }
        return swarm;
      },
    });
    await cluster.close();
    expect(opened).toEqual([
      { kind: 'tcp', host: '10.0.0.9', port: 2375 },
      { kind: 'tcp', host: '10.0.0.1', port: 2375 },
    ]);
  });

  it('refuses a missing TLS file from the runbook with exit 2, naming the field, the runbook and the file', async () => {
    const runbook = tcpRunbook('{via: tcp, host: "tcp://m1:2376", tls: {ca: nope/ca.pem}}', '/tmp/rb.yaml');
    const refused = connectWith(
      runbook.connection,
      {},
      unusedIo(),
      { command: 'check', hint: '' },
      runbook.file,
    );
    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message:
        'cannot read the TLS ca file /tmp/nope/ca.pem (connection.docker.tls.ca in /tmp/rb.yaml): no such file',
      hint: expect.stringMatching(/relative path is read from the runbook's folder/),
    });
  });

  it('names the flag when the missing file came from --tlscert, and an unreadable file too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-tls-'));
    const unreadable = join(dir, 'key.pem');
    writeFileSync(unreadable, 'x');
    chmodSync(unreadable, 0o000);
    const flags = { tlscert: join(dir, 'missing.pem') };
    const docker = applyConnectionFlags(
      tcpRunbook('{via: tcp, host: "tcp://m1:2376"}').connection,
      flags,
      {},
    ).docker;
    expect(() => assertTlsFilesReadable(docker, flags, 'rb.yaml')).toThrow(/\(--tlscert\): no such file/);
    // root reads any file: only check "not readable" where the permission bits bind.
    if (process.getuid?.() !== 0) {
      const keyFlags = { tlskey: unreadable };
      const withKey = applyConnectionFlags(
        tcpRunbook('{via: tcp, host: "tcp://m1:2376"}').connection,
        keyFlags,
        {},
      );
      expect(() => assertTlsFilesReadable(withKey.docker, keyFlags, 'rb.yaml')).toThrow(/not readable/);
    }
  });

  it('says which endpoint is used, in validate and for plan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const file = join(dir, 'rb.yaml');
    writeFileSync(
      file,
      buildRunbookYaml(
        'connection:\n  docker: {via: tcp, host: "tcp://${node.addr}:2376", managers: [10.0.0.1], tls: {ca: ca.pem, cert: c.pem}}\n',
      ),
    );
    let stdout = '';
    const code = await validateCommand([file], {}, { stdout: (s) => (stdout += s), stderr: () => undefined });
    expect(code).toBe(0);
    expect(stdout).toContain(
      `  Docker API: tcp://\${node.addr}:2376 with TLS, CA ${dir}/ca.pem, client cert ${dir}/c.pem on managers 10.0.0.1 (connection.docker.host)\n`,
    );
    expect(stdout).toContain(`  warning: cannot read the TLS cert file ${dir}/c.pem`);
    const flagged = applyConnectionFlags(tcpRunbook('{}').connection, { dockerHost: 'tcp://m9:2375' }, {});
    expect(describeDockerEndpoint(flagged)).toBe('tcp://m9:2375 (--docker-host or DOCKER_HOST)');
  });
});
