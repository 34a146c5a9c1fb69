# Source: Hands-On Machine Learning with Scikit-Learn, Keras & TensorFlow, 3rd ed.
#   (A. Geron, O'Reilly 2022), chapter 14 "Deep Computer Vision Using
#   Convolutional Neural Networks", "Tackling Fashion MNIST With a CNN",
#   companion notebook:
#   https://github.com/ageron/handson-ml3/blob/main/14_deep_computer_vision_with_cnns.ipynb
# Simplified: the book defines DefaultConv2D = functools.partial(Conv2D,
#   kernel_size=3, padding="same", activation="relu",
#   kernel_initializer="he_normal"); here each call is written out as a plain
#   layers.Conv2D with those same arguments. input_shape=[28, 28, 1] on the
#   first layer is given as keras.Input (Keras 3). Dropped tf.random.set_seed,
#   data loading, compile, fit and evaluate.
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=[28, 28, 1]),
    layers.Conv2D(filters=64, kernel_size=7, padding="same",
                  activation="relu", kernel_initializer="he_normal"),
    layers.MaxPool2D(),
    layers.Conv2D(filters=128, kernel_size=3, padding="same",
                  activation="relu", kernel_initializer="he_normal"),
    layers.Conv2D(filters=128, kernel_size=3, padding="same",
                  activation="relu", kernel_initializer="he_normal"),
    layers.MaxPool2D(),
    layers.Conv2D(filters=256, kernel_size=3, padding="same",
                  activation="relu", kernel_initializer="he_normal"),
    layers.Conv2D(filters=256, kernel_size=3, padding="same",
                  activation="relu", kernel_initializer="he_normal"),
    layers.MaxPool2D(),
    layers.Flatten(),
    layers.Dense(units=128, activation="relu",
                 kernel_initializer="he_normal"),
    layers.Dropout(0.5),
    layers.Dense(units=64, activation="relu",
                 kernel_initializer="he_normal"),
    layers.Dropout(0.5),
    layers.Dense(units=10, activation="softmax")
])
