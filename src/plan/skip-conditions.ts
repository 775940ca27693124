import { quoteShellArg, renderCommand, renderValue, type SubstitutionScope } from '../runbook/substitute.js';
import type { SkipCondition } from '../runbook/types.js';
import type { PlannedCommand, PlannedSkipCondition } from './types.js';

/**
 * `skipIf` conditions → the read-only commands that test them on a node. Pure. Built-ins exit
 * 0 when the stage is already done, 1 when it is not, and anything else when they cannot tell
 * (that is an error, never a skip). Each prints one line: the reason either way.
 */
export function planSkipConditions(
  conditions: readonly SkipCondition[],
  scope: SubstitutionScope,
): PlannedSkipCondition[] {
  return conditions.map((condition) => planSkipCondition(condition, scope));
}

function planSkipCondition(condition: SkipCondition, scope: SubstitutionScope): PlannedSkipCondition {
  switch (condition.kind) {
    case 'command': {
      const rendered = renderCommand(condition.command, scope, { reveal: false });
      return {
        kind: 'command',
        label: `\`${rendered.text}\` exits 0`,
        command: { template: condition.command, display: rendered.text, hasSecrets: rendered.hasSecrets },
      };
    }
    case 'engine-version': {
      // Validation keeps secrets out of this field: display and value are the same.
      const version = renderValue(condition.version, scope, { reveal: false }).text;
      return {
        kind: 'engine-version',
        label: `engine already at ${version}`,
        command: literalCommand(engineVersionCommand(version)),
      };
    }
    case 'no-upgradable-packages':
      return {
        kind: 'no-upgradable-packages',
        label: 'no packages upgradable (apt-get -s upgrade)',
        command: literalCommand(NO_UPGRADABLE_COMMAND),
      };
  }
}

function engineVersionCommand(version: string): string {
  const want = quoteShellArg(version);
  return (
    `v=$(docker version --format '{{.Server.Version}}') || exit 2; ` +
    `if [ "$v" = ${want} ]; then echo "engine already at $v"; else echo "engine at $v, not "${want}; exit 1; fi`
  );
}

const NO_UPGRADABLE_COMMAND =
  `out=$(LC_ALL=C apt-get -s upgrade 2>&1) || { printf '%s\\n' "$out" | tail -n 3 >&2; exit 2; }; ` +
  `n=$(printf '%s\\n' "$out" | grep -c '^Inst '); ` +
  `if [ "$n" -eq 0 ]; then echo 'no packages upgradable'; else echo "$n packages upgradable"; exit 1; fi`;

/** A command with no references: `${` in it is escaped so rendering gives the same text back. */
function literalCommand(text: string): PlannedCommand {
  return { template: text.replaceAll('${', '$${'), display: text, hasSecrets: false };
}
