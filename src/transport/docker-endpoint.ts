import { readFileSync } from 'node:fs';
import { ConnectionError } from '../errors.js';
import { expandHome } from './ssh-config.js';

/** Docker tcp endpoints: per-node templates, TLS files and what a TLS failure means. */

/** The CLI checks TLS files before connecting; this keeps a late failure typed all the same. */
export function readTlsFile(file: string, field: string): Buffer {
  try {
    return readFileSync(expandHome(file));
  } catch (error) {
    throw new ConnectionError(`cannot read the TLS ${field} file ${file}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check connection.docker.tls (or --tlscacert, --tlscert, --tlskey)',
    });
  }
}

/** `${node.addr}` / `${node.name}` in a tcp endpoint template, filled in per manager. */
export function expandEndpointTemplate(template: string, node: { name: string; addr: string }): string {
  return template.replace(/\$\{node\.addr\}/g, node.addr).replace(/\$\{node\.name\}/g, node.name);
}

/** Whether a tcp endpoint names one engine per node (`tcp://${node.addr}:2375`). */
export function isEndpointTemplate(host: string): boolean {
  return /\$\{node\.(addr|name)\}/.test(host);
}

/** What to do about a TLS handshake failure, by Node's error code; undefined when it is not one. */
export function explainTlsFailure(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = (error as Error).message ?? '';
  // An alert is the engine refusing us (checked first: its code says CERTIFICATE too).
  if (/ALERT/.test(code) || /alert|certificate required|bad certificate|unknown ca/i.test(message)) {
    return 'the engine refused our client certificate: give a cert and key signed by the CA that dockerd --tlscacert trusts';
  }
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED/.test(code)) {
    return code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? "the engine's certificate does not name this address: connect by a name or IP in its subjectAltName"
      : "the engine's certificate is not signed by connection.docker.tls.ca (or --tlscacert): give the CA that issued it";
  }
  return undefined;
}
