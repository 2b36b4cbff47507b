/**
 * Markdown blocks are written by editors and read by owners: nothing in them may run in the
 * reader's page. The rendered HTML is put into the page as it is, so it is checked here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMarkdown } from '../../lib/ui/markdown';

test('markdown renders: headings, emphasis, lists, code, and links that open in a new tab', () => {
  const html = renderMarkdown('# Green taxi\n\nLoads **Q4 2020**.\n\n- one\n- two\n\n`ctx.sql`\n\n[docs](https://example.com/docs)\n');
  assert.match(html, /<h1>Green taxi<\/h1>/);
  assert.match(html, /<strong>Q4 2020<\/strong>/);
  assert.match(html, /<li>one<\/li>/);
  assert.match(html, /<code>ctx\.sql<\/code>/);
  assert.match(html, /<a href="https:\/\/example\.com\/docs" target="_blank" rel="noopener noreferrer">docs<\/a>/);
});

test('<script> and every other tag written in the text are escaped, never parsed', () => {
  const html = renderMarkdown('<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\nhi <iframe src="https://evil.example"></iframe> <b onclick="x()">b</b>\n');
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<img/i);
  assert.doesNotMatch(html, /<iframe/i);
  assert.doesNotMatch(html, /<b /i);
  // Still shown, as text.
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('javascript:, vbscript: and data: links do not survive as links, however they are spelled', () => {
  const links = [
    '[a](javascript:alert(1))',
    '[b](JavaScript:alert(1))',
    '[c](  javascript:alert(1))',
    '[d](vbscript:msgbox(1))',
    '[e](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '<javascript:alert(1)>',
    '[f]: javascript:alert(1)\n\n[f]',
  ];
  for (const link of links) {
    const html = renderMarkdown(link);
    assert.doesNotMatch(html, /href="\s*(javascript|vbscript|data):/i, `${link} became ${html}`);
    assert.doesNotMatch(html, /<a /, `${link} became a link: ${html}`);
  }
  // A link whose scheme is broken up by an entity is no javascript: URL once the browser reads it either.
  const tab = renderMarkdown('[g](java&#09;script:alert(1))');
  assert.doesNotMatch(tab, /href="javascript:/i);
});

test('images from other hosts are not loaded (a link instead); images of the page itself are', () => {
  const remote = renderMarkdown('![tracker](https://evil.example/pixel.png) ![p](//evil.example/x.png)');
  assert.doesNotMatch(remote, /<img/i);
  assert.match(remote, /<a href="https:\/\/evil\.example\/pixel\.png" target="_blank" rel="noopener noreferrer">\[image: tracker\]<\/a>/);
  assert.match(renderMarkdown('![chart](/static/chart.png)'), /<img src="\/static\/chart\.png" alt="chart">/);
});
