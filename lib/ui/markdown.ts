/**
 * Markdown blocks as HTML for the notebook. Project files are written by editors and read by
 * owners, so nothing in them may run in a reader's page: markdown-it with `html: false` escapes every
 * tag written in the text, and its link check refuses javascript:, vbscript:, file: and data: links
 * (data: images aside), leaving them as plain text.
 */
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

// Links leave the IDE in a new tab that cannot reach back into this page (window.opener).
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token) {
    token.attrSet('target', '_blank');
    token.attrSet('rel', 'noopener noreferrer');
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

// An image from another host would tell that host when a reader opened the note (and Grimoire is
// meant to work offline): only images in the page's own origin or inline data are shown; others are
// a link the reader may follow.
const defaultImage = md.renderer.rules.image ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = String(token?.attrGet('src') ?? '').trim();
  if (token && /^(\/\/|[a-z][a-z0-9+.-]*:)/i.test(src) && !/^data:image\//i.test(src)) {
    const alt = md.utils.escapeHtml(token.content || 'image');
    return `<a href="${md.utils.escapeHtml(src)}" target="_blank" rel="noopener noreferrer">[image: ${alt}]</a>`;
  }
  return defaultImage(tokens, idx, options, env, self);
};

/** The HTML of a markdown block's text; safe to put in the page as it is. */
export function renderMarkdown(text: string): string {
  return md.render(text);
}
