#!/usr/bin/env node
// Times a model in ONNX Runtime (onnxruntime-node, CPU) the way bench/infer_bench times it in qscope.
//
//   node bench/ort_bench.js MODEL BATCH ITERS THREADS [INPUT.npy [OUTPUT.npy]]
//
// Session: intraOpNumThreads = THREADS, interOpNumThreads = 1, graphOptimizationLevel 'all',
// executionMode 'sequential'. The input is INPUT.npy (float32, first BATCH items along axis 0,
// repeated when it has fewer) or, without it, a seeded random normal tensor of the model input's
// shape with batch BATCH. 3 warm-up runs (at least), then ITERS timed runs.
// Prints one line: "ort <model> batch=B threads=T iters=N median_ms=M min_ms=M"
// and writes the first model output of the timed input to OUTPUT.npy when given.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)[1] === 'True';
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  if (descr !== '<f4' || fortran) throw new Error(`${file}: need little-endian float32 in C order, got ${descr}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
  return { shape, data };
}

function writeNpy(file, shape, data) {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(new Float32Array(data).buffer);
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

// Takes the first `batch` items of x along axis 0, repeating them when x has fewer.
function toBatch(x, batch) {
  const per = x.data.length / x.shape[0];
  const out = new Float32Array(per * batch);
  for (let b = 0; b < batch; b++) out.set(x.data.subarray((b % x.shape[0]) * per, ((b % x.shape[0]) + 1) * per), b * per);
  return { shape: [batch, ...x.shape.slice(1)], data: out };
}

// Seeded normal(0,1) via xorshift32 + Box-Muller (same seed gives the same tensor).
function randomNormal(n, seed) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 4294967296; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const [model, batchS, itersS, threadsS, inputFile, outputFile] = process.argv.slice(2);
  if (!model || !batchS || !itersS || !threadsS) {
    console.error('usage: node ort_bench.js MODEL BATCH ITERS THREADS [INPUT.npy [OUTPUT.npy]]');
    process.exit(2);
  }
  const batch = Number(batchS), iters = Number(itersS), threads = Number(threadsS);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const inputName = session.inputNames[0];
  let x;
  if (inputFile) {
    x = toBatch(readNpy(inputFile), batch);
  } else {
    const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === inputName) : null;
    if (!meta || !meta.shape) throw new Error('no input file and the model input shape is unknown');
    const shape = meta.shape.map((d, i) => (i === 0 ? batch : d));
    if (shape.some((d) => typeof d !== 'number' || d < 0)) throw new Error(`input shape ${shape} is not fixed`);
    x = { shape, data: randomNormal(shape.reduce((a, b) => a * b, 1), 42) };
  }
  const feeds = { [inputName]: new ort.Tensor('float32', x.data, x.shape) };
  const outName = session.outputNames[0];

  const warmup = Math.max(3, Math.min(10, Math.ceil(iters / 5)));
  let out;
  for (let i = 0; i < warmup; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (outputFile) writeNpy(outputFile, out[outName].dims, out[outName].data);
  console.log(`ort ${path.basename(model)} batch=${batch} threads=${threads} iters=${iters} ` +
              `median_ms=${median(times).toFixed(3)} min_ms=${Math.min(...times).toFixed(3)}`);
}

main().catch((e) => { console.error(`ort_bench: ${e.message || e}`); process.exit(1); });
