"""The network: a lean depthwise-separable CNN (``wide``: about 2.9 M multiply-adds, 47 k weights).

Small on purpose: the runtime must classify thousands of digits a second on two cores,
and the int8 file must stay under 100 KB. Batch norm is folded into the convolutions
when onnxruntime optimises the graph. Augmentation layers live only in the *training*
wrapper (``with_augmentation``), never in the model that is exported.
"""

from __future__ import annotations

from ..runtime.contract import Contract

WIDTHS = {"small": (16, 32, 64), "base": (24, 48, 96), "wide": (32, 64, 128), "wider": (40, 80, 160)}


def build_model(contract: Contract, width: str = "base"):
    import keras
    from keras import layers

    c1, c2, c3 = WIDTHS[width]
    h, w = contract.input_size

    def norm(x):
        # momentum 0.9, not Keras' 0.99: moving statistics settle within ~50 steps, so short
        # fine-tuning and test-sized runs evaluate correctly too
        return layers.BatchNormalization(momentum=0.9)(x)

    def sep(x, filters):
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
        return layers.ReLU()(norm(x))

    inp = keras.Input(shape=(h, w, 1), name=contract.input_name)
    x = layers.Conv2D(c1, 3, padding="same", use_bias=False)(inp)
    x = layers.ReLU()(norm(x))
    x = layers.MaxPooling2D()(x)  # 14x14
    x = sep(sep(x, c2), c2)
    x = layers.MaxPooling2D()(x)  # 7x7
    x = sep(sep(x, c3), c3)
    # where a stroke is matters for digits: keep a 3x3 map rather than averaging it away
    x = layers.MaxPooling2D()(x)  # 3x3
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    out = layers.Dense(len(contract.labels), activation="softmax", name=contract.output_name)(x)
    return keras.Model(inp, out, name=f"edge_digit_{width}")


def with_augmentation(model, contract: Contract):
    """Training wrapper: small shifts and zooms that centring by centre of mass leaves behind."""
    import keras
    from keras import layers

    h, w = contract.input_size
    inp = keras.Input(shape=(h, w, 1))
    x = layers.RandomTranslation(0.06, 0.06, fill_mode="constant")(inp)
    x = layers.RandomZoom(0.08, fill_mode="constant")(x)
    return keras.Model(inp, model(x), name="training_wrapper")
