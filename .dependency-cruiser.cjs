// The layering of drydock, checked by `npm run check:layers` (part of `npm run check` and CI).
// Arrows point down only:
//   cli → prompts, report, notify → executor → checks → plan → runbook → source → shared, errors
//                                   ↘ transport ↗ (ports and adapters; never the runbook)
// notify/ builds webhook messages (pure) and sends them through the transport's webhook port.
// Third-party edges: ssh2 and dockerode live behind the transport ports; listr2 and inquirer
// each live in one module; only the CLI parses argv.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle means two modules cannot be understood (or tested) apart.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'pure-layers-stay-pure',
      severity: 'error',
      comment:
        'runbook/, plan/ and source/ are pure: they describe work, they never reach the outside world.',
      from: { path: '^src/(runbook|plan|source)/' },
      to: { path: '^src/(transport|executor|report|notify|prompts|cli|checks)/' },
    },
    {
      name: 'shared-is-the-bottom',
      severity: 'error',
      comment: 'src/shared/ holds leaves (durations, problems, clock, quoting, waits): they import nothing above.',
      from: { path: '^src/shared/' },
      to: { path: '^src/(?!shared/|errors\\.ts$)' },
    },
    {
      name: 'source-below-runbook-and-plan',
      severity: 'error',
      comment:
        'src/source/ reads YAML with positions for runbooks and inventories alike: it knows neither, and imports only shared/ and errors.ts.',
      from: { path: '^src/source/' },
      to: { path: '^src/(?!shared/|source/|errors\\.ts$)' },
    },
    {
      name: 'transport-knows-no-runbook',
      severity: 'error',
      comment: 'Transports implement small ports; they do not know runbooks, plans, checks or runs.',
      from: { path: '^src/transport/' },
      to: { path: '^src/(runbook|plan|checks|executor|report|notify|prompts|cli)/' },
    },
    {
      name: 'checks-below-the-executor',
      severity: 'error',
      comment: 'Checks are used by the executor and by `drydock check`; they never call back up.',
      from: { path: '^src/checks/' },
      to: { path: '^src/(executor|report|notify|prompts|cli)/' },
    },
    {
      name: 'executor-below-the-ui',
      severity: 'error',
      comment: 'The executor emits events and asks a gate port; reporters and prompts implement them.',
      from: { path: '^src/executor/' },
      to: { path: '^src/(report|notify|prompts|cli)/' },
    },
    {
      name: 'notify-beside-the-reporters',
      severity: 'error',
      comment: 'Notifications consume run events like a reporter; the CLI wires them, they never call it.',
      from: { path: '^src/notify/' },
      to: { path: '^src/(report|prompts|cli)/' },
    },
    {
      name: 'webhooks-send-through-the-port',
      severity: 'error',
      comment: 'notify/ only builds messages; HTTP lives in transport/webhook.ts.',
      from: { path: '^src/notify/' },
      to: { path: '^(node:)?(http|https|net)$' },
    },
    {
      name: 'renderers-below-the-cli',
      severity: 'error',
      from: { path: '^src/(report|prompts)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-cli-parses-argv',
      severity: 'error',
      from: { path: '^src/(?!cli/)' },
      to: { dependencyTypes: ['npm'], path: 'node_modules/commander/' },
    },
    {
      name: 'ssh-and-docker-only-in-transport',
      severity: 'error',
      from: { path: '^src/(?!transport/)' },
      to: { dependencyTypes: ['npm'], path: 'node_modules/(ssh2|dockerode|docker-modem)/' },
    },
    {
      name: 'listr2-only-in-its-reporter',
      severity: 'error',
      from: { path: '^src/(?!report/run-listr\\.ts$)' },
      to: { dependencyTypes: ['npm'], path: 'node_modules/listr2/' },
    },
    {
      name: 'inquirer-only-in-prompts',
      severity: 'error',
      from: { path: '^src/(?!prompts/)' },
      to: { dependencyTypes: ['npm'], path: 'node_modules/(@inquirer/|inquirer/)' },
    },
    {
      name: 'execa-only-where-local-commands-run',
      severity: 'error',
      comment: 'At run time execa runs `local` stages on the operator machine, from the transport layer only.',
      from: { path: '^src/(?!transport/)' },
      to: { dependencyTypes: ['npm'], path: 'node_modules/execa/' },
    },
    {
      name: 'runtime-uses-no-dev-dependency',
      severity: 'error',
      comment: 'Whatever src/ imports must be a runtime dependency, or `npm install -g` breaks.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
