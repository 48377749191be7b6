// The text of a step's log in the page, kept outside Preact: chunks are appended as text nodes (one span per run of one
// stream), pages are blocks inserted whole, and blocks far from what the user reads are dropped so that the page holds
// a bounded amount of text however long the log is. Nothing already shown is rendered again.

export interface LogChunk {
  offset: number;
  endOffset: number;
  stream: 'STDOUT' | 'STDERR';
  text: string;
}

/** At most this much text (characters) is held in the page; past it, the blocks farthest from the reader go. */
export const HELD_CHARS = 4_000_000;
/** Live chunks start a new block past this size, so that following a long log drops its oldest text a block at a time. */
const BLOCK_CHARS = 256_000;

interface Block {
  node: HTMLElement;
  /** The byte offsets it covers, [from, to). */
  from: number;
  to: number;
  chars: number;
}

const bytes = new Intl.NumberFormat('en');

/** A notice where offsets jump: the gateway cut the middle of the log. */
function cutNotice(from: number, to: number): HTMLElement {
  const notice = document.createElement('span');
  notice.className = 'cut';
  notice.dataset.cutFrom = String(from);
  notice.dataset.cutTo = String(to);
  notice.textContent = `… ${bytes.format(to - from)} bytes cut …`;
  return notice;
}

/** Adds chunks to the end of a block: a chunk of the stream before it joins its span, a jump in offsets gets a notice. */
function fill(block: Block, chunks: readonly LogChunk[]): void {
  const added = document.createDocumentFragment();
  let span = block.node.lastElementChild as HTMLElement | null;
  for (const chunk of chunks) {
    if (block.to >= 0 && chunk.offset > block.to) {
      added.append(cutNotice(block.to, chunk.offset));
      span = null;
    }
    if (!span || span.dataset.stream !== chunk.stream) {
      span = document.createElement('span');
      span.dataset.stream = chunk.stream;
      added.append(span);
    }
    span.append(chunk.text);
    if (block.from < 0) block.from = chunk.offset;
    block.to = chunk.endOffset;
    block.chars += chunk.text.length;
  }
  block.node.append(added);
  block.node.dataset.from = String(block.from);
}

/** A block that starts at `start` (where the one before it ends), or wherever its first chunk does (-1). */
function newBlock(start: number): Block {
  const node = document.createElement('div');
  node.className = 'log-block';
  return { node, from: start, to: start, chars: 0 };
}

/** Which blocks a trim removed: at the top (older text must be read again) or the bottom (newer text must). */
export interface Trimmed {
  top: boolean;
  bottom: boolean;
}

export class LogBlocks {
  private blocks: Block[] = [];

  /** `box` scrolls, `lines` holds the blocks (Preact renders it empty and leaves it alone). */
  constructor(
    private readonly box: HTMLElement,
    private readonly lines: HTMLElement,
  ) {}

  /** The byte offsets held, [from, to); null when nothing is. */
  get range(): { from: number; to: number } | null {
    const first = this.blocks[0];
    const last = this.blocks.at(-1);
    return first && last ? { from: first.from, to: last.to } : null;
  }

  get chars(): number {
    return this.blocks.reduce((sum, block) => sum + block.chars, 0);
  }

  clear(): void {
    this.blocks = [];
    this.lines.replaceChildren();
  }

  /** Chunks after the last held (live ones or a forward page), in offset order; any already held are skipped. */
  append(chunks: readonly LogChunk[]): void {
    const last = this.blocks.at(-1);
    const fresh = last ? chunks.filter((chunk) => chunk.endOffset > last.to) : chunks;
    if (fresh.length === 0) return;
    let block = last;
    if (!block || block.chars >= BLOCK_CHARS) {
      block = newBlock(last ? last.to : -1);
      this.blocks.push(block);
      this.lines.append(block.node);
    }
    fill(block, fresh);
  }

  /** A page older than the first block held, in offset order, inserted above it without moving what the user reads. */
  prepend(chunks: readonly LogChunk[]): void {
    const first = this.blocks[0];
    const block = newBlock(-1);
    fill(block, first ? chunks.filter((chunk) => chunk.endOffset <= first.from) : chunks);
    if (block.chars === 0) return;
    if (first && block.to < first.from) block.node.append(cutNotice(block.to, first.from));
    this.keepingView(() => this.lines.prepend(block.node));
    this.blocks.unshift(block);
  }

  /** Drops blocks from the end away from `keep` until the text held is within HELD_CHARS (the last block always stays). */
  trim(keep: 'top' | 'bottom'): Trimmed {
    const trimmed = { top: false, bottom: false };
    let held = this.chars;
    while (held > HELD_CHARS && this.blocks.length > 1) {
      const dropped = keep === 'top' ? this.blocks.pop()! : this.blocks.shift()!;
      held -= dropped.chars;
      if (keep === 'top') {
        dropped.node.remove();
        trimmed.bottom = true;
      } else {
        this.keepingView(() => dropped.node.remove());
        trimmed.top = true;
      }
    }
    return trimmed;
  }

  /** Changes the text above the view, then scrolls by the height it added or removed, so the view does not jump. */
  private keepingView(change: () => void): void {
    const height = this.box.scrollHeight;
    change();
    this.box.scrollTop += this.box.scrollHeight - height;
  }
}
