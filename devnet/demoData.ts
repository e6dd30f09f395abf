/**
 * What the demo uploads, cut from the public-domain Shakespeare in devnet/data/ (pure functions,
 * so a test can pin them): free-text chunks for the span model's datanet, one per contributor;
 * speeches labeled by speaker for the influence model's datanet; held-out speeches to ask it about;
 * and a near-copy of someone else's chunk for the contributor who tries to farm attribution.
 */

export interface Speech {
  speaker: string;
  text: string;
}

export const DEMO_SPEAKERS = ['GLOUCESTER', 'ROMEO', 'MENENIUS', 'PETRUCHIO'] as const;
export const DEMO_CHUNK_CHARS = 4_000;
export const DEMO_TRAIN_PER_SPEAKER = 10;
export const DEMO_HELD_OUT_PER_SPEAKER = 10;
export const DEMO_SPEECH_CHARS_MIN = 80;
export const DEMO_SPEECH_CHARS_MAX = 1_500;

/** Speeches: blocks separated by blank lines whose first line is "NAME:". */
export function parseSpeeches(corpus: string): Speech[] {
  const out: Speech[] = [];
  for (const block of corpus.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    const m = /^([A-Z][A-Za-z' ]*[A-Za-z]):$/.exec(lines[0]?.trim() ?? '');
    if (m === null || lines.length < 2) continue;
    out.push({ speaker: m[1], text: lines.slice(1).join('\n').trim() });
  }
  return out;
}

export interface DemoData {
  /** contributor name → text for the open "shakespeare" datanet. */
  chunks: Record<string, string>;
  /** [contributor, speech] pairs for the labeled "who-speaks" datanet. */
  labeled: { contributor: string; speaker: string; text: string }[];
  heldOut: Speech[];
  /** Someone else's chunk, lightly edited: rejected as a near-duplicate. */
  copy: { contributor: string; of: string; text: string };
}

/** Cuts the demo data; contributors share the labeled speeches round robin. */
export function demoData(corpus: string, contributors: readonly string[], copier: string): DemoData {
  const chunks: Record<string, string> = {};
  contributors.forEach((name, i) => {
    // Distinct regions of the corpus, each starting at a speech boundary.
    const from = corpus.indexOf('\n\n', Math.floor((corpus.length / (contributors.length + 1)) * i)) + 2;
    chunks[name] = corpus.slice(from, from + DEMO_CHUNK_CHARS).trimEnd();
  });
  const speeches = parseSpeeches(corpus).filter(
    (s) =>
      (DEMO_SPEAKERS as readonly string[]).includes(s.speaker) &&
      s.text.length >= DEMO_SPEECH_CHARS_MIN &&
      s.text.length <= DEMO_SPEECH_CHARS_MAX,
  );
  const labeled: DemoData['labeled'] = [];
  const heldOut: Speech[] = [];
  let k = 0;
  for (const speaker of DEMO_SPEAKERS) {
    const mine = speeches.filter((s) => s.speaker === speaker);
    for (const s of mine.slice(0, DEMO_TRAIN_PER_SPEAKER)) {
      labeled.push({ contributor: contributors[k++ % contributors.length], speaker, text: s.text });
    }
    heldOut.push(...mine.slice(DEMO_TRAIN_PER_SPEAKER, DEMO_TRAIN_PER_SPEAKER + DEMO_HELD_OUT_PER_SPEAKER));
  }
  const victim = contributors[0];
  const copyText = `${chunks[victim].replace(/\bthe\b/, 'thee')}\n`;
  return { chunks, labeled, heldOut, copy: { contributor: copier, of: victim, text: copyText } };
}

/** Prompts for the text generator: a phrase and a counter (the counter varies the walk). */
export const DEMO_PROMPTS = [
  'Tell me of the king',
  'What says my lord',
  'Speak of love',
  'O noble Romeo',
  'The citizens are',
  'Good morrow, gentle',
  'What news from the city',
  'Let me hear of the war',
] as const;
