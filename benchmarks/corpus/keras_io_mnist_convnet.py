# Source: "Simple MNIST convnet" by fchollet, keras.io code example
#   https://keras.io/examples/vision/mnist_convnet/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/vision/mnist_convnet.py
# Simplified: dropped MNIST loading/scaling, compile, fit and evaluate.
#   Architecture is unchanged (num_classes = 10, input_shape = (28, 28, 1) as published).
import keras
from keras import layers

num_classes = 10
input_shape = (28, 28, 1)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
