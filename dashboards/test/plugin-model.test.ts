/**
 * The dashboards' plugin queries are typed by the plugin's own query model
 * (datasource-plugin/src/types.ts, imported by src/queries.ts), so the model and
 * the dashboards cannot drift apart unnoticed: this test typechecks the
 * dashboards as `tsc -p dashboards/tsconfig.json` does, once as they are and
 * once against edited copies of the plugin's model, which must break them.
 * (generate and the other tests run through tsx, which does not typecheck.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const dashboardsDir = fileURLToPath(new URL('..', import.meta.url));
const pluginTypes = path.resolve(dashboardsDir, '../datasource-plugin/src/types.ts');
const config = ts.getParsedCommandLineOfConfigFile(path.join(dashboardsDir, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
})!;

let previous: ts.Program | undefined;

/** Errors in dashboards/src, as `file(line): message`, with the plugin's types.ts replaced by `pluginSource` when given. */
function typeErrors(pluginSource?: string): string[] {
  const host = ts.createCompilerHost(config.options);
  if (pluginSource !== undefined) {
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (file, lang, onError, fresh) =>
      path.resolve(file) === pluginTypes ? ts.createSourceFile(file, pluginSource, lang) : read(file, lang, onError, fresh);
  }
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host, oldProgram: previous });
  previous = program;
  assert.ok(
    program.getSourceFiles().some((f) => path.resolve(f.fileName) === pluginTypes),
    'the dashboards do not read the plugin model at all',
  );
  const src = path.join(dashboardsDir, 'src') + path.sep;
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName).startsWith(src))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${path.relative(dashboardsDir, d.file!.fileName)}(${line + 1}): ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
}

/** The plugin's model with one edit; fails when the text to edit is gone (the test would prove nothing). */
function editedModel(from: RegExp, to: string): string {
  const source = ts.sys.readFile(pluginTypes)!;
  assert.match(source, from, `datasource-plugin/src/types.ts no longer holds ${from}; update this test`);
  return source.replace(from, to);
}

describe("the dashboards' plugin queries follow the plugin's query model", () => {
  it('When the dashboards are typechecked, then they have no errors', () => {
    assert.deepEqual(typeErrors(), []);
  });

  it("When the plugin renames the sessions query's row limit, then the 会话记录 dashboard no longer typechecks", () => {
    const errors = typeErrors(editedModel(/^(\s*)limit\?: number;/m, '$1maxRows?: number;'));
    assert.ok(
      errors.some((e) => e.startsWith('src/reports.ts') && /'limit'/.test(e)),
      `expected an error on the 会话记录 query's limit, got:\n${errors.join('\n')}`,
    );
  });

  it('When the plugin drops a live report, then the 监控 dashboards querying it no longer typecheck', () => {
    const errors = typeErrors(editedModel(/ \| 'live_agents'/, ''));
    assert.ok(
      errors.some((e) => e.startsWith('src/monitoring.ts') && /live_agents/.test(e)),
      `expected an error on a live_agents query, got:\n${errors.join('\n')}`,
    );
  });

  it('When the plugin makes a report query field required, then the dashboards that leave it out no longer typecheck', () => {
    // `name` of a live query is optional in the model; as a required field the panels without it are wrong.
    const errors = typeErrors(editedModel(/^(\s*)name\?: string;/m, '$1name: string;'));
    assert.ok(
      errors.some((e) => e.startsWith('src/queries.ts') && /name/.test(e)),
      `expected an error where live queries are built without a name, got:\n${errors.join('\n')}`,
    );
  });
});
