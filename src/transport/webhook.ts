import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The webhook port: POST a JSON body to a URL, give up after a timeout. The URL is a secret
 * (webhook tokens live in the path), so errors name the host only, never the URL.
 */
export interface WebhookPort {
  post(url: string, body: string, options: { timeoutMs: number }): Promise<{ status: number }>;
}

export class WebhookDeliveryError extends Error {
  override name = 'WebhookDeliveryError';
}

export function createHttpWebhookPort(): WebhookPort {
  return {
    post(url, body, { timeoutMs }) {
      return new Promise((resolve, reject) => {
        let target: URL;
        try {
          target = new URL(url);
        } catch {
          reject(new WebhookDeliveryError('not a valid URL'));
          return;
        }
        const send =
          target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : undefined;
        if (!send) {
          reject(new WebhookDeliveryError(`unsupported scheme ${target.protocol}`));
          return;
        }
        const req = send(
          target,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'user-agent': 'drydock',
            },
            timeout: timeoutMs,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
            res.on('error', () => resolve({ status: res.statusCode ?? 0 }));
          },
        );
        // Why a hard timer too: `timeout` only covers socket idleness, a trickling server could hold us.
        const timer = setTimeout(
          () => req.destroy(new WebhookDeliveryError(`no answer within ${timeoutMs}ms`)),
          timeoutMs,
        );
        req.on('timeout', () => req.destroy(new WebhookDeliveryError(`no answer within ${timeoutMs}ms`)));
        req.on('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          reject(
            error instanceof WebhookDeliveryError
              ? error
              : new WebhookDeliveryError(`${error.code ?? 'error'} from ${target.host}`),
          );
        });
        req.on('close', () => clearTimeout(timer));
        req.end(body);
      });
    },
  };
}
