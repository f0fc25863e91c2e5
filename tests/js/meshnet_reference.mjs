// Reference run of a brainchop MeshNet with TensorFlow.js (pure JS CPU backend), for subseg's tests.
//
// Usage: node meshnet_reference.mjs MODEL_JSON INPUT_F32 D H W OUTPUT_PREFIX
// INPUT_F32 holds D*H*W little-endian float32 values in C order. Writes OUTPUT_PREFIX.logits.f32
// (D*H*W*classes float32, channels last) and OUTPUT_PREFIX.labels.i32 (argmax, D*H*W int32).
// Layers are applied one by one as brainchop's inference-logic.js does, with its instance normalisation
// (LayerNormInPlace) after every layer whose name ends in "_gn".
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [modelJson, inputPath, d, h, w, outputPrefix] = process.argv.slice(2);
const shape = [Number(d), Number(h), Number(w)];

function layerNormInPlace(x, epsilon = 1e-5) {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2, 3], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  });
}

async function loadModel(path) {
  const document = JSON.parse(readFileSync(path, 'utf8'));
  const topology = document.modelTopology;
  topology.model_config.config.layers[0].config.batch_input_shape = [null, null, null, null, 1];
  const weightSpecs = [];
  const buffers = [];
  for (const group of document.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const file of group.paths) {
      buffers.push(readFileSync(join(dirname(path), file)));
    }
  }
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs, weightData }));
}

await tf.setBackend('cpu');
const model = await loadModel(modelJson);
const raw = readFileSync(inputPath);
const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
let x = tf.tensor(values, [1, ...shape, 1]);
for (let i = 1; i < model.layers.length; i++) {
  const layer = model.layers[i];
  const next = tf.tidy(() => {
    const y = layer.apply(x);
    return layer.name.endsWith('_gn') ? layerNormInPlace(y) : y;
  });
  x.dispose();
  x = next;
}
const labels = tf.argMax(x, -1);
writeFileSync(`${outputPrefix}.logits.f32`, Buffer.from((await x.data()).buffer));
writeFileSync(`${outputPrefix}.labels.i32`, Buffer.from((await labels.data()).buffer));
