import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDevnetArgs } from '../../devnet/cli.js';
import { renderDashboard } from '../../devnet/dashboard.js';
import { DEMO_SPEAKERS, demoData, parseSpeeches } from '../../devnet/demoData.js';
import { parseMix } from '../../devnet/load.js';
import { NgramModel } from '../../devnet/provider/ngram.js';
import { parseScenario } from '../../devnet/scenario.js';

const root = join(__dirname, '..', '..');
const scenarioFile = (name: string) =>
  JSON.parse(readFileSync(join(root, 'devnet', 'scenarios', `${name}.json`), 'utf8'));

const base = () => ({
  name: 't',
  validators: 4,
  durationSec: 60,
  load: { rate: 10, mix: { transfer: 1 } },
  perturbations: [] as unknown[],
});

describe('scenario files', () => {
  it('the shipped scenarios are valid; ci fits in CI and standard is the 10-minute run', () => {
    const ci = parseScenario(scenarioFile('ci'));
    expect(ci.durationSec).toBeLessThanOrEqual(120);
    expect(ci.perturbations.map((p) => p.action)).toEqual(
      expect.arrayContaining(['kill', 'restart', 'partition', 'heal']),
    );
    // split: a 2|2 partition (no quorum on either side) whose heal is the last fault, i.e. GST.
    const split = parseScenario(scenarioFile('split'));
    expect(split.perturbations.map((p) => p.action)).toEqual(['partition', 'heal']);
    expect(split.perturbations[0].groups.map((g) => g.length)).toEqual([2, 2]);
    const standard = parseScenario(scenarioFile('standard'));
    expect(standard.durationSec).toBe(600);
    expect(standard.load.rate).toBe(200);
    // A perturbation at least every minute.
    for (let m = 0; m < 10; m++)
      expect(standard.perturbations.some((p) => p.atSec >= m * 60 && p.atSec < (m + 1) * 60)).toBe(true);
  });

  it.each([
    [{ validators: 0 }, 'validators: 0 is outside [1, 16]'],
    [{ durationSec: 'long' }, 'durationSec: must be a whole number'],
    [{ extra: 1 }, 'extra: unknown field'],
    [{ load: { rate: -1 } }, 'load.rate: -1 is outside'],
    [{ load: { rate: 1, mix: { mint: 1 } } }, 'load.mix.mint: unknown field'],
    [{ load: { rate: 1, mix: { transfer: 0 } } }, 'load.mix: at least one weight'],
    [
      { perturbations: [{ atSec: 1, action: 'explode', nodes: [0] }] },
      'perturbations[0].action: unknown action',
    ],
    [
      { perturbations: [{ atSec: 1, action: 'kill', nodes: [4] }] },
      'perturbations[0].nodes[0]: 4 is outside [0, 3]',
    ],
    [
      { perturbations: [{ atSec: 99, action: 'kill', nodes: [1] }] },
      'perturbations[0].atSec: 99 is outside [0, 60]',
    ],
    [
      { perturbations: [{ atSec: 1, action: 'restart', nodes: [1] }] },
      'perturbations[0].nodes[0]: node 1 is not down',
    ],
    [
      { perturbations: [{ atSec: 1, action: 'partition', groups: [[0, 1], [1]] }] },
      'perturbations[0].groups[1]: node 1 is in two groups',
    ],
    [{ perturbations: [{ atSec: 1, action: 'heal', nodes: [1] }] }, 'perturbations[0].nodes: unknown field'],
    [
      {
        perturbations: [
          { atSec: 1, action: 'pause', nodes: [2] },
          { atSec: 2, action: 'resume', nodes: [3] },
        ],
      },
      'perturbations[1].nodes[0]: node 3 is not paused',
    ],
    [{ byzantine: [{ node: 4, strategy: 'equivocate' }] }, 'byzantine[0].node: 4 is outside [0, 3]'],
    [{ byzantine: [{ node: 1, strategy: 'lie' }] }, 'byzantine[0].strategy: unknown strategy "lie"'],
    [{ byzantine: [{ node: 1 }] }, 'byzantine[0].strategy: must be a string'],
    [{ byzantine: [{ node: 1, strategy: 'equivocate', when: 3 }] }, 'byzantine[0].when: unknown field'],
    [
      {
        byzantine: [
          { node: 1, strategy: 'equivocate' },
          { node: 1, strategy: 'equivocateVotes' },
        ],
      },
      'byzantine[1].node: node 1 is listed twice',
    ],
    [
      {
        byzantine: [
          { node: 1, strategy: 'equivocate' },
          { node: 2, strategy: 'equivocate' },
        ],
      },
      'byzantine: 2 of 4 validators is not fewer than a third',
    ],
  ])('rejects %j naming the field', (patch, message) => {
    expect(() => parseScenario({ ...base(), ...patch })).toThrow(message);
  });
});

describe('scenario byzantine validators', () => {
  it('names byzantine nodes and their strategy; none by default', () => {
    expect(parseScenario(base()).byzantine).toEqual([]);
    const s = parseScenario({ ...base(), byzantine: [{ node: 3, strategy: 'equivocate' }] });
    expect(s.byzantine).toEqual([{ node: 3, strategy: 'equivocate' }]);
    for (const name of ['byzantine', 'byzantine7']) {
      const byz = parseScenario(scenarioFile(name));
      expect(byz.byzantine.length).toBeGreaterThan(0);
      expect(byz.byzantine.length * 3).toBeLessThan(byz.validators);
    }
  });
});

describe('devnet and load options', () => {
  it('parses the devnet command line', () => {
    expect(parseDevnetArgs([])).toEqual({
      command: 'start',
      options: { validators: 4, blockTimeMs: 500, dir: undefined, demo: true, basePort: 26650 },
    });
    expect(parseDevnetArgs(['--validators', '7', '--no-demo', '--dir', 'x'])).toMatchObject({
      options: { validators: 7, demo: false, dir: 'x' },
    });
    expect(parseDevnetArgs(['status', '--dir', 'd'])).toEqual({ command: 'status', dir: 'd' });
    expect(parseDevnetArgs(['stop'])).toEqual({ command: 'stop', dir: undefined });
  });

  it.each([
    [['--validators', '0'], '--validators: 0 is outside'],
    [['--validators', 'four'], '--validators: expected a whole number'],
    [['--block-time'], '--block-time needs a value'],
    [['--colour', 'red'], 'unknown option --colour'],
    [['restart'], 'unknown devnet command "restart"'],
    [['status', '--validators', '3'], 'unknown option --validators'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseDevnetArgs(argv)).toThrow(message);
  });

  it('parses a load mix; errors name the entry', () => {
    expect(parseMix('transfer=8,contribute=1,receipt=1')).toEqual({ transfer: 8, contribute: 1, receipt: 1 });
    expect(() => parseMix('transfer=8,mint=1')).toThrow('unknown kind "mint"');
    expect(() => parseMix('transfer')).toThrow('expected kind=weight');
    expect(() => parseMix('transfer=0')).toThrow('at least one weight');
  });
});

describe('demo pieces', () => {
  const corpus = readFileSync(join(root, 'devnet', 'data', 'tinyshakespeare.txt'), 'utf8');

  it('cuts distinct chunks, labeled speeches and a near-copy from the corpus', () => {
    const d = demoData(corpus, ['alice', 'bob', 'carol'], 'dave');
    expect(new Set(Object.values(d.chunks)).size).toBe(3);
    expect(new Set(d.labeled.map((l) => l.speaker))).toEqual(new Set(DEMO_SPEAKERS));
    expect(new Set(d.labeled.map((l) => l.contributor))).toEqual(new Set(['alice', 'bob', 'carol']));
    expect(d.heldOut.length).toBeGreaterThan(0);
    expect(d.copy.text).not.toBe(d.chunks.alice);
    expect(d.copy.text).toContain(d.chunks.alice.slice(500, 1500));
    expect(parseSpeeches('ROMEO:\nHello there.\n\nJULIET:\nHi.')).toEqual([
      { speaker: 'ROMEO', text: 'Hello there.' },
      { speaker: 'JULIET', text: 'Hi.' },
    ]);
  });

  it('the n-gram generator is deterministic and quotes its corpus', () => {
    const docs = [
      { id: '0x02', content: corpus.slice(0, 5000) },
      { id: '0x01', content: corpus.slice(5000, 10000) },
    ];
    const a = new NgramModel(docs).generate('Tell me of the citizens #1', 30);
    const b = new NgramModel([...docs].reverse()).generate('Tell me of the citizens #1', 30);
    expect(a).toBe(b);
    expect(a.split(/\s+/).length).toBeLessThanOrEqual(30);
    // The first several words come verbatim from the corpus.
    const head = a.split(/\s+/).slice(0, 4).join(' ');
    expect(corpus.replace(/\s+/g, ' ')).toContain(head);
    expect(new NgramModel(docs).generate('other prompt #2', 30)).not.toBe(a);
  });

  it('renders the dashboard', () => {
    const text = renderDashboard(
      {
        chainId: 'c',
        height: 12,
        txPerSec: 3.5,
        receipts: 4,
        settlements: 3,
        requestsSent: 5,
        requestErrors: 0,
        firstBlockSec: 6.2,
        firstPayoutSec: 21.5,
        phase: 'streaming',
        earners: [
          { name: 'alice', address: '0x01', earned: 5n * 10n ** 16n, payouts: 2, balance: 10n ** 21n },
        ],
        lastAnswer: {
          receipt: '0x',
          model: 'bard-ngram',
          output: 'First Citizen: speak',
          fee: 10n ** 17n,
          payouts: [{ to: 'alice', amount: 5n * 10n ** 16n }],
        },
        nodes: [{ name: 'node0', rpc: 'http://x', height: 12 }],
        explorer: 'http://127.0.0.1:9/',
        notes: ['hello'],
      },
      { formatAmount: (u) => (Number(u) / 1e18).toString() },
    );
    expect(text).toContain('height 12');
    expect(text).toContain('receipts 4  settlements 3');
    expect(text).toContain('first payout after 21.5 s');
    expect(text).toMatch(/alice\s+0\.0500\s+2\s+1000\.0000/);
    expect(text).toContain('paid: alice 0.0500');
    expect(text).toContain('explorer: http://127.0.0.1:9/');
  });
});
