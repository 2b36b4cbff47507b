import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlTemplateError, renderSqlTemplate, type SqlTemplateContext } from '../../lib/pipeline/sql-template';

const ctx: SqlTemplateContext = {
  upstream: [
    { uuid: 'load_trips', table: '"t_load_trips"' },
    { uuid: 'load_zones', table: '"t_load_zones"' },
  ],
  variables: { min_passengers: 2, region: 'eu', flag: true },
  executionDate: '2024-03-04T05:06:07.000Z',
};

const render = (text: string, c: SqlTemplateContext = ctx) => renderSqlTemplate(text, c);

function renderError(text: string, c: SqlTemplateContext = ctx): SqlTemplateError {
  try {
    renderSqlTemplate(text, c);
  } catch (e) {
    if (e instanceof SqlTemplateError) {
      assert.equal(e.name, 'SqlTemplateError');
      assert.match(e.message, /^template error: /);
      return e;
    }
    return assert.fail(`expected a SqlTemplateError, got ${String(e)}`);
  }
  return assert.fail(`expected ${JSON.stringify(text)} to fail`);
}

describe('renderSqlTemplate', () => {
  test('plain SQL passes through unchanged', () => {
    const sql = "select 1 as x, 'a' as y -- comment\nfrom t where a < 3 and b > 2";
    assert.equal(render(sql), sql);
  });

  test('df_1, df_2 follow upstream_blocks order', () => {
    assert.equal(render('select * from {{ df_1 }} join {{ df_2 }} using (zone)'), 'select * from "t_load_trips" join "t_load_zones" using (zone)');
    const swapped: SqlTemplateContext = { ...ctx, upstream: [...ctx.upstream].reverse() };
    assert.equal(render('{{ df_1 }},{{ df_2 }}', swapped), '"t_load_zones","t_load_trips"');
  });

  test('upstream blocks are reachable by uuid', () => {
    assert.equal(render('select * from {{ load_zones }} z join {{load_trips}} t on true'), 'select * from "t_load_zones" z join "t_load_trips" t on true');
  });

  test("variables('x') interpolates the value, with either quote style", () => {
    assert.equal(render("where n >= {{ variables('min_passengers') }} and r = '{{ variables(\"region\") }}'"), "where n >= 2 and r = 'eu'");
    assert.equal(render("{{ variables('flag') }}"), 'true');
  });

  test('variables() with a fallback uses it only when the variable is not set', () => {
    assert.equal(render("{{ variables('limit', 100) }}"), '100');
    assert.equal(render("{{ variables('min_passengers', 100) }}"), '2');
  });

  test('a missing variable names it and lists the pipeline variables', () => {
    const e = renderError("select {{ variables('max_rows') }}");
    assert.equal(e.message, 'template error: variable "max_rows" is not set (pipeline variables: min_passengers, region, flag)');
  });

  test('a missing variable with no variables at all says none', () => {
    const e = renderError("\n\nselect {{ variables('x') }}", { ...ctx, variables: {} });
    assert.equal(e.message, 'template error: variable "x" is not set (pipeline variables: none)');
  });

  test('variables() needs a string name', () => {
    assert.equal(renderError('{{ variables(3) }}').message, 'template error: variables() takes a variable name');
  });

  test('execution_date and ds', () => {
    assert.equal(render("where d = '{{ ds }}' and ts <= '{{ execution_date }}'"), "where d = '2024-03-04' and ts <= '2024-03-04T05:06:07.000Z'");
  });

  test('an unknown {{ name }} fails and lists the upstream tables', () => {
    const e = renderError('select * from {{ df_3 }}');
    assert.equal(e.message, "template error: a {{ name }} is not defined (upstream tables: df_1 = load_trips, df_2 = load_zones; variables are read with variables('name'))");
  });

  test('an unknown name without upstreams says none', () => {
    const e = renderError('select {{ min_passengers }}', { ...ctx, upstream: [] });
    assert.match(e.message, /a \{\{ name \}\} is not defined \(upstream tables: none;/);
    // A variable must be read through variables(), not by bare name.
    assert.match(e.message, /variables\('name'\)/);
  });

  test('syntax errors are reported without the nunjucks prefix', () => {
    const unclosed = renderError('select {{ df_1 from x');
    assert.equal(unclosed.message.includes('(unknown path)'), false);
    assert.match(unclosed.message, /expected variable end/);
    const badTag = renderError('{% if %}x{% endif %}');
    assert.equal(badTag.message.includes('Line'), false);
    assert.ok(badTag.message.length > 'template error: '.length);
  });

  test('unknown filter is an error', () => {
    assert.match(renderError('{{ df_1 | nope }}').message, /filter not found: nope/);
  });

  test('no template includes: there is no loader', () => {
    renderError("{% include 'secrets.sql' %}");
  });

  test('Jinja control flow and filters work', () => {
    assert.equal(render('{% if variables("flag") %}a{% else %}b{% endif %}'), 'a');
    assert.equal(render("{{ variables('region') | upper }}"), 'EU');
    assert.equal(render('{% for u in [1,2] %}{{ u }}{% endfor %}'), '12');
  });

  test('SQL-looking text is not HTML-escaped', () => {
    assert.equal(render("{{ variables('q') }}", { ...ctx, variables: { q: "a < b & 'c'" } }), "a < b & 'c'");
  });

  test('extra names from the host are available; upstreams and built-ins win over them', () => {
    const extra = { data_dir: '/tmp/data', env_var: (name: unknown) => `ENV(${String(name)})`, df_1: 'shadowed', ds: 'shadowed' };
    const out = render("{{ data_dir }} {{ env_var('HOME') }} {{ df_1 }} {{ ds }}", { ...ctx, extra });
    assert.equal(out, '/tmp/data ENV(HOME) "t_load_trips" 2024-03-04');
  });

  test("mage_secret_var('NAME') renders a secret passed in; an unknown one is an error naming it", () => {
    const secrets = { API_KEY: 's3cr3t-value', constructor_like: 'x' };
    assert.equal(render("SELECT '{{ mage_secret_var('API_KEY') }}' AS k", { ...ctx, secrets }), "SELECT 's3cr3t-value' AS k");
    const e = renderError("SELECT '{{ mage_secret_var('MISSING') }}'", { ...ctx, secrets });
    assert.match(e.message, /secret "MISSING" is not set/);
    assert.match(e.message, /grimoire secrets set MISSING/);
    // The set names are an owner's to list: an error never shows them.
    assert.doesNotMatch(e.message, /API_KEY/);
    // Names on Object's prototype are not secrets.
    assert.match(renderError("{{ mage_secret_var('constructor') }}", { ...ctx, secrets }).message, /secret "constructor" is not set/);
    // Without secrets passed in, none is set.
    assert.match(renderError("{{ mage_secret_var('API_KEY') }}").message, /secret "API_KEY" is not set/);
  });
});
