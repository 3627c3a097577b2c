"""The authors' static-mode network in TensorFlow, for the inference table of ``bench_magnify.py``.

Written from the architecture the golden files' README describes (reflect pads before 'valid'
convolutions, TF 'SAME' zero padding on the two stride-2 convolutions, nearest-neighbour upsampling,
no biases, the manipulator's ``alpha - 1``), with the authors' weights (``weights.npz``, their TF
variable names) and run as one ``tf.function`` graph per frame that encodes both frames, as their
``run`` does (a 9-channel ``[A, B, B]`` input of which A and B are encoded). It is checked against
golden case a (``--check``) before it is timed. It needs only numpy and TensorFlow, so it can run
under another interpreter than the project's (``bench_magnify.py --tf-python PATH``)::

    python benchmarks/tf_reference.py --weights W.npz --check case_a.npz
    python benchmarks/tf_reference.py --weights W.npz --frames frames.npy --alpha 10 --out out.npy --threads 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

PREFIX = "ynet_3frames"


def build(weights: dict[str, np.ndarray], threads: int):  # noqa: ANN201 (tensorflow is imported here only)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    w = {k: tf.constant(v) for k, v in weights.items()}

    def conv(x, part: str, name: str, *, stride: int = 1, relu: bool = False):
        k = w[f"{PREFIX}/{part}/{name}/Conv/weights"]
        if stride == 1:
            p = int(k.shape[0]) // 2
            x = tf.nn.conv2d(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], "REFLECT"), k, 1, "VALID")
        else:
            x = tf.nn.conv2d(x, k, stride, "SAME")
        return tf.nn.relu(x) if relu else x

    def res(x, part: str, name: str):
        return x + conv(conv(x, part, f"{name}_c1", relu=True), part, f"{name}_c2")

    def encode(x):
        e = "encoder"
        x = conv(conv(x, e, "enc_conv1_c", relu=True), e, "enc_conv2_c", stride=2, relu=True)
        for i in range(3):
            x = res(x, e, f"encoder_resblk{i}")
        texture = res(res(conv(x, e, "enc_texture_conv", stride=2, relu=True), e, "texture_enc"), e, "texture_enc_1")
        shape = res(res(x, e, "shape_enc"), e, "shape_enc_1")
        return texture, shape

    def up(x):
        return tf.image.resize(x, [2 * tf.shape(x)[1], 2 * tf.shape(x)[2]], method="nearest")

    @tf.function
    def static(a, b, alpha):
        _, shape_a = encode(a)
        texture_b, shape_b = encode(b)
        m = "manipulator"
        g = conv(shape_b - shape_a, m, "mani_conv0c", relu=True) * tf.reshape(alpha - 1.0, [-1, 1, 1, 1])
        shape = shape_b + res(conv(g, m, "mani_aft_conv0c"), m, "mani_resblk0")
        d = "decoder"
        x = tf.concat([conv(up(texture_b), d, "texture_upsample", relu=True), shape], axis=3)
        for i in range(9):
            x = res(x, d, f"decoder_resblk{i}")
        return conv(conv(up(x), d, "dec_conv2_c", relu=True), d, "pred_conv")

    return static


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="the authors' weights.npz")
    parser.add_argument("--check", help="a golden static case (.npz): print the max error of output_raw")
    parser.add_argument("--frames", help="uint8 frames (N, H, W, 3) .npy: frame 0 is the reference; time the rest")
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--out", help="where to save the uint8 outputs (.npy) of --frames")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with np.load(args.weights) as z:
        static = build({k: z[k] for k in z.files if k.startswith(PREFIX)}, args.threads)
    if args.check:
        g = np.load(args.check)
        y = static(g["input_a"], g["input_b"], np.float32([g["amplification_factor"]])).numpy()
        print(json.dumps({"golden_max_error": float(np.abs(y - g["output_raw"]).max())}))
    if args.frames:
        frames = np.load(args.frames)
        x = frames.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        alpha = np.float32([args.alpha])
        outs, times = [], []
        for i in range(len(x)):
            start = time.perf_counter()
            y = static(x[:1], x[i:i + 1], alpha).numpy()
            times.append(time.perf_counter() - start)
            # the project's uint8 conversion (rounding), so the error columns compare the networks alone
            outs.append(np.clip(np.rint((np.clip(y, -1, 1) + 1) * 127.5), 0, 255).astype(np.uint8))
        if args.out:
            np.save(args.out, np.concatenate(outs))
        print(json.dumps({"s_per_frame": float(np.mean(times[1:])) if len(times) > 1 else float(times[0])}))


if __name__ == "__main__":
    main()
