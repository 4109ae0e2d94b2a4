// build.mjs NODE_MODULES OUT_DIR: bundles the console with esbuild (scripts/build-console.sh
// runs it with the packages of package-lock.json). Output: index.html, app.js (one ES2020
// bundle: our modules, xterm.js, uPlot) and app.css (ours plus the two libraries' sheets).
// No source maps, no timestamps: the same sources and lock give the same bytes.
import { copyFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [modules, outArg] = process.argv.slice(2);
if (!modules || !outArg) {
    console.error('usage: node build.mjs NODE_MODULES OUT_DIR');
    process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(outArg);
const esbuild = await import(pathToFileURL(join(modules, 'esbuild', 'lib', 'main.js')).href);

const common = {
    bundle: true,
    minify: true,
    legalComments: 'none',
    nodePaths: [modules],
    logLevel: 'warning',
    absWorkingDir: here,
};
await esbuild.build({
    ...common,
    entryPoints: [join(here, 'src', 'main.js')],
    outfile: join(out, 'app.js'),
    format: 'esm',
    target: ['es2020'],
    define: { 'process.env.NODE_ENV': '"production"' },
});
await esbuild.build({
    ...common,
    entryPoints: [join(here, 'src', 'app.css')],
    outfile: join(out, 'app.css'),
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
