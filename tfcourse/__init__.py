"""tfcourse: TensorFlow from the MNIST MLP to a ResNet-50 scaling lab."""

import os

# TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) buries a student's
# output; warnings and errors still show. Set before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
