/**
 * The texts and rules of the dashboard's actions (src/dashboard/actions.ts), and how the history
 * panel reads an audit row (views/history.ts): what a release engineer reads before confirming.
 */
import { describe, expect, it } from 'vitest';
import {
  actionBody,
  availableActions,
  canAct,
  failureText,
  isStale,
  planText,
  promoteText,
  STALE_TEXT,
  stateActionText,
  suggestedRollback,
  yankCommand,
} from '../../src/dashboard/actions.ts';
import { AnswerError } from '../../src/dashboard/api.ts';
import type { Plan, RolloutView } from '../../src/dashboard/types.ts';
import { actorName, auditChange } from '../../src/dashboard/views/history.ts';

const target = { app: 'demo', channel: 'stable', version: '1.1.0' };
const plan: Plan = {
  steps_bp: [100, 500, 2500, 5000, 10_000],
  bake_seconds: 7200,
  gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 200 },
};

function rollout(over: Partial<RolloutView> = {}): RolloutView {
  return {
    version: '1.1.0',
    percent_bp: 2500,
    state: 'active',
    salt: '0'.repeat(32),
    created_at: '2026-11-21T18:00:00Z',
    updated_at: '2026-11-21T18:00:00Z',
    plan: null,
    step: null,
    standby_yank: null,
    ...over,
  };
}

describe('who may act', () => {
  it('is a publisher or an admin, never an analyst', () => {
    expect([canAct('admin'), canAct('publisher'), canAct('analyst'), canAct(undefined)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('offers only the transitions the API allows, and nothing that offers a yanked release again', () => {
    expect(availableActions({ state: 'active' }, false)).toEqual({
      state: ['pause', 'halt', 'complete'],
      promote: true,
      yank: true,
    });
    expect(availableActions({ state: 'paused' }, false).state).toEqual(['resume', 'halt', 'complete']);
    expect(availableActions({ state: 'halted' }, false)).toEqual({
      state: ['resume'],
      promote: false,
      yank: true,
    });
    expect(availableActions({ state: 'complete' }, false)).toEqual({ state: [], promote: true, yank: true });
    expect(availableActions({ state: 'active' }, true)).toEqual({
      state: ['pause', 'halt'],
      promote: false,
      yank: false,
    });
  });
});

describe('the confirmation names app, channel, version and effect', () => {
  it('for the state changes', () => {
    expect(stateActionText('halt', target, rollout())).toBe(
      'Halt 1.1.0 on stable of demo: nobody new gets it; clients already on it keep it.',
    );
    expect(stateActionText('pause', target, rollout())).toBe(
      'Pause 1.1.0 on stable of demo: it stays offered to 25% of the channel, and no plan moves it.',
    );
    expect(stateActionText('pause', target, rollout({ plan, step: 1 }))).toBe(
      'Pause 1.1.0 on stable of demo: it stays offered to 25% of the channel and its staged plan stops advancing until resumed.',
    );
    expect(stateActionText('resume', target, rollout({ state: 'halted', plan, step: 2 }))).toBe(
      'Resume 1.1.0 on stable of demo: it is offered again to 25% of the channel, and its staged plan restarts step 3 with a fresh bake time.',
    );
    expect(
      stateActionText(
        'complete',
        target,
        rollout({
          plan,
          standby_yank: { yank_sha256: 'a'.repeat(64), rollback_to: '1.0.0', signed_at: 'x' },
        }),
      ),
    ).toBe(
      'Complete 1.1.0 on stable of demo: every client of the channel gets it (100%); its staged plan ends; the armed automatic rollback is discarded.',
    );
  });

  it('for a promote, up, down, of a new release, and over a plan', () => {
    expect(promoteText(target, 5000, rollout())).toBe(
      'Promote 1.1.0 on stable of demo to 50% (from 25%): more clients get it (50% of the channel).',
    );
    expect(promoteText(target, 1000, rollout({ state: 'paused' }))).toBe(
      'Promote 1.1.0 on stable of demo to 10% (from 25%): nobody new outside the smaller share gets it; clients already on it keep it; it stays paused.',
    );
    expect(promoteText(target, 5000, rollout({ plan, step: 2 }))).toMatch(
      /; its staged plan is dropped \(you take manual control\)\.$/,
    );
    expect(promoteText(target, 500, undefined)).toBe(
      "Promote 1.1.0 on stable of demo to 5%: 5% of the channel's clients get it; it becomes an active rollout.",
    );
  });

  it('for a plan, described as the CLI describes it', () => {
    expect(planText(target, plan, rollout())).toBe(
      'Attach a staged plan to 1.1.0 on stable of demo: it restarts at 1% and follows 1% → 5% → 25% → 50% → 100%, 2h per step; halts on failure rate > 2% or rollback rate > 1%, judged from 200 installs.',
    );
    expect(planText(target, 'default', rollout({ plan, step: 1 }))).toMatch(
      /^Change the staged plan of 1\.1\.0 on stable of demo: the app's default plan;/,
    );
    expect(
      planText(
        target,
        plan,
        rollout({
          plan,
          standby_yank: { yank_sha256: 'a'.repeat(64), rollback_to: '1.0.0', signed_at: 'x' },
        }),
      ),
    ).toMatch(/The armed automatic rollback is discarded: this plan only halts\.$/);
  });
});

describe('what is sent and what a refusal says', () => {
  it('sends the revision the page saw, and a reason only when one was written', () => {
    expect(actionBody(7, '  ')).toEqual({ expected_revision: 7 });
    expect(actionBody(7, ' crash on start ')).toEqual({ expected_revision: 7, reason: 'crash on start' });
  });

  it('explains a stale revision and a raced write as a changed channel, and nothing else', () => {
    for (const code of ['stale_revision', 'conflict']) {
      const error = new AnswerError(409, code, 'expected revision 7, the channel is at 8');
      expect(isStale(error)).toBe(true);
      expect(failureText(error)).toBe(STALE_TEXT);
    }
    const transition = new AnswerError(409, 'invalid_transition', 'cannot pause a rollout that is halted');
    expect(isStale(transition)).toBe(false);
    expect(failureText(transition)).toBe('The server refused: cannot pause a rollout that is halted');
    expect(failureText(new AnswerError(403, 'forbidden', 'needs role publisher'))).toBe(
      'This token may not do that: needs role publisher',
    );
  });
});

describe('the yank hand-off', () => {
  const releases = [
    { version: '1.2.0-beta.1', yanked: false },
    { version: '1.1.0', yanked: false },
    { version: '1.0.1', yanked: true },
    { version: '1.0.1-rc.1', yanked: false },
    { version: '1.0.0', yanked: false },
  ];

  it('suggests what the CLI would choose: the highest lower release not yanked, no prerelease for a stable one', () => {
    expect(suggestedRollback(releases, '1.1.0')).toBe('1.0.0');
    expect(suggestedRollback(releases, '1.2.0-beta.1')).toBe('1.1.0');
    expect(suggestedRollback(releases, '1.0.0')).toBeNull();
    expect(suggestedRollback(releases, '9.9.9')).toBeNull();
  });

  it('writes a command that pastes into a shell as shown', () => {
    expect(yankCommand('demo', '1.1.0', '1.0.0', 'crash on start')).toBe(
      'npx updraft yank demo 1.1.0 --rollback-to 1.0.0 --reason "crash on start"',
    );
    expect(yankCommand('demo', '1.1.0', null, 'say "hi" $HOME `x` \\')).toBe(
      'npx updraft yank demo 1.1.0 --rollback-to none --reason "say \\"hi\\" \\$HOME \\`x\\` \\\\"',
    );
    expect(yankCommand('demo', '1.1.0', '1.0.0', ' ')).toMatch(/--reason "…"$/);
  });
});

describe('the history panel', () => {
  it('reads a rollout change as its effect, with the reason', () => {
    expect(
      auditChange({
        before: { percent_bp: 2500, state: 'active', plan: null },
        after: { percent_bp: 2500, state: 'halted', plan: null, reason: 'crash' },
      }),
    ).toBe('active 25% → halted 25% · “crash”');
    expect(auditChange({ before: null, after: { percent_bp: 100, state: 'active', plan } })).toBe(
      'new: active 1% (plan)',
    );
    expect(
      auditChange({
        before: { percent_bp: 500, state: 'active', plan },
        after: { percent_bp: 5000, state: 'active', plan_dropped: true },
      }),
    ).toBe('active 5% (plan) → active 50% · plan dropped');
    expect(auditChange({ before: null, after: { name: 'ci', role: 'publisher' } })).toBe('');
  });

  it('names token actors by their name', () => {
    expect(actorName('token:0123456789abcdef:release engineer')).toBe(
      'release engineer (token 0123456789abcdef)',
    );
    expect(actorName('scheduler')).toBe('scheduler');
  });
});
