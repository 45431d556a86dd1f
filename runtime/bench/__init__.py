"""``edge-digit benchmark``: where the time goes, measured in one run, side by side.

* per-stage timings (read, decode, preprocess, inference, post-process, and the whole
  decoded picture -> Prediction call), p50/p90/p99 after warm-up, for an MNIST-sized digit
  (28x28 PNG) and a phone-photo-sized picture (640x480 JPEG);
* inference throughput at batch 1/32/256, for every model given (fp32 and int8 side by side),
  with one onnxruntime thread and with the default thread count;
* accuracy of each model on the same labelled digits, and which model to prefer: the fastest
  of those whose accuracy equals the best (int8 has to earn its place);
* the Keras reference (``model.predict`` per image, the tutorials' way) on the same model
  inputs, when TensorFlow is installed and a .keras file is given; run in a subprocess so its
  threads and import cost stay out of the other figures;
* process start: ``import edge_digit.cli`` and ``edge-digit classify one.png``, wall time;
* folder mode: a real ``edge-digit classify DIR --format jsonl`` subprocess, images/s counting
  process start, peak memory (largest process and the whole process tree).

One module a job: ``results`` (typed dataclasses, plain JSON), ``machine``, ``inputs``,
``inprocess``, ``keras_reference``, ``processes`` (process start, folder mode), ``run`` (the whole
run) and ``table``. No TensorFlow import here: only the Keras subprocess loads it. A benchmark,
not a test: nothing here asserts speed.
"""
