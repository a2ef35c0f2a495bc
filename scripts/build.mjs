// Builds dist/cli.js (the CLI: one CommonJS bundle, oclif's explicit command strategy points into it) and
// dist/index.js (the library), plus type declarations for the library (docs/performance.md has the
// start-up figures behind each choice).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

// Not the whole of dist at once: other shells may be running the CLI while it is rebuilt.
rmSync('dist/types', {recursive: true, force: true})

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
}

const [cli, , library] = await Promise.all([
  // The CLI bundles everything for start-up speed, except typescript: oclif requires it only to run .ts
  // sources in development (src/cli/main.ts turns that off), and bundling it made dist/cli.js 12 MB (+180 ms).
  // Minified (a smaller file reads and compiles faster); with --debug, bin/run.js maps stack traces back
  // to the sources through dist/cli.js.map.
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    // @grpc/proto-loader (and protobufjs under it) serves grpc-js's channelz and ORCA services, which ctr
    // never starts; left out, the bundle is ≈120 KB smaller (less to read and compile at every start-up).
    // @bufbuild/protobuf is bundled here too, though the library uses the installed one (docs/layout.md,
    // "Dependencies"): required from node_modules it missed bin/run.js's code cache, ≈8 ms of every
    // start-up and ≈14 ms of --help (docs/performance.md).
    external: ['typescript', '@grpc/proto-loader'],
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    // The map ships (for --debug) without a copy of the sources: positions and names only.
    sourcesContent: false,
    // Which packages went into the bundle, for the third-party notices below.
    metafile: true,
  }),
  // The log writer containerd's shim starts for each detached container (src/logger.ts): Node built-ins only.
  build({...common, entryPoints: ['src/logger.ts'], outfile: 'dist/logger.js', sourcemap: false, minifyWhitespace: true}),
  // The library bundles grpc-js and tar-stream as the CLI does, but not @bufbuild/protobuf: it uses the
  // installed one, whose types are in the library's declarations (docs/layout.md, "Dependencies").
  build({
    ...common,
    entryPoints: ['src/index.ts'],
    outfile: 'dist/index.js',
    external: ['@grpc/proto-loader', '@bufbuild/protobuf'],
    metafile: true,
  }),
])

writeFileSync('dist/THIRD-PARTY-NOTICES.md', thirdPartyNotices([...Object.keys(cli.metafile.inputs), ...Object.keys(library.metafile.inputs)]))

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'})

/**
 * The licences of every package dist/cli.js and dist/index.js bundle, each with its full licence text, from the esbuild
 * metafile (so it lists exactly what is in the bundle). Chosen over `legalComments: 'linked'`, which only
 * carries the `/*! @license` comments some packages have, not the LICENSE files most of them ship.
 */
function thirdPartyNotices(inputs) {
  const roots = new Set()
  for (const input of inputs) {
    const at = input.lastIndexOf('node_modules/')
    if (at < 0) continue
    const rest = input.slice(at + 'node_modules/'.length).split('/')
    roots.add(input.slice(0, at) + 'node_modules/' + rest.slice(0, rest[0].startsWith('@') ? 2 : 1).join('/'))
  }
  const sections = [...roots]
    .map((root) => {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
      const file = readdirSync(root).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name))
      const text = file ? readFileSync(join(root, file), 'utf8').trim() : `(no licence file in the package; package.json says ${pkg.license})`
      return {name: pkg.name, version: pkg.version, license: pkg.license, text}
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const seen = new Set()
  const unique = sections.filter((s) => !seen.has(`${s.name}@${s.version}`) && seen.add(`${s.name}@${s.version}`))
  return [
    '# Third-party notices',
    '',
    `dist/cli.js and dist/index.js bundle these ${unique.length} packages (found by esbuild's metafiles at build time).`,
    '',
    ...unique.map((s) => `## ${s.name} ${s.version} (${s.license})\n\n\`\`\`\n${s.text}\n\`\`\`\n`),
  ].join('\n')
}
