// Markdown to DOM nodes for model answers. Every piece of text becomes a text node: nothing a model
// writes is ever parsed as HTML, so an answer cannot run script or load anything.
// Covers what chat answers use: fenced code, headings, lists, quotes, rules, pipe tables,
// paragraphs, and inline code, bold, italic and http(s) links. Underscores inside words
// (snake_case, __dunder__ names) stay text, as in GitHub's Markdown.

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|(?<![\w])__(?=\S)([\s\S]*?\S)__(?![\w])|\*(?=[^\s*])([\s\S]*?[^\s*])\*|(?<![\w])_(?=[^\s_])([\s\S]*?[^\s_])_(?![\w])|\[([^\]\n]+)\]\(\s*(https?:\/\/[^\s)]+)\s*\)/g;

function element(tag, children = [], className = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children);
  return node;
}

/** Inline markup of one run of text -> nodes (text nodes, code, strong, em, a). */
export function renderInline(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    const [, ticks, code, bold1, bold2, em1, em2, linkText, href] = match;
    if (ticks) {
      nodes.push(element("code", [document.createTextNode(code.replace(/^ (.*) $/s, "$1"))]));
    } else if (bold1 !== undefined || bold2 !== undefined) {
      nodes.push(element("strong", renderInline(bold1 ?? bold2)));
    } else if (em1 !== undefined || em2 !== undefined) {
      nodes.push(element("em", renderInline(em1 ?? em2)));
    } else {
      const link = element("a", renderInline(linkText));
      link.href = href; // only http(s) matches INLINE: no javascript: or data: links
      link.rel = "noopener noreferrer nofollow";
      link.target = "_blank";
      nodes.push(link);
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function withBreaks(lines) {
  const nodes = [];
  lines.forEach((line, index) => {
    if (index > 0) nodes.push(document.createElement("br"));
    nodes.push(...renderInline(line));
  });
  return nodes;
}

function tableCells(line) {
  let cells = line.trim();
  if (cells.startsWith("|")) cells = cells.slice(1);
  if (cells.endsWith("|") && !cells.endsWith("\\|")) cells = cells.slice(0, -1);
  return cells.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function table(header, rows) {
  const head = element("thead", [element("tr", header.map((cell) => element("th", renderInline(cell))))]);
  const body = element(
    "tbody",
    rows.map((row) => element("tr", header.map((_, index) => element("td", renderInline(row[index] ?? ""))))),
  );
  return element("table", [head, body]);
}

/** Markdown text -> a DocumentFragment. Unclosed code fences (a streaming answer) still render as code. */
export function renderMarkdown(source) {
  const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
  const fragment = document.createDocumentFragment();
  let index = 0;
  const isBlockStart = (line) =>
    FENCE.test(line) || HEADING.test(line) || BULLET.test(line) || NUMBERED.test(line) ||
    QUOTE.test(line) || RULE.test(line);

  while (index < lines.length) {
    const line = lines[index];
    if (!line.trim()) {
      index += 1;
      continue;
    }
    const fence = line.match(FENCE);
    if (fence) {
      const body = [];
      index += 1;
      while (index < lines.length && !new RegExp(`^\\s{0,3}${fence[1][0]}{${fence[1].length},}\\s*$`).test(lines[index])) {
        body.push(lines[index]);
        index += 1;
      }
      index += 1; // the closing fence
      const code = element("code", [document.createTextNode(body.join("\n"))]);
      if (fence[2]) {
        code.className = `language-${fence[2]}`;
        code.dataset.language = fence[2];
      }
      fragment.append(element("pre", [code]));
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      // answers sit under the page's own headings: # becomes h3
      const level = Math.min(6, heading[1].length + 2);
      fragment.append(element(`h${level}`, renderInline(heading[2])));
      index += 1;
      continue;
    }
    if (RULE.test(line)) {
      fragment.append(document.createElement("hr"));
      index += 1;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      const ordered = !BULLET.test(line);
      const pattern = ordered ? NUMBERED : BULLET;
      const list = document.createElement(ordered ? "ol" : "ul");
      if (ordered) list.start = Number(line.match(NUMBERED)[1]);
      while (index < lines.length && pattern.test(lines[index])) {
        const item = lines[index].match(pattern);
        const itemLines = [ordered ? item[2] : item[1]];
        index += 1;
        // indented continuation lines belong to the item
        while (index < lines.length && /^\s{2,}\S/.test(lines[index]) && !pattern.test(lines[index])) {
          itemLines.push(lines[index].trim());
          index += 1;
        }
        list.append(element("li", withBreaks(itemLines)));
      }
      fragment.append(list);
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (index < lines.length && QUOTE.test(lines[index])) {
        quoted.push(lines[index].match(QUOTE)[1]);
        index += 1;
      }
      fragment.append(element("blockquote", [renderMarkdown(quoted.join("\n"))]));
      continue;
    }
    if (line.includes("|") && index + 1 < lines.length && TABLE_DIVIDER.test(lines[index + 1])) {
      const header = tableCells(line);
      const rows = [];
      index += 2;
      while (index < lines.length && lines[index].includes("|") && lines[index].trim()) {
        rows.push(tableCells(lines[index]));
        index += 1;
      }
      fragment.append(table(header, rows));
      continue;
    }
    const paragraph = [];
    while (index < lines.length && lines[index].trim() && (paragraph.length === 0 || !isBlockStart(lines[index]))) {
      paragraph.push(lines[index]);
      index += 1;
    }
    fragment.append(element("p", withBreaks(paragraph)));
  }
  return fragment;
}
