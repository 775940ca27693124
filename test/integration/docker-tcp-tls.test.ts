// connection.docker via: tcp from the runbook alone (no --docker-host), on a real dockerd: first a
// plain tcp listener, then one with --tlsverify and certificates made here with openssl. Refusals:
// a missing CA (exit 2 before connecting), a CA that did not sign the engine, no client cert.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healFault, injectFault, type LabNode, labUp, readLab } from '../lab/lab.js';
import { explain, runDrydock, tempDir, writeRunbook } from '../support/drydock-cli.js';

let node: LabNode;
let nodeDir: string;
let certs: string;

/** Restart node1's dockerd with these extra listener args (none: back to the lab's own). */
async function restartEngine(args: string[]): Promise<void> {
  const file = join(nodeDir, 'dockerd.extra-args');
  if (args.length > 0) writeFileSync(file, `${args.join('\n')}\n`);
  else rmSync(file, { force: true });
  await injectFault('dockerd', 'node1');
  await healFault('dockerd', 'node1');
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
}

/** A CA, and a certificate it signs (server: SAN = the node's IP; client: clientAuth). */
function makeCerts(): void {
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}-key.pem`,
      '-out',
      `${ca}.pem`,
    );
  }
  const sign = (name: string, ext: string) => {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    );
    writeFileSync(join(certs, `${name}.ext`), ext);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  sign('server', `subjectAltName=IP:${node.ip}\nextendedKeyUsage=serverAuth\n`);
  sign('client', 'extendedKeyUsage=clientAuth\n');
}

function runbookWith(docker: string): string {
  const lab = readLab();
  return writeRunbook(
    certs,
    `rb-${Math.random().toString(36).slice(2, 8)}.yaml`,
    `version: 1
name: tcp-test
connection:
  ssh: { user: root, identityFile: ${lab.sshKey}, knownHosts: ${lab.knownHosts}, sshConfig: false }
  docker: ${docker}
stages:
  - kind: drain
  - kind: activate
`,
  );
}

beforeAll(async () => {
  const lab = await labUp({ nodes: 1, managers: 1 });
  node = lab.nodes[0]!;
  nodeDir = join(lab.labDir, 'nodes', node.name);
  certs = tempDir('drydock-tls-');
  makeCerts();
}, 240_000);

afterAll(async () => {
  if (nodeDir) await restartEngine([]);
  if (certs) rmSync(certs, { recursive: true, force: true });
}, 120_000);

describe('docker via tcp from the runbook', () => {
  it('plans through a plain tcp endpoint template, without --docker-host', async () => {
    await restartEngine([`--host=tcp://${node.ip}:2375`, '--tls=false']);
    const rb = runbookWith(`{ via: tcp, host: "tcp://\${node.addr}:2375", managers: [${node.ip}] }`);
    const result = await runDrydock(['plan', rb, '--format', 'json']);
    expect(result.exitCode, explain(result)).toBe(0);
    expect(result.stderr).toContain(`Docker API: tcp://\${node.addr}:2375 on managers ${node.ip}`);
    expect(JSON.parse(result.stdout).nodes.map((n: { name: string }) => n.name)).toContain(node.name);
  }, 180_000);

  describe('with dockerd --tlsverify', () => {
    beforeAll(async () => {
      await restartEngine([
        `--host=tcp://${node.ip}:2376`,
        '--tlsverify',
        `--tlscacert=${join(certs, 'ca.pem')}`,
        `--tlscert=${join(certs, 'server.pem')}`,
        `--tlskey=${join(certs, 'server-key.pem')}`,
      ]);
    }, 120_000);

    it('plans with the CA, client cert and key named relative to the runbook', async () => {
      const rb = runbookWith(
        `{ via: tcp, host: "tcp://${node.ip}:2376", tls: { ca: ca.pem, cert: client.pem, key: client-key.pem } }`,
      );
      const result = await runDrydock(['plan', rb, '--format', 'json']);
      expect(result.exitCode, explain(result)).toBe(0);
      expect(result.stderr).toContain(`with TLS, CA ${join(certs, 'ca.pem')}`);
    }, 120_000);

    it('refuses a missing CA with exit 2 before connecting, naming the field and the file', async () => {
      const rb = runbookWith(`{ via: tcp, host: "tcp://${node.ip}:2376", tls: { ca: missing-ca.pem } }`);
      const result = await runDrydock(['plan', rb]);
      expect(result.exitCode, explain(result)).toBe(2);
      expect(result.stderr).toContain(
        `cannot read the TLS ca file ${join(certs, 'missing-ca.pem')} (connection.docker.tls.ca in ${rb}): no such file`,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }, 60_000);

    it('says the engine certificate is not signed by the given CA (wrong CA via --tlscacert)', async () => {
      const rb = runbookWith(
        `{ via: tcp, host: "tcp://${node.ip}:2376", tls: { ca: ca.pem, cert: client.pem, key: client-key.pem } }`,
      );
      const result = await runDrydock(['plan', rb, '--tlscacert', join(certs, 'other-ca.pem')]);
      expect(result.exitCode, explain(result)).not.toBe(0);
      expect(result.exitCode).not.toBe(70);
      expect(result.stderr).toMatch(/not signed by connection\.docker\.tls\.ca/);
    }, 60_000);

    it('says the engine refused us when no client certificate is given', async () => {
      const rb = runbookWith(`{ via: tcp, host: "tcp://${node.ip}:2376", tls: { ca: ca.pem } }`);
      const result = await runDrydock(['plan', rb]);
      expect(result.exitCode, explain(result)).not.toBe(0);
      expect(result.exitCode).not.toBe(70);
      expect(result.stderr).toMatch(/refused our client certificate/);
    }, 60_000);
  });
});
