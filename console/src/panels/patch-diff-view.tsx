// The diff view: a section per file, a table per hunk. Added and removed lines carry their +/- sign and the words
// "added"/"removed" for screen readers; the colours only repeat them.
import { fileName, parseDiff, type DiffLine, type LineKind } from './patch-diff';

const SIGN: Record<LineKind, string> = { added: '+', removed: '-', context: ' ', note: '\\' };
const SPOKEN: Record<LineKind, string> = { added: 'added', removed: 'removed', context: 'unchanged', note: 'note' };

function Line({ line }: { line: DiffLine }) {
  return (
    <tr data-kind={line.kind}>
      <td class="line-number">{line.oldNumber ?? ''}</td>
      <td class="line-number">{line.newNumber ?? ''}</td>
      <td class="line-sign">
        <span aria-hidden="true">{SIGN[line.kind]}</span>
        <span class="sr-only">{SPOKEN[line.kind]}</span>
      </td>
      <td class="line-text">
        <code>{line.text}</code>
      </td>
    </tr>
  );
}

export function DiffView({ diffText }: { diffText: string }) {
  const files = parseDiff(diffText);
  return (
    <div class="diff">
      {files.map((file, f) => {
        const name = fileName(file);
        return (
          <section key={f} class="diff-file" aria-label={`File ${name}`} data-file={file.newPath ?? file.oldPath ?? ''}>
            <h3>
              {name}
              {!file.newPath && ' (deleted)'}
              {!file.oldPath && file.newPath && ' (new)'}
            </h3>
            {file.binary && <p class="hint">Binary file: no lines to show.</p>}
            {file.hunks.map((hunk, h) => (
              <table key={h} class="hunk">
                <caption>
                  Hunk {h + 1} of {file.hunks.length}: <code>{hunk.header}</code>
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Old line</th>
                    <th scope="col">New line</th>
                    <th scope="col">Change</th>
                    <th scope="col">Text</th>
                  </tr>
                </thead>
                <tbody>
                  {hunk.lines.map((line, l) => (
                    <Line key={l} line={line} />
                  ))}
                </tbody>
              </table>
            ))}
          </section>
        );
      })}
    </div>
  );
}
