# Source: Deep Learning with Python, 2nd ed. (F. Chollet, Manning 2021), chapter 7
#   "Working with Keras: A deep dive", get_mnist_model() from listing "The
#   standard workflow: compile(), fit(), evaluate(), predict()", companion notebook:
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/second_edition/chapter07_working-with-keras.ipynb
# Simplified: get_mnist_model() body inlined at top level; dropped MNIST
#   loading/reshaping, compile, fit, evaluate and predict.
import keras
from keras import layers

inputs = keras.Input(shape=(28 * 28,))
features = layers.Dense(512, activation="relu")(inputs)
features = layers.Dropout(0.5)(features)
outputs = layers.Dense(10, activation="softmax")(features)
model = keras.Model(inputs, outputs)
