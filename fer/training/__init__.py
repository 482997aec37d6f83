"""The training half: everything that needs TensorFlow/Keras, imported only by the commands that
train, evaluate with Keras, export or combine networks (``python -m fer train|evaluate|export|
unpack|baselines``).

The serving half (``fer.classifier``, ``fer.pipeline``, the app) runs the exported LiteRT file
and never imports this package.
"""
