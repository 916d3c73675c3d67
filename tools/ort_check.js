#!/usr/bin/env node
// Runs a model in ONNX Runtime (onnxruntime-node, CPU, bench/node_modules) and compares its
// first output with a reference .npy that qscope wrote (e.g. `qscope run --save-outputs`).
//
//   node tools/ort_check.js MODEL INPUT.npy REF.npy [MAX_ABS]
//
// QS_ORT_OPT=disabled runs without ONNX Runtime's graph optimizations: Q/DQ nodes then run as
// the float ops ONNX defines (no QLinearConv fusion with its own requantization rounding).
// Prints one line: "ort_check <model> max_abs=... cosine=... argmax_agree=k/n" and exits 0 when
// max_abs <= MAX_ABS (default 1e-3), 1 when it is larger, 2 on bad usage or a load failure, and
// 77 (the "skipped" code of test drivers) when onnxruntime-node is not installed.
'use strict';
const fs = require('fs');
const path = require('path');

let ort;
try {
  ort = require(path.join(__dirname, '..', 'bench', 'node_modules', 'onnxruntime-node'));
} catch (e) {
  try {
    ort = require('onnxruntime-node');
  } catch (e2) {
    console.error('ort_check: onnxruntime-node is not installed (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install)');
    process.exit(77);
  }
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  if (descr !== '<f4') throw new Error(`${file}: need little-endian float32, got ${descr}`);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(hstart + hlen + 4 * i);
  return { shape, data };
}

async function main() {
  const [model, inputFile, refFile, tolArg] = process.argv.slice(2);
  if (!model || !inputFile || !refFile) {
    console.error('usage: node tools/ort_check.js MODEL INPUT.npy REF.npy [MAX_ABS]');
    process.exit(2);
  }
  const tol = tolArg === undefined ? 1e-3 : Number(tolArg);
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      graphOptimizationLevel: process.env.QS_ORT_OPT || 'all', intraOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (e) {
    console.error(`ort_check: ONNX Runtime cannot load '${model}': ${String(e.message || e).split('\n')[0]}`);
    process.exit(2);
  }
  const x = readNpy(inputFile);
  const ref = readNpy(refFile);
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) });
  const y = out[session.outputNames[0]].data;
  if (y.length !== ref.data.length) {
    console.error(`ort_check: output has ${y.length} values, the reference ${ref.data.length}`);
    process.exit(1);
  }
  let maxAbs = 0, dot = 0, na = 0, nb = 0;
  for (let i = 0; i < y.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(y[i] - ref.data[i]));
    dot += y[i] * ref.data[i];
    na += y[i] * y[i];
    nb += ref.data[i] * ref.data[i];
  }
  // Rows of a [N, K] output: does the top class agree?
  const k = ref.shape.length === 2 ? ref.shape[1] : y.length;
  const rows = y.length / k;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    let a = 0, b = 0;
    for (let j = 1; j < k; j++) {
      if (y[r * k + j] > y[r * k + a]) a = j;
      if (ref.data[r * k + j] > ref.data[r * k + b]) b = j;
    }
    agree += a === b ? 1 : 0;
  }
  const cosine = dot / Math.sqrt(na * nb || 1);
  console.log(`ort_check ${path.basename(model)} opt=${process.env.QS_ORT_OPT || 'all'} max_abs=${maxAbs.toExponential(3)} cosine=${(100 * cosine).toFixed(6)}% ` +
              `argmax_agree=${agree}/${rows}`);
  process.exit(maxAbs <= tol ? 0 : 1);
}

main().catch((e) => {
  console.error(`ort_check: ${String(e.message || e).split('\n')[0]}`);
  process.exit(2);
});
