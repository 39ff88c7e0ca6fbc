import * as fs from 'fs';
import * as path from 'path';

const PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** GPT-2/CLIP byte -> printable unicode character map. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const map = new Array<string>(256);
  bs.forEach((b, i) => (map[b] = String.fromCharCode(cs[i])));
  return map;
}

const HTML_ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&#x27;': "'",
};

/** CLIP's text cleanup: NFC, HTML unescape, whitespace collapse, lower case. */
export function cleanPromptText(text: string): string {
  let t = text.normalize('NFC');
  for (let i = 0; i < 2; i++) t = t.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (m) => HTML_ENTITIES[m]);
  return t.replace(/\s+/g, ' ').trim().toLowerCase();
}

export interface TokenizeResult {
  /** Exactly `maxLength` ids: start, tokens, end, padding. */
  ids: number[];
  /** Tokens dropped by truncation (0 if the prompt fit). */
  truncated: number;
  /** Index of the end token (where CLIP pools the text embedding). */
  eosIndex: number;
}

/** The CLIP BPE tokenizer (transformers CLIPTokenizer), from vocab.json and merges.txt. */
export class ClipTokenizer {
  private readonly byteEncoder = bytesToUnicode();
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  readonly startId: number;
  readonly endId: number;
  readonly padId: number;

  constructor(
    private readonly vocab: Record<string, number>,
    merges: string[],
    readonly maxLength = 77,
    padToken = '<|endoftext|>',
  ) {
    merges.forEach((m, i) => this.ranks.set(m, i));
    const id = (t: string) => {
      const v = vocab[t];
      if (v === undefined) throw new Error(`tokenizer vocabulary has no '${t}'`);
      return v;
    };
    this.startId = id('<|startoftext|>');
    this.endId = id('<|endoftext|>');
    this.padId = id(padToken);
  }

  /** Loads vocab.json + merges.txt (+ tokenizer_config.json if present) from a directory. */
  static fromDirectory(dir: string): ClipTokenizer {
    const vocabFile = path.join(dir, 'vocab.json');
    const mergesFile = path.join(dir, 'merges.txt');
    for (const f of [vocabFile, mergesFile])
      if (!fs.existsSync(f))
        throw new Error(`${dir}: not a CLIP tokenizer directory (missing ${path.basename(f)})`);
    const vocab = JSON.parse(fs.readFileSync(vocabFile, 'utf8')) as Record<string, number>;
    const lines = fs.readFileSync(mergesFile, 'utf8').trim().split('\n');
    const merges = lines.filter((l, i) => !(i === 0 && l.startsWith('#version'))).slice(0, 49152 - 256 - 2);
    let maxLength = 77;
    let padToken = '<|endoftext|>';
    const configFile = path.join(dir, 'tokenizer_config.json');
    if (fs.existsSync(configFile)) {
      const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
      if (typeof config.model_max_length === 'number' && config.model_max_length < 100000)
        maxLength = config.model_max_length;
      const pad = config.pad_token as string | { content?: string } | undefined;
      if (typeof pad === 'string') padToken = pad;
      else if (pad && typeof pad.content === 'string') padToken = pad.content;
    }
    return new ClipTokenizer(vocab, merges, maxLength, padToken);
  }

  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = [...token];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  /** BPE token ids of a prompt, without start/end tokens. */
  encodeTokens(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanPromptText(text).matchAll(PATTERN)) {
      const piece = match[0];
      if (piece === '<|startoftext|>' || piece === '<|endoftext|>') {
        ids.push(this.vocab[piece]);
        continue;
      }
      const mapped = [...Buffer.from(piece, 'utf8')].map((b) => this.byteEncoder[b]).join('');
      for (const t of this.bpe(mapped)) {
        const id = this.vocab[t];
        if (id === undefined) throw new Error(`tokenizer: no id for BPE token '${t}'`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Start + tokens + end, truncated and padded to maxLength. */
  encode(text: string): TokenizeResult {
    const tokens = this.encodeTokens(text);
    const room = this.maxLength - 2;
    const kept = tokens.slice(0, room);
    const ids = [this.startId, ...kept, this.endId];
    const eosIndex = ids.length - 1;
    while (ids.length < this.maxLength) ids.push(this.padId);
    return { ids, truncated: tokens.length - kept.length, eosIndex };
  }
}
