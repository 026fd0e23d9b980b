"""Model loaders that fail, for the error-case tests."""

import keras


def unreachable():
    raise RuntimeError("weights server unreachable")


class Exploding(keras.Model):
    def call(self, inputs):
        raise ValueError("exploded on purpose")


def exploding():
    return Exploding()
