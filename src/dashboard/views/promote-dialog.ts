/**
 * "Promote…", "Attach plan…" and "Promote a release…": one form, three ways to promote (docs/api.md):
 * a percentage, a staged plan edited in the form, or the app's default plan. The effect sentence is
 * recomputed as the form changes; the request carries the channel's expected revision.
 */
import { formatBp } from '../../protocol/format.ts';
import { PLAN_DEFAULTS } from '../../protocol/plan-text.ts';
import { planText, promoteText, type Target } from '../actions.ts';
import { get, post, seg } from '../api.ts';
import { openDialog } from '../dialog.ts';
import { type Child, h } from '../dom.ts';
import type { ChannelView, Plan, ReleaseView, RolloutView } from '../types.ts';
import { type ChannelActions, describeFailure, rolloutsPath } from './action-context.ts';

type Mode = 'percent' | 'plan' | 'default';

/** Minutes, hours or days: the largest unit that divides the bake time evenly. */
function bakeParts(seconds: number): { value: number; unit: number } {
  for (const unit of [86_400, 3600, 60]) if (seconds % unit === 0) return { value: seconds / unit, unit };
  return { value: Math.round(seconds / 60), unit: 60 };
}

function numberField(id: string, label: string, value: number, attrs: Record<string, string | number> = {}) {
  const input = h('input', { id, type: 'number', inputmode: 'decimal', value: String(value), ...attrs });
  return { input, node: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
}

/** Promote to a percentage, or attach (change) a staged plan: one form, three ways (docs/api.md). */
export async function promoteDialog(
  ctx: ChannelActions,
  initial: Mode,
  rollout: RolloutView | undefined,
): Promise<void> {
  const revision = ctx.channel.revision;
  let versionOf: () => string;
  let versionNode: Child;
  if (rollout) {
    versionOf = () => rollout.version;
    versionNode = null;
  } else {
    const { releases } = await get<{ releases: ReleaseView[] }>(`/v1/admin/apps/${seg(ctx.app)}/releases`);
    const onChannel = new Set(ctx.channel.rollouts.map((r) => r.version));
    const candidates = releases.filter((r) => !r.yanked && !onChannel.has(r.version));
    const select = h(
      'select',
      { id: 'promote-version' },
      candidates.map((r) => h('option', { value: r.version }, r.version)),
    );
    versionOf = () => select.value;
    versionNode =
      candidates.length === 0
        ? h(
            'p',
            { class: 'muted' },
            `Every release of ${ctx.app} that is not yanked is already on ${ctx.channel.name}.`,
          )
        : h('div', { class: 'field' }, h('label', { for: 'promote-version' }, 'Release'), select);
    select.addEventListener('change', () => update());
  }
  const current = () => ctx.channel.rollouts.find((r) => r.version === versionOf());

  const modes: [Mode, string][] = [
    ['percent', 'A percentage of the channel'],
    ['plan', 'A staged plan'],
    ['default', "The app's default plan"],
  ];
  const radioInputs = modes.map(([mode]) => {
    const input = h('input', {
      type: 'radio',
      name: 'promote-mode',
      id: `mode-${mode}`,
      value: mode,
      checked: mode === initial,
    });
    input.addEventListener('change', () => update());
    return input;
  });
  const radios = modes.map(([mode, label], i) =>
    h('div', { class: 'radio' }, radioInputs[i], h('label', { for: `mode-${mode}` }, label)),
  );
  const mode = (): Mode => modes.find((_, i) => radioInputs[i]?.checked)?.[0] ?? 'percent';

  const percent = numberField(
    'promote-percent',
    'Percentage of the channel (0–100)',
    (rollout?.percent_bp ?? 500) / 100,
    {
      min: 0,
      max: 100,
      step: 0.01,
    },
  );
  const plan = rollout?.plan ?? undefined;
  const bake = bakeParts(plan?.bake_seconds ?? PLAN_DEFAULTS.bake_seconds);
  const steps = h('input', {
    id: 'plan-steps',
    type: 'text',
    value: (plan?.steps_bp ?? [100, 500, 2500, 5000, 10_000]).map((bp) => bp / 100).join(', '),
    'aria-describedby': 'plan-steps-hint',
  });
  const bakeValue = numberField('plan-bake', 'Bake time per step', bake.value, { min: 1, step: 1 });
  const bakeUnit = h(
    'select',
    { id: 'plan-bake-unit', 'aria-label': 'Bake time unit' },
    [
      [60, 'minutes'],
      [3600, 'hours'],
      [86_400, 'days'],
    ].map(([value, label]) =>
      h('option', { value: String(value), selected: value === bake.unit }, String(label)),
    ),
  );
  const gates = plan?.gates;
  const failure = numberField(
    'plan-failure',
    'Halt above failure rate (%)',
    (gates?.max_failure_rate ?? PLAN_DEFAULTS.max_failure_rate) * 100,
    { min: 0.01, max: 99.99, step: 0.01 },
  );
  const rollback = numberField(
    'plan-rollback',
    'Halt above rollback rate (%)',
    (gates?.max_rollback_rate ?? PLAN_DEFAULTS.max_rollback_rate) * 100,
    { min: 0.01, max: 99.99, step: 0.01 },
  );
  const installs = numberField(
    'plan-installs',
    'Installs before judging a step',
    gates?.min_installs ?? PLAN_DEFAULTS.min_installs,
    { min: 1, step: 1 },
  );
  const planFields = h(
    'fieldset',
    { class: 'plan-fields' },
    h('legend', {}, 'Staged plan'),
    h('div', { class: 'field' }, h('label', { for: 'plan-steps' }, 'Steps (percentages)'), steps),
    h('p', { id: 'plan-steps-hint', class: 'hint' }, 'Increasing, ending at 100: 1, 5, 25, 50, 100.'),
    h(
      'div',
      { class: 'field-row' },
      bakeValue.node,
      h(
        'div',
        { class: 'field' },
        h('span', { class: 'label-spacer', 'aria-hidden': 'true' }, ' '),
        bakeUnit,
      ),
    ),
    h('div', { class: 'field-row' }, failure.node, rollback.node),
    installs.node,
    h(
      'p',
      { class: 'hint' },
      'A breach halts the rollout. Automatic rollback needs a standby yank signed with the release key: ',
      h(
        'code',
        {},
        `npx updraft promote ${ctx.app} <version> --channel ${ctx.channel.name} --plan … --on-breach rollback`,
      ),
      '.',
    ),
  );

  /** The plan the form describes; throws a sentence when a field is not a number. */
  function planOf(): Plan {
    const stepsBp = steps.value
      .split(/[\s,]+/)
      .filter((s) => s !== '')
      .map((s) => {
        const n = Number(s.replace(/%$/, ''));
        if (!Number.isFinite(n))
          throw new Error(`Steps: "${s}" is not a percentage. Write them as 1, 5, 25, 50, 100.`);
        return Math.round(n * 100);
      });
    const num = (input: HTMLInputElement, name: string) => {
      const n = input.valueAsNumber;
      if (!Number.isFinite(n)) throw new Error(`${name}: enter a number.`);
      return n;
    };
    // Gates the form does not show (relative, crash) are kept; on_breach is left out: only the CLI can
    // sign the standby yank a rollback needs.
    return {
      steps_bp: stepsBp,
      bake_seconds: Math.round(num(bakeValue.input, 'Bake time') * Number(bakeUnit.value)),
      gates: {
        ...gates,
        max_failure_rate: num(failure.input, 'Failure rate') / 100,
        max_rollback_rate: num(rollback.input, 'Rollback rate') / 100,
        min_installs: Math.round(num(installs.input, 'Installs')),
      },
    };
  }

  function percentBp(): number {
    const n = percent.input.valueAsNumber;
    if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error('Enter a percentage from 0 to 100.');
    return Math.round(n * 100);
  }

  const effect = h('p', { class: 'dialog-effect', 'aria-live': 'polite' });
  function update(): void {
    const m = mode();
    percent.node.hidden = m !== 'percent';
    planFields.hidden = m !== 'plan';
    const target: Target = { app: ctx.app, channel: ctx.channel.name, version: versionOf() || '–' };
    try {
      effect.textContent =
        m === 'percent'
          ? promoteText(target, percentBp(), current())
          : planText(target, m === 'plan' ? planOf() : 'default', current());
    } catch (error) {
      effect.textContent = error instanceof Error ? error.message : String(error);
    }
  }
  for (const input of [
    percent.input,
    steps,
    bakeValue.input,
    bakeUnit,
    failure.input,
    rollback.input,
    installs.input,
  ]) {
    input.addEventListener('input', update);
  }
  update();

  openDialog({
    title: rollout
      ? `Promote ${rollout.version} on ${ctx.channel.name}`
      : `Promote a release to ${ctx.channel.name}`,
    body: [
      versionNode,
      h('fieldset', { class: 'radios' }, h('legend', {}, 'How'), radios),
      percent.node,
      planFields,
      effect,
    ],
    confirmLabel: 'Promote',
    async confirm() {
      const version = versionOf();
      if (!version) throw new Error('Choose a release first.');
      const m = mode();
      const how =
        m === 'percent' ? { percent_bp: percentBp() } : { plan: m === 'plan' ? planOf() : 'default' };
      const view = await post<ChannelView>(rolloutsPath(ctx), {
        version,
        ...how,
        expected_revision: revision,
      });
      const now = view.rollouts.find((r) => r.version === version);
      const result = now ? ` It is ${now.state} at ${formatBp(now.percent_bp)}.` : '';
      ctx.changed(view, `Promoted ${version} on ${view.name} of ${ctx.app}.${result}`);
    },
    describe: describeFailure,
    reload: ctx.reload,
    returnFocus: () => ctx.focusAfter(rollout?.version ?? versionOf()),
  });
}
