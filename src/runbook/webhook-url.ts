type Env = Readonly<Record<string, string | undefined>>;

import type { Variable } from './types.js';

/**
 * Webhook URLs: `${env:NAME}` reads the environment, `${name}` a runbook variable. The whole URL
 * is a secret (incoming-webhook URLs carry their token in the path), so only the host is shown.
 * Pure.
 */
export const WEBHOOK_REF = /\$\{(env:)?([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function listWebhookRefs(template: string): { env: boolean; name: string; offset: number }[] {
  return [...template.matchAll(WEBHOOK_REF)].map((m) => ({
    env: m[1] !== undefined,
    name: m[2] as string,
    offset: m.index,
  }));
}

export function resolveWebhookUrl(
  template: string,
  variables: readonly Variable[],
  env: Env,
): { url: string | undefined; missing: string[] } {
  const missing: string[] = [];
  const url = template.replace(WEBHOOK_REF, (_all, isEnv: string | undefined, name: string) => {
    const value = isEnv ? env[name] : variables.find((v) => v.name === name)?.value;
    if (value === undefined || value === '') missing.push(isEnv ? `$${name}` : `\${${name}}`);
    return value ?? '';
  });
  return { url: missing.length > 0 ? undefined : url, missing };
}

/** `https://hooks.slack.com/services/T0/B0/xyz` → `hooks.slack.com`. Never the path or query. */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host || '<no host>';
  } catch {
    return '<not a URL>';
  }
}
