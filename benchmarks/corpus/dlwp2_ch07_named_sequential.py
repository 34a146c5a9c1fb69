# Source: Deep Learning with Python, 2nd ed. (F. Chollet, Manning 2021), chapter 7
#   "Working with Keras: A deep dive", listing "Naming models and layers with the
#   name argument", companion notebook:
#   https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/second_edition/chapter07_working-with-keras.ipynb
# Simplified: the book builds the model with model.build((None, 3)); here the
#   same input shape is given up front with keras.Input(shape=(3,)) (the
#   book's "Specifying the input shape of your model in advance" style), and
#   the layers are passed as a list to keras.Sequential instead of via
#   repeated model.add() calls (in Keras 3 each add() after the Input rebuilds
#   the graph and re-calls the earlier layers). Model and layer names are as
#   published.
import keras
from keras import layers

model = keras.Sequential(
    [
        keras.Input(shape=(3,)),
        layers.Dense(64, activation="relu", name="my_first_layer"),
        layers.Dense(10, activation="softmax", name="my_last_layer"),
    ],
    name="my_example_model",
)
