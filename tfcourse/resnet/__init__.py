"""The ResNet-50 scaling lab: the model, its inputs, the images/sec benchmark, the scaling
table and chart, and a model of how data-parallel training scales.

Modules (import the one you need; each names the lesson concept it holds):
  model      ResNet-50 v1.5 and the small CPU/CI variant
  inputs     synthetic on-device batches, MNIST as colour images
  train_step the training step shared by the benchmark and the MNIST check
  benchmark  run_benchmark (tf_cnn_benchmarks protocol), runs in fresh processes and local workers
  results    JSON-lines results
  scaling    speedup / parallel efficiency tables, the talk's own numbers
  allreduce  measured ring all-reduce bandwidth across local worker processes
  predict    the step-time model: compute + ring all-reduce
  report     matplotlib charts (PNG)

Devices, strategies, TF_CONFIG and worker processes come from tfcourse.distribute.
"""
