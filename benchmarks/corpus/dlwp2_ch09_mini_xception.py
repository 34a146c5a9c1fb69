# Source: Deep Learning with Python, 2nd ed. (F. Chollet, Manning 2021), chapter 9
#   "Advanced deep learning for computer vision", section "Putting it together:
#   A mini Xception-like model", companion notebook:
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/second_edition/chapter09_part02_modern-convnet-architecture-patterns.ipynb
# Simplified: dropped the data_augmentation stage (a nested keras.Sequential of
#   RandomFlip/RandomRotation/RandomZoom preprocessing layers applied right after
#   the input), the Kaggle download/dataset code, compile and fit.
#   Rescaling(1/255) is a plain layer and is kept.
import keras
from keras import layers

inputs = keras.Input(shape=(180, 180, 3))

x = layers.Rescaling(1./255)(inputs)
x = layers.Conv2D(filters=32, kernel_size=5, use_bias=False)(x)

for size in [32, 64, 128, 256, 512]:
    residual = x

    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)

    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)

    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

    residual = layers.Conv2D(
        size, 1, strides=2, padding="same", use_bias=False)(residual)
    x = layers.add([x, residual])

x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
