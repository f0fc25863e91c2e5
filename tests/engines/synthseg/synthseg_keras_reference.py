"""The reference for the PyTorch port: SynthSeg's networks built in Keras as ``ext/neuron/models.py`` and
``SynthSeg/predict_synthseg.py`` build them, saved to h5 in the published layout.

Imported by tests and the benchmark only; needs ``tensorflow-cpu`` (test extra).
"""

from __future__ import annotations

import h5py
import numpy as np


def build_unet(in_channels, n_labels, name="unet", n_levels=5, n_features=24, feat_mult=2, conv_size=3,
               convs_per_level=2, skip_n_concatenations=0, seed=0, dtype="float32"):
    """neuron's ``unet`` (batch_norm=-1, ELU, softmax), layer names as in the published files.

    Weights are random (seeded), see :func:`_randomise`.
    With ``dtype="float64"`` the same network runs in double precision (TensorFlow has no float64 max
    pooling on CPU, so pooling is then written as a reshape and a max over each 2x2x2 block).
    """
    import keras
    from keras import layers

    keras.config.set_dtype_policy(dtype)
    inputs = keras.Input(shape=(None, None, None, in_channels), name=f"{name}_input", dtype=dtype)
    x = inputs
    skips = {}
    for level in range(n_levels):
        features = round(n_features * feat_mult ** level)
        for conv in range(convs_per_level):
            layer_name = f"{name}_conv_downarm_{level}_{conv}"
            x = layers.Conv3D(features, conv_size, padding="same", activation="elu", name=layer_name)(x)
        skips[level] = x
        x = layers.BatchNormalization(axis=-1, name=f"{name}_bn_down_{level}")(x)
        if level < n_levels - 1:
            if dtype == "float32":
                x = layers.MaxPooling3D(2, padding="same", name=f"{name}_maxpool_{level}")(x)
            else:
                x = layers.Lambda(_max_pool_blocks, name=f"{name}_maxpool_{level}")(x)
    for level in range(n_levels - 1):
        features = round(n_features * feat_mult ** (n_levels - 2 - level))
        x = layers.UpSampling3D(2, name=f"{name}_up_{n_levels + level}")(x)
        if level < n_levels - skip_n_concatenations - 1:
            x = layers.Concatenate(axis=-1, name=f"{name}_merge_{n_levels + level}")([skips[n_levels - 2 - level], x])
        for conv in range(convs_per_level):
            layer_name = f"{name}_conv_uparm_{n_levels + level}_{conv}"
            x = layers.Conv3D(features, conv_size, padding="same", activation="elu", name=layer_name)(x)
        x = layers.BatchNormalization(axis=-1, name=f"{name}_bn_up_{level}")(x)
    x = layers.Conv3D(n_labels, 1, name=f"{name}_likelihood")(x)
    outputs = layers.Softmax(axis=-1, name=f"{name}_prediction")(x)
    model = keras.Model(inputs, outputs, name=name)
    keras.config.set_dtype_policy("float32")
    _randomise(model, np.random.default_rng(seed))
    return model


def _max_pool_blocks(x):
    """2x2x2 max pooling of an even-shaped (N, D, H, W, C) tensor."""
    import tensorflow as tf

    n, d, h, w, c = tf.unstack(tf.shape(x))
    blocks = tf.reshape(x, [n, d // 2, 2, h // 2, 2, w // 2, 2, c])
    return tf.reduce_max(blocks, axis=[2, 4, 6])


def save_published_layout(models, path):
    """Write the weights of ``models`` as Keras 2's ``save_weights`` does (the published SynthSeg files):
    one group per layer, ``layer/layer/kernel:0`` datasets, ``layer_names`` and ``weight_names`` attributes.
    """
    import keras

    layers = [layer for model in models for layer in model.layers]
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [layer.name.encode() for layer in layers]
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = keras.__version__.encode()
        for layer in layers:
            group = handle.create_group(layer.name)
            names = [f"{layer.name}/{weight.name}:0" for weight in layer.weights]
            group.attrs["weight_names"] = [name.encode() for name in names]
            for name, weight in zip(names, layer.weights):
                group.create_dataset(name, data=np.asarray(weight.numpy(), dtype=np.float32))


def original_flip_indices(labels_table, n_neutral_labels):
    """``get_flip_indices`` of SynthSeg/predict.py, on the raw label table (sorted labels, channel map)."""
    sided = (len(labels_table) - n_neutral_labels) // 2
    left = labels_table[n_neutral_labels:n_neutral_labels + sided]
    right = labels_table[n_neutral_labels + sided:]
    pairs = {int(lo): int(r) for lo, r in zip(left, right) if lo != 0}
    pairs.update({r: lo for lo, r in list(pairs.items())})
    labels = np.unique(labels_table)
    index = {int(label): i for i, label in enumerate(labels)}
    return labels, np.array([index[pairs.get(int(label), int(label))] for label in labels])


def gaussian_blur(posteriors, sigma=0.5):
    """lab2im's ``GaussianBlur`` (non-separable kernel, 'SAME' zero padding), channel by channel, in TF."""
    import tensorflow as tf

    width = int(np.int32(np.ceil(2.5 * sigma) / 2) * 2 + 1)
    grid = np.arange(width) - (width - 1) / 2
    mesh = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1)
    kernel = np.exp(np.sum(-mesh**2 / (2 * sigma**2) - np.log(np.sqrt(2 * np.pi) * sigma), -1))
    kernel = tf.constant((kernel / kernel.sum())[..., None, None], posteriors.dtype)
    channels = posteriors.shape[-1]
    return tf.concat([tf.nn.conv3d(posteriors[..., c:c + 1], kernel, [1] * 5, "SAME") for c in range(channels)], -1)


def predict_standard(unet, image, flip_indices, lr_axis):
    """``build_model`` of predict_synthseg.py without robust/parc: blur, flip along ``lr_axis``, swap, average.

    ``image`` is (1, D, H, W, 1) numpy; returns posteriors (1, D, H, W, C) as numpy.
    """
    import tensorflow as tf

    x = tf.constant(image)
    posteriors = gaussian_blur(unet(x, training=False))
    mirrored = gaussian_blur(unet(tf.reverse(x, [1 + lr_axis]), training=False))
    mirrored = tf.gather(tf.reverse(mirrored, [1 + lr_axis]), flip_indices, axis=-1)
    return (0.5 * (posteriors + mirrored)).numpy()


def save_torch_in_published_layout(layers, path, seed=0):
    """Give ``layers`` (Keras name -> torch Conv3d/BatchNorm3d) seeded random weights and write them in the
    published layout, without TensorFlow (for tests of the pipeline rather than of the port)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [name.encode() for name in layers]
        for name, module in layers.items():
            if isinstance(module, torch.nn.Conv3d):
                fan_in = module.weight[0].numel()
                weight = torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
                values = {"kernel": weight.permute(2, 3, 4, 1, 0).numpy(),
                          "bias": 0.05 * torch.randn(module.bias.shape, generator=generator).numpy()}
            else:
                n = module.num_features
                values = {"gamma": 0.5 + torch.rand(n, generator=generator).numpy(),
                          "beta": 0.1 * torch.randn(n, generator=generator).numpy(),
                          "moving_mean": 0.1 * torch.randn(n, generator=generator).numpy(),
                          "moving_variance": 0.5 + torch.rand(n, generator=generator).numpy()}
            group = handle.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{key}:0".encode() for key in values]
            for key, value in values.items():
                group.create_dataset(f"{name}/{key}:0", data=np.asarray(value, dtype=np.float32))


def _randomise(model, rng):
    """Seeded random weights for every convolution and batch normalisation of ``model`` (statistics too, so
    that a test exercises every weight; a U-Net's last layer scaled up, so that many labels win somewhere)."""
    from keras import layers

    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n), rng.normal(0, 0.1, n),
                               rng.uniform(0.5, 2.0, n)])
        elif isinstance(layer, layers.Conv3D):
            kernel, bias = layer.get_weights()
            fan_in = np.prod(kernel.shape[:-1])
            scale = 4.0 if layer.name.endswith("_likelihood") else 1.0
            layer.set_weights([rng.normal(0, scale * np.sqrt(2.0 / fan_in), kernel.shape),
                               rng.normal(0, 0.05, bias.shape)])


def build_qc(n_groups, name="qc", n_levels=4, n_features=24, feat_mult=2, conv_size=5, convs_per_level=2, seed=0,
             dtype="float32"):
    """The quality-control regressor of predict_synthseg.py's ``build_model``: neuron's ``conv_enc`` with
    ``use_residuals=True`` (ReLU, batch normalisation), a last max pooling, two 5^3 ReLU convolutions and the
    spatial mean. Input: one-hot groups (N, D, H, W, groups); output: raw scores (N, groups)."""
    import keras
    from keras import layers

    def pool(level):
        if dtype == "float32":
            return layers.MaxPooling3D(2, padding="same", name=f"{name}_maxpool_{level}")
        return layers.Lambda(_max_pool_blocks, name=f"{name}_maxpool_{level}")

    keras.config.set_dtype_policy(dtype)
    inputs = keras.Input(shape=(None, None, None, n_groups), name=f"{name}_input", dtype=dtype)
    x = inputs
    for level in range(n_levels):
        first = x
        features = round(n_features * feat_mult ** level)
        for conv in range(convs_per_level):
            activation = "relu" if conv < convs_per_level - 1 else None
            x = layers.Conv3D(features, conv_size, padding="same", activation=activation,
                              name=f"{name}_conv_downarm_{level}_{conv}")(x)
        shortcut = first
        if first.shape[-1] > 1 and features > 1 and first.shape[-1] != features:
            shortcut = layers.Conv3D(features, conv_size, padding="same", activation="relu",
                                     name=f"{name}_expand_down_merge_{level}")(first)
        x = layers.Add(name=f"{name}_res_down_merge_{level}")([shortcut, x])
        x = layers.Activation("relu", name=f"{name}_res_down_merge_act_{level}")(x)
        x = layers.BatchNormalization(axis=-1, name=f"{name}_bn_down_{level}")(x)
        x = pool(level)(x)
    for conv in range(2):
        x = layers.Conv3D(n_groups, conv_size, padding="same", activation="relu", name=f"{name}_final_conv_{conv}")(x)
    outputs = layers.Lambda(lambda t: keras.ops.mean(t, axis=[1, 2, 3]), name=f"{name}_final_pred")(x)
    model = keras.Model(inputs, outputs, name=name)
    keras.config.set_dtype_policy("float32")
    _randomise(model, np.random.default_rng(seed))
    return model


def one_hot_argmax(posteriors, depth):
    """predict_synthseg's hand-over between chained networks: argmax, then one-hot (in the input's dtype)."""
    import tensorflow as tf

    return tf.one_hot(tf.cast(tf.argmax(posteriors, axis=-1), "int32"), depth=depth, axis=-1, dtype=posteriors.dtype)


def predict_robust(unet, l2l, unet2, image, n_groups):
    """``build_model`` of predict_synthseg.py with ``robust``: tissue groups, denoised, then the segmentation of
    the image given them (no blur, no flip). ``image`` (1, D, H, W, 1) numpy; returns numpy posteriors."""
    import tensorflow as tf

    x = tf.constant(image)
    groups = one_hot_argmax(unet(x, training=False), n_groups)
    groups = one_hot_argmax(l2l(groups, training=False), n_groups)
    return unet2(tf.concat([x, groups], axis=-1), training=False).numpy()


def predict_parcellation(unet_parc, image, posteriors, labels_segmentation):
    """The ``do_parcellation`` branch of predict_synthseg.py: the image and the one-hot cortex mask (labels 3 and
    42 of the segmentation argmax) into ``unet_parc``, then the Gaussian blur. Returns numpy posteriors."""
    import tensorflow as tf

    labels = tf.gather(tf.constant(labels_segmentation, "int32"), tf.cast(tf.argmax(posteriors, -1), "int32"))
    cortex = tf.cast(tf.logical_or(tf.equal(labels, 3), tf.equal(labels, 42)), "int32")
    mask = tf.one_hot(cortex, depth=2, axis=-1, dtype=image.dtype)
    return gaussian_blur(unet_parc(tf.concat([tf.constant(image), mask], -1), training=False)).numpy()


def make_shape(channels, size):
    """predict_synthseg's ``MakeShape`` on one argmax map (D, H, W) int32: the ``size``^3 box around voxels whose
    value is neither 0 nor 24, centred, cropped or zero-padded."""
    import tensorflow as tf

    shape = tf.shape(channels)
    target = tf.constant([size] * 3, "int32")
    inside = tf.cast(tf.where(tf.logical_and(tf.not_equal(channels, 0), tf.not_equal(channels, 24))), "int32")
    if inside.shape[0] == 0:
        low, high = tf.zeros(3, "int32"), tf.minimum(shape, target)
    else:
        low, high = tf.reduce_min(inside, 0), tf.minimum(tf.reduce_max(inside, 0) + 1, shape)
    margin = tf.cast(target - (high - low), "float64") / 2
    low = low - tf.cast(tf.math.ceil(margin), "int32")
    high = high + tf.cast(tf.math.floor(margin), "int32")
    start, stop = tf.maximum(low, 0), tf.minimum(high, shape)
    box = tf.slice(channels, start, stop - start)
    return tf.pad(box, tf.stack([tf.maximum(-low, 0), tf.maximum(high - shape, 0)], axis=1))


def predict_qc(qc_model, posteriors, labels_segmentation, labels_qc, size):
    """The ``do_qc`` branch of predict_synthseg.py and its reporting: argmax, ``MakeShape``, labels -> QC groups
    (``labels_qc`` aligned with ``labels_segmentation``), one-hot, the regressor, then group 0 dropped, clipped
    to [0, 1] and rounded to 4 decimals. Returns (raw scores, reported scores) as numpy."""
    import tensorflow as tf

    channels = tf.cast(tf.argmax(posteriors[0], -1), "int32")
    box = make_shape(channels, size)
    labels = tf.gather(tf.constant(labels_segmentation, "int32"), box)
    lut = np.zeros(int(np.max(labels_segmentation)) + 1, "int32")
    lut[np.asarray(labels_segmentation)] = labels_qc
    groups = tf.one_hot(tf.gather(tf.constant(lut), labels), depth=len(np.unique(labels_qc)), axis=-1,
                        dtype=posteriors.dtype)
    raw = qc_model(groups[None], training=False).numpy()
    return raw, np.around(np.clip(np.squeeze(raw)[1:], 0, 1), 4)
