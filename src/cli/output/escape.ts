/**
 * Text from elsewhere (labels and IDs set by other clients, bundle paths, containerd's and runc's error text)
 * must not reach a terminal raw: an escape sequence can erase or rewrite lines, a newline splits a table row
 * (breaking awk) or an error line. The one function that makes such text safe for tables and messages;
 * JSON output needs none (JSON.stringify escapes control characters).
 */

/** C0 controls (newline and tab included), DEL, C1 controls, and the Unicode line/paragraph separators. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

// ESC is \x1b like every other C0 control: the form containerd's and Go's messages (%q) use too.
const NAMED: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}

/** `a\nb` → `a\\nb`, ESC → `\\x1b` (as other C0 controls) → `\\xNN` / `\\uNNNN`; printable text (any script) is kept. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (NAMED[ch]) return NAMED[ch]
    const code = ch.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}
