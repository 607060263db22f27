// The JavaScript anchors of the corebridge benchmarks: what corestore 7 and
// hypercore 11 do on this machine, with the same 1 KiB values, so the Go
// bench can put its own figures next to them in one run.
//
//   node bench/js/bench.mjs [--runs N] [--quick] [--only append,batch,get,replication]
//
// Prints one JSON object on stdout:
//   {"versions": {...}, "figures": {"<name>": {"values": [one per run], "unit": "..."}}}
// and progress on stderr.

import Corestore from 'corestore'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

function parseArgs(argv) {
  const o = { runs: 5, quick: false, only: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--?/, '')
    if (a === 'runs') o.runs = Number(argv[++i])
    else if (a === 'quick') o.quick = true
    else if (a === 'only') o.only = new Set(argv[++i].split(',').filter(Boolean))
    else throw new Error('unknown argument ' + argv[i])
  }
  if (!(o.runs >= 1)) throw new Error('--runs must be at least 1')
  return o
}

const opts = parseArgs(process.argv.slice(2))
const duration = opts.quick ? 200 : 2000 // ms per timed loop
const replBlocks = opts.quick ? 2000 : 20000
const value = Buffer.alloc(1024, 0x61)
const batch = Array.from({ length: 100 }, () => value)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corebridge-bench-js-'))
let dirs = 0
const newDir = () => path.join(tmp, String(dirs++))

function log(...args) {
  process.stderr.write('js: ' + args.join(' ') + '\n')
}

// timed runs fn repeatedly for duration ms and returns the operations per
// second, fn returning how many operations it did.
async function timed(fn) {
  let ops = 0
  const start = process.hrtime.bigint()
  const end = start + BigInt(duration) * 1000000n
  let now = start
  while (now < end) {
    ops += await fn()
    now = process.hrtime.bigint()
  }
  return ops / (Number(now - start) / 1e9)
}

const figures = {}
function record(name, unit, v) {
  if (!figures[name]) figures[name] = { values: [], unit }
  figures[name].values.push(v)
}
const want = (g) => !opts.only || opts.only.has(g)

async function localFigures(run) {
  const store = new Corestore(newDir())
  try {
    if (want('append')) {
      const core = store.get({ name: 'append-' + run })
      await core.ready()
      record('js_append', 'appends/s', await timed(async () => { await core.append(value); return 1 }))
    }
    if (want('batch')) {
      const core = store.get({ name: 'batch-' + run })
      await core.ready()
      record('js_batch100', 'values/s', await timed(async () => { await core.append(batch); return 100 }))
    }
    if (want('get')) {
      const core = store.get({ name: 'get-' + run })
      await core.ready()
      const n = opts.quick ? 1000 : 10000
      for (let i = 0; i < n; i += 100) await core.append(batch)
      let i = 0
      record('js_get', 'reads/s', await timed(async () => {
        await core.get(i)
        i = (i + 1) % n
        return 1
      }))
    }
  } finally {
    await store.close()
  }
}

// replication: a writer Corestore holding a core of replBlocks blocks, and
// for each run a fresh reader Corestore on disk that opens the core by key
// and downloads all of it over in-process replication streams.
async function replication() {
  const a = new Corestore(newDir())
  const w = a.get({ name: 'repl' })
  await w.ready()
  const chunk = Array.from({ length: 1000 }, () => value)
  for (let n = 0; n < replBlocks; n += chunk.length) await w.append(chunk.slice(0, Math.min(chunk.length, replBlocks - n)))
  try {
    for (let run = 0; run < opts.runs; run++) {
      const b = new Corestore(newDir())
      const start = process.hrtime.bigint()
      const s1 = a.replicate(true)
      const s2 = b.replicate(false)
      s1.pipe(s2).pipe(s1)
      const r = b.get({ key: w.key })
      await r.ready()
      await r.download({ start: 0, end: replBlocks }).done()
      const secs = Number(process.hrtime.bigint() - start) / 1e9
      if (r.contiguousLength !== replBlocks) throw new Error(`reader has ${r.contiguousLength} of ${replBlocks} blocks`)
      record('js_replication', 'blocks/s', replBlocks / secs)
      log(`replication run ${run + 1}: ${replBlocks} blocks in ${secs.toFixed(3)}s`)
      s1.destroy()
      s2.destroy()
      await b.close()
    }
  } finally {
    await a.close()
  }
}

try {
  for (let run = 0; run < opts.runs; run++) {
    if (want('append') || want('batch') || want('get')) {
      await localFigures(run)
      log(`local run ${run + 1}/${opts.runs} done`)
    }
  }
  if (want('replication')) await replication()
  const versions = {
    node: process.version,
    corestore: require('corestore/package.json').version,
    hypercore: require('hypercore/package.json').version
  }
  process.stdout.write(JSON.stringify({ versions, figures }) + '\n')
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
